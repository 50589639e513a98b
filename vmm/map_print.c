/* map_print.c: qemu-img map's dump_map_entry(), over entries the guest merged. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "map_print.h"
#include "util.h"

void map_print_init(struct map_print *p, struct strbuf *out, bool json, bool tty,
                    const char *const *files, size_t nfiles, uint64_t start, uint64_t end)
{
    memset(p, 0, sizeof(*p));
    p->json = json;
    p->tty = tty;
    p->files = files;
    p->nfiles = nfiles;
    p->next = start;
    p->end = end;
    if (json)
        sb_puts(out, "[");
    else
        sb_printf(out, "%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
}

static enum map_print_status bad(struct map_print *p, const char *why)
{
    snprintf(p->error, sizeof(p->error), "map entry %zu: %s", p->entries, why);
    return MAP_PRINT_VIOLATION;
}

static enum map_print_status check(struct map_print *p, const pupa_MapExtent *e, bool last)
{
    if (p->finished)
        return bad(p, "after the last entry");
    if (e->start != p->next)
        return bad(p, "does not start where the previous one ended");
    if (e->length == 0 && !(last && p->entries == 0 && p->next >= p->end))
        return bad(p, "is empty");
    if (e->length > INT64_MAX || e->start > INT64_MAX - e->length ||
        (e->length && e->start + e->length > p->end))
        return bad(p, "reaches past the end of the mapped range");
    if (last && e->start + e->length < p->end)
        return bad(p, "the entries end before the mapped range does");
    if (e->depth >= p->nfiles)
        return bad(p, "names a layer that does not exist");
    if (e->has_offset && (e->offset > INT64_MAX || e->length > INT64_MAX - e->offset))
        return bad(p, "has an offset out of range");
    return MAP_PRINT_OK;
}

static void print_json(struct strbuf *out, const pupa_MapExtent *e, bool last)
{
    sb_printf(out,
              "{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", \"depth\": %" PRId64
              ", \"present\": %s, \"zero\": %s, \"data\": %s",
              (int64_t)e->start, (int64_t)e->length, (int64_t)e->depth,
              e->present ? "true" : "false", e->zero ? "true" : "false",
              e->data ? "true" : "false");
    if (e->has_offset)
        sb_printf(out, ", \"offset\": %" PRId64, (int64_t)e->offset);
    sb_puts(out, last ? "}]\n" : "},\n");
}

/* Human output: only data that is not zero is listed; the other entries merge
 * further in qemu-img's human mode but are never printed, so the JSON merge
 * gives the same lines. */
static enum map_print_status print_human(struct map_print *p, struct strbuf *out,
                                         const pupa_MapExtent *e)
{
    if (e->data && !e->has_offset)
        return MAP_PRINT_UNMAPPABLE;
    if (e->data && !e->zero) {
        const char *name = e->has_offset ? p->files[e->depth] : "";
        char clean[4097];
        if (p->tty) {
            sanitize_for_tty(clean, sizeof(clean), name);
            name = clean;
        }
        char a[32], b[32], c[32];
        snprintf(a, sizeof(a), "%#" PRIx64, e->start);
        snprintf(b, sizeof(b), "%#" PRIx64, e->length);
        snprintf(c, sizeof(c), "%#" PRIx64, e->has_offset ? e->offset : (uint64_t)0);
        sb_printf(out, "%-16s%-16s%-16s%s\n", a, b, c, name);
    }
    return MAP_PRINT_OK;
}

enum map_print_status map_print_entry(struct map_print *p, struct strbuf *out,
                                      const pupa_MapExtent *e, bool last)
{
    enum map_print_status st = check(p, e, last);
    if (st != MAP_PRINT_OK)
        return st;
    p->entries++;
    p->next = e->start + e->length;
    p->finished = last;
    if (!p->json)
        return print_human(p, out, e);
    print_json(out, e, last);
    return MAP_PRINT_OK;
}

enum map_print_status map_print_frame(struct map_print *p, struct strbuf *out,
                                      const pupa_MapExtentsMessage *m)
{
    if (m->extents_count == 0 && !m->last)
        return bad(p, "an empty frame");
    if (m->extents_count == 0)
        return bad(p, "the last frame holds no entry");
    for (pb_size_t i = 0; i < m->extents_count; i++) {
        enum map_print_status st =
            map_print_entry(p, out, &m->extents[i], m->last && i + 1 == m->extents_count);
        if (st != MAP_PRINT_OK)
            return st;
    }
    return MAP_PRINT_OK;
}
