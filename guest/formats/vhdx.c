/* vhdx.c: Hyper-V VHDX images (headers, log, region table, metadata, BAT) as qemu 7.2 reads them.
 */
#include <string.h>

#include "format.h"
#include "lib/crc32c.h"
#include "pupa/abi.h"

#define KIB                   1024u
#define MIB                   (1024u * 1024u)
#define HEADER1_OFFSET        (64 * KIB)
#define HEADER2_OFFSET        (128 * KIB)
#define REGION_TABLE_OFFSET   (192 * KIB)
#define HEADER_SIZE           (4 * KIB)  /* a header's checksum covers 4 KiB */
#define REGION_TABLE_SIZE     (64 * KIB) /* so does the region table's */
#define METADATA_TABLE_SIZE   (64 * KIB)
#define LOG_SECTOR            (4 * KIB)
#define BLOCK_SIZE_MIN        (1 * MIB)
#define BLOCK_SIZE_MAX        (256 * MIB)
#define MAX_SECTORS_PER_BLOCK (1u << 23)
#define MAX_IMAGE_SIZE        (64ull * 1024 * 1024 * 1024 * 1024) /* 64 TiB */
#define MAX_REGIONS           2048       /* the log plus at most 2047 table entries */
#define LOG_SCAN_BUDGET       (1u << 20) /* log sectors pupa reads before it gives up */

#define SIG_HEAD          0x64616568u /* "head" */
#define SIG_REGI          0x69676572u /* "regi" */
#define SIG_LOGE          0x65676f6cu /* "loge" */
#define SIG_DESC          0x63736564u /* "desc" */
#define SIG_ZERO          0x6f72657au /* "zero" */
#define SIG_METADATA      0x617461646174656Dull
#define BAT_FULLY_PRESENT 6
#define BAT_OFFSET_MASK   0xFFFFFFFFFFF00000ull

/* GUIDs as they are stored (little-endian MS GUID layout) */
static const uint8_t guid_bat[16] = {0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
                                     0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08};
