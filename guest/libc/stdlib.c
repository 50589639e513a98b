/* stdlib.c: the guest's stdio/stdlib entry points over format.c. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pupa_libc.h"

int vsnprintf(char *restrict buf, size_t cap, const char *restrict fmt, va_list ap)
{
    return pupa_vsnprintf(buf, cap, fmt, ap);
}

int snprintf(char *restrict buf, size_t cap, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = pupa_vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

unsigned long long strtoull(const char *restrict s, char **restrict end, int base)
{
    bool neg, ovf;
    uint64_t v = pupa_strtou64(s, end, base, &neg, &ovf);
    if (ovf)
        return UINT64_MAX;
    return neg ? (unsigned long long)(0 - v) : v;
}

unsigned long strtoul(const char *restrict s, char **restrict end, int base)
{
    return strtoull(s, end, base);
}

long long strtoll(const char *restrict s, char **restrict end, int base)
{
    bool neg, ovf;
    uint64_t v = pupa_strtou64(s, end, base, &neg, &ovf);
    if (neg)
        return (ovf || v > (uint64_t)INT64_MAX + 1) ? INT64_MIN : (long long)(0 - v);
    return (ovf || v > INT64_MAX) ? INT64_MAX : (long long)v;
}

long strtol(const char *restrict s, char **restrict end, int base)
{
    return strtoll(s, end, base);
}

/* The runtime's bump allocator (rt.c): zeroed memory, never freed. */
void *rt_alloc(size_t size, size_t align);

/* zlib and zstd reference these; pupa hands them their memory itself (the
 * block drivers' arenas), so calls are rare and small: each takes fresh memory. */
void *malloc(size_t n)
{
    return rt_alloc(n ? n : 1, 16);
}

void *calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    return rt_alloc(n ? n : 1, 16); /* fresh guest RAM is zero */
}

/* nanopb's runtime references these for PB_ENABLE_MALLOC fields; guest.proto
 * has none, so they are never reached with real work. */
void *realloc(void *p, size_t n)
{
    (void)p;
    (void)n;
    return NULL;
}

void free(void *p)
{
    (void)p;
}
