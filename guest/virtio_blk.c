/* virtio_blk.c: guest virtio-blk driver: init with Init frames, polled
 * requests, several large reads per exit. */
#include <stdio.h>
#include <string.h>

#include "pupa/virtio.h"
#include "rt.h"
#include "virtio_blk.h"

static uint32_t rd(struct vblk *d, uint32_t reg)
{
    return *(volatile uint32_t *)(uintptr_t)(d->base + reg);
}

static void wr(struct vblk *d, uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(d->base + reg) = v;
}

static bool fail(struct vblk *d, const char *operation, const char *why)
{
    pupa_GuestMessage m;
    pupa_msg_error(&m, operation, d->name, 0, 0, why);
    rt_send(&m);
    return false;
}

static void init_frame(struct vblk *d, const char *stage)
{
    pupa_GuestMessage m;
    pupa_msg_init(&m, stage, d->name, d->base);
    rt_send(&m);
}

bool vblk_init(struct vblk *d, int index, const pupa_DeviceConfig *cfg, const char *operation)
{
    memset(d, 0, sizeof(*d));
    d->index = index;
    PUPA_STRLCPY(d->name, cfg->name);
    d->base = PUPA_MMIO_BASE + (uint64_t)index * PUPA_MMIO_STRIDE;
    d->size_bytes = cfg->size_bytes;
    d->sector_size = cfg->sector_size;

    init_frame(d, "probe");
    if (!PUPA_SECTOR_SIZE_OK(cfg->sector_size)) {
        char why[96];
        snprintf(why, sizeof(why), "sector size %u is not supported (512, 1024, 2048 or 4096)",
                 cfg->sector_size);
        return fail(d, operation, why);
    }
    if (rd(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC || rd(d, VIRTIO_MMIO_VERSION) != 2 ||
        rd(d, VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
        return fail(d, operation, "no virtio-blk device (virtio-mmio version 2) at its address");

    init_frame(d, "features");
    /* a device fresh from the VMM is in reset already: every register write
     * costs an exit, so no explicit reset and no writes of zero halves */
    wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint32_t hi = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t lo = rd(d, VIRTIO_MMIO_DEVICE_FEATURES);
    if (!(hi & (1u << (VIRTIO_F_VERSION_1 - 32))))
        return fail(d, operation, "device does not offer VIRTIO_F_VERSION_1");
    uint32_t want_lo = lo & ((1u << VIRTIO_BLK_F_SIZE_MAX) | (1u << VIRTIO_BLK_F_SEG_MAX) |
                             (1u << VIRTIO_BLK_F_RO) | (1u << VIRTIO_BLK_F_BLK_SIZE));
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, VIRTIO_MMIO_DRIVER_FEATURES, want_lo);
    wr(d, VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    if (!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return fail(d, operation, "device refused the features");

    init_frame(d, "queue");
    wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
    uint32_t num_max = rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (num_max < VBLK_QSIZE)
        return fail(d, operation, "device queue too small");
    d->desc = rt_alloc(16 * VBLK_QSIZE, 16);
    d->avail = rt_alloc(6 + 2 * VBLK_QSIZE, 2);
    d->used = rt_alloc(6 + 8 * VBLK_QSIZE, 4);
    uint64_t desc = (uint64_t)(uintptr_t)d->desc, avail = (uint64_t)(uintptr_t)d->avail,
             used = (uint64_t)(uintptr_t)d->used;
    wr(d, VIRTIO_MMIO_QUEUE_NUM, VBLK_QSIZE);
    wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    if (desc >> 32)
        wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    if (avail >> 32)
        wr(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    if (used >> 32)
        wr(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
    wr(d, VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
           VIRTIO_STATUS_DRIVER_OK);

    d->capacity = rd(d, VIRTIO_MMIO_CONFIG) | ((uint64_t)rd(d, VIRTIO_MMIO_CONFIG + 4) << 32);
    d->size_max = (want_lo & (1u << VIRTIO_BLK_F_SIZE_MAX)) ? rd(d, VIRTIO_MMIO_CONFIG + 8) : 65536;
    if (d->size_max < 4096)
        d->size_max = 4096;
    d->size_max &= ~4095u; /* whole pages, so every sector size divides it */
    if (d->size_max > PUPA_BLK_SIZE_MAX)
        d->size_max = PUPA_BLK_SIZE_MAX;
    if ((d->capacity * 512 + 511) / 512 < (d->size_bytes + 511) / 512)
        return fail(d, operation, "device is smaller than the image");
    d->free_slots = VBLK_SLOTS == 32 ? 0xffffffffu : (1u << VBLK_SLOTS) - 1;

    pupa_GuestMessage m;
    pupa_msg_capacity(&m, d->name, d->capacity, d->size_bytes);
    rt_send(&m);
    return true;
}

int vblk_in_flight(const struct vblk *d)
{
    return VBLK_SLOTS - __builtin_popcount(d->free_slots);
}

bool vblk_submit(struct vblk *d, uint64_t sector, void *buf, uint32_t len, uint64_t tag)
{
    return vblk_submit_type(d, VIRTIO_BLK_T_IN, sector, buf, len, tag);
}

bool vblk_submit_type(struct vblk *d, uint32_t type, uint64_t sector, void *buf, uint32_t len,
                      uint64_t tag)
{
    if (d->free_slots == 0)
        return false;
    int s = __builtin_ctz(d->free_slots);
    d->free_slots &= ~(1u << s);
    d->hdr[s] = (struct vblk_hdr){type, 0, sector};
    d->status[s] = 0xff;
    d->tag[s] = tag;
    /* slot s owns descriptors 3s, 3s+1, 3s+2 */
    uint16_t i = (uint16_t)(3 * s);
    d->desc[i] = (struct vring_desc){(uint64_t)(uintptr_t)&d->hdr[s], 16, VIRTQ_DESC_F_NEXT,
                                     (uint16_t)(i + 1)};
    d->desc[i + 1] = (struct vring_desc){(uint64_t)(uintptr_t)buf, len,
                                         VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(i + 2)};
    d->desc[i + 2] =
        (struct vring_desc){(uint64_t)(uintptr_t)&d->status[s], 1, VIRTQ_DESC_F_WRITE, 0};
    d->avail[2 + d->avail_idx % VBLK_QSIZE] = i;
    d->avail_idx++;
    d->requests++;
    return true;
}

void vblk_kick(struct vblk *d)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
    d->avail[1] = d->avail_idx;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    d->kicks++;
}

void vblk_wait(struct vblk *d, uint64_t *tag, uint8_t *status)
{
    uint32_t len;
    vblk_wait_len(d, tag, status, &len);
}

void vblk_wait_len(struct vblk *d, uint64_t *tag, uint8_t *status, uint32_t *len)
{
    volatile uint16_t *used_idx = (volatile uint16_t *)(d->used + 2);
    while (*used_idx == d->used_seen)
        __asm__ volatile("pause");
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    const volatile uint8_t *e = d->used + 4 + 8 * (d->used_seen % VBLK_QSIZE);
    uint32_t id = *(const volatile uint32_t *)e;
    *len = *(const volatile uint32_t *)(e + 4);
    d->used_seen++;
    uint32_t s = id / 3;
    if (id % 3 != 0 || s >= VBLK_SLOTS || (d->free_slots & (1u << s)))
        rt_panic("virtio-blk %s: device returned unknown descriptor %u", d->name, id);
    d->free_slots |= 1u << s;
    *tag = d->tag[s];
    *status = d->status[s];
}

int vblk_read(struct vblk *d, uint64_t off, void *buf, uint64_t len)
{
    uint8_t *out = buf;
    uint64_t dev_bytes = d->capacity * 512;
    int first_error = 0;

    /* past the device: zeros */
    if (off >= dev_bytes) {
        memset(out, 0, len);
        return 0;
    }
    if (len > dev_bytes - off) {
        memset(out + (dev_bytes - off), 0, len - (dev_bytes - off));
        len = dev_bytes - off;
    }
    /* sector-aligned reads straight into buf; unaligned edges through a bounce buffer */
    static uint8_t bounce[4096] __attribute__((aligned(4096)));
    while (len > 0) {
        uint64_t sector = off / 512;
        uint32_t skip = (uint32_t)(off % 512);
        if (skip || len < 512) {
            uint8_t status = 0;
            uint64_t tag;
            uint32_t n = 512 - skip < len ? 512 - skip : (uint32_t)len;
            vblk_submit(d, sector, bounce, 512, 0);
            vblk_kick(d);
            vblk_wait(d, &tag, &status);
            if (status && !first_error)
                first_error = status;
            memcpy(out, bounce + skip, n);
            out += n;
            off += n;
            len -= n;
            continue;
        }
        /* as many full-sector requests as fit the slots, one kick */
        uint64_t batch = 0;
        while (len - batch >= 512 && vblk_in_flight(d) < VBLK_SLOTS) {
            uint64_t n = (len - batch) & ~511ull;
            if (n > d->size_max)
                n = d->size_max;
            vblk_submit(d, (off + batch) / 512, out + batch, (uint32_t)n, 0);
            batch += n;
        }
        vblk_kick(d);
        while (vblk_in_flight(d) > 0) {
            uint64_t tag;
            uint8_t status;
            vblk_wait(d, &tag, &status);
            if (status && !first_error)
                first_error = status;
        }
        out += batch;
        off += batch;
        len -= batch;
    }
    return first_error;
}

int vblk_alloc(struct vblk *d, uint64_t off, struct pupa_blk_alloc *out, size_t max, size_t *got)
{
    static struct pupa_blk_alloc answer[PUPA_BLK_ALLOC_MAX];
    uint64_t tag;
    uint8_t status;
    uint32_t len;

    *got = 0;
    if (max > PUPA_BLK_ALLOC_MAX)
        max = PUPA_BLK_ALLOC_MAX;
    if (max == 0 || vblk_in_flight(d) != 0)
        return -1;
    vblk_submit_type(d, PUPA_VIRTIO_BLK_T_ALLOC, off, answer, (uint32_t)(max * sizeof(answer[0])),
                     0);
    vblk_kick(d);
    vblk_wait_len(d, &tag, &status, &len);
    /* the device wrote whole entries and the status byte */
    if (status != 0 || len < 1 || (len - 1) % sizeof(answer[0]) != 0 ||
        (len - 1) / sizeof(answer[0]) > max)
        return -1;
    *got = (len - 1) / sizeof(answer[0]);
    memcpy(out, answer, *got * sizeof(answer[0]));
    return *got ? 0 : -1;
}
