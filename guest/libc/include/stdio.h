/* stdio.h: the guest has no files; only string formatting (guest/libc/format.c). */
#ifndef PUPA_GUEST_STDIO_H
#define PUPA_GUEST_STDIO_H

#include <stdarg.h>
#include <stddef.h>

/* Supports flags '-' '0' ' ' '+', width and precision (also '*'), length
 * modifiers hh h l ll z j t, conversions d i u x X o c s p %. */
int vsnprintf(char *restrict buf, size_t cap, const char *restrict fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int snprintf(char *restrict buf, size_t cap, const char *restrict fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
