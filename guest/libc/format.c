/* format.c: vsnprintf and strtoull for the guest; built on the host too so
 * unit tests can compare it with glibc (names carry a pupa_ prefix here). */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pupa_libc.h"

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

struct spec {
    bool left, zero, plus, space, alt;
    int width, prec; /* prec < 0: none */
};

static void emit_number(struct out *o, const struct spec *sp, uint64_t v, bool neg, unsigned base,
                        bool upper)
{
    char digits[24];
    int n = 0;
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    while (v) {
        digits[n++] = set[v % base];
        v /= base;
    }
    int ndig = n;
    if (sp->prec >= 0 && sp->prec > ndig)
        ndig = sp->prec;
    if (ndig == 0 && sp->prec != 0)
        ndig = 1; /* "0" unless precision 0 was asked for */
    char sign = neg ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
    const char *prefix = (sp->alt && base == 16 && n > 0) ? (upper ? "0X" : "0x") : "";
    int plen = (sign ? 1 : 0) + (int)(prefix[0] ? 2 : 0);
    int total = plen + ndig;
    bool zero = sp->zero && !sp->left && sp->prec < 0;
    if (!sp->left && !zero)
        pad(o, ' ', sp->width - total);
    if (sign)
        put(o, sign);
    for (const char *p = prefix; *p; p++)
        put(o, *p);
    if (zero)
        pad(o, '0', sp->width - total);
    pad(o, '0', ndig - n);
    while (n > 0)
        put(o, digits[--n]);
    if (sp->left)
        pad(o, ' ', sp->width - total);
}

static void emit_string(struct out *o, const struct spec *sp, const char *s)
{
    if (!s)
        s = "(null)";
    int len = 0;
    while (s[len] && (sp->prec < 0 || len < sp->prec))
        len++;
    if (!sp->left)
        pad(o, ' ', sp->width - len);
    for (int i = 0; i < len; i++)
        put(o, s[i]);
    if (sp->left)
        pad(o, ' ', sp->width - len);
}

int pupa_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, cap, 0};

    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        struct spec sp = {false, false, false, false, false, 0, -1};
        for (;; f++) {
            char c = f[1];
            if (c == '-')
                sp.left = true;
            else if (c == '0')
                sp.zero = true;
            else if (c == '+')
                sp.plus = true;
            else if (c == ' ')
                sp.space = true;
            else if (c == '#')
                sp.alt = true;
            else
                break;
        }
        f++;
        if (*f == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            f++;
        } else {
            while (*f >= '0' && *f <= '9')
                sp.width = sp.width * 10 + (*f++ - '0');
        }
        if (*f == '.') {
            f++;
            sp.prec = 0;
            if (*f == '*') {
                sp.prec = va_arg(ap, int);
                f++;
            } else {
                while (*f >= '0' && *f <= '9')
                    sp.prec = sp.prec * 10 + (*f++ - '0');
            }
        }
        int lng = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t/intmax/ptrdiff */
        for (;; f++) {
            if (*f == 'l')
                lng = lng == 1 ? 2 : 1;
            else if (*f == 'h')
                lng = lng == -1 ? -2 : -1;
            else if (*f == 'z' || *f == 'j' || *f == 't')
                lng = 3;
            else
                break;
        }
        switch (*f) {
        case 'd':
        case 'i': {
            int64_t v;
            if (lng == 1 || lng == 2 || lng == 3)
                v = (lng == 1) ? va_arg(ap, long) : va_arg(ap, long long);
            else
                v = va_arg(ap, int);
            if (lng == -1)
                v = (short)v;
            else if (lng == -2)
                v = (signed char)v;
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            emit_number(&o, &sp, mag, v < 0, 10, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v;
            if (lng == 1 || lng == 2 || lng == 3)
                v = (lng == 1) ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
            else
                v = va_arg(ap, unsigned int);
            if (lng == -1)
                v = (unsigned short)v;
            else if (lng == -2)
                v = (unsigned char)v;
            unsigned base = *f == 'u' ? 10 : *f == 'o' ? 8 : 16;
            emit_number(&o, &sp, v, false, base, *f == 'X');
            break;
        }
        case 'p': {
            struct spec p = sp;
            p.alt = true;
            emit_number(&o, &p, (uint64_t)(uintptr_t)va_arg(ap, void *), false, 16, false);
            break;
        }
        case 'c': {
            char s[2] = {(char)va_arg(ap, int), 0};
            struct spec c = sp;
            c.prec = 1;
            if (s[0] == 0) { /* a NUL char still counts as one */
                if (!c.left)
                    pad(&o, ' ', c.width - 1);
                put(&o, 0);
                if (c.left)
                    pad(&o, ' ', c.width - 1);
            } else {
                emit_string(&o, &c, s);
            }
            break;
        }
        case 's':
            emit_string(&o, &sp, va_arg(ap, const char *));
            break;
        case '%':
            put(&o, '%');
            break;
        case '\0':
            f--; /* lone '%' at the end: stop */
            break;
        default:
            put(&o, '%');
            put(&o, *f);
            break;
        }
    }
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* strtoull without errno: on overflow returns UINT64_MAX and sets *overflow. */
uint64_t pupa_strtou64(const char *s, char **end, int base, bool *neg_out, bool *overflow)
{
    const char *p = s;
    bool neg = false, any = false, ovf = false;
    uint64_t v = 0;

    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        p++;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
        digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    for (;; p++) {
        int d = digit_value(*p);
        if (d >= base)
            break;
        any = true;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            ovf = true;
        else
            v = v * (uint64_t)base + (uint64_t)d;
    }
    if (end)
        *end = (char *)(any ? p : s);
    if (neg_out)
        *neg_out = neg;
    if (overflow)
        *overflow = ovf;
    return ovf ? UINT64_MAX : v;
}
