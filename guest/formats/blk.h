/* blk.h: the block layer: what a format driver implements to let pupa read the
 * virtual disk (map, compare, read --virtual, convert), and the generic layer
 * that does on top of it what qemu's block/io.c does.
 *
 * ------------------------------------------------------------ for driver writers
 *
 * A format has a parser (its fmt_driver.open, format.h) and, beside it, a block
 * driver: a struct blk_driver with two functions over the same validated header.
 *
 *   block_status(drv, off, len, &ext)  describe [off, off + ext.len): qemu's
 *       bdrv_co_block_status of the driver (want_zero), no more, no less:
 *       BLK_DATA / BLK_ZERO / neither (unallocated in this layer), BLK_OFFSET_VALID
 *       with ext.offset the byte in the image file where off's byte lives, BLK_RAW
 *       (ask the file layer, at ext.offset), BLK_RECURSE (DATA+OFFSET_VALID whose
 *       zeroness the file layer knows better), BLK_COMPRESSED (pupa's: DATA stored
 *       compressed at ext.offset, ext.clen bytes; no OFFSET_VALID). ext.len > 0 and
 *       <= len; off is a multiple of the driver's request_alignment, len too except
 *       at the end of the disk. Return 0, or -1 with blk_fail() (the read fails).
 *   read(drv, off, buf, len)  the virtual bytes of a range block_status called
 *       BLK_DATA without BLK_OFFSET_VALID (compressed clusters, ...) or marked
 *       BLK_DRIVER_READ (reads that differ from the map, like qcow's). Everything
 *       else the generic layer reads itself: OFFSET_VALID data straight from the
 *       file, many requests in flight; ZERO as zeros; unallocated from the backing
 *       layer or as zeros. NULL when the driver never returns such extents.
 *
 * The parser hands its state to the driver: blk_open() runs the format's parser
 * (fmt_driver.open) with info->blk pointing to a struct blk_open, and a parser
 * whose format has a driver ends a successful open with its driver's init (for
 * example qcow2_open() -> qcow2_blk_init(info->blk, &header)), which refuses what
 * only reading needs (encryption without a key: qemu's wording) and fills
 * open->ops and open->drv. State comes from open->arena (blk_alloc: bounded, all
 * released at once); image metadata is read with blk_pread(open->file, ...)
 * (cached, synchronous) and never trusted: every table entry is checked against
 * the file and the format's limits before use. A format without a driver is
 * refused by blk_open() with one line.
 * Decompression: blk_inflate_raw() and blk_zstd() (blk_inflate.c), bounded by the
 * output size. Helpers for tests: tests/unit/blk_testlib.h; the host tool
 * tests/tools/pupa-blkmap prints qemu-img map and the disk's SHA-256 from the
 * hosted drivers, so every driver is checked against qemu-img on the corpus.
 *
 * ------------------------------------------------------------ for operations
 *
 * blk_open_chain() opens an image and its backing chain (the disks the user named,
 * nearest first); blk_status()/blk_status_above() and blk_read() are what map,
 * compare and read --virtual are written with. */
#ifndef PUPA_BLK_H
#define PUPA_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "pupa/abi.h"

/* ------------------------------------------------------------ status flags (qemu's) */

#define BLK_DATA         0x01u /* allocation for data at offset is tied to this layer */
#define BLK_ZERO         0x02u /* reads as zero */
#define BLK_OFFSET_VALID 0x04u /* ext.offset is where the bytes are in the file */
#define BLK_RAW          0x08u /* pass-through: ask the file layer at ext.offset */
#define BLK_ALLOCATED    0x10u /* the contents are determined by this layer */
#define BLK_EOF          0x20u /* the extent reaches the end of the disk */
#define BLK_RECURSE      0x40u /* ask the file layer whether the data reads as zero */
/* pupa: DATA stored compressed (or otherwise transformed) at ext.offset, ext.clen
 * bytes; qemu reports such extents as DATA without OFFSET_VALID */
