/* qcow.h: what the qcow (v1) parser (qcow.c) hands its block driver (qcow_blk.c). */
#ifndef PUPA_QCOW_H
#define PUPA_QCOW_H

#include <stdint.h>

#include "blk.h"
#include "format.h"

struct qcow_header {
    uint32_t cluster_bits;    /* 9..16 */
    uint32_t l2_bits;         /* 6..13: entries per L2 table, log2 */
    uint32_t crypt_method;    /* 0 none, 1 AES */
    uint64_t l1_table_offset; /* the table covers the disk and lies below FMT_MAX_LENGTH */
};

/* Set up the block driver of a validated image: 0, or -1 with info->error
 * (AES encryption: no key). */
int qcow_blk_init(struct blk_open *open, struct fmt_info *info, const struct qcow_header *h)
    __attribute__((warn_unused_result));

#endif
