/* qcow2.c: the qcow2 format (v2 and v3) as qemu 7.2 opens it for "qemu-img info". */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "luks.h"
#include "pupa/abi.h"

/* ------------------------------------------------------------ on-disk constants */

#define QCOW_MAGIC          0x514649fbu
#define QCOW2_HEADER_SIZE   112u /* qemu's QCowHeader: v3 fields + compression type + padding */
#define QCOW2_V3_MIN_HEADER 104u
#define QCOW2_V2_HEADER     72u
#define MIN_CLUSTER_BITS    9u
#define MAX_CLUSTER_BITS    21u

#define CRYPT_NONE 0u
#define CRYPT_AES  1u
#define CRYPT_LUKS 2u

#define INCOMPAT_DIRTY          (1ull << 0)
#define INCOMPAT_CORRUPT        (1ull << 1)
#define INCOMPAT_DATA_FILE      (1ull << 2)
#define INCOMPAT_COMPRESSION    (1ull << 3)
#define INCOMPAT_EXTL2          (1ull << 4)
#define INCOMPAT_MASK           0x1full
#define COMPAT_LAZY_REFCOUNTS   (1ull << 0)
#define AUTOCLEAR_BITMAPS       (1ull << 0)
#define AUTOCLEAR_DATA_FILE_RAW (1ull << 1)

#define EXT_END            0u
#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_FEATURE_TABLE  0x6803f857u
#define EXT_CRYPTO_HEADER  0x0537be77u
#define EXT_BITMAPS        0x23852875u
#define EXT_DATA_FILE      0x44415441u

#define FEATURE_ENTRY 48u /* type, bit, name[46] */
#define FEATURE_NAME  46u

#define MAX_REFTABLE_SIZE        (8ull << 20)
#define MAX_L1_SIZE              (32ull << 20)
#define MAX_SNAPSHOTS            65536ull
#define SNAPSHOT_HEADER          40u
#define SNAPSHOT_EXTRA           24u /* vm_state_size_large, disk_size, icount */
#define MAX_SNAPSHOT_EXTRA       1024u
#define MAX_SNAPSHOTS_SIZE       (1024ull * MAX_SNAPSHOTS)
#define MAX_BITMAPS              65535u
#define MAX_BITMAP_DIR_SIZE      (1024ull * MAX_BITMAPS)
#define BITMAP_ENTRY             24u
#define BME_MAX_TABLE_SIZE       0x8000000u
#define BME_MAX_PHYS_SIZE        0x20000000ull
#define BME_MAX_GRANULARITY_BITS 31u
#define BME_MIN_GRANULARITY_BITS 9u
#define BME_MAX_NAME_SIZE        1023u
#define BME_RESERVED_FLAGS       0xfffffffcu
#define BME_FLAG_IN_USE          1u
#define BME_FLAG_AUTO            2u
#define BME_TABLE_RESERVED       0xff000000000001feull
#define BME_TABLE_OFFSET         0x00fffffffffffe00ull
#define BME_TABLE_ALL_ONES       1ull

/* Safety: a virtual size beyond the largest host cluster offset (64 PiB) can
 * never be backed by the image file. */
#define ABSURD_VIRTUAL_SIZE  (1ull << 56)
/* An L1 table larger than this and than twice the need is out of range. */
#define L1_SLACK_BYTES       (1ull << 20)
/* Bitmap tables read to validate them, at most (the rest is assumed valid). */
#define BITMAP_TABLE_BUDGET  (64ull << 20)
/* Bitmap names remembered to detect duplicates the way qemu does. */
#define BITMAP_NAMES_TRACKED 256

/* ------------------------------------------------------------ state */

struct q2 {
    const struct fmt_io *io;
    struct fmt_info *info;
    bool quiet; /* errors are not reported (qemu's first, errp-less extension scan) */

    /* one read window: header, extensions and tables are parsed through it */
    uint64_t win_off;
    size_t win_len;
    uint8_t win[4096];

    /* header */
    uint32_t version, cluster_bits, cluster_size, crypt_method, l1_size;
    uint32_t refcount_table_clusters, nb_snapshots, refcount_order, header_length;
    uint32_t backing_file_size;
    uint64_t backing_file_offset, size, l1_table_offset, refcount_table_offset;
    uint64_t snapshots_offset, incompat, compat, autoclear, ext_end;
    uint8_t compression_type;

    /* header extensions */
    bool have_feature_table, have_data_file, have_crypto;
    uint64_t feature_table_off, data_file_off, crypto_off, crypto_len;
    struct fmt_luks luks; /* the crypto header, when have_crypto */
    uint32_t feature_table_len, data_file_len;
    char backing_format[16];
    uint32_t nb_bitmaps;
    uint64_t bitmap_dir_off, bitmap_dir_size;

    /* what the tables turned out to be */
    uint64_t snapshots_size;
    uint64_t bitmap_table_bytes; /* read so far, against BITMAP_TABLE_BUDGET */
    bool bitmap_budget_hit, bitmap_table_past_eof, snapshot_l1_past_eof;
};