#define BLK_COMPRESSED   0x100u
/* pupa: the generic layer must not read this extent from ext.offset itself but
 * ask the driver's read() (qemu's driver reads it differently than it maps it) */
#define BLK_DRIVER_READ  0x200u
#define BLK_QEMU_FLAGS   0x7fu

struct blk_extent {
    uint32_t flags;  /* BLK_* */
    uint64_t len;    /* bytes from the queried offset that share this status */
    uint64_t offset; /* file offset (OFFSET_VALID, RAW, COMPRESSED) */
    uint64_t clen;   /* compressed bytes at offset (COMPRESSED) */
};

/* ------------------------------------------------------------ memory */

/* A bump allocator over a caller's buffer: drivers take their state, caches and
 * decompression buffers from it; everything is released with the arena. */
struct blk_arena {
    uint8_t *base;
    size_t cap, used;
};
/* Zeroed memory, or NULL when the arena is exhausted. */
void *blk_alloc(struct blk_arena *a, size_t size, size_t align) __attribute__((warn_unused_result));

/* ------------------------------------------------------------ the file layer */

struct blk_req {
    uint64_t off;
    void *buf;
    size_t len;
};

/* Allocation of the host file, as lseek(SEEK_DATA/SEEK_HOLE) says (qemu's
 * find_allocation): struct pupa_blk_alloc (pupa/abi.h), the answer of the VMM's
 * allocation request: PUPA_BLK_ALLOC_DATA/HOLE/UNKNOWN for [offset, offset +
 * length), length 0 meaning "from offset on". */
#define BLK_ALLOC_EXTS PUPA_BLK_ALLOC_MAX

/* One image file: a virtio-blk disk in the guest, a file descriptor on the host. */
struct blk_file_ops {
    /* Read every request (any offsets and lengths; several in flight); bytes past
     * the end of the file read as zeros. 0, or -1 when any request failed. */
    int (*read)(void *ctx, const struct blk_req *reqs, size_t n);
    /* Allocation extents from off on (at most max, in order, the first
     * containing off); *got gets their number (>= 1). 0, or -1. NULL: unknown. */
    int (*alloc)(void *ctx, uint64_t off, struct pupa_blk_alloc *out, size_t max, size_t *got);
};

struct blk_file {
    const struct blk_file_ops *ops;
    void *ctx;
    uint64_t size;      /* exact bytes */
    uint64_t allocated; /* bytes the host allocated for it (st_blocks * 512) */
    const char *name;   /* as the user gave it */
    /* metadata cache for blk_pread (set up by blk_file_init) */
    struct blk_cache *cache;
    /* the last allocation answer */
    struct pupa_blk_alloc alloc[BLK_ALLOC_EXTS];
    size_t nalloc;
    uint64_t requests; /* read requests issued (for --stats and tests) */
};

/* Prepare f for use (its cache from a; 0, or -1 when a is too small). */
int blk_file_init(struct blk_file *f, struct blk_arena *a) __attribute__((warn_unused_result));
/* Read [off, off + len) of the file through the metadata cache: 0 or -1. */
int blk_pread(struct blk_file *f, uint64_t off, void *buf, size_t len)
    __attribute__((warn_unused_result));
/* An fmt_io over the file (reads through the cache) for the parsers. */
struct fmt_io blk_file_io(struct blk_file *f);
/* The start every block-status call shares: past the end of a layer of `total` bytes
 * (EOF, length 0) or a zero-length query, *out is the answer and 1 is returned;
 * otherwise *len is clamped to the layer and 0 is returned. */
int blk_status_begin(struct blk_extent *out, uint64_t off, uint64_t *len, uint64_t total);
/* qemu's file-posix block status of [off, off + len) (the file layer: its
 * length is the file's rounded up to 512 bytes): DATA or ZERO from the host's
 * allocation, OFFSET_VALID, ALLOCATED, EOF. 0, or -1 with error set. */
int blk_file_status(struct blk_file *f, uint64_t off, uint64_t len, struct blk_extent *out,
                    char *error) __attribute__((warn_unused_result));

