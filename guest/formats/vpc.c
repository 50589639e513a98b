/* vpc.c: Virtual PC / VHD images (fixed and dynamic) as qemu 7.2's vpc driver reads them. */
#include <string.h>

#include "format.h"
#include "pupa/abi.h"

#define VPC_SECTOR       512u
#define VHD_FIXED        2u
#define VHD_MAX_SECTORS  0xff000000ull         /* 2040 GiB */
#define VHD_MAX_GEOMETRY (65535ull * 16 * 255) /* CHS that means "use current_size" */

/* footer field offsets (big-endian) */
#define F_DATA_OFFSET  16
#define F_CREATOR_APP  28
#define F_CURRENT_SIZE 48
#define F_CYLS         56
#define F_HEADS        58
#define F_SECS         59
#define F_TYPE         60
#define F_CHECKSUM     64
/* dynamic disk header */
#define D_TABLE_OFFSET 16
#define D_MAX_ENTRIES  28
#define D_BLOCK_SIZE   32

static int vpc_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    /* only offset 0: a fixed VHD (footer at the end only) probes as raw */
    return len >= 8 && memcmp(buf, "conectix", 8) == 0 ? 100 : 0;
}

/* Does [a, a+alen) overlap [b, b+blen)? */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* qemu's "use CHS geometry" unless the creator app says current_size. */
static bool use_chs(const uint8_t *app)
{
    return memcmp(app, "win ", 4) && memcmp(app, "qem2", 4) && memcmp(app, "d2v ", 4) &&
           memcmp(app, "CTXS", 4) && memcmp(app, "tap", 4);
}

/* The BAT: every allocated block moves the end of the data (where qemu would
 * allocate next); blocks over the footer copy, dynamic header or BAT are noted. */
struct vpc_bat {
    uint32_t block_size, bitmap_size;
    uint64_t data_offset, bat_offset, bat_bytes, free_off;
    struct fmt_tally meta_hits;
};

static int vpc_bat_chunk(void *ctx, uint64_t first, const uint8_t *e, size_t n)
{
    struct vpc_bat *c = ctx;
    for (size_t i = 0; i < n; i++) {
        uint32_t b = fmt_be32(e + 4 * i);
        if (b == 0xffffffffu)
            continue;
        /* b * 512 < 2^41 and len < 2^33: no overflow */
        uint64_t start = (uint64_t)b * VPC_SECTOR, len = (uint64_t)c->bitmap_size + c->block_size;
        if (start + len > c->free_off)
            c->free_off = start + len;
        if (overlaps(start, len, 0, 512) || overlaps(start, len, c->data_offset, 1024) ||
            overlaps(start, len, c->bat_offset, c->bat_bytes))
            fmt_tally_add(&c->meta_hits, first + i);
    }
    return 0;
}

static int vpc_open(const struct fmt_io *io, struct fmt_info *info)
{
    uint8_t footer[512], dyn[1024];
    uint64_t file_len = (io->size + VPC_SECTOR - 1) / VPC_SECTOR * VPC_SECTOR;
    bool fixed = false;

    strcpy(info->format, "vpc");
    if (fmt_read(io, info, 0, footer, sizeof(footer)) != 0)
        return -1;
    if (memcmp(footer, "conectix", 8) != 0) {
        /* a fixed disk has its footer only at the end */
        if (file_len < sizeof(footer))
            return fmt_fail(info, "File too small for a VHD header");
        if (fmt_read(io, info, file_len - sizeof(footer), footer, sizeof(footer)) != 0)
            return -1;
        if (memcmp(footer, "conectix", 8) != 0 || fmt_be32(footer + F_TYPE) != VHD_FIXED)
            return fmt_fail(info, "invalid VPC image");
        fixed = true;
    }

    uint32_t stored = fmt_be32(footer + F_CHECKSUM), sum = 0;
    for (size_t i = 0; i < sizeof(footer); i++)
        if (i < F_CHECKSUM || i >= F_CHECKSUM + 4)
            sum += footer[i];
    if (~sum != stored)
        return fmt_fail(info, "Incorrect header checksum");

    uint64_t total = (uint64_t)fmt_be16(footer + F_CYLS) * footer[F_HEADS] * footer[F_SECS];
    if (!use_chs(footer + F_CREATOR_APP) || total == VHD_MAX_GEOMETRY)
        total = fmt_be64(footer + F_CURRENT_SIZE) / VPC_SECTOR;
    if (total > VHD_MAX_SECTORS)
        return fmt_fail(info, "Could not open '%s': File too large", io->filename);
    info->virtual_size = total * VPC_SECTOR;
    info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;
    if (fixed)
        return 0;

    uint64_t data_offset = fmt_be64(footer + F_DATA_OFFSET);
    if (!fmt_range_ok(data_offset, sizeof(dyn)))
        return fmt_fail(info, "Error reading dynamic VHD header");
    if (fmt_read(io, info, data_offset, dyn, sizeof(dyn)) != 0)
        return -1;
    if (memcmp(dyn, "cxsparse", 8) != 0)
        return fmt_fail(info, "Invalid header magic");

    uint32_t block_size = fmt_be32(dyn + D_BLOCK_SIZE);
    if ((block_size & (block_size - 1)) != 0 || block_size < VPC_SECTOR)
        return fmt_fail(info, "Invalid block size %u", block_size);
    uint32_t bitmap_size = ((block_size / (8 * 512)) + 511) & ~511u;
    int32_t entries = (int32_t)fmt_be32(dyn + D_MAX_ENTRIES);
    if (total * VPC_SECTOR / block_size > 0xffffffffu)
        return fmt_fail(info, "Too many blocks");
    /* qemu keeps the count in an int: a negative one sign-extends here */
    uint64_t computed = (uint64_t)(int64_t)entries * block_size;
    if (computed < total * VPC_SECTOR)
        return fmt_fail(info, "Page table too small");
    if (entries < 0 || entries > 0x7fffffff / 4)
        return fmt_fail(info, "Max Table Entries too large (%d)", (int)entries);

    uint64_t bat_offset = fmt_be64(dyn + D_TABLE_OFFSET);
    uint64_t bat_bytes = (uint64_t)entries * 4;
    if (!fmt_range_ok(bat_offset, bat_bytes))
        return fmt_fail(info, "Error reading pagetable");
    /* every allocated block must end inside the file; the BAT itself too */
    uint64_t free_off = (bat_offset + bat_bytes + 511) & ~511ull;
    const char *truncated = "block-vpc: free_data_block_offset points after the end of file. "
                            "The image has been truncated.";
    if (free_off > file_len)
        return fmt_fail(info, "%s", truncated);

    struct vpc_bat c = {block_size, bitmap_size, data_offset, bat_offset,
                        bat_bytes,  free_off,    {0, 0}};
    if (fmt_walk(io, info, bat_offset, (uint64_t)entries, 4, vpc_bat_chunk, &c) != 0)
        return -1;
    if (c.free_off > file_len)
        return fmt_fail(info, "%s", truncated);

    if (fmt_be32(footer + F_TYPE) != VHD_FIXED)
        info->cluster_size = block_size;
    if (c.meta_hits.count)
        fmt_finding(info, "out-of-range",
                    "%llu BAT entries point into the image's own metadata (first: entry %llu)",
                    (unsigned long long)c.meta_hits.count, (unsigned long long)c.meta_hits.first);
    return 0;
}

const struct fmt_driver fmt_vpc = {
    .name = "vpc",
    .probe = vpc_probe,
    .open = vpc_open,
};
