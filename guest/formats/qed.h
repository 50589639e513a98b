/* qed.h: what the qed parser (qed.c) hands its block driver (qed_blk.c). */
#ifndef PUPA_QED_H
#define PUPA_QED_H

#include <stdint.h>

#include "blk.h"
#include "format.h"

struct qed_header {
    uint32_t cluster_size, table_size, header_size;
    uint64_t features, l1_table_offset, image_size;
    uint32_t backing_off, backing_size;
    uint64_t file_size; /* file length rounded down to a cluster, as qemu keeps it */
};

/* Set up the block driver of a validated image: 0, or -1 with info->error. */
int qed_blk_init(struct blk_open *open, struct fmt_info *info, const struct qed_header *h)
    __attribute__((warn_unused_result));

#endif
