/* parallels.c: the parallels format (header, catalog, format extension) as qemu 7.2 reads it. */
#include <string.h>

#include "format.h"
#include "lib/md5.h"
#include "pupa/abi.h"

#define PRL_MAGIC              "WithoutFreeSpace"
#define PRL_MAGIC2             "WithouFreSpacExt"
#define PRL_VERSION            2
#define PRL_HEADER_SIZE        64u
#define PRL_MEM_ALIGN          4096u /* the file layer's preferred buffer alignment */
#define PRL_EXT_MAGIC          0xAB234CEF23DCEA87ull
#define PRL_DIRTY_BITMAP_MAGIC 0x20385FAE252CB34Aull
#define PRL_MAX_BITMAPS        64 /* pupa's bound for duplicate-name detection */

static int parallels_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    if (len < PRL_HEADER_SIZE)
        return 0;
    if ((memcmp(buf, PRL_MAGIC, 16) == 0 || memcmp(buf, PRL_MAGIC2, 16) == 0) &&
        fmt_le32(buf + 16) == PRL_VERSION)
        return 100;
    return 0;
}

/* ------------------------------------------------------------ format extension */

struct prl {
    uint32_t tracks, bat_size;
    uint64_t cluster_size;
    int64_t total_sectors;
};

/* Reads that never ask the device for bytes past the end of the file. */
static int read_z(const struct fmt_io *io, struct fmt_info *info, uint64_t off, void *buf,
                  size_t len)
{
    size_t in = 0;
    if (off < io->size)
        in = io->size - off < len ? (size_t)(io->size - off) : len;
    memset((uint8_t *)buf + in, 0, len - in);
    return in ? fmt_read(io, info, off, buf, in) : 0;
}

/* One dirty-bitmap feature: qemu's checks before and while it loads the bitmap. */
static int prl_bitmap(const struct fmt_io *io, struct fmt_info *info, const struct prl *p,
                      uint64_t data_off, uint32_t data_size, uint8_t (*ids)[16], int *nids)
{
    uint8_t bf[32];

    if (data_size < sizeof(bf))
        return fmt_fail(info,
                        "Too small Bitmap Feature area in Parallels Format Extension: %u bytes, "
                        "expected at least %u bytes",
                        data_size, (unsigned)sizeof(bf));
    if (read_z(io, info, data_off, bf, sizeof(bf)) != 0)
        return -1;
    uint64_t size = fmt_le64(bf);
    uint32_t granularity = fmt_le32(bf + 24) << 9;
    uint32_t l1_size = fmt_le32(bf + 28);
    if (size != (uint64_t)p->total_sectors)
        return fmt_fail(info,
                        "Bitmap size (in sectors) %lld differs from disk size in sectors %lld",
                        (long long)size, (long long)p->total_sectors);
    if ((uint64_t)l1_size * 8 > data_size - sizeof(bf))
        return fmt_fail(info, "Bitmaps feature corrupted: l1 table exceeds extension data_size");
    if (granularity < 512 || (granularity & (granularity - 1)))
        return fmt_fail(info,
                        "parallels: invalid dirty bitmap granularity %u (qemu-img 7.2 "
                        "aborts on this image)",
                        granularity);
    for (int i = 0; i < *nids; i++) {
        if (memcmp(ids[i], bf + 8, 16) == 0) {
            const uint8_t *u = bf + 8;
            return fmt_fail(info,
                            "Bitmap already exists: %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                            "%02x%02x%02x%02x%02x%02x",
                            u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
                            u[11], u[12], u[13], u[14], u[15]);
        }
    }
    if (*nids == PRL_MAX_BITMAPS)
        return fmt_fail(info, "parallels: more than %d dirty bitmaps", PRL_MAX_BITMAPS);
    memcpy(ids[(*nids)++], bf + 8, 16);
    if (p->total_sectors > INT64_MAX / 512)
        return fmt_fail(info, "could not get length of device: File too large");

    /* serialized size: one bit per granule, whole 64-bit words */
    uint64_t bm_size = (uint64_t)p->total_sectors * 512;
    int gbits = __builtin_ctz(granularity);
    uint64_t ser = bm_size ? (((bm_size - 1) >> gbits >> 6) + 1) * 8 : 0;
    uint64_t tab_size = (ser + p->cluster_size - 1) / p->cluster_size;
    if (tab_size != l1_size)
        return fmt_fail(info,
                        "Bitmap table size %u does not correspond to bitmap size and cluster "
                        "size. Expected %llu",
                        l1_size, (unsigned long long)tab_size);
    /* data clusters: entries 0 and 1 mean all-zeros / all-ones; others are sector offsets */
    uint8_t l1[4096];
    for (uint32_t done = 0; done < l1_size;) {
        uint32_t n = l1_size - done < sizeof(l1) / 8 ? l1_size - done : (uint32_t)(sizeof(l1) / 8);
        if (read_z(io, info, data_off + sizeof(bf) + (uint64_t)done * 8, l1, n * 8) != 0)
            return -1;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t e = fmt_le64(l1 + i * 8);
            if (e <= 1)
                continue;
            uint64_t off = e << 9;
            if (!fmt_range_ok(off, p->cluster_size))
                return fmt_fail(info, "Failed to read bitmap data cluster: Input/output error");
            if (off + p->cluster_size > io->size)
                fmt_finding(info, "out-of-range",
                            "a dirty bitmap data cluster (offset %llu) lies past the end of the "
                            "file",
                            (unsigned long long)off);
        }
        done += n;
    }
    return 0;
}

