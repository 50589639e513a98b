/* file_alloc.h: where a file holds data, as lseek(SEEK_DATA/SEEK_HOLE) says
 * (qemu's find_allocation), for the virtio-blk allocation request. */
#ifndef PUPA_FILE_ALLOC_H
#define PUPA_FILE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "pupa/abi.h"

/* Fill up to max (>= 1) entries from byte off on; returns how many. Never fails:
 * what lseek cannot say is an UNKNOWN entry to the end. */
size_t file_alloc_extents(int fd, uint64_t off, struct pupa_blk_alloc *out, size_t max);

#endif