static int q2_fail(struct q2 *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int q2_fail(struct q2 *q, const char *fmt, ...)
{
    char msg[FMT_ERROR_MAX];
    va_list ap;

    if (q->quiet)
        return -1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return fmt_fail(q->info, "%s", msg);
}

/* Read through the window; bytes past EOF read as zeros. Callers keep
 * off + len below FMT_MAX_LENGTH (fmt_range_ok) or inside the first cluster. */
static int q2_read(struct q2 *q, uint64_t off, void *dst, size_t len)
{
    if (len == 0)
        return 0;
    if (q->win_len && off >= q->win_off && off - q->win_off < q->win_len &&
        len <= q->win_len - (size_t)(off - q->win_off)) {
        memcpy(dst, q->win + (off - q->win_off), len);
        return 0;
    }
    if (len > sizeof(q->win))
        return fmt_read(q->io, q->info, off, dst, len);
    q->win_len = 0;
    if (fmt_read(q->io, q->info, off, q->win, sizeof(q->win)) != 0)
        return -1;
    q->win_off = off;
    q->win_len = sizeof(q->win);
    memcpy(dst, q->win, len);
    return 0;
}

/* Read a string field of len bytes as qemu keeps it: up to the first NUL,
 * at most cap - 1 bytes. */
static int q2_read_str(struct q2 *q, uint64_t off, uint64_t len, char *dst, size_t cap)
{
    size_t n = len < cap - 1 ? (size_t)len : cap - 1;
    if (q2_read(q, off, dst, n) != 0)
        return -1;
    dst[n] = '\0';
    return 0;
}

static uint64_t round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) / align * align;
}

/* ------------------------------------------------------------ header extensions */

/* qcow2_read_extensions(). qemu runs it twice: quietly first, only to find the
 * feature name table when unknown incompatible bits are set (the crypt method
 * is not known yet then), and for real once the tables are validated. */
static int q2_extensions(struct q2 *q, uint32_t crypt_method)
{
    uint64_t off = q->header_length, end = q->ext_end;

    while (off < end) {
        uint8_t e[8];
        if (q2_read(q, off, e, sizeof(e)) != 0)
            return -1;
        uint32_t magic = fmt_be32(e), len = fmt_be32(e + 4);
        off += 8;
        if (off > end || len > end - off)
            return q2_fail(q, "Header extension too large");

        switch (magic) {
        case EXT_END:
            return 0;

        case EXT_BACKING_FORMAT:
            if (len >= sizeof(q->backing_format))
                return q2_fail(q, "ERROR: ext_backing_format: len=%u too large (>=%u)", len,
                               (unsigned)sizeof(q->backing_format));
            if (q2_read_str(q, off, len, q->backing_format, sizeof(q->backing_format)) != 0)
                return -1;
            break;

        case EXT_FEATURE_TABLE:
            q->have_feature_table = true; /* the last one wins */
            q->feature_table_off = off;
            q->feature_table_len = len;
            break;

        case EXT_CRYPTO_HEADER: {
            uint8_t c[16];
            if (crypt_method != CRYPT_LUKS)
                return q2_fail(q, "CRYPTO header extension only expected with LUKS encryption "
                                  "method");
            if (len != sizeof(c))
                return q2_fail(q, "CRYPTO header extension size %u, but expected size %u", len,
                               (unsigned)sizeof(c));
            if (q2_read(q, off, c, sizeof(c)) != 0)
                return -1;
            uint64_t coff = fmt_be64(c), clen = fmt_be64(c + 8);
            if (coff % q->cluster_size != 0)
                return q2_fail(q,
                               "Encryption header offset '%llu' is not a multiple of cluster "
                               "size '%u'",
                               (unsigned long long)coff, q->cluster_size);
            /* qemu opens the LUKS header right here (without a key under
             * qemu-img info): validate it, describe it later */
            if (clen >= 592 && !fmt_range_ok(coff, 592))
                return q2_fail(q, "Could not read encryption header: Input/output error");
            if (fmt_luks_load(q->io, q->info, coff, clen, &q->luks) != 0)
                return -1;
            q->have_crypto = true;
            q->crypto_off = coff;
            q->crypto_len = clen;
            break;
        }

        case EXT_BITMAPS: {
            uint8_t b[24];
            if (len != sizeof(b))
                return q2_fail(q, "bitmaps_ext: Invalid extension length");
            if (!(q->autoclear & AUTOCLEAR_BITMAPS))
                break; /* a program without bitmap support touched the image: ignored */
            if (q2_read(q, off, b, sizeof(b)) != 0)
                return -1;
            uint32_t nb = fmt_be32(b), reserved = fmt_be32(b + 4);
            uint64_t dir_size = fmt_be64(b + 8), dir_off = fmt_be64(b + 16);
            if (reserved != 0)
                return q2_fail(q, "bitmaps_ext: Reserved field is not zero");
            if (nb > MAX_BITMAPS)
                return q2_fail(q,
                               "bitmaps_ext: Image has %u bitmaps, exceeding the QEMU supported "
                               "maximum of %u",
                               nb, MAX_BITMAPS);
            if (nb == 0)
                return q2_fail(q, "found bitmaps extension with zero bitmaps");
            if (dir_off % q->cluster_size != 0)
                return q2_fail(q, "bitmaps_ext: invalid bitmap directory offset");
            if (dir_size > MAX_BITMAP_DIR_SIZE)
                return q2_fail(q,
                               "bitmaps_ext: bitmap directory size (%llu) exceeds the maximum "
                               "supported size (%llu)",
                               (unsigned long long)dir_size,
                               (unsigned long long)MAX_BITMAP_DIR_SIZE);
            q->nb_bitmaps = nb;
            q->bitmap_dir_size = dir_size;
            q->bitmap_dir_off = dir_off;
            break;
        }

        case EXT_DATA_FILE:
            q->have_data_file = true; /* the last one wins */
            q->data_file_off = off;
            q->data_file_len = len;
            break;

        default:
            break; /* unknown extensions are kept by qemu, and skipped */
        }
        off += ((uint64_t)len + 7) & ~7ull;
    }
    return 0;
}

