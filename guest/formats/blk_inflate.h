/* blk_inflate.h: decompression for block drivers with Debian's zlib and zstd,
 * every call bounded by its output size (a compression bomb fails that one read).
 * Contexts are allocated once from an arena and reused: the guest's allocator
 * never frees. */
#ifndef PUPA_BLK_INFLATE_H
#define PUPA_BLK_INFLATE_H

#include <stddef.h>

#include "blk.h"

struct blk_zctx; /* lazily created contexts of one arena (per chain) */

/* A context set drawing on a (NULL when a is exhausted). */
struct blk_zctx *blk_zctx_new(struct blk_arena *a);

/* Deflate data in src into exactly dst_len bytes. window_bits as zlib's
 * inflateInit2: -12 for qcow/qcow2's raw deflate, 15 for zlib streams (vmdk
 * grains, cloop, dmg). Succeeds, as qemu's decompressors do, when dst is full and
 * the stream ended or simply ran out of input (src is padded to sectors): 0, or
 * -1 for a corrupt or short stream or no memory. */
int blk_inflate(struct blk_zctx *z, int window_bits, void *dst, size_t dst_len, const void *src,
                size_t src_len) __attribute__((warn_unused_result));

/* zstd frames in src into exactly dst_len bytes, as qemu's qcow2_zstd_decompress:
 * frame after frame until dst is full; no progress, an error, or a frame that
 * would go on past dst fails. 0 or -1. */
int blk_zstd(struct blk_zctx *z, void *dst, size_t dst_len, const void *src, size_t src_len)
    __attribute__((warn_unused_result));

#endif