static int prl_extension(const struct fmt_io *io, struct fmt_info *info, const struct prl *p,
                         uint64_t ext_sectors)
{
    uint8_t chunk[8192];
    uint8_t eh[24];

    int64_t ext_off = (int64_t)(ext_sectors << 9);
    if (ext_off <= 0)
        return fmt_fail(info, "parallels: Format Extension offset overflows (qemu-img 7.2 aborts "
                              "on this image)");
    uint64_t off = (uint64_t)ext_off, cl = p->cluster_size;
    if (!fmt_range_ok(off, cl))
        return fmt_fail(info, "Failed to read Format Extension cluster: Input/output error");
    if (read_z(io, info, off, eh, sizeof(eh)) != 0)
        return -1;
    uint64_t magic = fmt_le64(eh);
    if (cl < sizeof(eh) || magic != PRL_EXT_MAGIC)
        return fmt_fail(info, "Wrong parallels Format Extension magic: 0x%llx, expected: 0x%llx",
                        (unsigned long long)magic, (unsigned long long)PRL_EXT_MAGIC);

    struct md5 m;
    uint8_t sum[16];
    md5_init(&m);
    for (uint64_t pos = sizeof(eh); pos < cl;) {
        size_t n = cl - pos < sizeof(chunk) ? (size_t)(cl - pos) : sizeof(chunk);
        if (read_z(io, info, off + pos, chunk, n) != 0)
            return -1;
        md5_update(&m, chunk, n);
        pos += n;
    }
    md5_final(&m, sum);
    if (memcmp(sum, eh + 8, 16) != 0)
        return fmt_fail(info, "Wrong checksum in Format Extension header. Format extension is "
                              "corrupted.");

    uint8_t ids[PRL_MAX_BITMAPS][16];
    int nids = 0;
    int64_t remaining = (int64_t)cl - (int64_t)sizeof(eh);
    uint64_t pos = sizeof(eh);
    for (;;) { /* each round consumes 24 bytes of "remaining": bounded */
        uint8_t fh[24];
        if (remaining < (int64_t)sizeof(fh))
            return fmt_fail(info,
                            "Can not read feature header, as remaining bytes (%d) in Format "
                            "Extension is less than Feature header size (%u)",
                            (int)remaining, (unsigned)sizeof(fh));
        /* qemu does not shrink "remaining" by the data it skips: it can walk off its buffer */
        if (pos + sizeof(fh) > cl)
            return fmt_fail(info, "parallels: Format Extension features run past the extension "
                                  "cluster (qemu-img 7.2 reads out of bounds)");
        if (read_z(io, info, off + pos, fh, sizeof(fh)) != 0)
            return -1;
        pos += sizeof(fh);
        remaining -= (int64_t)sizeof(fh);
        uint64_t fmagic = fmt_le64(fh), flags = fmt_le64(fh + 8);
        uint32_t data_size = fmt_le32(fh + 16);
        if (flags)
            return fmt_fail(info, "Flags for extension feature are unsupported");
        if ((int64_t)data_size > remaining)
            return fmt_fail(info, "Feature data_size exceedes Format Extension cluster");
        if (fmagic == 0)
            return 0;
        if (fmagic != PRL_DIRTY_BITMAP_MAGIC)
            return fmt_fail(info, "Unknown feature: 0x%llx", (unsigned long long)fmagic);
        if (pos + data_size > cl)
            return fmt_fail(info, "parallels: Format Extension features run past the extension "
                                  "cluster (qemu-img 7.2 reads out of bounds)");
        if (prl_bitmap(io, info, p, off + pos, data_size, ids, &nids) != 0)
            return -1;
        pos = (pos + data_size + 7) & ~(uint64_t)7;
    }
}

/* ------------------------------------------------------------ open */

struct prl_bat {
    uint64_t size, cluster_size;
    uint32_t multiplier;
    struct fmt_tally past_eof;
};