static const uint8_t guid_metadata[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
                                          0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
static const uint8_t guid_file_params[16] = {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
                                             0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b};
static const uint8_t guid_virtual_size[16] = {0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
                                              0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8};
static const uint8_t guid_page83[16] = {0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45,
                                        0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46};
static const uint8_t guid_logical_sector[16] = {0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47,
                                                0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f};
static const uint8_t guid_phys_sector[16] = {0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44,
                                             0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56};
static const uint8_t guid_parent_locator[16] = {0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
                                                0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c};

/* CRC-32C of buf with its 4-byte checksum field at crc_off taken as zero. */
static uint32_t crc32c_skip(uint32_t crc, const uint8_t *buf, size_t n, size_t crc_off)
{
    static const uint8_t zero[4];
    crc = crc32c_update(crc, buf, crc_off);
    crc = crc32c_update(crc, zero, 4);
    return crc32c_update(crc, buf + crc_off + 4, n - crc_off - 4);
}

struct region {
    uint64_t start, end;
};

struct log_pos {
    uint64_t offset;
    uint32_t length, read, write;
};

struct vhdx {
    const struct fmt_io *io;
    struct fmt_info *info;
    uint8_t hdr[80]; /* the current header */
    uint8_t log_guid[16];
    uint32_t nregions;
    /* log sector cache */
    uint64_t cache_off;
    bool cache_valid;
    uint32_t log_budget;
    /* large members last: vhdx_open() clears only what comes before them */
    struct region regions[MAX_REGIONS];
    uint8_t buf[8 * KIB];
};

enum { E_OK = 0, E_INVAL, E_NOTSUP, E_IO, E_MSG };

static int vfail(struct vhdx *v, int err)
{
    static const char *const text[] = {"", "Invalid argument", "Operation not supported",
                                       "Input/output error"};
    if (err == E_MSG)
        return -1;
    return fmt_fail(v->info, "Could not open '%s': %s", v->io->filename, text[err]);
}

static bool region_overlaps(const struct vhdx *v, uint64_t start, uint64_t length)
{
    uint64_t end = start + length; /* qemu's arithmetic, wrap included */
    for (uint32_t i = 0; i < v->nregions; i++)
        if (!(start >= v->regions[i].end || end <= v->regions[i].start))
            return true;
    return false;
}

static void region_add(struct vhdx *v, uint64_t start, uint64_t length)
{
    if (v->nregions < MAX_REGIONS) {
        v->regions[v->nregions].start = start;
        v->regions[v->nregions].end = start + length;
        v->nregions++;
    }
}

/* ------------------------------------------------------------ headers */

static int parse_headers(struct vhdx *v)
{
    uint8_t h[2][80];
    bool valid[2];
    uint64_t seq[2];
    static const uint32_t offs[2] = {HEADER1_OFFSET, HEADER2_OFFSET};

    for (int i = 0; i < 2; i++) {
        if (fmt_read(v->io, v->info, offs[i], v->buf, HEADER_SIZE) != 0)
            return E_MSG;
        memcpy(h[i], v->buf, sizeof(h[i]));
        uint32_t crc = crc32c_skip(0xffffffffu, v->buf, HEADER_SIZE, 4) ^ 0xffffffffu;
        valid[i] = crc == fmt_le32(v->buf + 4) && fmt_le32(v->buf) == SIG_HEAD &&
                   fmt_le16(v->buf + 66) == 1;
        seq[i] = fmt_le64(v->buf + 8);
    }
    int cur;
    if (valid[0] && !valid[1])
        cur = 0;
    else if (!valid[0] && valid[1])
        cur = 1;
    else if (!valid[0] && !valid[1])
        cur = -1;
    else if (seq[0] != seq[1])
        cur = seq[0] > seq[1] ? 0 : 1;
    else /* Disk2VHD writes two identical headers */
        cur = memcmp(h[0], h[1], sizeof(h[0])) == 0 ? 0 : -1;
    if (cur < 0) {
        fmt_fail(v->info, "No valid VHDX header found");
        return E_MSG;
    }
    memcpy(v->hdr, h[cur], sizeof(v->hdr));
    memcpy(v->log_guid, v->hdr + 48, 16);
    region_add(v, fmt_le64(v->hdr + 72), fmt_le32(v->hdr + 68));
    return E_OK;
}

/* ------------------------------------------------------------ log (qemu's vhdx_log_search) */

/* One log sector through an 8 KiB cache; NULL with *err set on failure. */
static const uint8_t *log_sector(struct vhdx *v, const struct log_pos *log, uint32_t idx, int *err)
{
    uint64_t off = log->offset + idx;
    if (!fmt_range_ok(off, LOG_SECTOR)) {
        *err = E_IO;
        return NULL;
    }
    if (v->log_budget == 0) {
        *err = E_MSG;
        fmt_fail(v->info, "VHDX log of '%s' is too large for pupa to scan", v->io->filename);
        return NULL;
    }
    v->log_budget--;
    /* windows are aligned to the (1 MiB aligned) log, so never cross its end */
    uint64_t rel = idx - idx % sizeof(v->buf);
    uint64_t woff = log->offset + rel;
    if (!v->cache_valid || v->cache_off != woff) {
        uint64_t n = log->length - rel < sizeof(v->buf) ? log->length - rel : sizeof(v->buf);
        if (fmt_read(v->io, v->info, woff, v->buf, (size_t)n) != 0) {
            *err = E_MSG;
            return NULL;
        }
        v->cache_off = woff;
        v->cache_valid = true;
    }
    return v->buf + (idx - rel);
}

static uint32_t log_inc(uint32_t idx, uint32_t length)
{
    idx += LOG_SECTOR;
    return idx >= length ? 0 : idx;
}

struct log_hdr {
    uint32_t checksum, entry_length, desc_count;
    uint64_t seq;
    uint8_t guid[16];
};

static void log_hdr_load(struct log_hdr *h, const uint8_t *p, uint32_t *sig)
{
    *sig = fmt_le32(p);
    h->checksum = fmt_le32(p + 4);
    h->entry_length = fmt_le32(p + 8);
    h->seq = fmt_le64(p + 16);
    h->desc_count = fmt_le32(p + 24);
    memcpy(h->guid, p + 32, 16);
}

static bool log_hdr_valid(const struct vhdx *v, const struct log_pos *log, uint32_t sig,
                          const struct log_hdr *h)
{
    return sig == SIG_LOGE && log->length >= h->entry_length && h->entry_length % LOG_SECTOR == 0 &&
           h->seq != 0 && memcmp(h->guid, v->log_guid, 16) == 0 &&
           (uint64_t)h->desc_count * 32 <= h->entry_length;
}

/* qemu's vhdx_validate_log_entry(): E_OK with *valid, or an error that fails the open. */
static int log_validate(struct vhdx *v, struct log_pos *log, uint64_t seq, bool *valid,
                        struct log_hdr *out)
{
    struct log_hdr h;
    uint32_t sig;
    int err = E_OK;

    *valid = false;
    if (log->read == log->write) {
        log->read = log_inc(log->read, log->length);
        return E_INVAL;
    }
    const uint8_t *p = log_sector(v, log, log->read, &err);
    if (!p) {
        log->read = log_inc(log->read, log->length);
        return err;
    }
    log_hdr_load(&h, p, &sig);
    if (!log_hdr_valid(v, log, sig, &h) || (seq > 0 && h.seq != seq + 1)) {
        log->read = log_inc(log->read, log->length);
        return E_OK;
    }
    uint32_t desc_sectors = (h.desc_count + 2) / 128 + ((h.desc_count + 2) % 128 ? 1 : 0);
    uint32_t total_sectors = h.entry_length / LOG_SECTOR;

    /* qemu reads every descriptor sector before it checks any descriptor */
    uint32_t r = log->read;
    for (uint32_t k = 0; k < desc_sectors && r != log->write; k++) {
        if (!fmt_range_ok(log->offset + r, LOG_SECTOR))
            return E_IO;
        r = log_inc(r, log->length);
    }
    uint32_t crc = 0xffffffffu, done = 0, d = 0;
    for (; done < desc_sectors && log->read != log->write; done++) {
        p = log_sector(v, log, log->read, &err);
        if (!p)
            return err;
        crc = done == 0 ? crc32c_skip(crc, p, LOG_SECTOR, 4) : crc32c_update(crc, p, LOG_SECTOR);
        /* descriptors follow the 64-byte header, 32 bytes each, none straddles a sector */
        for (uint32_t at = done == 0 ? 64 : 0; at < LOG_SECTOR && d < h.desc_count; at += 32, d++) {
            uint32_t dsig = fmt_le32(p + at);
            uint64_t zero_len = fmt_le64(p + at + 8), foff = fmt_le64(p + at + 16);
            bool ok = fmt_le64(p + at + 24) == h.seq && foff % LOG_SECTOR == 0 &&
                      ((dsig == SIG_ZERO && zero_len % LOG_SECTOR == 0) || dsig == SIG_DESC);
            if (!ok)
                err = E_INVAL;
        }
        log->read = log_inc(log->read, log->length);
    }
    if (done != desc_sectors)
        return E_INVAL;
    if (err != E_OK)
        return err;
    for (uint32_t i = desc_sectors; i < total_sectors; i++) {
        if (log->read == log->write)
            return E_OK;
        p = log_sector(v, log, log->read, &err);
        if (!p)
            return err == E_IO ? E_IO : err;
        crc = crc32c_update(crc, p, LOG_SECTOR);
        log->read = log_inc(log->read, log->length);
    }
    if ((crc ^ 0xffffffffu) != h.checksum)
        return E_OK;
    *valid = true;
    *out = h;
    return E_OK;
}

/* qemu's vhdx_parse_log() for a read-only open: any active log refuses the image. */
static int parse_log(struct vhdx *v)
{
    static const uint8_t zero_guid[16];
    uint64_t log_offset = fmt_le64(v->hdr + 72);
    uint32_t log_length = fmt_le32(v->hdr + 68);

    if (log_offset < MIB || log_offset % MIB)
        return E_INVAL;
    if (fmt_le16(v->hdr + 64) != 0)
        return E_INVAL;
    if (memcmp(v->log_guid, zero_guid, 16) == 0 || log_length == 0)
        return E_OK;
    if (log_length % MIB)
        return E_INVAL;

    struct log_pos log = {log_offset, log_length, 0, log_length};
    bool found = false;
    v->log_budget = LOG_SCAN_BUDGET;
    for (;;) {
        uint32_t tail = log.read;
        bool valid;
        struct log_hdr h;
        int err = log_validate(v, &log, 0, &valid, &h);
        if (err)
            return err;
        if (valid) {
            found = true;
            uint64_t cur_seq = 0;
            for (;;) {
                err = log_validate(v, &log, cur_seq, &valid, &h);
                if (err)
                    return err;
                if (!valid)
                    break;
                cur_seq = h.seq;
            }
        }
        if (log.read < tail)
            break;
        if (log.read == tail) {
            /* the same state again: qemu would loop here for ever */
            fmt_fail(v->info,
                     "VHDX log of '%s' cannot be searched (qemu-img 7.2 does not "
                     "terminate on it)",
                     v->io->filename);
            return E_MSG;
        }
    }
    if (found) {
        fmt_fail(v->info,
                 "VHDX image file '%s' opened read-only, but contains a log that needs to be "
                 "replayed",
                 v->io->filename);
        return E_MSG;
    }
    return E_OK;
}

/* ------------------------------------------------------------ region table */

struct rt_entry {
    uint64_t offset;
    uint32_t length;
};

static int parse_region_table(struct vhdx *v, struct rt_entry *bat, struct rt_entry *meta)
{
    uint32_t crc = 0xffffffffu, stored = 0, sig = 0, count = 0;
    /* checksum over the whole 64 KiB table first, as qemu does */
    for (uint32_t done = 0; done < REGION_TABLE_SIZE; done += sizeof(v->buf)) {
        if (fmt_read(v->io, v->info, REGION_TABLE_OFFSET + done, v->buf, sizeof(v->buf)) != 0)
            return E_MSG;
        if (done == 0) {
            sig = fmt_le32(v->buf);
            stored = fmt_le32(v->buf + 4);
            count = fmt_le32(v->buf + 8);
            crc = crc32c_skip(crc, v->buf, sizeof(v->buf), 4);
        } else {
            crc = crc32c_update(crc, v->buf, sizeof(v->buf));
        }
    }
    if ((crc ^ 0xffffffffu) != stored || sig != SIG_REGI || count > 2047)
        return E_INVAL;

    bool have_bat = false, have_meta = false;
    uint32_t wstart = 0, wlen = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t at = 16 + i * 32;
        if (at < wstart || at + 32 > wstart + wlen) {
            wstart = at;
            wlen = REGION_TABLE_SIZE - at < sizeof(v->buf) ? REGION_TABLE_SIZE - at
                                                           : (uint32_t)sizeof(v->buf);
            if (fmt_read(v->io, v->info, REGION_TABLE_OFFSET + wstart, v->buf, wlen) != 0)
                return E_MSG;
        }
        const uint8_t *e = v->buf + (at - wstart);
        uint64_t off = fmt_le64(e + 16);
        uint32_t len = fmt_le32(e + 24), bits = fmt_le32(e + 28);
        if (region_overlaps(v, off, len))
            return E_INVAL;
        region_add(v, off, len);
        if (memcmp(e, guid_bat, 16) == 0) {
            if (have_bat)
                return E_INVAL;
            have_bat = true;
            bat->offset = off;
            bat->length = len;
        } else if (memcmp(e, guid_metadata, 16) == 0) {
            if (have_meta)
                return E_INVAL;
            have_meta = true;
            meta->offset = off;
            meta->length = len;
        } else if (bits & 1) {
            return E_NOTSUP; /* a required region pupa (and qemu) does not know */
        }
    }
    return have_bat && have_meta ? E_OK : E_INVAL;
}

