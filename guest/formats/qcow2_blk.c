/* qcow2_blk.c: the qcow2 block driver: qemu 7.2's qcow2_get_host_offset() over
 * L1/L2 tables (standard and extended L2 with subclusters, zero clusters,
 * compressed clusters in zlib or zstd), its block status, its reads of
 * compressed clusters and its metadata-preallocation heuristic. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "blk_inflate.h"
#include "qcow2.h"

#define OFLAG_COMPRESSED (1ull << 62)
#define OFLAG_ZERO       (1ull << 0)
#define L1E_OFFSET_MASK  0x00fffffffffffe00ull
#define L2E_OFFSET_MASK  0x00fffffffffffe00ull
#define REFT_OFFSET_MASK 0xfffffffffffffe00ull
#define ALL_ALLOC        0xffffffffull /* subcluster allocation bits */
#define CRYPT_AES        1u
#define L2_BATCH         256 /* L2 entries looked at per metadata read */

enum sc_type {
    SC_NORMAL,
    SC_COMPRESSED,
    SC_ZERO_PLAIN,
    SC_ZERO_ALLOC,
    SC_UNALLOCATED_PLAIN,
    SC_UNALLOCATED_ALLOC,
    SC_INVALID,
};

struct q2blk {
    struct blk_file *file;
    char *error, *warning;
    bool corruption_signaled;
    uint32_t version, cluster_bits, l2_bits, entry_size, sc_bits, sc_per_cluster;
    uint64_t cluster_size, size, l1_offset;
    uint32_t l1_size;
    bool extl2;
    uint8_t compression_type;
    /* compressed clusters: qemu's csize/offset masks, buffers, the last cluster */
    uint32_t csize_shift;
    uint64_t csize_mask, cluster_offset_mask;
    struct blk_arena *arena;
    struct blk_zctx *z;
    uint8_t *cbuf, *cluster;
    uint64_t cached_coffset; /* + 1; 0 = nothing cached */
    /* refcounts, for the preallocation heuristic */
    uint64_t reftable_offset, reftable_entries;
    uint32_t refcount_order, refblock_bits;
    bool prealloc_checked, prealloc;
};

