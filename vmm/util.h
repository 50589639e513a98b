/* util.h: small host helpers: allocation that cannot fail silently, messages, clocks. */
#ifndef PUPA_UTIL_H
#define PUPA_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "pupa: " + message + newline on stderr; die() then exits with status 1. */
void pupa_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Monotonic clock in nanoseconds / seconds. */
uint64_t now_ns(void);
double now_s(void);

/* Copy s into out[0..cap), replacing control characters and invalid UTF-8
 * with '?': for strings from an image shown on a terminal. */
void sanitize_for_tty(char *out, size_t cap, const char *s);
/* The same rule in place, keeping line breaks: for whole lines of output. */
void sanitize_for_tty_keep_newline(char *s);

#endif
