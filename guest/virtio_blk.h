/* virtio_blk.h: the guest's virtio-blk driver (virtio-mmio v2, polled). */
#ifndef PUPA_GUEST_VIRTIO_BLK_H
#define PUPA_GUEST_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pupa/protocol.h"

#define VBLK_QSIZE 128
#define VBLK_SLOTS 32 /* requests in flight: 3 descriptors each */

struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct vblk_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct vblk {
    int index;
    char name[33];
    uint64_t base;        /* MMIO window */
    uint64_t capacity;    /* 512-byte sectors */
    uint64_t size_bytes;  /* exact image length (DeviceConfig.size_bytes) */
    uint32_t sector_size; /* bytes per logical sector */
    uint32_t size_max;    /* largest data segment */
    struct vring_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[] */
    volatile uint8_t *used;   /* flags, idx, ring[] of {id, len} */
    uint16_t avail_idx, used_seen;
    uint32_t free_slots; /* bitmap of free request slots */
    struct vblk_hdr hdr[VBLK_SLOTS];
    uint8_t status[VBLK_SLOTS];
    uint64_t tag[VBLK_SLOTS];
    uint64_t requests, kicks;
};

/* Initialise device `index` (Init frames "probe", "features", "queue" and a
 * Capacity frame); false with an Error frame sent when it cannot be used. */
bool vblk_init(struct vblk *d, int index, const pupa_DeviceConfig *cfg, const char *operation);

/* Queue a read of len bytes (a multiple of 512, at most size_max) at 512-byte
 * sector `sector` into buf; false when all slots are busy. */
bool vblk_submit(struct vblk *d, uint64_t sector, void *buf, uint32_t len, uint64_t tag);
/* The same for any request type (the 64-bit header field as given). */
bool vblk_submit_type(struct vblk *d, uint32_t type, uint64_t sector, void *buf, uint32_t len,
                      uint64_t tag);
/* Tell the device about queued requests (one exit). */
void vblk_kick(struct vblk *d);
/* Wait for the next completed request: its tag and virtio status. */
void vblk_wait(struct vblk *d, uint64_t *tag, uint8_t *status);
/* The same, with the used length the device reported. */
void vblk_wait_len(struct vblk *d, uint64_t *tag, uint8_t *status, uint32_t *len);
/* Requests submitted and not yet returned by vblk_wait(). */
int vblk_in_flight(const struct vblk *d);

/* Read [off, off+len) of the disk synchronously; bytes past the end of the
 * device read as zeros. 0, or the virtio status of the first failure. */
int vblk_read(struct vblk *d, uint64_t off, void *buf, uint64_t len);

/* pupa's allocation request (pupa/abi.h): where the host file has data from byte
 * off on, up to max entries into out; *got gets their number. 0, or -1 when the
 * device refused or answered out of the rules (synchronous: call with no other
 * request in flight). */
int vblk_alloc(struct vblk *d, uint64_t off, struct pupa_blk_alloc *out, size_t max, size_t *got);

#endif
