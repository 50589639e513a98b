/* bochs.c: the bochs format (Bochs "growing" redolog, header v1/v2, catalog) as qemu reads it. */
#include <string.h>

#include "format.h"

#define BOCHS_HEADER_SIZE 512
#define BOCHS_VERSION     0x00020000u
#define BOCHS_V1          0x00010000u
#define BOCHS_CATALOG_MAX 0x100000u /* qemu: enough for the largest bximage image (~8 TB) */
#define BOCHS_EXTENT_MAX  0x800000u
#define BOCHS_UNALLOCATED 0xffffffffu

/* qemu compares the fixed-size fields with strcmp: the text plus its NUL must match. */
static bool field_is(const uint8_t *field, const char *s)
{
    return memcmp(field, s, strlen(s) + 1) == 0;
}

static bool bochs_header_ok(const uint8_t *h)
{
    uint32_t version = fmt_le32(h + 64);
    return field_is(h, "Bochs Virtual HD Image") && field_is(h + 32, "Redolog") &&
           field_is(h + 48, "Growing") && (version == BOCHS_VERSION || version == BOCHS_V1);
}

static int bochs_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    if (len < BOCHS_HEADER_SIZE || !bochs_header_ok(buf))
        return 0;
    return 100;
}

struct bochs_catalog {
    uint64_t size, data_offset, extent_bytes;
    struct fmt_tally past_eof;
};

static int bochs_catalog_chunk(void *ctx, uint64_t first, const uint8_t *e, size_t n)
{
    struct bochs_catalog *c = ctx;
    const uint64_t size = c->size, data_offset = c->data_offset, extent_bytes = c->extent_bytes;
    for (size_t i = 0; i < n; i++) {
        uint32_t ext = fmt_le32(e + i * 4);
        uint64_t bytes;
        if (ext != BOCHS_UNALLOCATED &&
            (!fmt_mul_ok(ext + 1ull, extent_bytes, &bytes) || !fmt_fits(data_offset, bytes, size)))
            fmt_tally_add(&c->past_eof, first + i);
    }
    return 0;
}

/* Allocated extents whose bitmap or data lies past the end of the file (only
 * the part of the catalog inside the file: the rest reads as unallocated). */
static int bochs_check_catalog(const struct fmt_io *io, struct fmt_info *info, uint32_t cat_off,
                               uint32_t catalog, uint32_t data_offset, uint64_t extent_bytes)
{
    struct bochs_catalog c = {io->size, data_offset, extent_bytes, {0, 0}};
    uint64_t in_file = fmt_entries_in_file(io, cat_off, catalog, 4, false);
    if (fmt_walk(io, info, cat_off, in_file, 4, bochs_catalog_chunk, &c) != 0)
        return -1;
    if (c.past_eof.count)
        fmt_finding(info, "out-of-range",
                    "%u catalog entries point past the end of the file (first: extent %u)",
                    (uint32_t)c.past_eof.count, (uint32_t)c.past_eof.first);
    return 0;
}

static int bochs_open(const struct fmt_io *io, struct fmt_info *info)
{
    uint8_t h[BOCHS_HEADER_SIZE];

    strcpy(info->format, "bochs");
    if (fmt_read(io, info, 0, h, sizeof(h)) != 0)
        return -1;
    if (!bochs_header_ok(h))
        return fmt_fail(info, "Image not in Bochs format");
    uint64_t disk = fmt_le32(h + 64) == BOCHS_V1 ? fmt_le64(h + 84) : fmt_le64(h + 88);
    uint64_t total_sectors = disk / 512;
    uint32_t header = fmt_le32(h + 68), catalog = fmt_le32(h + 72);
    uint32_t bitmap = fmt_le32(h + 76), extent = fmt_le32(h + 80);

    if (catalog > BOCHS_CATALOG_MAX)
        return fmt_fail(info, "Catalog size is too large");
    if (extent < 512)
        return fmt_fail(info, "Extent size must be at least 512");
    if (extent & (extent - 1))
        return fmt_fail(info, "Extent size %u is not a power of two", extent);
    if (extent > BOCHS_EXTENT_MAX)
        return fmt_fail(info, "Extent size %u is too large", extent);
    uint64_t per_extent = extent / 512;
    if (catalog < (total_sectors + per_extent - 1) / per_extent)
        return fmt_fail(info, "Catalog size is too small for this disk size");
    /* catalog <= 2^20 and extent <= 2^23: the disk is at most 8 TiB, no size overflow */
    info->virtual_size = total_sectors * 512;

    if ((uint64_t)header + (uint64_t)catalog * 4 > io->size)
        fmt_finding(info, "out-of-range",
                    "the catalog (%u entries at offset %u) extends past "
                    "the end of the file",
                    catalog, header);
    /* qemu's arithmetic: 32-bit data offset, bitmap and extent rounded up to sectors */
    uint32_t data_offset = header + catalog * 4;
    uint32_t bitmap_blocks = 1 + (bitmap - 1) / 512, extent_blocks = 1 + (extent - 1) / 512;
    uint64_t extent_bytes = 512 * ((uint64_t)bitmap_blocks + extent_blocks);
    return bochs_check_catalog(io, info, header, catalog, data_offset, extent_bytes);
}

const struct fmt_driver fmt_bochs = {
    .name = "bochs",
    .probe = bochs_probe,
    .open = bochs_open,
};
