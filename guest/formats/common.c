/* common.c: helpers every format parser uses (reads, table walks, tree builders, errors). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format.h"

const struct fmt_driver *fmt_find(const char *name)
{
    for (size_t i = 0; fmt_drivers[i]; i++) {
        if (strcmp(fmt_drivers[i]->name, name) == 0)
            return fmt_drivers[i];
    }
    return NULL;
}

int fmt_read(const struct fmt_io *io, struct fmt_info *info, uint64_t off, void *buf, size_t len)
{
    if (io->read(io->ctx, off, buf, len) != 0)
        return fmt_fail(info, "Could not read image: Input/output error");
    return 0;
}

uint64_t fmt_entries_in_file(const struct fmt_io *io, uint64_t off, uint64_t count,
                             uint64_t entry_size, bool partial)
{
    if (off >= io->size || entry_size == 0)
        return 0;
    uint64_t room = io->size - off;
    uint64_t n = room / entry_size + (partial && room % entry_size != 0);
    return n < count ? n : count;
}

int fmt_walk(const struct fmt_io *io, struct fmt_info *info, uint64_t off, uint64_t count,
             size_t entry_size, fmt_chunk_fn fn, void *ctx)
{
    uint8_t chunk[16384];
    size_t per_chunk = sizeof(chunk) / entry_size;

    for (uint64_t done = 0; done < count;) {
        size_t n = count - done < per_chunk ? (size_t)(count - done) : per_chunk;
        uint64_t rel, at; /* callers check their tables' ends; this is the backstop */
        if (!fmt_mul_ok(done, entry_size, &rel) || !fmt_add_ok(off, rel, &at))
            return fmt_fail(info, "Could not read image: Input/output error");
        if (fmt_read(io, info, at, chunk, n * entry_size) != 0)
            return -1;
        int r = fn(ctx, done, chunk, n);
        if (r != 0)
            return r;
        done += n;
    }
    return 0;
}

static void node(struct fmt_info *info, enum fmt_node_kind kind, const char *key, const char *str,
                 int64_t i, uint64_t u, bool b)
{
    if (info->sink && info->sink->node)
        info->sink->node(info->sink->ctx, kind, key, str, i, u, b);
}

void fmt_str(struct fmt_info *info, const char *key, const char *val)
{
    node(info, FMT_NODE_STRING, key, val, 0, 0, false);
}

void fmt_int(struct fmt_info *info, const char *key, int64_t val)
{
    node(info, FMT_NODE_INT, key, NULL, val, 0, false);
}

void fmt_uint(struct fmt_info *info, const char *key, uint64_t val)
{
    node(info, FMT_NODE_UINT, key, NULL, 0, val, false);
}

void fmt_bool(struct fmt_info *info, const char *key, bool val)
{
    node(info, FMT_NODE_BOOL, key, NULL, 0, 0, val);
}

void fmt_dict(struct fmt_info *info, const char *key)
{
    node(info, FMT_NODE_DICT, key, NULL, 0, 0, false);
}

void fmt_list(struct fmt_info *info, const char *key)
{
    node(info, FMT_NODE_LIST, key, NULL, 0, 0, false);
}

void fmt_end(struct fmt_info *info)
{
    node(info, FMT_NODE_END, NULL, NULL, 0, 0, false);
}

void fmt_snapshot(struct fmt_info *info, const struct fmt_snapshot *sn)
{
    info->snapshot_count++;
    if (info->sink && info->sink->snapshot)
        info->sink->snapshot(info->sink->ctx, sn);
}

void fmt_finding(struct fmt_info *info, const char *check, const char *detail_fmt, ...)
{
    char detail[FMT_PATH_MAX + 128];
    va_list ap;

    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);
    if (info->sink && info->sink->finding)
        info->sink->finding(info->sink->ctx, check, detail);
}

static int vfail(struct fmt_info *info, bool whole, const char *fmt, va_list ap)
{
    /* the first error wins: it is the cause, later ones are consequences */
    if (info->error[0] == '\0') {
        vsnprintf(info->error, sizeof(info->error), fmt, ap);
        info->error_whole = whole;
    }
    return -1;
}

int fmt_fail(struct fmt_info *info, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(info, false, fmt, ap);
    va_end(ap);
    return rc;
}

int fmt_fail_whole(struct fmt_info *info, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(info, true, fmt, ap);
    va_end(ap);
    return rc;
}