/* ------------------------------------------------------------ metadata */

struct md_item {
    uint32_t offset, length;
};

struct params {
    uint32_t block_size, data_bits, logical_sector;
    uint64_t disk_size;
    struct md_item items[5];
};

static int read_item(struct vhdx *v, uint64_t meta_off, uint32_t item_off, void *out, size_t n)
{
    uint64_t at = meta_off + item_off;
    if (!fmt_range_ok(at, n))
        return E_IO;
    return fmt_read(v->io, v->info, at, out, n) == 0 ? E_OK : E_MSG;
}

static int parse_metadata(struct vhdx *v, const struct rt_entry *meta, struct params *pr)
{
    static const uint8_t *const guids[6] = {guid_file_params, guid_virtual_size,
                                            guid_page83,      guid_logical_sector,
                                            guid_phys_sector, guid_parent_locator};
    unsigned present = 0;

    if (!fmt_range_ok(meta->offset, METADATA_TABLE_SIZE))
        return E_IO;
    if (fmt_read(v->io, v->info, meta->offset, v->buf, 32) != 0)
        return E_MSG;
    if (fmt_le64(v->buf) != SIG_METADATA)
        return E_INVAL;
    uint32_t count = fmt_le16(v->buf + 10);
    if ((uint64_t)count * 32 > METADATA_TABLE_SIZE - 32)
        return E_INVAL;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t at = 32 + i * 32, slot = at % (uint32_t)sizeof(v->buf);
        if (i == 0 || slot == 0) {
            uint32_t n = (count - i) * 32 < sizeof(v->buf) - slot ? (count - i) * 32
                                                                  : (uint32_t)sizeof(v->buf) - slot;
            if (fmt_read(v->io, v->info, meta->offset + at, v->buf + slot, n) != 0)
                return E_MSG;
        }
        const uint8_t *e = v->buf + slot;
        int which = -1;
        for (int g = 0; g < 6; g++)
            if (memcmp(e, guids[g], 16) == 0)
                which = g;
        if (which < 0) {
            if (fmt_le32(e + 24) & 4) /* IS_REQUIRED */
                return E_NOTSUP;
            continue;
        }
        if (present & (1u << which))
            return E_INVAL;
        present |= 1u << which;
        if (which < 5) {
            pr->items[which].offset = fmt_le32(e + 16);
            pr->items[which].length = fmt_le32(e + 20);
        }
    }
    /* qemu needs exactly the five items; a parent locator (differencing image) is not supported */
    if (present != 0x1f)
        return E_NOTSUP;

    uint8_t b[8];
    int err;
    if ((err = read_item(v, meta->offset, pr->items[0].offset, b, 8)) != E_OK)
        return err;
    pr->block_size = fmt_le32(b);
    pr->data_bits = fmt_le32(b + 4);
    if (pr->data_bits & 2) /* has a parent, but no parent locator */
        return E_INVAL;
    if ((err = read_item(v, meta->offset, pr->items[1].offset, b, 8)) != E_OK)
        return err;
    pr->disk_size = fmt_le64(b);
    if ((err = read_item(v, meta->offset, pr->items[3].offset, b, 4)) != E_OK)
        return err;
    pr->logical_sector = fmt_le32(b);
    if ((err = read_item(v, meta->offset, pr->items[4].offset, b, 4)) != E_OK)
        return err;

    if (pr->block_size < BLOCK_SIZE_MIN || pr->block_size > BLOCK_SIZE_MAX)
        return E_INVAL;
    if (pr->logical_sector != 512)
        return E_NOTSUP;
    uint32_t spb = pr->block_size / 512;
    uint64_t chunk_ratio = (uint64_t)MAX_SECTORS_PER_BLOCK * 512 / pr->block_size;
    if ((spb & (spb - 1)) || (chunk_ratio & (chunk_ratio - 1)) ||
        (pr->block_size & (pr->block_size - 1)))
        return E_INVAL;
    return E_OK;
}

