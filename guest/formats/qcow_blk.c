/* qcow_blk.c: the qcow (version 1) block driver: qemu 7.2's get_cluster_offset()
 * over the L1/L2 tables, its block status (one cluster at a time) and its reads
 * of compressed clusters (raw deflate, exactly one cluster). */
#include <string.h>

#include "blk_inflate.h"
#include "qcow.h"

#define OFLAG_COMPRESSED (1ull << 63)

struct qcowblk {
    struct blk_file *file;
    char *error;
    struct blk_arena *arena;
    uint32_t cluster_bits, l2_bits;
    uint64_t cluster_size, l1_offset, cluster_offset_mask;
    /* the last L2 table (qemu's status goes one cluster at a time: a map walks it) */
    uint64_t l2_cached;           /* its offset + 1; 0 = none */
    uint64_t l1_cached, l1_entry; /* the last L1 entry read: index + 1, value */
    uint8_t *l2;
    struct blk_zctx *z;
    uint8_t *cbuf, *cluster;
    uint64_t cached_coffset; /* + 1; 0 = nothing cached */
};

/* get_cluster_offset(allocate = 0): the L2 entry for off, 0 when unallocated. */
static int cluster_entry(struct qcowblk *q, uint64_t off, uint64_t *entry)
{
    uint64_t l1_index = off >> (q->l2_bits + q->cluster_bits);
    *entry = 0;
    if (q->l1_cached != l1_index + 1) {
        uint8_t b[8];
        q->l1_cached = 0;
        /* the L1 table covers the whole disk (the parser checked its size and range) */
        if (blk_pread(q->file, q->l1_offset + l1_index * 8, b, 8) != 0)
            return blk_fail(q->error, "Input/output error");
        q->l1_entry = fmt_be64(b);
        q->l1_cached = l1_index + 1;
    }
    uint64_t l2_offset = q->l1_entry;
    if (!l2_offset)
        return 0;
    /* qemu reads the whole L2 table at a signed offset: past 2^63 or past its
     * largest request end, EIO */
    uint64_t l2_bytes = 8ull << q->l2_bits;
    if (!fmt_range_ok(l2_offset, l2_bytes))
        return blk_fail(q->error, "Input/output error");
    uint64_t l2_index = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
    if (q->l2_cached != l2_offset + 1) {
        q->l2_cached = 0;
        if (blk_pread(q->file, l2_offset, q->l2, (size_t)l2_bytes) != 0)
            return blk_fail(q->error, "Input/output error");
        q->l2_cached = l2_offset + 1;
    }
    *entry = fmt_be64(q->l2 + l2_index * 8);
    return 0;
}

static int qcow_block_status(void *drv, uint64_t off, uint64_t len, struct blk_extent *out)
{
    struct qcowblk *q = drv;
    uint64_t entry, in_cluster = off & (q->cluster_size - 1);
    if (cluster_entry(q, off, &entry) != 0)
        return -1;
    out->len = q->cluster_size - in_cluster < len ? q->cluster_size - in_cluster : len;
    out->flags = 0;
    if (!entry)
        return 0;
    if (entry & OFLAG_COMPRESSED) {
        out->flags = BLK_DATA | BLK_COMPRESSED;
        out->offset = entry & q->cluster_offset_mask;
        out->clen = (entry >> (63 - q->cluster_bits)) & (q->cluster_size - 1);
        return 0;
    }
    /* qemu maps with OR and reads with +: an entry not aligned to its cluster
     * is read by the driver (which fails it unless sector aligned) */
    out->flags = BLK_DATA | BLK_OFFSET_VALID;
    out->offset = entry | in_cluster;
    if (entry & (q->cluster_size - 1))
        out->flags |= BLK_DRIVER_READ;
    return 0;
}

static int load_compressed(struct qcowblk *q, uint64_t entry)
{
    uint64_t coffset = entry & q->cluster_offset_mask;
    uint64_t csize = (entry >> (63 - q->cluster_bits)) & (q->cluster_size - 1);
    if (q->cached_coffset == coffset + 1)
        return 0;
    q->cached_coffset = 0;
    if (!q->cbuf) {
        q->z = blk_zctx_new(q->arena);
        q->cbuf = blk_alloc(q->arena, (size_t)q->cluster_size, 64);
        q->cluster = blk_alloc(q->arena, (size_t)q->cluster_size, 64);
        if (!q->z || !q->cbuf || !q->cluster)
            return blk_fail(q->error, "Cannot allocate memory");
    }
    if (!fmt_range_ok(coffset, csize) || blk_pread(q->file, coffset, q->cbuf, (size_t)csize) != 0)
        return blk_fail(q->error, "Input/output error");
    if (blk_inflate(q->z, -12, q->cluster, (size_t)q->cluster_size, q->cbuf, (size_t)csize) != 0)
        return blk_fail(q->error, "Input/output error");
    q->cached_coffset = coffset + 1;
    return 0;
}

static int qcow_read(void *drv, uint64_t off, void *buf, size_t len)
{
    struct qcowblk *q = drv;
    uint8_t *out = buf;
    while (len > 0) {
        uint64_t entry, in_cluster = off & (q->cluster_size - 1);
        size_t n =
            q->cluster_size - in_cluster < len ? (size_t)(q->cluster_size - in_cluster) : len;
        if (cluster_entry(q, off, &entry) != 0)
            return -1;
        if (entry & OFLAG_COMPRESSED) {
            if (load_compressed(q, entry) != 0)
                return -1;
            memcpy(out, q->cluster + in_cluster, n);
        } else if (entry) {
            if ((entry & 511) != 0 || !fmt_range_ok(entry + in_cluster, n))
                return blk_fail(q->error, "Input/output error");
            struct blk_req r = {entry + in_cluster, out, n};
            if (q->file->ops->read(q->file->ctx, &r, 1) != 0)
                return blk_fail(q->error, "Input/output error");
        } else {
            return blk_fail(q->error, "Input/output error"); /* not asked for */
        }
        out += n;
        off += n;
        len -= n;
    }
    return 0;
}

static const struct blk_driver qcow_driver = {
    .request_alignment = 512,
    .supports_backing = true,
    .block_status = qcow_block_status,
    .read = qcow_read,
};

int qcow_blk_init(struct blk_open *open, struct fmt_info *info, const struct qcow_header *h)
{
    if (h->crypt_method != 0)
        return fmt_fail(info, "Parameter 'encrypt.key-secret' is required for cipher");
    struct qcowblk *q = blk_alloc(open->arena, sizeof(*q), 16);
    if (!q)
        return fmt_fail(info, "Cannot allocate memory");
    q->file = open->file;
    q->error = open->error;
    q->arena = open->arena;
    q->cluster_bits = h->cluster_bits;
    q->l2_bits = h->l2_bits;
    q->cluster_size = 1ull << h->cluster_bits;
    q->l1_offset = h->l1_table_offset;
    q->cluster_offset_mask = (1ull << (63 - h->cluster_bits)) - 1;
    q->l2 = blk_alloc(open->arena, 8u << h->l2_bits, 64);
    if (!q->l2)
        return fmt_fail(info, "Cannot allocate memory");
    open->ops = &qcow_driver;
    open->drv = q;
    return 0;
}
