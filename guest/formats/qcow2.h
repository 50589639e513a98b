/* qcow2.h: what the qcow2 parser (qcow2.c) hands its block driver (qcow2_blk.c):
 * the header fields it validated. */
#ifndef PUPA_QCOW2_H
#define PUPA_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#include "blk.h"
#include "format.h"

#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_EXTL2     (1ull << 4)

struct qcow2_header {
    uint32_t version;      /* 2 or 3 */
    uint32_t cluster_bits; /* 9..21 */
    uint32_t crypt_method; /* 0 none, 1 AES, 2 LUKS */
    uint32_t l1_size;      /* entries; the table lies below FMT_MAX_LENGTH */
    uint32_t refcount_table_clusters;
    uint32_t refcount_order; /* 0..6 */
    uint64_t size;           /* virtual size in bytes, as in the header */
    uint64_t l1_table_offset, refcount_table_offset;
    uint64_t incompat;
    uint8_t compression_type; /* 0 zlib, 1 zstd */
    const char *data_file;    /* the external data file's name when INCOMPAT_DATA_FILE */
};

/* Set up the block driver of a validated image (called by qcow2_open when
 * info->blk is set): 0, or -1 with info->error (encryption without a key,
 * external data file). */
int qcow2_blk_init(struct blk_open *open, struct fmt_info *info, const struct qcow2_header *h)
    __attribute__((warn_unused_result));

#endif