/* report_unsupported_feature(): names from the feature table, then the rest in hex. */
static int q2_unsupported_features(struct q2 *q)
{
    uint64_t mask = q->incompat & ~INCOMPAT_MASK;
    char list[FMT_ERROR_MAX];
    size_t used = 0;

    list[0] = '\0';
    if (q->have_feature_table) {
        /* qemu reads the table into a zeroed buffer two entries longer and
         * stops at the first entry with an empty name */
        uint64_t len = q->feature_table_len;
        for (uint64_t base = 0; base + 2 < len; base += FEATURE_ENTRY) {
            uint8_t ent[FEATURE_ENTRY];
            memset(ent, 0, sizeof(ent));
            uint64_t n = len - base < FEATURE_ENTRY ? len - base : FEATURE_ENTRY;
            if (q2_read(q, q->feature_table_off + base, ent, (size_t)n) != 0)
                return -1;
            if (ent[2] == '\0')
                break;
            /* 1ULL << bit: x86 uses the low six bits of the count */
            uint64_t bit = 1ull << (ent[1] & 63);
            if (ent[0] != 0 || !(mask & bit))
                continue;
            char name[FEATURE_NAME + 1];
            memcpy(name, ent + 2, FEATURE_NAME);
            name[FEATURE_NAME] = '\0';
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", name);
            if (w > 0)
                used = used + (size_t)w < sizeof(list) ? used + (size_t)w : sizeof(list) - 1;
            mask &= ~bit;
        }
    }
    if (mask)
        snprintf(list + used, sizeof(list) - used, "%sUnknown incompatible feature: %llx",
                 used ? ", " : "", (unsigned long long)mask);
    return fmt_fail(q->info, "Unsupported qcow2 feature(s): %s", list);
}

/* ------------------------------------------------------------ snapshots */

/* qcow2_read_snapshots(): every entry is reported as it is read. */
static int q2_snapshots(struct q2 *q)
{
    uint64_t off = q->snapshots_offset, table_len = 0;
    uint64_t eof = round_up(q->io->size, q->cluster_size);

    for (uint32_t i = 0; i < q->nb_snapshots; i++) {
        uint8_t h[SNAPSHOT_HEADER], x[SNAPSHOT_EXTRA];
        struct fmt_snapshot sn;

        table_len = round_up(table_len, 8);
        off = round_up(off, 8);
        if (!fmt_range_ok(off, sizeof(h)))
            return q2_fail(q, "Failed to read snapshot table: Input/output error");
        if (q2_read(q, off, h, sizeof(h)) != 0)
            return -1;
        off += sizeof(h);
        uint64_t l1_off = fmt_be64(h);
        uint32_t l1_size = fmt_be32(h + 8);
        uint16_t id_size = fmt_be16(h + 12), name_size = fmt_be16(h + 14);
        uint32_t extra = fmt_be32(h + 36);

        if (extra > MAX_SNAPSHOT_EXTRA)
            return q2_fail(q, "Too much extra metadata in snapshot table entry %d", (int)i);
        uint32_t known = extra < SNAPSHOT_EXTRA ? extra : SNAPSHOT_EXTRA;
        memset(x, 0, sizeof(x));
        if (!fmt_range_ok(off, known))
            return q2_fail(q, "Failed to read snapshot table: Input/output error");
        if (q2_read(q, off, x, known) != 0)
            return -1;
        off += known;

        memset(&sn, 0, sizeof(sn));
        sn.vm_state_size = extra >= 8 ? fmt_be64(x) : fmt_be32(h + 32);
        sn.icount = extra >= 24 ? fmt_be64(x + 16) : UINT64_MAX;
        sn.has_icount = sn.icount != UINT64_MAX;
        sn.date_sec = fmt_be32(h + 16);
        sn.date_nsec = fmt_be32(h + 20);
        sn.vm_clock_nsec = fmt_be64(h + 24);

        if (extra > SNAPSHOT_EXTRA) { /* unknown extra data: kept by qemu, skipped here */
            if (!fmt_range_ok(off, extra - SNAPSHOT_EXTRA))
                return q2_fail(q, "Failed to read snapshot table: Input/output error");
            off += extra - SNAPSHOT_EXTRA;
        }
        if (!fmt_range_ok(off, id_size))
            return q2_fail(q, "Failed to read snapshot table: Input/output error");
        if (q2_read_str(q, off, id_size, sn.id, sizeof(sn.id)) != 0)
            return -1;
        off += id_size;
        if (!fmt_range_ok(off, name_size))
            return q2_fail(q, "Failed to read snapshot table: Input/output error");
        if (q2_read_str(q, off, name_size, sn.name, sizeof(sn.name)) != 0)
            return -1;
        off += name_size;

        table_len += SNAPSHOT_HEADER + (uint64_t)extra + id_size + name_size;
        if (table_len > MAX_SNAPSHOTS_SIZE || off - q->snapshots_offset > FMT_INT_MAX)
            return q2_fail(q, "Snapshot table is too big");

        if (l1_size && (l1_off > eof || (uint64_t)l1_size * 8 > eof - l1_off))
            q->snapshot_l1_past_eof = true;
        /* qcow2_snapshot_list() refuses (ENOTSUP) with an external data file,
         * and qemu-img info then lists none */
        if (!(q->incompat & INCOMPAT_DATA_FILE))
            fmt_snapshot(q->info, &sn);
    }
    q->snapshots_size = off - q->snapshots_offset;
    return 0;
}

