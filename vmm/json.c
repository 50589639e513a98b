/* json.c: qemu-compatible JSON writer (see json.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

void sb_init(struct strbuf *b)
{
    b->s = NULL;
    b->len = b->cap = 0;
    b->counting = false;
}

void sb_init_counting(struct strbuf *b)
{
    sb_init(b);
    b->counting = true;
}

void sb_free(struct strbuf *b)
{
    free(b->s);
    sb_init(b);
}

void sb_add(struct strbuf *b, const char *s, size_t n)
{
    if (b->counting) {
        b->len += n;
        return;
    }
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= n)
            cap *= 2;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sb_puts(struct strbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

void sb_printf(struct strbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        sb_add(b, small, (size_t)n);
        return;
    }
    char *big = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_add(b, big, (size_t)n);
    free(big);
}

/* Decode one code point exactly like qemu's mod_utf8_codepoint() (modified
 * UTF-8: "\xC0\x80" is U+0000), so that strings qemu-img would escape one way
 * are escaped the same way here: *cp = -1 for an invalid sequence (impossible
 * or stray continuation bytes, missing continuations, beyond U+10FFFF,
 * noncharacters, surrogates, overlong forms). Returns the bytes consumed. */
static size_t utf8_decode(const unsigned char *s, size_t n, long *cp)
{
    static const long min_cp[5] = {0x80, 0x800, 0x10000, 0x200000, 0x4000000};
    unsigned byte = s[0];
    size_t used = 1;

    if (byte < 0x80) {
        *cp = byte;
        return 1;
    }
    if (byte >= 0xfe || (byte & 0x40) == 0) { /* 0xFE, 0xFF, or a continuation byte */
        *cp = -1;
        return 1;
    }
    unsigned len = 0, mask;
    for (mask = 0x80; byte & mask; mask >>= 1)
        len++; /* 2..6 */
    long c = byte & (mask - 1);
    for (unsigned i = 1; i < len; i++) {
        unsigned next = i < n ? s[i] : 0;
        if ((next & 0xc0) != 0x80) {
            *cp = -1; /* continuation missing: the byte is not consumed */
            return used;
        }
        used++;
        c = (c << 6) | (next & 0x3f);
    }
    if (c > 0x10ffff || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe ||
        (c >= 0xd800 && c <= 0xdfff) || (c < min_cp[len - 2] && !(len == 2 && c == 0)))
        c = -1;
    *cp = c;
    return used;
}

/* "\\uXXXX" (upper-case hex, as qemu writes it) without printf: non-ASCII text is
 * all escapes, and a large result is mostly text. */
static void escape_u(struct strbuf *b, long v)
{
    static const char hex[] = "0123456789ABCDEF";
    char e[6] = {'\\',       'u', hex[(v >> 12) & 15], hex[(v >> 8) & 15], hex[(v >> 4) & 15],
                 hex[v & 15]};
    sb_add(b, e, sizeof(e));
}

void json_quote(struct strbuf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    sb_add(b, "\"", 1);
    while (i < len) {
        long cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        i += n;
        switch (cp) {
        case '"':
            sb_add(b, "\\\"", 2);
            break;
        case '\\':
            sb_add(b, "\\\\", 2);
            break;
        case '\b':
            sb_add(b, "\\b", 2);
            break;
        case '\f':
            sb_add(b, "\\f", 2);
            break;
        case '\n':
            sb_add(b, "\\n", 2);
            break;
        case '\r':
            sb_add(b, "\\r", 2);
            break;
        case '\t':
            sb_add(b, "\\t", 2);
            break;
        default:
            if (cp < 0)
                cp = 0xfffd;
            if (cp >= 0x20 && cp < 0x7f) {
                char c = (char)cp;
                sb_add(b, &c, 1);
            } else if (cp >= 0x10000) {
                long v = cp - 0x10000;
                escape_u(b, 0xd800 | (v >> 10));
                escape_u(b, 0xdc00 | (v & 0x3ff));
            } else {
                escape_u(b, cp);
            }
        }
    }
    sb_add(b, "\"", 1);
}

void json_init(struct json_writer *w, struct strbuf *out, bool pretty)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->pretty = pretty;
}

static void newline(struct json_writer *w)
{
    if (w->pretty)
        sb_printf(w->out, "\n%*s", 4 * w->depth, "");
}

static bool comma_name(struct json_writer *w, const char *key)
{
    if (w->too_deep)
        return false;
    if (w->need_comma) {
        sb_add(w->out, ",", 1);
        newline(w);
    } else {
        if (w->depth > 0)
            newline(w);
        w->need_comma = true;
    }
    if (w->depth > 0 && !w->is_array[w->depth - 1]) {
        json_quote(w->out, key ? key : "", key ? strlen(key) : 0);
        sb_puts(w->out, w->pretty ? ": " : ":");
    }
    return true;
}

/* Open a container. Past JSON_MAX_DEPTH the writer stops writing (too_deep): the
 * caller sees an incomplete document, never a write out of bounds. */
static void enter(struct json_writer *w, bool array, char open)
{
    if (w->too_deep || w->depth == JSON_MAX_DEPTH) {
        w->too_deep = true;
        return;
    }
    sb_add(w->out, &open, 1);
    w->is_array[w->depth] = array;
    w->depth++;
    w->need_comma = false;
}

static void leave(struct json_writer *w, char close)
{
    if (w->too_deep || w->depth == 0)
        return;
    w->depth--;
    newline(w);
    sb_add(w->out, &close, 1);
    w->need_comma = true;
}

void json_begin_object(struct json_writer *w, const char *key)
{
    if (comma_name(w, key))
        enter(w, false, '{');
}

void json_end_object(struct json_writer *w)
{
    leave(w, '}');
}

void json_begin_array(struct json_writer *w, const char *key)
{
    if (comma_name(w, key))
        enter(w, true, '[');
}

void json_end_array(struct json_writer *w)
{
    leave(w, ']');
}

void json_strn(struct json_writer *w, const char *key, const char *val, size_t len)
{
    if (!comma_name(w, key))
        return;
    json_quote(w->out, val, len);
}

void json_str(struct json_writer *w, const char *key, const char *val)
{
    json_strn(w, key, val ? val : "", val ? strlen(val) : 0);
}

void json_int(struct json_writer *w, const char *key, int64_t val)
{
    if (!comma_name(w, key))
        return;
    sb_printf(w->out, "%lld", (long long)val);
}

void json_uint(struct json_writer *w, const char *key, uint64_t val)
{
    if (!comma_name(w, key))
        return;
    sb_printf(w->out, "%llu", (unsigned long long)val);
}

void json_bool(struct json_writer *w, const char *key, bool val)
{
    if (!comma_name(w, key))
        return;
    sb_puts(w->out, val ? "true" : "false");
}

void json_double(struct json_writer *w, const char *key, double val)
{
    if (!comma_name(w, key))
        return;
    sb_printf(w->out, "%.17g", val);
}

void json_null(struct json_writer *w, const char *key)
{
    if (!comma_name(w, key))
        return;
    sb_puts(w->out, "null");
}
