/* stdlib.h: number parsing for the guest; no heap (free/realloc exist only for
 * nanopb's runtime and never hand out memory). */
#ifndef PUPA_GUEST_STDLIB_H
#define PUPA_GUEST_STDLIB_H

#include <stddef.h>

unsigned long long strtoull(const char *restrict s, char **restrict end, int base);
long long strtoll(const char *restrict s, char **restrict end, int base);
unsigned long strtoul(const char *restrict s, char **restrict end, int base);
long strtol(const char *restrict s, char **restrict end, int base);
void *realloc(void *p, size_t n);
void free(void *p);
void abort(void) __attribute__((noreturn));

#endif
