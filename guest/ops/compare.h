/* compare.h: the "compare" operation (qemu-img compare) over two open chains:
 * pure like the parsers, so the guest runs it over virtio-blk and tests over files. */
#ifndef PUPA_OP_COMPARE_H
#define PUPA_OP_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "../formats/blk.h"
#include "pupa/protocol.h"

#define COMPARE_BUF (2u << 20) /* qemu-img's IO_BUF_SIZE */

typedef void (*compare_send_fn)(void *ctx, const pupa_GuestMessage *m);

/* qemu-img compare of a and b (each with its backing chain), with two buffers of
 * COMPARE_BUF bytes: one CompareResult frame saying how qemu-img ends (identical,
 * mismatch at an offset, strict-mode mismatch, or which image failed how), after
 * Progress frames in virtual bytes (of the larger disk) every `percent` percent
 * and, when a layer failed, an Error frame with qemu's corruption message if it
 * printed one. Returns false when an image failed (qemu-img's exit 3 or 4). */
bool compare_run(struct blk_node *a, struct blk_node *b, bool strict, uint8_t *buf1, uint8_t *buf2,
                 const char *device, uint32_t percent, compare_send_fn send, void *ctx);

#endif