/* ------------------------------------------------------------ drivers */

struct blk_driver {
    uint32_t request_alignment; /* qemu's bs->bl.request_alignment (a power of two) */
    bool supports_backing;      /* the format can have a backing file */
    int (*block_status)(void *drv, uint64_t off, uint64_t len, struct blk_extent *out);
    int (*read)(void *drv, uint64_t off, void *buf, size_t len);
};

/* What a format's blk_open fills in. */
struct blk_open {
    struct blk_file *file;
    struct blk_arena *arena;
    const struct blk_driver *ops; /* out */
    void *drv;                    /* out */
    char *error;                  /* where blk_fail() writes (FMT_ERROR_MAX bytes) */
    /* a message qemu prints besides the error (qcow2's "Image is corrupt: ..."),
     * FMT_ERROR_MAX bytes; the first one stays */
    char *warning;
};

/* Set the error of a failing driver call (first one wins); returns -1. Messages
 * are qemu's errno text where qemu fails the same way ("Input/output error"). */
int blk_fail(char *error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ a chain of layers */

struct blk_node {
    const struct blk_driver *ops;
    void *drv;
    struct blk_file *file;
    uint64_t size;                   /* virtual size (qemu's bdrv_getlength) */
    struct blk_node *backing;        /* the next layer, or NULL */
    const struct fmt_driver *format; /* the format it was opened as */
    char error[FMT_ERROR_MAX];       /* why the last call failed (drivers write it) */
    char warning[FMT_ERROR_MAX];     /* what qemu would print on stderr besides ("" = none) */
};

/* Open one layer: parse the image in file as format (NULL or "": probe like
 * qemu-img) with info (whose sink gets the findings; info->format etc. say what
 * was found) and set up its driver with memory from a. The caller links
 * n->backing. 0, or -1 with info->error set (qemu's wording where qemu refuses). */
int blk_open(struct blk_node *n, struct blk_file *file, const char *format, struct blk_arena *a,
             struct fmt_info *info) __attribute__((warn_unused_result));

/* Called for each layer blk_open_chain() opens or fails to open: i, the layer's
 * parse (format, virtual size, backing file, ... and error when ok is false). */
typedef void (*blk_layer_fn)(void *ctx, size_t i, const struct fmt_info *info, bool ok);

/* Open files[0..n) as one image and its backing chain, nearest first: layer 0
 * as format (NULL: probe), every next one as the format the layer above records
 * for its backing file (else probe), with one fmt_info (whose sink is the
 * caller's; it is cleared for each layer) and memory from a. A layer must name a
 * backing file exactly when another file follows it: pupa reads only files named
 * on its command line (--backing), and never guesses a chain. Returns 0, or -1
 * after layer_fn reported the layer that failed. */
int blk_open_chain(struct blk_node *nodes, struct blk_file *files, size_t n, const char *format,
                   struct blk_arena *a, struct fmt_info *info, blk_layer_fn layer_fn, void *ctx)
    __attribute__((warn_unused_result));

/* qemu's bdrv_co_block_status() of one layer, want_zero: flags, pnum (ext.len),
 * map. Past the end of the disk: BLK_EOF and len 0. 0, or -1 (n->error). */
int blk_status(struct blk_node *n, uint64_t off, uint64_t len, struct blk_extent *out)
    __attribute__((warn_unused_result));
/* qemu's bdrv_block_status_above(n, NULL): the whole chain below n; *depth gets
 * the layer that answered (1 = n). */
int blk_status_above(struct blk_node *n, uint64_t off, uint64_t len, struct blk_extent *out,
                     int *depth) __attribute__((warn_unused_result));
/* The virtual bytes [off, off + len) of the chain starting at n (reads past the
 * end of a backing layer give zeros, like qemu's). 0, or -1 (error of the layer
 * that failed copied into n->error). */
int blk_read(struct blk_node *n, uint64_t off, void *buf, size_t len)
    __attribute__((warn_unused_result));

#endif
