/* qed.c: the qed format (QEMU Enhanced Disk: header, backing file, L1 table) as qemu reads it. */
#include <string.h>

#include "format.h"
#include "pupa/abi.h"

#define QED_MAGIC                     0x00444551u /* "QED\0" little endian */
#define QED_F_BACKING_FILE            0x01u
#define QED_F_BACKING_FORMAT_NO_PROBE 0x04u
#define QED_FEATURE_MASK              0x07u
#define QED_MIN_CLUSTER_SIZE          4096u
#define QED_MAX_CLUSTER_SIZE          (64u * 1024 * 1024)
#define QED_MIN_TABLE_SIZE            1u
#define QED_MAX_TABLE_SIZE            16u
#define QED_PATH_BUF                  4096u /* qemu's backing file name buffer (PATH_MAX) */

struct qed_header {
    uint32_t cluster_size, table_size, header_size;
    uint64_t features, l1_table_offset, image_size;
    uint32_t backing_off, backing_size;
    uint64_t file_size; /* file length rounded down to a cluster, as qemu keeps it */
};

static int qed_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    if (len < 64 || fmt_le32(buf) != QED_MAGIC)
        return 0;
    return 100;
}

static bool pow2_in(uint32_t v, uint32_t lo, uint32_t hi)
{
    return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

/* qemu's qed_check_cluster_offset(): aligned, past the header, before the end of file. */
static bool cluster_offset_ok(const struct qed_header *q, uint64_t off)
{
    uint64_t header_bytes = (uint64_t)q->header_size * q->cluster_size;
    if (off & (q->cluster_size - 1))
        return false;
    return off >= header_bytes && off < q->file_size;
}

/* qemu's qed_check_table_offset(); note a one-cluster table always fails its overflow test. */
static bool table_offset_ok(const struct qed_header *q, uint64_t off)
{
    uint64_t end = off + (uint64_t)(q->table_size - 1) * q->cluster_size;
    if (end <= off)
        return false;
    return cluster_offset_ok(q, off) && cluster_offset_ok(q, end);
}

struct qed_l1_check {
    const struct qed_header *q;
    struct fmt_tally bad;
};

static int qed_l1_chunk(void *ctx, uint64_t first, const uint8_t *e, size_t n)
{
    struct qed_l1_check *c = ctx;
    for (size_t i = 0; i < n; i++) {
        uint64_t l2 = fmt_le64(e + i * 8);
        if (l2 != 0 && !table_offset_ok(c->q, l2))
            fmt_tally_add(&c->bad, first + i);
    }
    return 0;
}

/* L1 entries are L2 table offsets; qemu validates them only when it reads through them. */
static int qed_check_l1(const struct qed_header *q, const struct fmt_io *io, struct fmt_info *info)
{
    struct qed_l1_check c = {q, {0, 0}};
    uint64_t entries = (uint64_t)q->cluster_size * q->table_size / 8;
    if (fmt_walk(io, info, q->l1_table_offset, entries, 8, qed_l1_chunk, &c) != 0)
        return -1;
    if (c.bad.count)
        fmt_finding(info, "out-of-range",
                    "%llu L1 entries point to L2 tables outside the file or misaligned "
                    "(first: entry %llu)",
                    (unsigned long long)c.bad.count, (unsigned long long)c.bad.first);
    return 0;
}

static int qed_open(const struct fmt_io *io, struct fmt_info *info)
{
    uint8_t h[64];
    struct qed_header q;

    strcpy(info->format, "qed");
    if (fmt_read(io, info, 0, h, sizeof(h)) != 0)
        return -1;
    q.cluster_size = fmt_le32(h + 4);
    q.table_size = fmt_le32(h + 8);
    q.header_size = fmt_le32(h + 12);
    q.features = fmt_le64(h + 16);
    q.l1_table_offset = fmt_le64(h + 40);
    q.image_size = fmt_le64(h + 48);
    q.backing_off = fmt_le32(h + 56);
    q.backing_size = fmt_le32(h + 60);

    if (fmt_le32(h) != QED_MAGIC)
        return fmt_fail(info, "Image not in QED format");
    if (q.features & ~(uint64_t)QED_FEATURE_MASK)
        return fmt_fail(info, "Unsupported QED features: %llx",
                        (unsigned long long)(q.features & ~(uint64_t)QED_FEATURE_MASK));
    if (!pow2_in(q.cluster_size, QED_MIN_CLUSTER_SIZE, QED_MAX_CLUSTER_SIZE))
        return fmt_fail(info, "QED cluster size is invalid");
    /* the file layer counts whole sectors; qed rounds down to a cluster */
    uint64_t file_len = (io->size + 511) / 512 * 512;
    q.file_size = file_len & ~(uint64_t)(q.cluster_size - 1);
    if (!pow2_in(q.table_size, QED_MIN_TABLE_SIZE, QED_MAX_TABLE_SIZE))
        return fmt_fail(info, "QED table size is invalid");
    /* qemu's maximum wraps in 64 bits for the largest geometries: keep its arithmetic */
    uint64_t entries = (uint64_t)(uint32_t)(q.table_size * q.cluster_size) / 8;
    uint64_t max_size = entries * q.cluster_size * entries;
    if (q.image_size % 512 != 0 || q.image_size > max_size)
        return fmt_fail(info, "QED image size is invalid");
    if (!table_offset_ok(&q, q.l1_table_offset))
        return fmt_fail(info, "QED table offset is invalid");
    if (q.header_size > UINT32_MAX / q.cluster_size)
        return fmt_fail(info, "QED header size is too large");

    if (q.features & QED_F_BACKING_FILE) {
        if ((uint64_t)q.backing_off + q.backing_size > (uint64_t)q.cluster_size * q.header_size)
            return fmt_fail(info, "QED backing filename offset is invalid");
        if (q.backing_size >= QED_PATH_BUF)
            return fmt_fail(info, "Failed to read backing filename");
        char name[QED_PATH_BUF];
        if (fmt_read(io, info, q.backing_off, name, q.backing_size) != 0)
            return -1;
        name[q.backing_size] = '\0'; /* the name ends at its first NUL, like qemu's copy */
        size_t n = strlen(name);
        if (n >= sizeof(info->backing_file))
            n = sizeof(info->backing_file) - 1;
        memcpy(info->backing_file, name, n);
        info->backing_file[n] = '\0';
        if (q.features & QED_F_BACKING_FORMAT_NO_PROBE)
            strcpy(info->backing_format, "raw");
    }

    info->virtual_size = q.image_size;
    info->cluster_size = q.cluster_size;
    /* qemu 7.2 reports need-check images as clean too (its get_info sets no dirty bit) */
    info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;
    return qed_check_l1(&q, io, info);
}

const struct fmt_driver fmt_qed = {
    .name = "qed",
    .probe = qed_probe,
    .open = qed_open,
};
