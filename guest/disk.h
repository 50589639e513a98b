/* disk.h: a virtio-blk disk as the block layer's file (blk_file): reads of any
 * offsets and lengths with many requests in flight, the allocation request. */
#ifndef PUPA_GUEST_DISK_H
#define PUPA_GUEST_DISK_H

#include "formats/blk.h"
#include "virtio_blk.h"

struct disk {
    struct vblk dev;
    uint8_t *bounce; /* VBLK_SLOTS sectors for unaligned edges */
};

/* Initialise device `index` (vblk_init) and f as its blk_file, with memory from
 * a. false with an Error frame sent when the device cannot be used. */
bool disk_init(struct disk *d, struct blk_file *f, int index, const pupa_DeviceConfig *cfg,
               const char *operation, struct blk_arena *a);

#endif
