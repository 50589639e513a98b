/* blk.c: the generic block layer over format drivers: opening a layer, block
 * status as qemu's block/io.c computes it (alignment, clamping, ALLOCATED, EOF,
 * RAW and RECURSE into the file layer, backing chains), and reads of virtual
 * bytes with the file reads batched. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../ops/info.h"
#include "blk.h"

/* ------------------------------------------------------------ memory, errors */

void *blk_alloc(struct blk_arena *a, size_t size, size_t align)
{
    if (align == 0)
        align = 16;
    size_t p = (a->used + align - 1) & ~(align - 1);
    if (p < a->used || p > a->cap || size > a->cap - p)
        return NULL;
    a->used = p + size;
    memset(a->base + p, 0, size);
    return a->base + p;
}

int blk_fail(char *error, const char *fmt, ...)
{
    if (error && error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error, FMT_ERROR_MAX, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ------------------------------------------------------------ open */

int blk_open(struct blk_node *n, struct blk_file *file, const char *format, struct blk_arena *a,
             struct fmt_info *info)
{
    static uint8_t probe[FMT_PROBE_SIZE];
    const struct fmt_driver *drv;
    struct fmt_io io = blk_file_io(file);

    memset(n, 0, sizeof(*n));
    n->file = file;
    if (io.read(io.ctx, 0, probe, sizeof(probe)) != 0)
        return fmt_fail(info, "Could not read image for determining its format: Input/output "
                              "error");
    if (format && format[0]) {
        drv = fmt_find(format);
        if (!drv)
            return fmt_fail(info, "Unknown driver '%s'", format);
    } else {
        drv = info_probe(probe, file->size, file->name);
    }
    struct blk_open open = {file, a, NULL, NULL, n->error, n->warning};
    info->blk = &open;
    int r = drv->open(&io, info);
    info->blk = NULL;
    if (r != 0)
        return -1;
    if (info->format[0] == '\0')
        PUPA_STRLCPY(info->format, drv->name);
    if (!open.ops)
        return fmt_fail(info, "reading the contents of %s images is not supported yet",
                        info->format);
    n->ops = open.ops;
    n->drv = open.drv;
    n->format = drv;
    n->size = info->virtual_size;
    return 0;
}

int blk_open_chain(struct blk_node *nodes, struct blk_file *files, size_t n, const char *format,
                   struct blk_arena *a, struct fmt_info *info, blk_layer_fn layer_fn, void *ctx)
{
    static char next_format[FMT_PATH_MAX];
    next_format[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        struct fmt_sink *sink = info->sink;
        memset(info, 0, sizeof(*info));
        info->sink = sink;
        const char *fmt = i == 0 ? format : next_format;
        bool ok = blk_open(&nodes[i], &files[i], fmt, a, info) == 0;
        if (ok && info->backing_file[0] && i + 1 == n)
            ok = fmt_fail(info,
                          "the image has a backing file ('%s'); pupa reads it only when it is "
                          "named with --backing=FILE",
                          info->backing_file) == 0;
        if (ok && !info->backing_file[0] && i + 1 < n)
            ok = fmt_fail(info, "--backing was given, but the image names no backing file") == 0;
        layer_fn(ctx, i, info, ok);
        if (!ok)
            return -1;
        if (i > 0)
            nodes[i - 1].backing = &nodes[i];
        /* qemu opens a backing file as the format its image records, else probes */
        if (strlen(info->backing_format) < sizeof(next_format))
            memcpy(next_format, info->backing_format, strlen(info->backing_format) + 1);
        else
            next_format[0] = '\0';
    }
    return 0;
}

/* ------------------------------------------------------------ block status */

/* The driver's answer for [off, off + len), realigned to off (the driver sees
 * its request_alignment, a power of two), without the generic flags. */
static int driver_status(struct blk_node *n, uint64_t off, uint64_t len, struct blk_extent *e)
{
    uint64_t mask = n->ops->request_alignment ? n->ops->request_alignment - 1 : 0;
    uint64_t aoff = off & ~mask;
    uint64_t aend = fmt_sat_add(fmt_sat_add(off, len), mask) & ~mask;
    uint64_t abytes = aend - aoff;

    e->flags = 0;
    e->len = e->offset = e->clen = 0;
    if (n->ops->block_status(n->drv, aoff, abytes, e) != 0)
        return blk_fail(n->error, "Input/output error");
    if (e->len == 0 || e->len > abytes || ((e->len & mask) != 0 && aoff + e->len != aend))
        return blk_fail(n->error, "driver returned a bad extent (internal error)");
    uint64_t skip = off - aoff;
    if (e->len <= skip)
        return blk_fail(n->error, "driver returned a bad extent (internal error)");
    e->len -= skip;
    if (e->len > len)
        e->len = len;
    if (e->flags & (BLK_OFFSET_VALID | BLK_RAW))
        e->offset += skip;
    return 0;
}

int blk_status_begin(struct blk_extent *out, uint64_t off, uint64_t *len, uint64_t total)
{
    memset(out, 0, sizeof(*out));
    if (off >= total) {
        out->flags = BLK_EOF;
        return 1;
    }
    if (*len == 0)
        return 1;
    if (*len > total - off)
        *len = total - off;
    return 0;
}

int blk_status(struct blk_node *n, uint64_t off, uint64_t len, struct blk_extent *out)
{
    uint64_t total = n->size;

    if (blk_status_begin(out, off, &len, total))
        return 0;
    if (driver_status(n, off, len, out) != 0)
        return -1;

    uint32_t ret = out->flags;
    if (ret & BLK_RAW) {
        uint32_t extra = ret & (BLK_COMPRESSED | BLK_DRIVER_READ);
        if (blk_file_status(n->file, out->offset, out->len, out, n->error) != 0)
            return -1;
        out->flags |= extra;
        goto done;
    }
    if (ret & (BLK_DATA | BLK_ZERO)) {
        ret |= BLK_ALLOCATED;
    } else if (n->ops->supports_backing) {
        if (!n->backing || off >= n->backing->size)
            ret |= BLK_ZERO;
    }
    if ((ret & BLK_RECURSE) && (ret & BLK_DATA) && !(ret & BLK_ZERO) && (ret & BLK_OFFSET_VALID)) {
        struct blk_extent f;
        /* the file layer only adds information: its errors are ignored, as qemu's */
        char ignored[FMT_ERROR_MAX] = "";
        if (blk_file_status(n->file, out->offset, out->len, &f, ignored) == 0) {
            if ((f.flags & BLK_EOF) && (f.len == 0 || (f.flags & BLK_ZERO))) {
                ret |= BLK_ZERO; /* past the end of the file: reads as zeros */
            } else {
                out->len = f.len;
                ret |= f.flags & BLK_ZERO;
            }
        }
        ret &= ~BLK_RECURSE;
    }
    out->flags = ret;
done:
    if (off + out->len == total)
        out->flags |= BLK_EOF;
    return 0;
}

int blk_status_above(struct blk_node *n, uint64_t off, uint64_t len, struct blk_extent *out,
                     int *depth)
{
    uint64_t eof = 0;

    *depth = 1;
    if (blk_status(n, off, len, out) != 0)
        return -1;
    if (out->len == 0 || (out->flags & BLK_ALLOCATED))
        return 0;
    if (out->flags & BLK_EOF)
        eof = off + out->len;
    len = out->len;
    for (struct blk_node *p = n->backing; p; p = p->backing) {
        ++*depth;
        if (blk_status(p, off, len, out) != 0) {
            memcpy(n->error, p->error, sizeof(n->error));
            return -1;
        }
        if (out->len == 0) {
            /* the layer ends before the one above: zeros, allocated here */
            memset(out, 0, sizeof(*out));
            out->len = len;
            out->flags = BLK_ZERO | BLK_ALLOCATED;
            break;
        }
        if (out->flags & BLK_ALLOCATED) {
            out->flags &= ~BLK_EOF;
            break;
        }
        len = out->len;
    }
    if (off + out->len == eof)
        out->flags |= BLK_EOF;
    return 0;
}

/* ------------------------------------------------------------ reads */

#define READ_QUEUE 64

/* File reads waiting to be issued together. */
struct read_queue {
    struct blk_file *file;
    struct blk_req req[READ_QUEUE];
    size_t n;
};

static int queue_flush(struct read_queue *q)
{
    int r = 0;
    if (q->n)
        r = q->file->ops->read(q->file->ctx, q->req, q->n);
    q->file->requests += q->n;
    q->n = 0;
    return r;
}

static int queue_add(struct read_queue *q, uint64_t off, uint8_t *buf, size_t len)
{
    if (q->n) {
        struct blk_req *last = &q->req[q->n - 1];
        if (last->off + last->len == off && (uint8_t *)last->buf + last->len == buf) {
            last->len += len;
            return 0;
        }
    }
    if (q->n == READ_QUEUE && queue_flush(q) != 0)
        return -1;
    q->req[q->n++] = (struct blk_req){off, buf, len};
    return 0;
}

static int read_layer(struct blk_node *n, uint64_t off, uint8_t *buf, size_t len);

/* Unallocated in n: the backing layer's bytes (zeros past its end), or zeros. */
static int read_below(struct blk_node *n, uint64_t off, uint8_t *buf, size_t len)
{
    struct blk_node *b = n->backing;
    size_t from_backing = 0;
    if (b && off < b->size)
        from_backing = b->size - off < len ? (size_t)(b->size - off) : len;
    memset(buf + from_backing, 0, len - from_backing);
    if (from_backing && read_layer(b, off, buf, from_backing) != 0) {
        memcpy(n->error, b->error, sizeof(n->error));
        return -1;
    }
    return 0;
}

static int read_layer(struct blk_node *n, uint64_t off, uint8_t *buf, size_t len)
{
    struct read_queue q;
    q.file = n->file;
    q.n = 0;
    while (len > 0) {
        struct blk_extent e;
        if (driver_status(n, off, len, &e) != 0)
            return -1;
        size_t k = (size_t)e.len;
        int r = 0;
        if (e.flags & BLK_DRIVER_READ) {
            r = n->ops->read ? n->ops->read(n->drv, off, buf, k) : -1;
        } else if (e.flags & BLK_RAW) {
            r = queue_add(&q, e.offset, buf, k);
        } else if (e.flags & BLK_ZERO) {
            memset(buf, 0, k);
        } else if ((e.flags & BLK_DATA) && (e.flags & BLK_OFFSET_VALID)) {
            r = queue_add(&q, e.offset, buf, k);
        } else if (e.flags & BLK_DATA) {
            if (!n->ops->read)
                return blk_fail(n->error, "Input/output error");
            r = n->ops->read(n->drv, off, buf, k);
        } else {
            r = read_below(n, off, buf, k);
        }
        if (r != 0) {
            if (q.n)
                (void)queue_flush(&q);
            return blk_fail(n->error, "Input/output error");
        }
        off += k;
        buf += k;
        len -= k;
    }
    if (queue_flush(&q) != 0)
        return blk_fail(n->error, "Input/output error");
    return 0;
}

int blk_read(struct blk_node *n, uint64_t off, void *buf, size_t len)
{
    uint8_t *out = buf;
    /* past the end of the disk: zeros (qemu fails such requests; callers stay inside) */
    size_t inside = 0;
    if (off < n->size)
        inside = n->size - off < len ? (size_t)(n->size - off) : len;
    memset(out + inside, 0, len - inside);
    return inside ? read_layer(n, off, out, inside) : 0;
}
