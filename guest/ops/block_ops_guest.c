/* block_ops_guest.c: the block operations in the guest: "map", "compare" and
 * "read" with virtual_disk, over the disks opened as images and chains. */
#include <string.h>

#include "chain_guest.h"
#include "lib/sha256.h"
#include "ops.h"
#include "ops/compare.h"
#include "ops/map.h"
#include "rt.h"

/* Virtual bytes read per blk_read(): large enough for many requests in flight. */
#define VIRTUAL_CHUNK (8u << 20)

static struct guest_chains g_chains;

static void send_frame(void *ctx, const pupa_GuestMessage *m)
{
    (void)ctx;
    if (m->level == pupa_Level_PROGRESS)
        rt_send_now(m);
    else
        rt_send(m);
}

static int complete(const char *operation, uint64_t count, bool ok)
{
    pupa_GuestMessage m;
    pupa_msg_complete(&m, operation, count, ok);
    rt_send(&m);
    return ok ? PUPA_EXIT_OK : PUPA_EXIT_FAILURE;
}

int op_map(const pupa_VmmConfig *cfg)
{
    if (!chains_open(&g_chains, cfg, "map", 1, 1u << 20))
        return complete("map", 0, false);
    uint64_t max = cfg->has_max_length ? cfg->max_length : UINT64_MAX;
    bool ok = map_run(g_chains.image[0].top, cfg->start_offset, max, g_chains.disks[0].dev.name,
                      cfg->progress_percent, send_frame, NULL);
    return complete("map", 0, ok);
}

int op_compare(const pupa_VmmConfig *cfg)
{
    if (!chains_open(&g_chains, cfg, "compare", 2, 2 * COMPARE_BUF + (1u << 20)))
        return complete("compare", 0, false);
    uint8_t *buf1 = rt_alloc(COMPARE_BUF, 4096), *buf2 = rt_alloc(COMPARE_BUF, 4096);
    bool ok = compare_run(g_chains.image[0].top, g_chains.image[1].top, cfg->strict, buf1, buf2,
                          g_chains.disks[0].dev.name, cfg->progress_percent, send_frame, NULL);
    return complete("compare", 0, ok);
}

static void progress(const char *device, uint64_t done, uint64_t total)
{
    pupa_GuestMessage m;
    pupa_msg_progress(&m, "read", device, done, total);
    rt_send_now(&m);
}

int op_read_virtual(const pupa_VmmConfig *cfg)
{
    if (!chains_open(&g_chains, cfg, "read", 1, VIRTUAL_CHUNK + (1u << 20)))
        return complete("read", 0, false);
    struct blk_node *top = g_chains.image[0].top;
    const char *device = g_chains.disks[0].dev.name;
    uint8_t *buf = rt_alloc(VIRTUAL_CHUNK, 4096);
    bool shani = cfg->sha256 && sha256_cpu_has_shani();
    struct sha256 sha;
    uint64_t total = top->size, step = 0, next = 0;
    if (cfg->progress_percent) {
        step = total / 100 * cfg->progress_percent;
        if (step == 0)
            step = 1;
    }
    sha256_init(&sha, shani);
    progress(device, 0, total);
    for (uint64_t off = 0; off < total;) {
        size_t n = total - off < VIRTUAL_CHUNK ? (size_t)(total - off) : VIRTUAL_CHUNK;
        if (blk_read(top, off, buf, n) != 0) {
            chains_report("read", device, off, top, "");
            return complete("read", 0, false);
        }
        if (cfg->sha256)
            sha256_update(&sha, buf, n);
        off += n;
        if (step && (off >= next || off == total)) {
            progress(device, off, total);
            next = off + step;
        }
    }
    if (cfg->sha256) {
        uint8_t digest[32];
        pupa_GuestMessage m;
        sha256_final(&sha, digest);
        pupa_msg_digest(&m, device, digest, total);
        rt_send(&m);
    }
    return complete("read", total, true);
}
