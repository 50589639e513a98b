/* chain_guest.h: the disks of a VmmConfig opened as images with their backing
 * chains, for the block operations (map, compare, read --virtual). */
#ifndef PUPA_GUEST_CHAIN_H
#define PUPA_GUEST_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "disk.h"
#include "formats/blk.h"
#include "pupa/protocol.h"

struct guest_image {
    size_t first, n;      /* its disks: devices [first, first + n), nearest first */
    struct blk_node *top; /* the image itself */
};

struct guest_chains {
    struct disk disks[PUPA_MAX_DEVICES];
    struct blk_file files[PUPA_MAX_DEVICES];
    struct blk_node nodes[PUPA_MAX_DEVICES];
    struct guest_image image[2];
    size_t nimages;
    struct blk_arena arena;
    uint32_t findings; /* safety findings sent for all layers */
};

/* Open the images (DeviceConfig.image 0 .. want - 1, layers in order) with memory
 * from all free RAM but `reserve` bytes: each layer is parsed as qemu opens it
 * (its findings and an InfoResult frame sent, or an Error frame with qemu's
 * reason), its block driver set up, the chain checked against what the images
 * name. With cfg->require_safe, an image with a finding stops here with an
 * Error frame: nothing of its contents is read. Returns success; on failure the
 * caller sends Complete(false). */
bool chains_open(struct guest_chains *c, const pupa_VmmConfig *cfg, const char *operation,
                 size_t want, size_t reserve);

/* The block layer failed while reading: an Error frame with the layer's
 * warning (qemu's corruption message) first, if any. */
void chains_report(const char *operation, const char *device, uint64_t offset,
                   const struct blk_node *n, const char *what);

#endif