/* qcow2_signal_corruption() on a read-only image: the message once, then EIO. */
static int corrupt(struct q2blk *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int corrupt(struct q2blk *q, const char *fmt, ...)
{
    if (!q->corruption_signaled && q->warning && q->warning[0] == '\0') {
        char msg[FMT_ERROR_MAX - 128];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(q->warning, FMT_ERROR_MAX,
                 "qcow2: Image is corrupt: %s; further non-fatal corruption events will be "
                 "suppressed",
                 msg);
    }
    q->corruption_signaled = true;
    return blk_fail(q->error, "Input/output error");
}

/* A metadata read qemu would issue: below BDRV_MAX_LENGTH, zeros past EOF. */
static int meta_read(struct q2blk *q, uint64_t off, void *buf, size_t len)
{
    if (!fmt_range_ok(off, len) || blk_pread(q->file, off, buf, len) != 0)
        return blk_fail(q->error, "Input/output error");
    return 0;
}

/* ------------------------------------------------------------ L2 entries */

static enum sc_type cluster_type(const struct q2blk *q, uint64_t entry, uint64_t bitmap,
                                 unsigned sc)
{
    bool compressed = entry & OFLAG_COMPRESSED, offset = entry & L2E_OFFSET_MASK;
    if (!q->extl2) {
        if (compressed)
            return SC_COMPRESSED;
        if (entry & OFLAG_ZERO)
            return offset ? SC_ZERO_ALLOC : SC_ZERO_PLAIN;
        return offset ? SC_NORMAL : SC_UNALLOCATED_PLAIN;
    }
    if (compressed)
        return SC_COMPRESSED;
    if (offset) { /* normal cluster with subclusters */
        if ((bitmap >> 32) & bitmap)
            return SC_INVALID;
        if (bitmap & (1ull << (32 + sc)))
            return SC_ZERO_ALLOC;
        return (bitmap & (1ull << sc)) ? SC_NORMAL : SC_UNALLOCATED_ALLOC;
    }
    if (bitmap & ALL_ALLOC)
        return SC_INVALID;
    return (bitmap & (1ull << (32 + sc))) ? SC_ZERO_PLAIN : SC_UNALLOCATED_PLAIN;
}

static unsigned ones_from(uint32_t v)
{
    return v == 0xffffffffu ? 32 : (unsigned)__builtin_ctz(~v);
}

/* qcow2_get_subcluster_range_type(): subclusters from sc of the same type, or -1. */
static int range_type(const struct q2blk *q, uint64_t entry, uint64_t bitmap, unsigned sc,
                      enum sc_type *type)
{
    *type = cluster_type(q, entry, bitmap, sc);
    if (*type == SC_INVALID)
        return -1;
    if (!q->extl2 || *type == SC_COMPRESSED)
        return (int)(q->sc_per_cluster - sc);
    uint32_t below = sc ? (uint32_t)((1ull << sc) - 1) : 0, v;
    switch (*type) {
    case SC_NORMAL:
        v = (uint32_t)bitmap | below;
        return (int)(ones_from(v) - sc);
    case SC_ZERO_PLAIN:
    case SC_ZERO_ALLOC:
        v = (uint32_t)(bitmap >> 32) | below;
        return (int)(ones_from(v) - sc);
    default: /* unallocated */
        v = ((uint32_t)(bitmap >> 32) | (uint32_t)bitmap) & ~below;
        return (int)((v ? (unsigned)__builtin_ctz(v) : 32) - sc);
    }
}

struct l2_reader {
    uint64_t base;  /* file offset of the table */
    uint64_t first; /* index of buf[0] */
    size_t n;
    uint8_t buf[L2_BATCH * 16];
};

static int l2_get(struct q2blk *q, struct l2_reader *r, uint64_t index, uint64_t *entry,
                  uint64_t *bitmap)
{
    if (r->n == 0 || index < r->first || index - r->first >= r->n) {
        uint64_t entries = q->cluster_size / q->entry_size;
        size_t n = entries - index < L2_BATCH ? (size_t)(entries - index) : L2_BATCH;
        if (meta_read(q, r->base + index * q->entry_size, r->buf, n * q->entry_size) != 0)
            return -1;
        r->first = index;
        r->n = n;
    }
    const uint8_t *p = r->buf + (index - r->first) * q->entry_size;
    *entry = fmt_be64(p);
    *bitmap = q->extl2 ? fmt_be64(p + 8) : 0;
    return 0;
}

/* count_contiguous_subclusters(): -1 with *bad the index of an invalid entry. */
static int count_contiguous(struct q2blk *q, struct l2_reader *r, uint64_t nb_clusters,
                            unsigned sc_index, uint64_t l2_index, uint64_t *bad)
{
    uint64_t count = 0, expected_offset = 0;
    enum sc_type expected = SC_NORMAL, type;
    bool check_offset = false;

    for (uint64_t i = 0; i < nb_clusters; i++) {
        unsigned first_sc = i == 0 ? sc_index : 0;
        uint64_t entry, bitmap;
        if (l2_get(q, r, l2_index + i, &entry, &bitmap) != 0)
            return -2;
        int ret = range_type(q, entry, bitmap, first_sc, &type);
        if (ret < 0) {
            *bad = l2_index + i;
            return -1;
        }
        if (i == 0) {
            if (type == SC_COMPRESSED)
                return ret;
            expected = type;
            expected_offset = entry & L2E_OFFSET_MASK;
            check_offset =
                type == SC_NORMAL || type == SC_ZERO_ALLOC || type == SC_UNALLOCATED_ALLOC;
        } else if (type != expected) {
            break;
        } else if (check_offset) {
            expected_offset += q->cluster_size;
            if (expected_offset != (entry & L2E_OFFSET_MASK))
                break;
        }
        count += (uint64_t)ret;
        if (first_sc + (unsigned)ret < q->sc_per_cluster)
            break;
    }
    return (int)count; /* at most one L2 table of subclusters: < 2^31 */
}

/* qcow2_get_host_offset(): the type and host offset at off, *bytes clamped to the
 * run of subclusters alike (and to the L2 table). */
static int host_offset(struct q2blk *q, uint64_t off, uint64_t *bytes, uint64_t *host,
                       enum sc_type *type)
{
    uint64_t cs = q->cluster_size, oic = off & (cs - 1);
    uint64_t entries = cs / q->entry_size;
    uint64_t l2_index = (off >> q->cluster_bits) & (entries - 1);
    uint64_t needed = *bytes + oic, available = (entries - l2_index) << q->cluster_bits;

    if (needed > available)
        needed = available;
    *host = 0;
    uint64_t l1_index = off >> (q->l2_bits + q->cluster_bits);
    if (l1_index >= q->l1_size) {
        *type = SC_UNALLOCATED_PLAIN;
        goto out;
    }
    uint8_t l1e[8];
    if (meta_read(q, q->l1_offset + l1_index * 8, l1e, 8) != 0)
        return -1;
    uint64_t l2_offset = fmt_be64(l1e) & L1E_OFFSET_MASK;
    if (!l2_offset) {
        *type = SC_UNALLOCATED_PLAIN;
        goto out;
    }
    if (l2_offset & (cs - 1))
        return corrupt(q, "L2 table offset %#llx unaligned (L1 index: %#llx)",
                       (unsigned long long)l2_offset, (unsigned long long)l1_index);
    if (!fmt_range_ok(l2_offset, cs))
        return blk_fail(q->error, "Input/output error");

    static struct l2_reader r; /* one lookup at a time */
    r.base = l2_offset;
    r.n = 0;
    unsigned sc_index = (unsigned)((off >> q->sc_bits) & (q->sc_per_cluster - 1));
    uint64_t entry, bitmap;
    if (l2_get(q, &r, l2_index, &entry, &bitmap) != 0)
        return -1;
    uint64_t nb_clusters = (needed + cs - 1) >> q->cluster_bits;
    *type = cluster_type(q, entry, bitmap, sc_index);
    if (q->version < 3 && (*type == SC_ZERO_PLAIN || *type == SC_ZERO_ALLOC))
        return corrupt(q,
                       "Zero cluster entry found in pre-v3 image (L2 offset: %#llx, L2 index: %#x)",
                       (unsigned long long)l2_offset, (unsigned)l2_index);
    switch (*type) {
    case SC_COMPRESSED:
        *host = entry;
        break;
    case SC_ZERO_ALLOC:
    case SC_NORMAL:
    case SC_UNALLOCATED_ALLOC: {
        uint64_t cluster = entry & L2E_OFFSET_MASK;
        *host = cluster + oic;
        if (cluster & (cs - 1))
            return corrupt(q,
                           "Cluster allocation offset %#llx unaligned (L2 offset: %#llx, L2 "
                           "index: %#x)",
                           (unsigned long long)cluster, (unsigned long long)l2_offset,
                           (unsigned)l2_index);
        break;
    }
    default:
        break;
    }
    uint64_t bad = 0;
    int sc = count_contiguous(q, &r, nb_clusters, sc_index, l2_index, &bad);
    if (sc == -2)
        return -1;
    if (sc < 0)
        return corrupt(q, "Invalid cluster entry found  (L2 offset: %#llx, L2 index: %#x)",
                       (unsigned long long)l2_offset, (unsigned)bad);
    available = ((uint64_t)sc + sc_index) << q->sc_bits;
out:
    if (available > needed)
        available = needed;
    *bytes = available - oic;
    return 0;
}

/* ------------------------------------------------------------ preallocation heuristic */

/* qcow2_get_refcount(): 0 or -1; the refcount of cluster index. */
static int get_refcount(struct q2blk *q, uint64_t index, uint64_t *refcount)
{
    uint64_t rt_index = index >> q->refblock_bits;
    *refcount = 0;
    if (rt_index >= q->reftable_entries)
        return 0;
    uint8_t e[8];
    if (meta_read(q, q->reftable_offset + rt_index * 8, e, 8) != 0)
        return -1;
    uint64_t block = fmt_be64(e) & REFT_OFFSET_MASK;
    if (!block)
        return 0;
    if (block & (q->cluster_size - 1))
        return corrupt(q, "Refblock offset %#llx unaligned (reftable index: %#llx)",
                       (unsigned long long)block, (unsigned long long)rt_index);
    uint64_t i = index & ((1ull << q->refblock_bits) - 1);
    uint32_t bits = 1u << q->refcount_order;
    uint64_t bit = i * bits;
    uint8_t v[8];
    size_t bytes = bits >= 8 ? bits / 8 : 1;
    if (meta_read(q, block + bit / 8, v, bytes) != 0)
        return -1;
    if (bits < 8)
        *refcount = (v[0] >> (bit % 8)) & ((1u << bits) - 1);
    else
        for (size_t k = 0; k < bytes; k++)
            *refcount = (*refcount << 8) | v[k];
    return 0;
}

/* qcow2_detect_metadata_preallocation(): more clusters referenced than the host
 * allocated for the file means metadata preallocation (errors: no). */
static bool detect_prealloc(struct q2blk *q)
{
    uint64_t cs = q->cluster_size;
    uint64_t file_length = (q->file->size + 511) / 512 * 512;
    uint64_t real_clusters = q->file->allocated / cs;
    uint64_t threshold = real_clusters * 10 / 9;
    if (threshold < real_clusters + 2)
        threshold = real_clusters + 2;
    uint64_t end = (file_length + cs - 1) >> q->cluster_bits, count = 0;
    uint64_t per_block = 1ull << q->refblock_bits;

    for (uint64_t i = 0; i < end && count < threshold;) {
        uint64_t rt_index = i >> q->refblock_bits;
        if (rt_index >= q->reftable_entries)
            break; /* every refcount from here on is 0 */
        uint8_t e[8];
        if (meta_read(q, q->reftable_offset + rt_index * 8, e, 8) != 0)
            return false;
        if ((fmt_be64(e) & REFT_OFFSET_MASK) == 0) { /* a whole block of zero refcounts */
            i = (rt_index + 1) * per_block;
            continue;
        }
        uint64_t refcount;
        if (get_refcount(q, i, &refcount) != 0)
            return false;
        count += refcount != 0;
        i++;
    }
    return count >= threshold;
}

/* ------------------------------------------------------------ the driver */

static int q2_block_status(void *drv, uint64_t off, uint64_t len, struct blk_extent *out)
{
    struct q2blk *q = drv;
    uint64_t bytes = len < FMT_INT_MAX ? len : FMT_INT_MAX, host;
    enum sc_type type;

    if (!q->prealloc_checked) {
        bool had_error = q->error[0] != '\0';
        q->prealloc = detect_prealloc(q);
        q->prealloc_checked = true;
        if (!had_error) /* its errors are ignored (a corruption message stays) */
            q->error[0] = '\0';
    }
    if (host_offset(q, off, &bytes, &host, &type) != 0)
        return -1;
    out->len = bytes;
    out->flags = 0;
    if (type == SC_NORMAL || type == SC_ZERO_ALLOC || type == SC_UNALLOCATED_ALLOC) {
        out->offset = host;
        out->flags |= BLK_OFFSET_VALID;
    }
    if (type == SC_ZERO_PLAIN || type == SC_ZERO_ALLOC) {
        out->flags |= BLK_ZERO;
    } else if (type != SC_UNALLOCATED_PLAIN && type != SC_UNALLOCATED_ALLOC) {
        out->flags |= BLK_DATA;
    }
    if (type == SC_COMPRESSED) {
        uint64_t coffset = host & q->cluster_offset_mask;
        uint64_t sectors = ((host >> q->csize_shift) & q->csize_mask) + 1;
        out->flags |= BLK_COMPRESSED;
        out->offset = coffset;
        out->clen = sectors * 512 - (coffset & 511);
    }
    if (q->prealloc && (out->flags & BLK_DATA) && (out->flags & BLK_OFFSET_VALID))
        out->flags |= BLK_RECURSE;
    return 0;
}

/* One compressed cluster into q->cluster (kept: the next read of it is free). */
static int load_compressed(struct q2blk *q, uint64_t coffset, uint64_t csize)
{
    if (q->cached_coffset == coffset + 1)
        return 0;
    q->cached_coffset = 0;
    if (!q->cbuf) {
        uint64_t max_csize = (q->csize_mask + 1) * 512;
        q->z = blk_zctx_new(q->arena);
        q->cbuf = blk_alloc(q->arena, (size_t)max_csize, 64);
        q->cluster = blk_alloc(q->arena, (size_t)q->cluster_size, 64);
        if (!q->z || !q->cbuf || !q->cluster)
            return blk_fail(q->error, "Cannot allocate memory");
    }
    if (meta_read(q, coffset, q->cbuf, (size_t)csize) != 0)
        return -1;
    int r =
        q->compression_type == 0
            ? blk_inflate(q->z, -12, q->cluster, (size_t)q->cluster_size, q->cbuf, (size_t)csize)
            : blk_zstd(q->z, q->cluster, (size_t)q->cluster_size, q->cbuf, (size_t)csize);
    if (r != 0)
        return blk_fail(q->error, "Input/output error");
    q->cached_coffset = coffset + 1;
    return 0;
}

static int q2_read(void *drv, uint64_t off, void *buf, size_t len)
{
    struct q2blk *q = drv;
    uint8_t *out = buf;
    while (len > 0) {
        uint64_t bytes = len, host;
        enum sc_type type;
        if (host_offset(q, off, &bytes, &host, &type) != 0)
            return -1;
        if (type != SC_COMPRESSED)
            return blk_fail(q->error, "Input/output error"); /* the block layer asked wrong */
        uint64_t coffset = host & q->cluster_offset_mask;
        uint64_t sectors = ((host >> q->csize_shift) & q->csize_mask) + 1;
        if (load_compressed(q, coffset, sectors * 512 - (coffset & 511)) != 0)
            return -1;
        size_t n = bytes < len ? (size_t)bytes : len;
        memcpy(out, q->cluster + (off & (q->cluster_size - 1)), n);
        out += n;
        off += n;
        len -= n;
    }
    return 0;
}

static const struct blk_driver q2_driver = {
    .request_alignment = 1,
    .supports_backing = true,
    .block_status = q2_block_status,
    .read = q2_read,
};

int qcow2_blk_init(struct blk_open *open, struct fmt_info *info, const struct qcow2_header *h)
{
    if (h->crypt_method != 0)
        return fmt_fail(info, "Parameter 'encrypt.key-secret' is required for cipher");
    if (h->incompat & QCOW2_INCOMPAT_DATA_FILE)
        return fmt_fail(info,
                        "the image keeps its data in an external file ('%s'); pupa does not "
                        "open files an image names",
                        h->data_file ? h->data_file : "");
    struct q2blk *q = blk_alloc(open->arena, sizeof(*q), 16);
    if (!q)
        return fmt_fail(info, "Cannot allocate memory");
    q->file = open->file;
    q->error = open->error;
    q->warning = open->warning;
    q->arena = open->arena;
    q->version = h->version;
    q->cluster_bits = h->cluster_bits;
    q->cluster_size = 1ull << h->cluster_bits;
    q->extl2 = h->incompat & QCOW2_INCOMPAT_EXTL2;
    q->entry_size = q->extl2 ? 16 : 8;
    q->l2_bits = h->cluster_bits - (q->extl2 ? 4 : 3);
    q->sc_per_cluster = q->extl2 ? 32 : 1;
    q->sc_bits = h->cluster_bits - (q->extl2 ? 5 : 0);
    q->size = h->size;
    q->l1_offset = h->l1_table_offset;
    q->l1_size = h->l1_size;
    q->compression_type = h->compression_type;
    q->csize_shift = 62 - (h->cluster_bits - 8);
    q->csize_mask = (1ull << (h->cluster_bits - 8)) - 1;
    q->cluster_offset_mask = (1ull << q->csize_shift) - 1;
    q->reftable_offset = h->refcount_table_offset;
    q->reftable_entries = (uint64_t)h->refcount_table_clusters * q->cluster_size / 8;
    q->refcount_order = h->refcount_order;
    q->refblock_bits = h->cluster_bits + 3 - h->refcount_order; /* entries of 2^order bits */
    open->ops = &q2_driver;
    open->drv = q;
    return 0;
}
