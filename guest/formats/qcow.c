/* qcow.c: the original qcow format (version 1) as qemu 7.2 opens it for "qemu-img info". */
#include <string.h>

#include "format.h"
#include "pupa/abi.h"

#define QCOW_MAGIC       0x514649fbu
#define QCOW_VERSION     1u
#define QCOW_HEADER_SIZE 48u
#define QCOW_CRYPT_AES   1u

/* qcow_open() fails these reads without an error message of its own: the
 * block layer then names the file and the errno. */
static int qcow_eio(const struct fmt_io *io, struct fmt_info *info)
{
    return fmt_fail(info, "Could not open '%s': Input/output error", io->filename);
}

static int qcow_open(const struct fmt_io *io, struct fmt_info *info)
{
    uint8_t h[QCOW_HEADER_SIZE];

    strcpy(info->format, "qcow");
    if (fmt_read(io, info, 0, h, sizeof(h)) != 0)
        return -1;
    uint32_t magic = fmt_be32(h), version = fmt_be32(h + 4);
    uint64_t backing_off = fmt_be64(h + 8);
    uint32_t backing_len = fmt_be32(h + 16);
    uint64_t size = fmt_be64(h + 24);
    uint8_t cluster_bits = h[32], l2_bits = h[33];
    uint32_t crypt = fmt_be32(h + 36);
    uint64_t l1_off = fmt_be64(h + 40);

    if (magic != QCOW_MAGIC)
        return fmt_fail(info, "Image not in qcow format");
    if (version != QCOW_VERSION)
        return fmt_fail(info, "qcow (v%u) does not support qcow version %u", QCOW_VERSION, version);
    if (size <= 1)
        return fmt_fail(info, "Image size is too small (must be at least 2 bytes)");
    if (cluster_bits < 9 || cluster_bits > 16)
        return fmt_fail(info, "Cluster size must be between 512 and 64k");
    /* l2_bits counts 8-byte entries: tables of 512 bytes to 64 KiB */
    if (l2_bits < 9 - 3 || l2_bits > 16 - 3)
        return fmt_fail(info, "L2 table size must be between 512 and 64k");
    if (crypt != 0 && crypt != QCOW_CRYPT_AES)
        return fmt_fail(info, "invalid encryption method in qcow header");

    unsigned shift = cluster_bits + l2_bits;
    if (size > UINT64_MAX - (1ull << shift))
        return fmt_fail(info, "Image too large");
    uint64_t l1_size = (size + (1ull << shift) - 1) >> shift;
    if (l1_size > FMT_INT_MAX / 8)
        return fmt_fail(info, "Image too large");
    if (!fmt_request_ok(l1_off, l1_size * 8))
        return qcow_eio(io, info);

    if (backing_off != 0) {
        if (backing_len > 1023)
            return fmt_fail(info, "Backing file name too long");
        if (!fmt_request_ok(backing_off, backing_len))
            return qcow_eio(io, info);
        if (fmt_read(io, info, backing_off, info->backing_file, backing_len) != 0)
            return -1;
        info->backing_file[backing_len] = '\0';
    }

    info->version = QCOW_VERSION;
    info->virtual_size = size / 512 * 512;
    info->cluster_size = 1u << cluster_bits;
    info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;
    if (crypt)
        info->flags |= PUPA_INFO_F_ENCRYPTED | PUPA_INFO_F_HAS_ENCRYPTED;

    /* safety: the L1 table must lie inside the file, clear of the header and
     * of the backing file name */
    uint64_t cs = 1ull << cluster_bits, l1_len = l1_size * 8;
    uint64_t eof = (io->size + cs - 1) / cs * cs;
    if (l1_off > eof || l1_len > eof - l1_off)
        fmt_finding(info, "out-of-range",
                    "the L1 table (offset %llu, %llu bytes) reaches past the end of the file "
                    "(%llu bytes)",
                    (unsigned long long)l1_off, (unsigned long long)l1_len,
                    (unsigned long long)io->size);
    if (l1_off < QCOW_HEADER_SIZE)
        fmt_finding(info, "out-of-range", "the L1 table (offset %llu) overlaps the image header",
                    (unsigned long long)l1_off);
    if (backing_off && backing_len && l1_off < backing_off + backing_len &&
        backing_off < l1_off + l1_len)
        fmt_finding(info, "out-of-range", "the L1 table overlaps the backing file name");
    return 0;
}

/* qcow_probe(): magic and version 1. */
static int qcow_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    if (len < QCOW_HEADER_SIZE || fmt_be32(buf) != QCOW_MAGIC || fmt_be32(buf + 4) != QCOW_VERSION)
        return 0;
    return 100;
}

const struct fmt_driver fmt_qcow = {
    .name = "qcow",
    .probe = qcow_probe,
    .open = qcow_open,
};
