/* virtio_blk.h: read-only virtio-blk device over an image file descriptor. */
#ifndef PUPA_VIRTIO_BLK_H
#define PUPA_VIRTIO_BLK_H

#include <stdint.h>

#include "vm.h"

struct virtio_blk;

/* Device `index` at PUPA_MMIO_BASE + index * PUPA_MMIO_STRIDE over fd (opened
 * read-only by the caller, never written). size: exact byte length. */
struct virtio_blk *virtio_blk_create(struct vm *vm, int index, int fd, uint64_t size,
                                     uint32_t sector_size);
void virtio_blk_destroy(struct virtio_blk *b);

struct virtio_blk_stats {
    uint64_t requests, bytes_read, errors, notifies;
    uint64_t alloc_requests; /* PUPA_VIRTIO_BLK_T_ALLOC answered */
};
void virtio_blk_stats(const struct virtio_blk *b, struct virtio_blk_stats *st);

#endif
