/* info_guest.c: run the "info" operation over the first virtio-blk disk. */
#include <string.h>

#include "ops.h"
#include "ops/info.h"
#include "rt.h"
#include "virtio_blk.h"

/* A small read cache: parsers read headers and tables in small pieces, and
 * every miss costs an exit, so misses fetch a whole aligned block. */
#define CACHE_BLOCK (64u * 1024)
#define CACHE_SLOTS 16

struct disk_cache {
    struct vblk *dev;
    uint8_t *data[CACHE_SLOTS];
    uint64_t block[CACHE_SLOTS]; /* block number + 1; 0 = empty */
    uint64_t age[CACHE_SLOTS], clock;
    bool io_error;
};

static int cache_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct disk_cache *c = ctx;
    uint8_t *out = buf;
    while (len > 0) {
        uint64_t blk = off / CACHE_BLOCK;
        size_t in = (size_t)(off % CACHE_BLOCK);
        size_t n = CACHE_BLOCK - in < len ? CACHE_BLOCK - in : len;
        int slot = -1, oldest = 0;
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (c->block[i] == blk + 1)
                slot = i;
            if (c->age[i] < c->age[oldest])
                oldest = i;
        }
        if (slot < 0) {
            slot = oldest;
            c->block[slot] = 0;
            if (vblk_read(c->dev, blk * CACHE_BLOCK, c->data[slot], CACHE_BLOCK) != 0) {
                c->io_error = true;
                return -1;
            }
            c->block[slot] = blk + 1;
        }
        c->age[slot] = ++c->clock;
        memcpy(out, c->data[slot] + in, n);
        out += n;
        off += n;
        len -= n;
    }
    return 0;
}

static void send_frame(void *ctx, const pupa_GuestMessage *m)
{
    (void)ctx;
    rt_send(m);
}

int op_info(const pupa_VmmConfig *cfg)
{
    static struct vblk dev;
    static struct disk_cache cache;
    pupa_GuestMessage m;

    if (cfg->devices_count != 1) {
        pupa_msg_error(&m, "info", "", 0, 0, "info inspects exactly one disk");
        rt_send(&m);
        pupa_msg_complete(&m, "info", 0, false);
        rt_send(&m);
        return PUPA_EXIT_FAILURE;
    }
    if (!vblk_init(&dev, 0, &cfg->devices[0], "info")) {
        pupa_msg_complete(&m, "info", 0, false);
        rt_send(&m);
        return PUPA_EXIT_FAILURE;
    }
    memset(&cache, 0, sizeof(cache));
    cache.dev = &dev;
    for (int i = 0; i < CACHE_SLOTS; i++)
        cache.data[i] = rt_alloc(CACHE_BLOCK, 4096);
    struct fmt_io io = {&cache, cache_read, dev.size_bytes, cfg->filename};
    bool ok = info_run(&io, cfg->format, dev.name, send_frame, NULL);
    return ok ? PUPA_EXIT_OK : PUPA_EXIT_FAILURE;
}