/* ------------------------------------------------------------ persistent bitmaps */

struct q2_bitmap {
    uint64_t table_off, name_off;
    uint32_t table_size, flags;
    uint16_t name_size;
    uint8_t gran_bits;
};

typedef int (*q2_bitmap_fn)(struct q2 *q, const struct q2_bitmap *bm, void *arg);

static uint64_t q2_virtual_size(const struct q2 *q)
{
    return q->size / 512 * 512;
}

/* bdrv_getlength() fails (EFBIG) when the sector count does not fit in bytes */
static bool q2_length_ok(const struct q2 *q)
{
    return q->size / 512 <= FMT_INT64_MAX / 512;
}

/* check_dir_entry() */
static bool q2_bitmap_entry_ok(const struct q2 *q, uint64_t table_off, uint32_t table_size,
                               uint32_t flags, uint8_t type, uint8_t gran, uint16_t name_size)
{
    if (table_size == 0 || table_off == 0 || table_off % q->cluster_size ||
        table_size > BME_MAX_TABLE_SIZE || gran > BME_MAX_GRANULARITY_BITS ||
        gran < BME_MIN_GRANULARITY_BITS || (flags & BME_RESERVED_FLAGS) ||
        name_size > BME_MAX_NAME_SIZE || type != 1)
        return false;
    uint64_t phys = (uint64_t)table_size * q->cluster_size;
    if (!q2_length_ok(q) || phys > BME_MAX_PHYS_SIZE)
        return false;
    if (!(flags & BME_FLAG_IN_USE) && q2_virtual_size(q) > ((phys * 8) << gran))
        return false;
    return true;
}

/* bitmap_list_load(): walk the directory, calling fn for every entry. */
static int q2_bitmap_walk(struct q2 *q, q2_bitmap_fn fn, void *arg)
{
    uint64_t base = q->bitmap_dir_off, size = q->bitmap_dir_size, pos = 0;
    uint32_t n = 0;

    if (size == 0)
        return q2_fail(q, "Requested bitmap directory size is zero");
    if (size > MAX_BITMAP_DIR_SIZE)
        return q2_fail(q, "Requested bitmap directory size is too big");
    if (!fmt_range_ok(base, size))
        return q2_fail(q, "Failed to read bitmap directory: Input/output error");

    while (pos < size) {
        uint8_t e[BITMAP_ENTRY];
        if (size - pos < BITMAP_ENTRY)
            return q2_fail(q, "Broken bitmap directory");
        if (++n > q->nb_bitmaps)
            return q2_fail(q, "More bitmaps found than specified in header extension");
        if (q2_read(q, base + pos, e, sizeof(e)) != 0)
            return -1;
        struct q2_bitmap bm = {
            .table_off = fmt_be64(e),
            .table_size = fmt_be32(e + 8),
            .flags = fmt_be32(e + 12),
            .gran_bits = e[17],
            .name_size = fmt_be16(e + 18),
            .name_off = base + pos + BITMAP_ENTRY,
        };
        uint8_t type = e[16];
        uint32_t extra = fmt_be32(e + 20);
        /* qemu sizes the entry in an int: wrapped sums step backwards and
         * pass its bounds check, then fail on the extra data */
        uint32_t sum = BITMAP_ENTRY + bm.name_size + extra;
        int32_t step = (int32_t)((sum + 7u) & ~7u);
        if (step > 0 && (uint64_t)step > size - pos)
            return q2_fail(q, "Broken bitmap directory");
        if (extra != 0)
            return q2_fail(q, "Bitmap extra data is not supported");
        if (!q2_bitmap_entry_ok(q, bm.table_off, bm.table_size, bm.flags, type, bm.gran_bits,
                                bm.name_size)) {
            char name[FMT_ERROR_MAX];
            if (q2_read_str(q, bm.name_off, bm.name_size, name, sizeof(name)) != 0)
                return -1;
            return q2_fail(q, "Bitmap '%s' doesn't satisfy the constraints", name);
        }
        if (fn && fn(q, &bm, arg) != 0)
            return -1;
        pos += (uint64_t)step;
    }
    if (n != q->nb_bitmaps)
        return q2_fail(q, "Less bitmaps found than specified in header extension");
    if (pos != size)
        return q2_fail(q, "Broken bitmap directory");
    return 0;
}

