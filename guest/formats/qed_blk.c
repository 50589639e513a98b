/* qed_blk.c: the qed block driver: qemu 7.2's qed_find_cluster() over the L1/L2
 * tables (unallocated, zero and data clusters, checked against the file) and its
 * block status. */
#include <string.h>

#include "qed.h"

#define QED_ZERO_CLUSTER 1u

struct qedblk {
    struct blk_file *file;
    char *error;
    struct qed_header h;
    uint32_t cluster_bits, l1_shift;
    uint64_t table_entries; /* entries per table */
};

/* qed_check_cluster_offset(): aligned, past the header, before the end of file. */
static bool cluster_ok(const struct qedblk *q, uint64_t off)
{
    uint64_t cs = q->h.cluster_size;
    return (off & (cs - 1)) == 0 && off >= (uint64_t)q->h.header_size * cs && off < q->h.file_size;
}

/* qed_check_table_offset() */
static bool table_ok(const struct qedblk *q, uint64_t off)
{
    uint64_t end = off + (uint64_t)(q->h.table_size - 1) * q->h.cluster_size;
    return end > off && cluster_ok(q, off) && cluster_ok(q, end);
}

static int entry_at(struct qedblk *q, uint64_t table, uint64_t index, uint64_t *e)
{
    uint8_t b[8];
    if (blk_pread(q->file, table + index * 8, b, 8) != 0)
        return blk_fail(q->error, "Input/output error");
    *e = fmt_le64(b);
    return 0;
}

static int qed_block_status(void *drv, uint64_t pos, uint64_t len, struct blk_extent *out)
{
    struct qedblk *q = drv;
    uint64_t cs = q->h.cluster_size, oic = pos & (cs - 1);
    uint64_t l1_end = ((pos >> q->l1_shift) + 1) << q->l1_shift;

    if (len > l1_end - pos)
        len = l1_end - pos;
    out->flags = 0;
    out->len = len;
    uint64_t l2_offset, l1_index = pos >> q->l1_shift;
    /* a size that passed qemu's wrapping check can reach past the L1 table;
     * qemu would index past its copy of the table */
    if (l1_index >= q->table_entries)
        return blk_fail(q->error, "Input/output error");
    if (entry_at(q, q->h.l1_table_offset, l1_index, &l2_offset) != 0)
        return -1;
    if (l2_offset == 0)
        return 0; /* QED_CLUSTER_L1 */
    if (!table_ok(q, l2_offset))
        return blk_fail(q->error, "Invalid argument");

    uint64_t index = (pos >> q->cluster_bits) & (q->table_entries - 1);
    uint64_t n = (oic + len + cs - 1) >> q->cluster_bits;
    uint64_t end = index + n < q->table_entries ? index + n : q->table_entries;
    uint64_t first, last, i;
    if (entry_at(q, l2_offset, index, &first) != 0)
        return -1;
    last = first;
    /* qed_count_contiguous_clusters() */
    for (i = index + 1; i < end; i++) {
        uint64_t e;
        if (entry_at(q, l2_offset, i, &e) != 0)
            return -1;
        if (last == 0) {
            if (e != 0)
                break;
        } else if (last == QED_ZERO_CLUSTER) {
            if (e != QED_ZERO_CLUSTER)
                break;
        } else {
            if (e != last + cs)
                break;
            last = e;
        }
    }
    uint64_t run = (i - index) * cs - oic;
    if (run < out->len)
        out->len = run;
    if (first == 0)
        return 0; /* QED_CLUSTER_L2 */
    if (first == QED_ZERO_CLUSTER) {
        out->flags = BLK_ZERO;
        return 0;
    }
    if (!cluster_ok(q, first))
        return blk_fail(q->error, "Invalid argument");
    out->flags = BLK_DATA | BLK_OFFSET_VALID;
    out->offset = first | oic;
    return 0;
}

static const struct blk_driver qed_driver = {
    .request_alignment = 512,
    .supports_backing = true,
    .block_status = qed_block_status,
};

int qed_blk_init(struct blk_open *open, struct fmt_info *info, const struct qed_header *h)
{
    struct qedblk *q = blk_alloc(open->arena, sizeof(*q), 16);
    if (!q)
        return fmt_fail(info, "Cannot allocate memory");
    q->file = open->file;
    q->error = open->error;
    q->h = *h;
    q->cluster_bits = (uint32_t)__builtin_ctz(h->cluster_size);
    q->table_entries = (uint64_t)h->table_size * h->cluster_size / 8;
    q->l1_shift = q->cluster_bits + (uint32_t)__builtin_ctzll(q->table_entries);
    open->ops = &qed_driver;
    open->drv = q;
    return 0;
}
