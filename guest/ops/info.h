/* info.h: the "info" operation: probe the format, parse, send the report as frames.
 * Pure like the parsers: the guest runs it over virtio-blk, tests over a file. */
#ifndef PUPA_OP_INFO_H
#define PUPA_OP_INFO_H

#include <stdbool.h>

#include "../formats/format.h"
#include "pupa/protocol.h"

typedef void (*info_send_fn)(void *ctx, const pupa_GuestMessage *m);

/* Inspect the image behind io. forced_format: NULL/"" to probe like qemu-img.
 * Sends InfoNode/Snapshot/Finding frames, then InfoResult and Complete on
 * success, or Error and Complete(success=false). Returns success. */
bool info_run(const struct fmt_io *io, const char *forced_format, const char *device,
              info_send_fn send, void *ctx);

/* The driver qemu-img would pick for these first FMT_PROBE_SIZE bytes. */
const struct fmt_driver *info_probe(const uint8_t *buf, uint64_t size, const char *filename);

#endif
