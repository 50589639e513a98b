/* map.h: the "map" operation (qemu-img map) over an open chain: pure like the
 * parsers, so the guest runs it over virtio-blk and tests over files. */
#ifndef PUPA_OP_MAP_H
#define PUPA_OP_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "../formats/blk.h"
#include "pupa/protocol.h"

typedef void (*map_send_fn)(void *ctx, const pupa_GuestMessage *m);

/* qemu-img map from start for max_length bytes (UINT64_MAX: to the end): the
 * entries merged as qemu-img merges them for JSON, in MapExtents frames of up to
 * 256, the last frame marked. Progress frames (virtual bytes, device `device`)
 * every `percent` percent when percent > 0. On a failed block-status call the
 * entries dumped so far are followed by an Error frame with what qemu prints on
 * stderr first (qcow2's corruption message), if anything, and one with the cause
 * (qemu's "Could not read file metadata: " is the VMM's to add). Returns success. */
bool map_run(struct blk_node *top, uint64_t start, uint64_t max_length, const char *device,
             uint32_t percent, map_send_fn send, void *ctx);

#endif
