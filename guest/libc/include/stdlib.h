/* stdlib.h: number parsing for the guest; malloc/calloc take fresh memory from the
 * runtime's bump allocator (for zlib and zstd), free does nothing. */
#ifndef PUPA_GUEST_STDLIB_H
#define PUPA_GUEST_STDLIB_H

#include <stddef.h>

unsigned long long strtoull(const char *restrict s, char **restrict end, int base);
long long strtoll(const char *restrict s, char **restrict end, int base);
unsigned long strtoul(const char *restrict s, char **restrict end, int base);
long strtol(const char *restrict s, char **restrict end, int base);
void *realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t count, size_t size);
void free(void *p);
void abort(void) __attribute__((noreturn));

#endif
