/* disk.c: the block layer's file over a virtio-blk disk: every read split into
 * sector-aligned requests (unaligned edges through bounce sectors), up to
 * VBLK_SLOTS in flight per kick; past the device's end reads as zeros. */
#include <string.h>

#include "disk.h"
#include "rt.h"

/* One piece of a request: the sector-aligned device range it reads, and where
 * its bytes go (an edge: through a bounce sector, copied afterwards). */
struct piece {
    uint8_t *dst;
    uint32_t skip, len; /* bytes of the bounce sector used */
    bool bounced;
};

static int flush(struct disk *d, struct piece *pieces)
{
    int failed = 0;
    vblk_kick(&d->dev);
    while (vblk_in_flight(&d->dev) > 0) {
        uint64_t tag;
        uint8_t status;
        vblk_wait(&d->dev, &tag, &status);
        if (status != 0)
            failed = -1;
        struct piece *p = &pieces[tag];
        if (p->bounced)
            memcpy(p->dst, d->bounce + tag * 512 + p->skip, p->len);
    }
    return failed;
}

/* Queue device sectors [sector, sector + n) into buf, or one bounce sector. */
static int queue(struct disk *d, struct piece *pieces, uint64_t sector, uint8_t *dst, uint32_t len,
                 uint32_t skip, bool bounced)
{
    if (vblk_in_flight(&d->dev) == VBLK_SLOTS && flush(d, pieces) != 0)
        return -1;
    /* the slot vblk_submit takes is the lowest free one: it is the piece's index */
    int slot = __builtin_ctz(d->dev.free_slots);
    pieces[slot] = (struct piece){dst, skip, len, bounced};
    if (bounced)
        vblk_submit(&d->dev, sector, d->bounce + (size_t)slot * 512, 512, (uint64_t)slot);
    else
        vblk_submit(&d->dev, sector, dst, len, (uint64_t)slot);
    return 0;
}

static int disk_read(void *ctx, const struct blk_req *reqs, size_t n)
{
    struct disk *d = ctx;
    struct piece pieces[VBLK_SLOTS];
    uint64_t dev_bytes = d->dev.capacity * 512;

    for (size_t i = 0; i < n; i++) {
        uint8_t *out = reqs[i].buf;
        uint64_t off = reqs[i].off, len = reqs[i].len;
        /* past the device: zeros */
        uint64_t inside = off < dev_bytes ? (dev_bytes - off < len ? dev_bytes - off : len) : 0;
        memset(out + inside, 0, len - inside);
        len = inside;
        while (len > 0) {
            uint32_t skip = (uint32_t)(off % 512);
            if (skip || len < 512) {
                uint32_t k = 512 - skip < len ? 512 - skip : (uint32_t)len;
                if (queue(d, pieces, off / 512, out, k, skip, true) != 0)
                    return -1;
                out += k;
                off += k;
                len -= k;
                continue;
            }
            uint64_t k = len & ~511ull;
            if (k > d->dev.size_max)
                k = d->dev.size_max;
            if (queue(d, pieces, off / 512, out, (uint32_t)k, 0, false) != 0)
                return -1;
            out += k;
            off += k;
            len -= k;
        }
    }
    return flush(d, pieces);
}

static int disk_alloc(void *ctx, uint64_t off, struct pupa_blk_alloc *out, size_t max, size_t *got)
{
    struct disk *d = ctx;
    return vblk_alloc(&d->dev, off, out, max, got);
}

static const struct blk_file_ops disk_ops = {disk_read, disk_alloc};

bool disk_init(struct disk *d, struct blk_file *f, int index, const pupa_DeviceConfig *cfg,
               const char *operation, struct blk_arena *a)
{
    if (!vblk_init(&d->dev, index, cfg, operation))
        return false;
    d->bounce = blk_alloc(a, VBLK_SLOTS * 512, 4096);
    *f = (struct blk_file){.ops = &disk_ops,
                           .ctx = d,
                           .size = cfg->size_bytes,
                           .allocated = cfg->allocated_bytes,
                           .name = cfg->filename[0] ? cfg->filename : d->dev.name};
    if (!d->bounce || blk_file_init(f, a) != 0) {
        pupa_GuestMessage m;
        pupa_msg_error(&m, operation, d->dev.name, 0, 0, "out of guest memory for the disk");
        rt_send(&m);
        return false;
    }
    return true;
}
