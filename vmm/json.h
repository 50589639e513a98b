/* json.h: a small JSON writer that prints exactly like qemu's JSONWriter
 * (4-space pretty printing, non-ASCII as \uXXXX, invalid UTF-8 as U+FFFD) and
 * keeps full 64-bit integers, signed and unsigned. Output goes to a strbuf. */
#ifndef PUPA_JSON_H
#define PUPA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growing string. A counting strbuf holds nothing and only adds up lengths: the
 * same printer sizes a result before anything is written. */
struct strbuf {
    char *s;
    size_t len, cap;
    bool counting;
};

void sb_init(struct strbuf *b);
void sb_init_counting(struct strbuf *b);
void sb_free(struct strbuf *b);
void sb_add(struct strbuf *b, const char *s, size_t n);
void sb_puts(struct strbuf *b, const char *s);
void sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define JSON_MAX_DEPTH 64

struct json_writer {
    struct strbuf *out;
    bool pretty;
    int depth;
    bool need_comma;
    bool is_array[JSON_MAX_DEPTH];
    bool too_deep; /* nesting went past JSON_MAX_DEPTH: nothing more is written */
};

void json_init(struct json_writer *w, struct strbuf *out, bool pretty);
/* key is ignored inside arrays and at top level. */
void json_begin_object(struct json_writer *w, const char *key);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w, const char *key);
void json_end_array(struct json_writer *w);
void json_str(struct json_writer *w, const char *key, const char *val);
void json_strn(struct json_writer *w, const char *key, const char *val, size_t len);
void json_int(struct json_writer *w, const char *key, int64_t val);
void json_uint(struct json_writer *w, const char *key, uint64_t val);
void json_bool(struct json_writer *w, const char *key, bool val);
void json_double(struct json_writer *w, const char *key, double val);
void json_null(struct json_writer *w, const char *key);

/* Append s as a quoted JSON string. */
void json_quote(struct strbuf *b, const char *s, size_t len);

#endif
