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

/* The InfoResult frame of a parse: nodes, snapshots and findings are the numbers
 * of InfoNode, Snapshot and Finding frames sent for it (the block operations send
 * no tree: 0 nodes also announces no format-specific type). */
void info_result_msg(pupa_GuestMessage *m, const struct fmt_info *info, const char *device,
                     uint32_t nodes, uint32_t snapshots, uint32_t findings);

/* The safety findings info_run adds to a successful parse (polyglot signatures,
 * backing and data files, corrupt, encrypted, control characters), for the
 * operations that open images without printing their info. */
void info_add_findings(struct fmt_info *info, const struct fmt_io *io,
                       const struct fmt_driver *drv);

/* The driver qemu-img would pick for these first FMT_PROBE_SIZE bytes. */
const struct fmt_driver *info_probe(const uint8_t *buf, uint64_t size, const char *filename);

#endif
