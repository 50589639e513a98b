/* blk_file.c: the file layer under every format: a small metadata cache for the
 * parsers and drivers, and the file's allocation status (qemu's file-posix
 * raw_co_block_status over lseek SEEK_DATA/SEEK_HOLE, which the host answers). */
#include <string.h>

#include "blk.h"

/* Metadata is read in small pieces and every miss costs a device request (an
 * exit in the guest): misses fetch a whole aligned block. */
#define CACHE_BLOCK (64u * 1024)
#define CACHE_SLOTS 16

struct blk_cache {
    uint8_t *data[CACHE_SLOTS];
    uint64_t block[CACHE_SLOTS]; /* block number + 1; 0 = empty */
    uint64_t age[CACHE_SLOTS], clock;
};

int blk_file_init(struct blk_file *f, struct blk_arena *a)
{
    f->cache = blk_alloc(a, sizeof(*f->cache), 16);
    if (!f->cache)
        return -1;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        f->cache->data[i] = blk_alloc(a, CACHE_BLOCK, 4096);
        if (!f->cache->data[i])
            return -1;
    }
    f->nalloc = 0;
    return 0;
}

static int cache_slot(struct blk_file *f, uint64_t blk)
{
    struct blk_cache *c = f->cache;
    int oldest = 0;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (c->block[i] == blk + 1) {
            c->age[i] = ++c->clock;
            return i;
        }
        if (c->age[i] < c->age[oldest])
            oldest = i;
    }
    c->block[oldest] = 0;
    struct blk_req r = {blk * CACHE_BLOCK, c->data[oldest], CACHE_BLOCK};
    f->requests++;
    if (f->ops->read(f->ctx, &r, 1) != 0)
        return -1;
    c->block[oldest] = blk + 1;
    c->age[oldest] = ++c->clock;
    return oldest;
}

int blk_pread(struct blk_file *f, uint64_t off, void *buf, size_t len)
{
    uint8_t *out = buf;
    if (!fmt_fits(off, len, UINT64_MAX - CACHE_BLOCK))
        return -1;
    while (len > 0) {
        uint64_t blk = off / CACHE_BLOCK;
        size_t in = (size_t)(off % CACHE_BLOCK);
        size_t n = CACHE_BLOCK - in < len ? CACHE_BLOCK - in : len;
        if (off >= f->size) { /* past EOF: zeros, no request */
            memset(out, 0, len);
            return 0;
        }
        int slot = cache_slot(f, blk);
        if (slot < 0)
            return -1;
        memcpy(out, f->cache->data[slot] + in, n);
        out += n;
        off += n;
        len -= n;
    }
    return 0;
}

static int io_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    return blk_pread(ctx, off, buf, len);
}

struct fmt_io blk_file_io(struct blk_file *f)
{
    return (struct fmt_io){f, io_read, f->size, f->name};
}

/* ------------------------------------------------------------ allocation status */

/* The extent containing off from the last answer, or NULL. */
static const struct pupa_blk_alloc *alloc_find(const struct blk_file *f, uint64_t off)
{
    for (size_t i = 0; i < f->nalloc; i++) {
        const struct pupa_blk_alloc *e = &f->alloc[i];
        if (off < e->offset)
            break;
        if (e->length == 0 || off - e->offset < e->length)
            return e;
    }
    return NULL;
}

static int alloc_lookup(struct blk_file *f, uint64_t off, struct pupa_blk_alloc *out)
{
    const struct pupa_blk_alloc *e = alloc_find(f, off);
    if (!e) {
        size_t got = 0;
        f->nalloc = 0;
        if (!f->ops->alloc) {
            *out = (struct pupa_blk_alloc){off, 0, PUPA_BLK_ALLOC_UNKNOWN, 0};
            return 0;
        }
        if (f->ops->alloc(f->ctx, off, f->alloc, BLK_ALLOC_EXTS, &got) != 0)
            return -1;
        /* the answer must start at off, be in order and not overlap */
        uint64_t pos = off;
        for (size_t i = 0; i < got && i < BLK_ALLOC_EXTS; i++) {
            const struct pupa_blk_alloc *x = &f->alloc[i];
            if (x->offset != pos || x->kind > PUPA_BLK_ALLOC_UNKNOWN ||
                (x->length == 0 && i + 1 != got) || !fmt_add_ok(pos, x->length, &pos))
                return -1;
            f->nalloc = i + 1;
            if (x->length == 0)
                break;
        }
        e = alloc_find(f, off);
        if (!e)
            return -1;
    }
    *out = *e;
    return 0;
}

int blk_file_status(struct blk_file *f, uint64_t off, uint64_t len, struct blk_extent *out,
                    char *error)
{
    uint64_t total = (f->size + 511) / 512 * 512; /* the file layer counts whole sectors */

    if (blk_status_begin(out, off, &len, total))
        return 0;

    struct pupa_blk_alloc e;
    if (alloc_lookup(f, off, &e) != 0)
        return blk_fail(error, "Could not query the allocation of '%s'", f->name);
    uint64_t rest = e.length ? e.offset + e.length - off : len;
    if (e.kind == PUPA_BLK_ALLOC_DATA) {
        out->flags = BLK_DATA;
        out->len = rest; /* a data extent ending inside the last sector stops at EOF */
    } else if (e.kind == PUPA_BLK_ALLOC_HOLE) {
        out->flags = BLK_ZERO;
        out->len = rest;
    } else {
        out->flags = BLK_DATA; /* no information: no holes (qemu's choice) */
        out->len = len;
    }
    if (out->len > len)
        out->len = len;
    out->flags |= BLK_OFFSET_VALID | BLK_ALLOCATED;
    out->offset = off;
    if (off + out->len == total)
        out->flags |= BLK_EOF;
    return 0;
}
