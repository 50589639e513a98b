/* cloop.c: the cloop format (compressed loop V2.0: block size, offsets table) as qemu reads it. */
#include <string.h>

#include "format.h"

#define CLOOP_MAX_BLOCK_SIZE   (64u * 1024 * 1024)
#define CLOOP_MAX_OFFSETS_SIZE (512u * 1024 * 1024)

static const char cloop_magic[] = "#!/bin/sh\n"
                                  "#V2.0 Format\n"
                                  "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";

/* qemu scores cloop 2 only: the magic is a shell script, not a real signature. */
static int cloop_probe(const uint8_t *buf, size_t len, const char *filename)
{
    size_t n = sizeof(cloop_magic) - 1;
    (void)filename;
    if (n > len)
        n = len;
    return memcmp(buf, cloop_magic, n) == 0 ? 2 : 0;
}

struct cloop_offsets {
    struct fmt_info *info;
    uint64_t prev;
};

static int cloop_offsets_chunk(void *ctx, uint64_t first, const uint8_t *e, size_t n)
{
    struct cloop_offsets *c = ctx;
    for (size_t i = 0; i < n; i++) {
        uint64_t off = fmt_be64(e + i * 8), idx = first + i;
        if (idx > 0 && off < c->prev)
            return fmt_fail(c->info,
                            "offsets not monotonically increasing at index %u, image file is "
                            "corrupt",
                            (uint32_t)idx);
        if (idx > 0 && off - c->prev > 2ull * CLOOP_MAX_BLOCK_SIZE)
            return fmt_fail(c->info,
                            "invalid compressed block size at index %u, image file is corrupt",
                            (uint32_t)idx);
        c->prev = off;
    }
    return 0;
}

static int cloop_open(const struct fmt_io *io, struct fmt_info *info)
{
    uint8_t h[8];

    strcpy(info->format, "cloop");
    if (fmt_read(io, info, 128, h, sizeof(h)) != 0)
        return -1;
    uint32_t block_size = fmt_be32(h), n_blocks = fmt_be32(h + 4);
    if (block_size % 512)
        return fmt_fail(info, "block_size %u must be a multiple of 512", block_size);
    if (block_size == 0)
        return fmt_fail(info, "block_size cannot be zero");
    if (block_size > CLOOP_MAX_BLOCK_SIZE)
        return fmt_fail(info, "block_size %u must be %u MB or less", block_size,
                        CLOOP_MAX_BLOCK_SIZE / (1024 * 1024));
    if (n_blocks > (UINT32_MAX - 1) / 8)
        return fmt_fail(info, "n_blocks %u must be %u or less", n_blocks, (UINT32_MAX - 1) / 8);
    uint32_t offsets_size = (n_blocks + 1) * 8;
    if (offsets_size > CLOOP_MAX_OFFSETS_SIZE)
        return fmt_fail(info, "image requires too many offsets, try increasing block size");

    /* The offsets must grow by at most 2 * 64 MiB per block. Entries past the end of the
     * file read as zero: only the part inside the file needs reading (a last entry cut
     * short by EOF counts: its bytes are read). */
    uint64_t entries = (uint64_t)n_blocks + 1;
    uint64_t in_file = fmt_entries_in_file(io, 136, entries, 8, true);
    struct cloop_offsets c = {info, 0};
    if (fmt_walk(io, info, 136, in_file, 8, cloop_offsets_chunk, &c) != 0)
        return -1;
    uint64_t prev = c.prev;
    if (in_file < entries) {
        /* the rest reads as zeros: fine only if everything so far was zero too */
        if (in_file > 0 && prev > 0)
            return fmt_fail(info,
                            "offsets not monotonically increasing at index %u, image "
                            "file is corrupt",
                            (uint32_t)in_file);
        fmt_finding(info, "out-of-range",
                    "the offsets table (%llu entries) extends past the "
                    "end of the file",
                    (unsigned long long)entries);
    } else if (prev > io->size) {
        fmt_finding(info, "out-of-range",
                    "the compressed blocks end at offset %llu, past the end of the file",
                    (unsigned long long)prev);
    }
    /* qemu multiplies in 32 bits */
    uint32_t total_sectors = n_blocks * (block_size / 512);
    info->virtual_size = (uint64_t)total_sectors * 512;
    return 0;
}

const struct fmt_driver fmt_cloop = {
    .name = "cloop",
    .probe = cloop_probe,
    .open = cloop_open,
};