/* ------------------------------------------------------------ BAT */

static unsigned ctz64(uint64_t x)
{
    unsigned n = 0;
    while (x && !(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
}

struct bat_check {
    struct vhdx *v;
    const struct params *pr;
    uint64_t file_len, chunk_ratio, payblocks, total_bytes;
};

/* qemu's BAT checks on open, for the entries of one chunk: E_OK or E_INVAL. */
static int check_bat_chunk(void *ctx, uint64_t first, const uint8_t *entries, size_t n)
{
    struct bat_check *c = ctx;
    uint64_t block = c->pr->block_size;
    for (size_t k = 0; k < n; k++) {
        uint64_t e = fmt_le64(entries + 8 * k), i = first + k;
        if ((e & 7) != BAT_FULLY_PRESENT)
            continue;
        uint64_t off = e & BAT_OFFSET_MASK;
        uint64_t rest = c->total_bytes - i * block; /* wraps past the disk, as in qemu */
        uint64_t blen = rest < block ? rest : block;
        if (off > (uint64_t)INT64_MAX - block)
            return E_INVAL;
        if (off >= c->file_len || off + blen > c->file_len)
            return E_INVAL;
        if (c->payblocks--) {
            if (region_overlaps(c->v, off, block))
                return E_INVAL;
        } else {
            c->payblocks = c->chunk_ratio;
        }
    }
    return E_OK;
}

static int check_bat(struct vhdx *v, const struct rt_entry *bat, const struct params *pr,
                     uint32_t entries)
{
    struct bat_check c = {v, pr, (v->io->size + 511) / 512 * 512, 0, 0, (pr->disk_size >> 9) * 512};
    c.chunk_ratio = (uint64_t)MAX_SECTORS_PER_BLOCK * 512 / pr->block_size;
    c.payblocks = c.chunk_ratio;
    int r = fmt_walk(v->io, v->info, bat->offset, entries, 8, check_bat_chunk, &c);
    return r < 0 ? E_MSG : r;
}

/* ------------------------------------------------------------ driver */

static int vhdx_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    return len >= 8 && memcmp(buf, "vhdxfile", 8) == 0 ? 100 : 0;
}

static void check_region(struct vhdx *v, const char *what, uint64_t off, uint64_t len)
{
    uint64_t end;
    if (len == 0)
        return;
    if (!fmt_add_ok(off, len, &end) || end > v->io->size)
        fmt_finding(v->info, "out-of-range",
                    "the %s (offset %llu, %llu bytes) extends past the end of the file", what,
                    (unsigned long long)off, (unsigned long long)len);
    else if (off < MIB)
        fmt_finding(v->info, "out-of-range",
                    "the %s (offset %llu) overlaps the 1 MiB header section", what,
                    (unsigned long long)off);
}

static int vhdx_open(const struct fmt_io *io, struct fmt_info *info)
{
    struct vhdx v;
    struct rt_entry bat = {0, 0}, meta = {0, 0};
    struct params pr;
    uint8_t sig[8];
    int err;

    memset(&v, 0, offsetof(struct vhdx, regions));
    memset(&pr, 0, sizeof(pr));
    v.io = io;
    v.info = info;
    strcpy(info->format, "vhdx");

    if (fmt_read(io, info, 0, sig, sizeof(sig)) != 0)
        return -1;
    if (memcmp(sig, "vhdxfile", 8) != 0)
        return vfail(&v, E_INVAL);
    if ((err = parse_headers(&v)) != E_OK)
        return vfail(&v, err);
    if ((err = parse_log(&v)) != E_OK)
        return vfail(&v, err);
    if ((err = parse_region_table(&v, &bat, &meta)) != E_OK)
        return vfail(&v, err);
    if ((err = parse_metadata(&v, &meta, &pr)) != E_OK)
        return vfail(&v, err);

    /* qemu's vhdx_calc_bat_entries(), in its 32-bit arithmetic */
    uint64_t chunk_ratio = (uint64_t)MAX_SECTORS_PER_BLOCK * 512 / pr.block_size;
    uint32_t data_blocks = (uint32_t)((pr.disk_size + pr.block_size - 1) / pr.block_size);
    uint32_t entries = data_blocks + ((data_blocks - 1) >> ctz64(chunk_ratio));
    if (entries > bat.length / 8)
        return vfail(&v, E_INVAL);
    if (!fmt_request_ok(bat.offset, bat.length))
        return vfail(&v, E_IO);
    if ((err = check_bat(&v, &bat, &pr, entries)) != E_OK)
        return vfail(&v, err);

    uint64_t sectors = pr.disk_size >> 9;
    if (sectors > (uint64_t)INT64_MAX / 512)
        return fmt_fail_whole(info, "Can't get image size '%s': File too large", io->filename);
    info->virtual_size = sectors * 512;
    info->cluster_size = pr.block_size;
    info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;

    if (pr.disk_size > MAX_IMAGE_SIZE)
        fmt_finding(info, "out-of-range",
                    "virtual disk size of %llu bytes is beyond the VHDX limit of 64 TiB",
                    (unsigned long long)pr.disk_size);
    check_region(&v, "log", fmt_le64(v.hdr + 72), fmt_le32(v.hdr + 68));
    check_region(&v, "block allocation table", bat.offset, bat.length);
    check_region(&v, "metadata region", meta.offset, meta.length);
    static const char *const names[5] = {"file parameters", "virtual disk size", "page 83 data",
                                         "logical sector size", "physical sector size"};
    for (int i = 0; i < 5; i++) {
        uint64_t end = (uint64_t)pr.items[i].offset + pr.items[i].length;
        if (end > meta.length)
            fmt_finding(info, "out-of-range",
                        "the %s metadata item (offset %u, %u bytes) lies outside the metadata "
                        "region",
                        names[i], pr.items[i].offset, pr.items[i].length);
    }
    return 0;
}

const struct fmt_driver fmt_vhdx = {
    .name = "vhdx",
    .probe = vhdx_probe,
    .open = vhdx_open,
};
