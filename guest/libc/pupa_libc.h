/* pupa_libc.h: the guest libc's own entry points, prefixed so the host test
 * suite can link them next to glibc and compare. */
#ifndef PUPA_LIBC_H
#define PUPA_LIBC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int pupa_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
uint64_t pupa_strtou64(const char *s, char **end, int base, bool *neg, bool *overflow);

#endif
