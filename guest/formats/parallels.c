/* parallels.c: the parallels format (header, catalog, format extension) as qemu 7.2 reads it. */
#include <string.h>

#include "format.h"
#include "pupa/abi.h"

#define PRL_MAGIC              "WithoutFreeSpace"
#define PRL_MAGIC2             "WithouFreSpacExt"
#define PRL_VERSION            2
#define PRL_HEADER_SIZE        64u
#define PRL_REQUEST_MAX        0x7ffffe00u /* qemu's largest single read (INT_MAX, 512-aligned) */
#define PRL_MEM_ALIGN          4096u       /* the file layer's preferred buffer alignment */
/* qemu's BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB */
#define PRL_MAX_LENGTH         (((uint64_t)INT64_MAX) & ~(uint64_t)((1u << 30) - 1))
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

/* ------------------------------------------------------------ MD5 (RFC 1321), for the
 * format extension's checksum */

struct md5 {
    uint32_t h[4];
    uint64_t len;
    uint8_t buf[64];
};

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const uint8_t md5_r[64] = {
    7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 7,  12, 17, 22, 5,  9,  14, 20, 5,  9,
    14, 20, 5,  9,  14, 20, 5,  9,  14, 20, 4,  11, 16, 23, 4,  11, 16, 23, 4,  11, 16, 23,
    4,  11, 16, 23, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21, 6,  10, 15, 21,
};

static void md5_block(struct md5 *m, const uint8_t *p)
{
    uint32_t w[16], a = m->h[0], b = m->h[1], c = m->h[2], d = m->h[3];
    for (int i = 0; i < 16; i++)
        w[i] = fmt_le32(p + 4 * i);
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        uint32_t t = d;
        d = c;
        c = b;
        uint32_t x = a + f + md5_k[i] + w[g];
        b = b + ((x << md5_r[i]) | (x >> (32 - md5_r[i])));
        a = t;
    }
    m->h[0] += a;
    m->h[1] += b;
    m->h[2] += c;
    m->h[3] += d;
}

static void md5_init(struct md5 *m)
{
    m->h[0] = 0x67452301;
    m->h[1] = 0xefcdab89;
    m->h[2] = 0x98badcfe;
    m->h[3] = 0x10325476;
    m->len = 0;
}

static void md5_update(struct md5 *m, const uint8_t *p, size_t n)
{
    size_t have = (size_t)(m->len % 64);
    m->len += n;
    if (have) {
        size_t take = 64 - have < n ? 64 - have : n;
        memcpy(m->buf + have, p, take);
        p += take;
        n -= take;
        if (have + take < 64)
            return;
        md5_block(m, m->buf);
    }
    for (; n >= 64; n -= 64, p += 64)
        md5_block(m, p);
    memcpy(m->buf, p, n);
}

static void md5_final(struct md5 *m, uint8_t out[16])
{
    uint64_t bits = m->len * 8;
    uint8_t pad[72] = {0x80};
    size_t have = (size_t)(m->len % 64);
    size_t padlen = have < 56 ? 56 - have : 120 - have;
    for (int i = 0; i < 8; i++)
        pad[padlen + i] = (uint8_t)(bits >> (8 * i));
    md5_update(m, pad, padlen + 8);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(m->h[i] >> (8 * j));
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
            if (off > PRL_MAX_LENGTH || p->cluster_size > PRL_MAX_LENGTH - off)
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
    if (off > PRL_MAX_LENGTH || cl > PRL_MAX_LENGTH - off)
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

/* Catalog entries pointing past the end of the file (only the part of the BAT in the file). */
static int prl_check_bat(const struct fmt_io *io, struct fmt_info *info, const struct prl *p,
                         uint32_t multiplier)
{
    uint8_t chunk[16384];
    uint64_t in_file = io->size > PRL_HEADER_SIZE ? (io->size - PRL_HEADER_SIZE) / 4 : 0;
    uint32_t past = 0, first = 0;

    if (in_file > p->bat_size)
        in_file = p->bat_size;
    for (uint64_t done = 0; done < in_file;) {
        size_t n =
            in_file - done < sizeof(chunk) / 4 ? (size_t)(in_file - done) : sizeof(chunk) / 4;
        if (fmt_read(io, info, PRL_HEADER_SIZE + done * 4, chunk, n * 4) != 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            uint64_t sect = (uint64_t)fmt_le32(chunk + i * 4) * multiplier;
            if (sect && sect * 512 + p->cluster_size > io->size && past++ == 0)
                first = (uint32_t)(done + i);
        }
        done += n;
    }
    if (past)
        fmt_finding(info, "out-of-range",
                    "%u catalog entries point past the end of the file (first: entry %u)", past,
                    first);
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
    if (header_size > PRL_REQUEST_MAX)
        return fmt_fail(info, "Could not open '%s': Input/output error", io->filename);

    uint64_t ext_sectors = fmt_le64(h + 56);
    if (ext_sectors && prl_extension(io, info, &p, ext_sectors) != 0)
        return -1;

    /* the block layer's limits on the advertised size */
    uint64_t bytes = (uint64_t)p.total_sectors * 512;
    if (bytes > PRL_MAX_LENGTH)
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