/* Names of the bitmaps qemu created so far, to refuse duplicates like it does. */
struct q2_names {
    uint32_t count;
    struct {
        uint64_t hash, off;
        uint16_t len;
    } e[BITMAP_NAMES_TRACKED];
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

/* 1 when name is already known, 0 when not, -1 on a read error. */
static int q2_names_find(struct q2 *q, struct q2_names *names, const char *name, uint64_t hash)
{
    char other[BME_MAX_NAME_SIZE + 1];
    for (uint32_t i = 0; i < names->count; i++) {
        if (names->e[i].hash != hash)
            continue;
        if (q2_read_str(q, names->e[i].off, names->e[i].len, other, sizeof(other)) != 0)
            return -1;
        if (strcmp(other, name) == 0)
            return 1;
    }
    return 0;
}

static int q2_bitmap_table_chunk(void *ctx, uint64_t first, const uint8_t *e, size_t n)
{
    const struct q2 *q = ctx;
    (void)first;
    for (size_t i = 0; i < n; i++) {
        uint64_t entry = fmt_be64(e + 8 * i), data = entry & BME_TABLE_OFFSET;
        if ((entry & BME_TABLE_RESERVED) ||
            (data && ((entry & BME_TABLE_ALL_ONES) || data % q->cluster_size)))
            return 1;
    }
    return 0;
}

/* The bitmap table: reserved bits clear, data clusters aligned. Only the part
 * inside the file is read (the rest reads as zeros, which is valid). */
static int q2_bitmap_table_ok(struct q2 *q, const struct q2_bitmap *bm, bool *ok)
{
    uint64_t entries = fmt_entries_in_file(q->io, bm->table_off, bm->table_size, 8, false);
    *ok = true;
    if (!fmt_fits(bm->table_off, (uint64_t)bm->table_size * 8, q->io->size))
        q->bitmap_table_past_eof = true;
    if (q->bitmap_table_bytes + entries * 8 > BITMAP_TABLE_BUDGET) {
        q->bitmap_budget_hit = true;
        return 0;
    }
    q->bitmap_table_bytes += entries * 8;
    int r = fmt_walk(q->io, q->info, bm->table_off, entries, 8, q2_bitmap_table_chunk, q);
    if (r < 0)
        return -1;
    *ok = r == 0;
    return 0;
}

/* qcow2_load_dirty_bitmaps() for a read-only open: every bitmap not in use is
 * loaded, which checks its table; names must be unique. */
static int q2_bitmap_load(struct q2 *q, const struct q2_bitmap *bm, void *arg)
{
    struct q2_names *names = arg;
    char name[BME_MAX_NAME_SIZE + 1];
    bool in_use = bm->flags & BME_FLAG_IN_USE;

    if (q2_read_str(q, bm->name_off, bm->name_size, name, sizeof(name)) != 0)
        return -1;
    uint64_t hash = fnv1a(name);
    int found = q2_names_find(q, names, name, hash);
    if (found < 0)
        return -1;
    if (found && in_use)
        return 0; /* qemu keeps the bitmap it already has */
    if (found)
        return q2_fail(q, "Bitmap already exists: %s", name);
    if (names->count < BITMAP_NAMES_TRACKED) {
        names->e[names->count].hash = hash;
        names->e[names->count].off = bm->name_off;
        names->e[names->count].len = bm->name_size;
        names->count++;
    }
    if (in_use)
        return 0; /* its data is not loaded */

    if (!fmt_range_ok(bm->table_off, (uint64_t)bm->table_size * 8))
        return q2_fail(q,
                       "Could not read bitmap_table table from image for bitmap '%s': "
                       "Input/output error",
                       name);
    bool ok;
    if (q2_bitmap_table_ok(q, bm, &ok) != 0)
        return -1;
    if (!ok)
        return q2_fail(q,
                       "Could not read bitmap_table table from image for bitmap '%s': "
                       "Invalid argument",
                       name);

    /* load_bitmap_data(): the table must have exactly one entry per cluster
     * of serialized bitmap (64-bit words, each covering 64 granules) */
    uint64_t len = q2_virtual_size(q), bytes = 0;
    if (len > 0)
        bytes = ((((len - 1) >> bm->gran_bits) >> 6) + 1) * 8;
    uint64_t clusters = (bytes + q->cluster_size - 1) >> q->cluster_bits;
    if (clusters != bm->table_size || clusters > BME_MAX_TABLE_SIZE)
        return q2_fail(q, "Could not read bitmap '%s' from image: Invalid argument", name);
    return 0;
}

/* qcow2_get_bitmap_info_list(): one dict per bitmap, in directory order. */
static int q2_bitmap_emit(struct q2 *q, const struct q2_bitmap *bm, void *arg)
{
    char name[BME_MAX_NAME_SIZE + 1];
    (void)arg;
    if (q2_read_str(q, bm->name_off, bm->name_size, name, sizeof(name)) != 0)
        return -1;
    fmt_dict(q->info, NULL);
    fmt_list(q->info, "flags");
    if (bm->flags & BME_FLAG_IN_USE)
        fmt_str(q->info, NULL, "in-use");
    if (bm->flags & BME_FLAG_AUTO)
        fmt_str(q->info, NULL, "auto");
    fmt_end(q->info);
    fmt_str(q->info, "name", name);
    fmt_uint(q->info, "granularity", 1ull << bm->gran_bits);
    fmt_end(q->info);
    return 0;
}

/* ------------------------------------------------------------ safety */

struct q2_region {
    const char *what;
    uint64_t off, len;
};

static void q2_safety(struct q2 *q)
{
    struct fmt_info *info = q->info;
    uint64_t cs = q->cluster_size, eof = round_up(q->io->size, cs);
    struct q2_region r[5];
    size_t n = 0;

    if (q->l1_size)
        r[n++] = (struct q2_region){"L1 table", q->l1_table_offset, (uint64_t)q->l1_size * 8};
    r[n++] = (struct q2_region){"refcount table", q->refcount_table_offset,
                                (uint64_t)q->refcount_table_clusters * cs};
    if (q->nb_snapshots)
        r[n++] = (struct q2_region){"snapshot table", q->snapshots_offset, q->snapshots_size};
    if (q->nb_bitmaps)
        r[n++] = (struct q2_region){"bitmap directory", q->bitmap_dir_off, q->bitmap_dir_size};
    if (q->have_crypto && q->crypto_len)
        r[n++] = (struct q2_region){"encryption header", q->crypto_off, q->crypto_len};

    for (size_t i = 0; i < n; i++) {
        if (r[i].off > eof || r[i].len > eof - r[i].off)
            fmt_finding(info, "out-of-range",
                        "the %s (offset %llu, %llu bytes) reaches past the end of the file "
                        "(%llu bytes)",
                        r[i].what, (unsigned long long)r[i].off, (unsigned long long)r[i].len,
                        (unsigned long long)q->io->size);
        if (r[i].off < cs)
            fmt_finding(info, "out-of-range", "the %s (offset %llu) overlaps the image header",
                        r[i].what, (unsigned long long)r[i].off);
        for (size_t j = i + 1; j < n; j++) {
            if (r[i].len && r[j].len && r[i].off < fmt_sat_add(r[j].off, r[j].len) &&
                r[j].off < fmt_sat_add(r[i].off, r[i].len))
                fmt_finding(info, "out-of-range", "the %s overlaps the %s", r[i].what, r[j].what);
        }
    }
    if (q->snapshot_l1_past_eof)
        fmt_finding(info, "out-of-range", "a snapshot's L1 table reaches past the end of the file");
    if (q->bitmap_table_past_eof)
        fmt_finding(info, "out-of-range", "a bitmap table reaches past the end of the file");
    if (q->bitmap_budget_hit)
        fmt_finding(info, "out-of-range",
                    "the bitmap tables are too large to check (more than %llu bytes)",
                    (unsigned long long)BITMAP_TABLE_BUDGET);

    if (q2_virtual_size(q) > ABSURD_VIRTUAL_SIZE)
        fmt_finding(info, "out-of-range",
                    "virtual size %llu is beyond what a qcow2 file can hold (64 PiB)",
                    (unsigned long long)q2_virtual_size(q));

    /* qemu grows the L1 table by half at a time (VM state, resizes) and keeps
     * it when shrinking, so some slack is normal; a table of over 1 MiB more
     * than twice what the disk needs is not (qemu reads it whole on open) */
    uint32_t l2_bits = q->cluster_bits - ((q->incompat & INCOMPAT_EXTL2) ? 4 : 3);
    uint32_t shift = q->cluster_bits + l2_bits;
    uint64_t needed = (q->size >> shift) + ((q->size & ((1ull << shift) - 1)) != 0);
    uint64_t extra = q->l1_size > needed ? q->l1_size - needed : 0;
    if (extra > needed && (uint64_t)q->l1_size * 8 > L1_SLACK_BYTES)
        fmt_finding(info, "out-of-range",
                    "the L1 table has %u entries where the virtual size needs %llu", q->l1_size,
                    (unsigned long long)needed);
}

/* ------------------------------------------------------------ open */

/* qcow2_validate_table() */
static int q2_validate_table(struct q2 *q, uint64_t off, uint64_t entries, uint64_t entry_len,
                             uint64_t max_bytes, const char *name)
{
    if (entries > max_bytes / entry_len)
        return q2_fail(q, "%s too large", name);
    if (FMT_INT64_MAX - entries * entry_len < off || off % q->cluster_size != 0)
        return q2_fail(q, "%s offset invalid", name);
    return 0;
}

static int q2_parse_header(struct q2 *q)
{
    uint8_t h[QCOW2_HEADER_SIZE];

    if (q2_read(q, 0, h, sizeof(h)) != 0)
        return -1;
    uint32_t magic = fmt_be32(h);
    q->version = fmt_be32(h + 4);
    q->backing_file_offset = fmt_be64(h + 8);
    q->backing_file_size = fmt_be32(h + 16);
    q->cluster_bits = fmt_be32(h + 20);
    q->size = fmt_be64(h + 24);
    q->crypt_method = fmt_be32(h + 32);
    q->l1_size = fmt_be32(h + 36);
    q->l1_table_offset = fmt_be64(h + 40);
    q->refcount_table_offset = fmt_be64(h + 48);
    q->refcount_table_clusters = fmt_be32(h + 56);
    q->nb_snapshots = fmt_be32(h + 60);
    q->snapshots_offset = fmt_be64(h + 64);

    if (magic != QCOW_MAGIC)
        return q2_fail(q, "Image is not in qcow2 format");
    if (q->version < 2 || q->version > 3)
        return q2_fail(q, "Unsupported qcow2 version %u", q->version);
    if (q->cluster_bits < MIN_CLUSTER_BITS || q->cluster_bits > MAX_CLUSTER_BITS)
        return q2_fail(q, "Unsupported cluster size: 2^%u", q->cluster_bits);
    q->cluster_size = 1u << q->cluster_bits;

    if (q->version == 2) {
        q->incompat = q->compat = q->autoclear = 0;
        q->refcount_order = 4;
        q->header_length = QCOW2_V2_HEADER;
    } else {
        q->incompat = fmt_be64(h + 72);
        q->compat = fmt_be64(h + 80);
        q->autoclear = fmt_be64(h + 88);
        q->refcount_order = fmt_be32(h + 96);
        q->header_length = fmt_be32(h + 100);
        if (q->header_length < QCOW2_V3_MIN_HEADER)
            return q2_fail(q, "qcow2 header too short");
    }
    if (q->header_length > q->cluster_size)
        return q2_fail(q, "qcow2 header exceeds cluster size");
    if (q->backing_file_offset > q->cluster_size)
        return q2_fail(q, "Invalid backing file offset");
    q->ext_end = q->backing_file_offset ? q->backing_file_offset : q->cluster_size;

    /* the compression type byte exists only in headers long enough for it */
    q->compression_type = q->header_length > QCOW2_V3_MIN_HEADER ? h[104] : 0;
    if (q->compression_type > 1)
        return q2_fail(q, "qcow2: unknown compression type: %u", q->compression_type);
    if (q->compression_type == 0 && (q->incompat & INCOMPAT_COMPRESSION))
        return q2_fail(q, "qcow2: Compression type incompatible feature bit must not be set");
    if (q->compression_type != 0 && !(q->incompat & INCOMPAT_COMPRESSION))
        return q2_fail(q, "qcow2: Compression type incompatible feature bit must be set");

    if (q->incompat & ~INCOMPAT_MASK) {
        q->quiet = true;
        q2_extensions(q, CRYPT_NONE);
        q->quiet = false;
        if (q->info->error[0])
            return -1; /* an I/O error */
        return q2_unsupported_features(q);
    }
    if ((q->incompat & INCOMPAT_EXTL2) && q->cluster_size / 32 < 512)
        return q2_fail(q, "Unsupported subcluster size: %u", q->cluster_size / 32);
    if (q->refcount_order > 6)
        return q2_fail(q, "Reference count entry width too large; may not exceed 64 bits");
    return 0;
}

static int q2_open_tables(struct q2 *q)
{
    if (q->refcount_table_clusters == 0)
        return q2_fail(q, "Image does not contain a reference count table");
    if (q2_validate_table(q, q->refcount_table_offset, q->refcount_table_clusters, q->cluster_size,
                          MAX_REFTABLE_SIZE, "Reference count table") != 0)
        return -1;
    if (q2_validate_table(q, q->snapshots_offset, q->nb_snapshots, SNAPSHOT_HEADER,
                          SNAPSHOT_HEADER * MAX_SNAPSHOTS, "Snapshot table") != 0)
        return -1;
    if (q2_validate_table(q, q->l1_table_offset, q->l1_size, 8, MAX_L1_SIZE, "Active L1 table") !=
        0)
        return -1;

    /* size_to_l1() in 64-bit unsigned arithmetic, wrapping like qemu's */
    uint32_t l2_bits = q->cluster_bits - ((q->incompat & INCOMPAT_EXTL2) ? 4 : 3);
    uint32_t shift = q->cluster_bits + l2_bits;
    uint64_t l1_needed = (q->size + (1ull << shift) - 1) >> shift;
    if (l1_needed > FMT_INT_MAX)
        return q2_fail(q, "Image is too big");
    if (q->l1_size < l1_needed)
        return q2_fail(q, "L1 table is too small");
    if (q->l1_size > 0 && !fmt_range_ok(q->l1_table_offset, (uint64_t)q->l1_size * 8))
        return q2_fail(q, "Could not read L1 table: Input/output error");

    if (q->crypt_method > CRYPT_LUKS)
        return q2_fail(q, "Unsupported encryption method %d", (int)q->crypt_method);
    if (!fmt_range_ok(q->refcount_table_offset,
                      (uint64_t)q->refcount_table_clusters * q->cluster_size))
        return q2_fail(q, "Could not initialize refcount handling: Input/output error");
    return 0;
}

static int q2_open_names(struct q2 *q)
{
    struct fmt_info *info = q->info;

    if (q->backing_file_offset != 0) {
        uint32_t len = q->backing_file_size;
        uint64_t room = q->cluster_size - q->backing_file_offset;
        if (len > (room < 1023 ? room : 1023) || len >= FMT_PATH_MAX - 1)
            return q2_fail(q, "Backing file name too long");
        if (q2_read_str(q, q->backing_file_offset, len, info->backing_file,
                        sizeof(info->backing_file)) != 0)
            return -1;
        if (info->backing_file[0])
            memcpy(info->backing_format, q->backing_format, sizeof(q->backing_format));
    }
    /* qemu-img info does not open the data file (CVE-2024-4467); qemu would
     * open it only when the incompatible bit says there is one */
    if (q->have_data_file && (q->incompat & INCOMPAT_DATA_FILE))
        return q2_read_str(q, q->data_file_off, q->data_file_len, info->data_file,
                           sizeof(info->data_file));
    return 0;
}

static int q2_emit(struct q2 *q)
{
    struct fmt_info *info = q->info;

    strcpy(info->specific_type, "qcow2");
    fmt_dict(info, NULL);
    fmt_str(info, "compat", q->version == 2 ? "0.10" : "1.1");
    fmt_str(info, "compression-type", q->compression_type ? "zstd" : "zlib");
    fmt_int(info, "refcount-bits", 1 << q->refcount_order);
    if (q->version >= 3) {
        fmt_bool(info, "lazy-refcounts", q->compat & COMPAT_LAZY_REFCOUNTS);
        fmt_bool(info, "corrupt", q->incompat & INCOMPAT_CORRUPT);
        fmt_bool(info, "extended-l2", q->incompat & INCOMPAT_EXTL2);
        if (q->nb_bitmaps) {
            fmt_list(info, "bitmaps");
            if (q2_bitmap_walk(q, q2_bitmap_emit, NULL) != 0)
                return -1;
            fmt_end(info);
        }
        if (q->have_data_file) {
            char name[FMT_PATH_MAX];
            if (q2_read_str(q, q->data_file_off, q->data_file_len, name, sizeof(name)) != 0)
                return -1;
            fmt_str(info, "data-file", name);
        }
        if (q->incompat & INCOMPAT_DATA_FILE)
            fmt_bool(info, "data-file-raw", q->autoclear & AUTOCLEAR_DATA_FILE_RAW);
    }
    if (q->crypt_method == CRYPT_AES) {
        fmt_dict(info, "encrypt");
        fmt_str(info, "format", "aes");
        fmt_end(info);
    } else if (q->crypt_method == CRYPT_LUKS && q->have_crypto) {
        fmt_dict(info, "encrypt");
        fmt_str(info, "format", "luks");
        fmt_luks_describe(info, &q->luks);
        fmt_end(info);
    }
    fmt_end(info);
    return 0;
}

static int qcow2_open(const struct fmt_io *io, struct fmt_info *info)
{
    struct q2 q;

    memset(&q, 0, sizeof(q));
    q.io = io;
    q.info = info;
    strcpy(info->format, "qcow2");

    /* qcow2_do_open(), in its order: the first failure is the one qemu reports */
    if (q2_parse_header(&q) != 0 || q2_open_tables(&q) != 0)
        return -1;
    if (q2_extensions(&q, q.crypt_method) != 0)
        return -1;
    if (q2_open_names(&q) != 0 || q2_snapshots(&q) != 0)
        return -1;
    if (q.nb_bitmaps) {
        struct q2_names names;
        names.count = 0;
        /* the whole directory is checked before any bitmap is loaded */
        if (q2_bitmap_walk(&q, NULL, NULL) != 0 || q2_bitmap_walk(&q, q2_bitmap_load, &names) != 0)
            return -1;
    }
    /* bdrv_open_driver() then refreshes the sector count */
    if (q.size / 512 > FMT_MAX_LENGTH / 512)
        return q2_fail(&q, "Could not refresh total sector count: File too large");
    /* a LUKS image without its header: qemu-img info crashes on it (7.2);
     * qemu with I/O refuses it with this message */
    if (q.crypt_method == CRYPT_LUKS && !q.have_crypto)
        return q2_fail(&q, "Missing CRYPTO header for crypt method %u", q.crypt_method);

    info->version = q.version;
    info->virtual_size = q2_virtual_size(&q);
    info->cluster_size = q.cluster_size;
    info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;
    if (q.incompat & INCOMPAT_DIRTY)
        info->flags |= PUPA_INFO_F_DIRTY;
    if (q.incompat & INCOMPAT_CORRUPT)
        info->flags |= PUPA_INFO_F_CORRUPT;
    if (q.crypt_method != CRYPT_NONE)
        info->flags |= PUPA_INFO_F_ENCRYPTED | PUPA_INFO_F_HAS_ENCRYPTED;
    if (q2_emit(&q) != 0)
        return -1;
    q2_safety(&q);
    return 0;
}

/* qcow2_probe(): magic and a version of at least 2. */
static int qcow2_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)filename;
    if (len < QCOW2_HEADER_SIZE || fmt_be32(buf) != QCOW_MAGIC || fmt_be32(buf + 4) < 2)
        return 0;
    return 100;
}

const struct fmt_driver fmt_qcow2 = {
    .name = "qcow2",
    .probe = qcow2_probe,
    .open = qcow2_open,
};
