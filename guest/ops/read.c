/* read.c: the "read" operation: read every disk fully, optionally hashing it. */
#include <string.h>

#include "lib/sha256.h"
#include "ops.h"
#include "rt.h"
#include "virtio_blk.h"

/* Bytes read per batch (one kick); a batch is split into requests of the
 * device's size_max, VBLK_SLOTS at most. */
#define READ_CHUNK (1u << 20)

struct progress {
    const char *device;
    uint64_t total, step, next;
    uint64_t last; /* last value reported, to send each value once */
    bool sent;
};

static void progress_init(struct progress *p, const char *device, uint64_t total, uint32_t percent)
{
    p->device = device;
    p->total = total;
    p->step = percent ? (total / 100) * percent : 0;
    if (percent && p->step == 0)
        p->step = 1;
    p->next = p->step;
    p->sent = false;
    p->last = 0;
}

static void progress_report(struct progress *p, uint64_t done, bool force)
{
    if (!p->step || (!force && done < p->next) || (p->sent && done == p->last))
        return;
    p->sent = true;
    p->last = done;
    pupa_GuestMessage m;
    pupa_msg_progress(&m, "read", p->device, done, p->total);
    rt_send_now(&m);
    while (p->next <= done && p->next < p->total)
        p->next += p->step;
}

/* Read one disk; returns false when any request failed. */
static bool read_disk(struct vblk *d, uint8_t *buf, size_t bufsize, bool hash, bool shani,
                      uint32_t percent, uint64_t *sectors)
{
    struct sha256 sha;
    struct progress prog;
    uint64_t total = d->size_bytes, done = 0;
    uint64_t per_request = d->size_max < READ_CHUNK ? d->size_max : READ_CHUNK;
    bool ok = true;

    sha256_init(&sha, shani);
    progress_init(&prog, d->name, total, percent);
    progress_report(&prog, 0, true);
    while (done < total) {
        /* one batch: up to bufsize bytes, whole sectors of the device */
        uint64_t want = total - done < bufsize ? total - done : bufsize;
        uint64_t padded = (want + d->sector_size - 1) / d->sector_size * d->sector_size;
        uint64_t queued = 0;
        while (queued < padded && vblk_in_flight(d) < VBLK_SLOTS) {
            uint64_t n = padded - queued < per_request ? padded - queued : per_request;
            vblk_submit(d, (done + queued) / 512, buf + queued, (uint32_t)n, done + queued);
            queued += n;
        }
        vblk_kick(d);
        while (vblk_in_flight(d) > 0) {
            uint64_t tag;
            uint8_t status;
            vblk_wait(d, &tag, &status);
            if (status != 0) {
                pupa_GuestMessage m;
                pupa_msg_error(&m, "read", d->name, tag / 512, status, NULL);
                rt_send(&m);
                ok = false;
            }
        }
        if (!ok)
            break; /* a disk with I/O errors cannot be hashed: stop at the first bad batch */
        uint64_t got = queued < want ? queued : want;
        if (hash)
            sha256_update(&sha, buf, got);
        done += got;
        *sectors += (got + 511) / 512;
        progress_report(&prog, done, false);
    }
    if (ok)
        progress_report(&prog, done, true);
    if (hash && ok) {
        uint8_t digest[32];
        pupa_GuestMessage m;
        sha256_final(&sha, digest);
        pupa_msg_digest(&m, d->name, digest, total);
        rt_send(&m);
    }
    return ok;
}

int op_read(const pupa_VmmConfig *cfg)
{
    static struct vblk disks[PUPA_MAX_DEVICES];
    bool shani = cfg->sha256 && sha256_cpu_has_shani();
    uint64_t sectors = 0;
    bool ok = true;

    /* one buffer for all disks, as large as RAM comfortably allows */
    size_t bufsize = VBLK_SLOTS * (size_t)READ_CHUNK;
    while (bufsize > READ_CHUNK && bufsize > rt_free_bytes() / 2)
        bufsize /= 2;
    uint8_t *buf = rt_alloc(bufsize, 4096);
    rt_log("guest: read %u disk(s), sha256 %s, buffer %zu KiB", (unsigned)cfg->devices_count,
           cfg->sha256 ? (shani ? "with SHA extensions" : "portable") : "off", bufsize / 1024);

    for (pb_size_t i = 0; i < cfg->devices_count; i++) {
        struct vblk *d = &disks[i];
        if (!vblk_init(d, (int)i, &cfg->devices[i], "read")) {
            ok = false;
            continue;
        }
        if (!read_disk(d, buf, bufsize, cfg->sha256, shani, cfg->progress_percent, &sectors))
            ok = false;
    }
    pupa_GuestMessage m;
    pupa_msg_complete(&m, "read", sectors, ok);
    rt_send(&m);
    return ok ? PUPA_EXIT_OK : PUPA_EXIT_FAILURE;
}
