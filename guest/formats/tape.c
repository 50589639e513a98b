/* tape.c: the committing sink (see tape.h): records in an arena, replayed or dropped. */
#include <string.h>

#include "tape.h"

enum { REC_NODE = 1, REC_SNAPSHOT = 2, REC_FINDING = 3 };

/* One record: this header, then a[] and b[] (each NUL-terminated), or a fmt_snapshot. */
struct rec {
    uint8_t type, kind, b, pad;
    uint32_t alen, blen; /* string lengths without the NUL; 0 with the bit below for NULL */
    uint32_t null_mask;  /* bit 0: a is NULL, bit 1: b is NULL */
    int64_t i;
    uint64_t u;
};

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static bool room(struct fmt_tape *t, size_t need)
{
    if (!t->spilled && need <= t->cap - t->used)
        return true;
    if (!t->spilled) { /* too much to hold: everything from here on passes through */
        fmt_tape_commit(t);
        t->spilled = true;
    }
    return false;
}

static void *put_rec(struct fmt_tape *t, const struct rec *r, const char *a, const char *b,
                     size_t extra)
{
    size_t alen = a ? strlen(a) : 0, blen = b ? strlen(b) : 0;
    size_t need = align8(sizeof(*r) + alen + 1 + blen + 1 + extra);
    if (!room(t, need))
        return NULL;
    uint8_t *p = t->arena + t->used;
    struct rec h = *r;
    h.alen = (uint32_t)alen;
    h.blen = (uint32_t)blen;
    h.null_mask = (a ? 0u : 1u) | (b ? 0u : 2u);
    memcpy(p, &h, sizeof(h));
    memcpy(p + sizeof(h), a ? a : "", alen + 1);
    memcpy(p + sizeof(h) + alen + 1, b ? b : "", blen + 1);
    t->used += need;
    return p + sizeof(h) + alen + 1 + blen + 1;
}

static void tape_node(void *ctx, enum fmt_node_kind kind, const char *key, const char *str,
                      int64_t i, uint64_t u, bool b)
{
    struct fmt_tape *t = ctx;
    struct rec r = {REC_NODE, (uint8_t)kind, b, 0, 0, 0, 0, i, u};
    if (put_rec(t, &r, key, str, 0) == NULL && t->spilled && t->out && t->out->node)
        t->out->node(t->out->ctx, kind, key, str, i, u, b);
}

static void tape_snapshot(void *ctx, const struct fmt_snapshot *sn)
{
    struct fmt_tape *t = ctx;
    struct rec r = {REC_SNAPSHOT, 0, 0, 0, 0, 0, 0, 0, 0};
    void *p = put_rec(t, &r, NULL, NULL, sizeof(*sn));
    if (p)
        memcpy(p, sn, sizeof(*sn));
    else if (t->spilled && t->out && t->out->snapshot)
        t->out->snapshot(t->out->ctx, sn);
}

static void tape_finding(void *ctx, const char *check, const char *detail)
{
    struct fmt_tape *t = ctx;
    struct rec r = {REC_FINDING, 0, 0, 0, 0, 0, 0, 0, 0};
    if (put_rec(t, &r, check, detail, 0) == NULL && t->spilled && t->out && t->out->finding)
        t->out->finding(t->out->ctx, check, detail);
}

void fmt_tape_init(struct fmt_tape *t, const struct fmt_sink *out, void *arena, size_t cap)
{
    t->sink = (struct fmt_sink){t, tape_node, tape_snapshot, tape_finding};
    t->out = out;
    t->arena = arena;
    t->cap = cap;
    t->used = 0;
    t->spilled = false;
}

void fmt_tape_commit(struct fmt_tape *t)
{
    const struct fmt_sink *o = t->out;
    for (size_t pos = 0; pos < t->used;) {
        struct rec r;
        memcpy(&r, t->arena + pos, sizeof(r));
        const char *a = (const char *)t->arena + pos + sizeof(r);
        const char *b = a + r.alen + 1;
        const uint8_t *extra = (const uint8_t *)b + r.blen + 1;
        size_t len = sizeof(r) + r.alen + 1 + r.blen + 1;
        if (r.null_mask & 1)
            a = NULL;
        if (r.null_mask & 2)
            b = NULL;
        if (r.type == REC_NODE && o && o->node) {
            o->node(o->ctx, (enum fmt_node_kind)r.kind, a, b, r.i, r.u, r.b);
        } else if (r.type == REC_SNAPSHOT) {
            struct fmt_snapshot sn;
            memcpy(&sn, extra, sizeof(sn));
            if (o && o->snapshot)
                o->snapshot(o->ctx, &sn);
            len += sizeof(sn);
        } else if (r.type == REC_FINDING && o && o->finding) {
            o->finding(o->ctx, a, b);
        }
        pos += align8(len);
    }
    t->used = 0;
}

void fmt_tape_drop(struct fmt_tape *t)
{
    t->used = 0;
}