static int prl_bat_chunk(void *ctx, uint64_t first, const uint8_t *e, size_t n)
{
    struct prl_bat *c = ctx;
    const uint64_t multiplier = c->multiplier, size = c->size, cluster_size = c->cluster_size;
    for (size_t i = 0; i < n; i++) {
        uint32_t entry = fmt_le32(e + i * 4);
        if (entry == 0)
            continue;
        /* 32-bit entry times a multiplier below 2^22, times 512: below 2^63 */
        uint64_t off = (uint64_t)entry * multiplier * 512;
        if (!fmt_fits(off, cluster_size, size))
            fmt_tally_add(&c->past_eof, first + i);
    }
    return 0;
}

/* Catalog entries pointing past the end of the file (only the part of the BAT in the file). */
static int prl_check_bat(const struct fmt_io *io, struct fmt_info *info, const struct prl *p,
                         uint32_t multiplier)
{
    struct prl_bat c = {io->size, p->cluster_size, multiplier, {0, 0}};
    uint64_t in_file = fmt_entries_in_file(io, PRL_HEADER_SIZE, p->bat_size, 4, false);
    if (fmt_walk(io, info, PRL_HEADER_SIZE, in_file, 4, prl_bat_chunk, &c) != 0)
        return -1;
    if (c.past_eof.count)
        fmt_finding(info, "out-of-range",
                    "%u catalog entries point past the end of the file (first: entry %u)",
                    (uint32_t)c.past_eof.count, (uint32_t)c.past_eof.first);
    return 0;
}

static int parallels_open(const struct fmt_io *io, struct fmt_info *info)
{
    uint8_t h[PRL_HEADER_SIZE];
    struct prl p;
    uint32_t multiplier;

    strcpy(info->format, "parallels");
    if (fmt_read(io, info, 0, h, sizeof(h)) != 0)
        return -1;
    p.total_sectors = (int64_t)fmt_le64(h + 36);
    if (fmt_le32(h + 16) != PRL_VERSION)
        return fmt_fail(info, "Image not in Parallels format");
    p.tracks = fmt_le32(h + 28);
    if (memcmp(h, PRL_MAGIC, 16) == 0) {
        multiplier = 1;
        p.total_sectors &= 0xffffffff; /* the old format has a 32-bit sector count */
    } else if (memcmp(h, PRL_MAGIC2, 16) == 0) {
        multiplier = p.tracks;
    } else {
        return fmt_fail(info, "Image not in Parallels format");
    }
    if (p.tracks == 0)
        return fmt_fail(info, "Invalid image: Zero sectors per track");
    if (p.tracks > INT32_MAX / 513)
        return fmt_fail(info, "Invalid image: Too big cluster");
    p.cluster_size = (uint64_t)p.tracks * 512;
    p.bat_size = fmt_le32(h + 32);
    if (p.bat_size > INT32_MAX / 4)
        return fmt_fail(info, "Catalog too large");

    /* qemu reads header + catalog in one request; its size mixes bytes and sectors */
    uint32_t size = PRL_HEADER_SIZE + 4 * p.bat_size;
    uint64_t header_size = ((uint64_t)size + PRL_MEM_ALIGN - 1) / PRL_MEM_ALIGN * PRL_MEM_ALIGN;
    uint64_t data_end = fmt_le32(h + 48);
    if (data_end == 0)
        data_end = ((uint64_t)size + 511) / 512 * 512;
    if (data_end < header_size)
        header_size = size;
    if (header_size > FMT_REQUEST_MAX)
        return fmt_fail(info, "Could not open '%s': Input/output error", io->filename);

    uint64_t ext_sectors = fmt_le64(h + 56);
    if (ext_sectors && prl_extension(io, info, &p, ext_sectors) != 0)
        return -1;

    /* the block layer's limits on the advertised size */
    uint64_t bytes = (uint64_t)p.total_sectors * 512;
    if (bytes > FMT_MAX_LENGTH)
        return fmt_fail(info, "Could not refresh total sector count: File too large");
    if (p.total_sectors < 0)
        return fmt_fail_whole(info, "Can't get image size '%s'", io->filename);
    if (p.total_sectors > INT64_MAX / 512)
        return fmt_fail_whole(info, "Can't get image size '%s': File too large", io->filename);
    info->virtual_size = bytes;

    uint64_t bat_end = PRL_HEADER_SIZE + (uint64_t)p.bat_size * 4;
    if (bat_end > io->size)
        fmt_finding(info, "out-of-range",
                    "the catalog (%u entries) extends past the end of the file", p.bat_size);
    if ((uint64_t)p.bat_size * p.cluster_size < bytes)
        fmt_finding(info, "out-of-range", "the catalog covers %llu bytes of the %llu-byte disk",
                    (unsigned long long)((uint64_t)p.bat_size * p.cluster_size),
                    (unsigned long long)bytes);
    return prl_check_bat(io, info, &p, multiplier);
}

const struct fmt_driver fmt_parallels = {
    .name = "parallels",
    .probe = parallels_probe,
    .open = parallels_open,
};
