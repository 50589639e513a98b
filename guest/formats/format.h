/* format.h: the contract between image-format parsers and whoever runs them.
 *
 * A parser is a pure function of the image bytes: it reads through fmt_io,
 * writes what qemu-img would report into fmt_info and streams the
 * "Format specific information" tree, snapshots and safety findings into a
 * fmt_sink. No globals, no device access, no allocation: the same code runs
 * inside the guest, in host unit tests and under a fuzzer. */
#ifndef PUPA_FORMAT_H
#define PUPA_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pupa/path.h" /* pupa_path_combine() */

/* qemu reads this many bytes from offset 0 to probe a format. */
#define FMT_PROBE_SIZE 2048
#define FMT_PATH_MAX   PUPA_PATH_MAX /* 4096 bytes + NUL, like the protocol's string fields */
#define FMT_NAME_MAX   32
#define FMT_ERROR_MAX  4097 /* the protocol's error message limit (qemu quotes long names) */

struct blk_open;

struct fmt_io {
    void *ctx;
    /* Read len bytes at off into buf. Bytes past the end of the image read as
     * zeros (as in qemu's block layer); returns 0, or -1 on an I/O error. */
    int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
    uint64_t size;        /* exact image length in bytes */
    const char *filename; /* the image's name as the user gave it */
};

enum fmt_node_kind {
    FMT_NODE_STRING = 0,
    FMT_NODE_INT = 1,
    FMT_NODE_UINT = 2,
    FMT_NODE_BOOL = 3,
    FMT_NODE_DICT = 4,
    FMT_NODE_LIST = 5,
    FMT_NODE_END = 6,
};

struct fmt_snapshot {
    char id[128];   /* qemu keeps at most 127 bytes */
    char name[256]; /* qemu keeps at most 255 bytes */
    uint64_t vm_state_size;
    int64_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;
    bool has_icount;
};

struct fmt_sink {
    void *ctx;
    /* One node of the format-specific tree, in pre-order. key is NULL/"" for
     * list elements; DICT and LIST open a container that FMT_NODE_END closes. */
    void (*node)(void *ctx, enum fmt_node_kind kind, const char *key, const char *str, int64_t i,
                 uint64_t u, bool b);
    void (*snapshot)(void *ctx, const struct fmt_snapshot *sn);
    void (*finding)(void *ctx, const char *check, const char *detail);
};

struct fmt_info {
    char format[FMT_NAME_MAX];         /* qemu driver name: "qcow2", "vpc", ... */
    uint32_t version;                  /* format version where it has one, else 0 */
    uint64_t virtual_size;             /* bytes, as qemu-img reports it */
    uint32_t cluster_size;             /* 0: qemu-img prints no cluster size */
    uint32_t flags;                    /* PUPA_INFO_F_* (pupa/abi.h) */
    char backing_file[FMT_PATH_MAX];   /* "" = none */
    char backing_format[FMT_PATH_MAX]; /* "" = not recorded */
    char data_file[FMT_PATH_MAX];      /* "" = none */
    char specific_type[FMT_NAME_MAX];  /* "" = no format-specific information */
    uint32_t snapshot_count;
    struct fmt_sink *sink;
    char error[FMT_ERROR_MAX]; /* reason when open fails, qemu's wording */
    bool error_whole;          /* error is the whole line: no "Could not open 'F': " */
    /* set by blk_open() (blk.h): a successful open also sets up the format's block
     * driver from the validated header; NULL for "info" */
    struct blk_open *blk;
};

struct fmt_driver {
    const char *name;
    /* qemu's bdrv_probe score for the first FMT_PROBE_SIZE bytes (zero padded)
     * and the file name; 0 = not this format. NULL: never probed. */
    int (*probe)(const uint8_t *buf, size_t len, const char *filename);
    /* Fill info and stream the tree; 0 on success, -1 with info->error set. */
    int (*open)(const struct fmt_io *io, struct fmt_info *info);
    /* the image is the disk itself (raw): it may legitimately hold a partition
     * table or a file system, which are no polyglot */
    bool whole_disk;
};

/* All drivers, in the order qemu 7.2 consults them when probe scores tie
 * (qemu keeps the first strictly highest score in this order). */
extern const struct fmt_driver *const fmt_drivers[];
const struct fmt_driver *fmt_find(const char *name);

/* ------------------------------------------------------------ helpers for parsers */

/* Read helpers: 0 on success, -1 on I/O error (info->error set). */
int fmt_read(const struct fmt_io *io, struct fmt_info *info, uint64_t off, void *buf, size_t len)
    __attribute__((warn_unused_result));

/* Format-specific tree builders: thin wrappers over info->sink->node. */
void fmt_str(struct fmt_info *info, const char *key, const char *val);
void fmt_int(struct fmt_info *info, const char *key, int64_t val);
void fmt_uint(struct fmt_info *info, const char *key, uint64_t val);
void fmt_bool(struct fmt_info *info, const char *key, bool val);
void fmt_dict(struct fmt_info *info, const char *key);
void fmt_list(struct fmt_info *info, const char *key);
void fmt_end(struct fmt_info *info);
void fmt_snapshot(struct fmt_info *info, const struct fmt_snapshot *sn);
/* Safety finding; detail is printf-like (see fmt_snprintf). */
void fmt_finding(struct fmt_info *info, const char *check, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set info->error (printf-like) and return -1, for "return fmt_fail(...)". The
 * host prints it after "Could not open 'FILE': ", as qemu-img does for most
 * refusals; fmt_fail_whole() is for the few qemu-img prints on their own
 * ("Can't get image size 'FILE': File too large"). */
int fmt_fail(struct fmt_info *info, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fmt_fail_whole(struct fmt_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Little/big-endian loads from unaligned bytes. */
static inline uint16_t fmt_le16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | (b[1] << 8));
}
static inline uint32_t fmt_le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}
static inline uint64_t fmt_le64(const void *p)
{
    return (uint64_t)fmt_le32(p) | ((uint64_t)fmt_le32((const uint8_t *)p + 4) << 32);
}
static inline uint16_t fmt_be16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)((b[0] << 8) | b[1]);
}
static inline uint32_t fmt_be32(const void *p)
{
    const uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}
static inline uint64_t fmt_be64(const void *p)
{
    return ((uint64_t)fmt_be32(p) << 32) | (uint64_t)fmt_be32((const uint8_t *)p + 4);
}

/* ------------------------------------------------------------ overflow-checked arithmetic */

/* a + b and a * b: false when the result does not fit in 64 bits. */
static inline bool fmt_add_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool fmt_mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
/* a + b, or UINT64_MAX when that does not fit (for comparisons that must not wrap). */
static inline uint64_t fmt_sat_add(uint64_t a, uint64_t b)
{
    uint64_t s;
    return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}
/* [off, off + len) lies inside [0, limit), without overflow. */
static inline bool fmt_fits(uint64_t off, uint64_t len, uint64_t limit)
{
    return off <= limit && len <= limit - off;
}

/* ------------------------------------------------------------ qemu's block-layer limits */

/* BDRV_MAX_LENGTH: INT64_MAX aligned down to 1 GiB. qemu fails any request
 * that reaches beyond it with EIO before doing I/O, and refuses a disk larger
 * than it ("File too large"). */
#define FMT_MAX_LENGTH  0x7fffffffc0000000ull
/* BDRV_REQUEST_MAX_BYTES: MIN(SIZE_MAX, INT_MAX) aligned down to 512, the
 * largest single request (bdrv_pread of a whole table fails beyond it). */
#define FMT_REQUEST_MAX 0x7ffffe00ull
#define FMT_INT_MAX     0x7fffffffull
#define FMT_INT64_MAX   0x7fffffffffffffffull

/* A request qemu's block layer would issue: it ends at or below FMT_MAX_LENGTH. */
static inline bool fmt_range_ok(uint64_t off, uint64_t len)
{
    return fmt_fits(off, len, FMT_MAX_LENGTH);
}
/* ... and is not larger than one request may be. */
static inline bool fmt_request_ok(uint64_t off, uint64_t len)
{
    return fmt_range_ok(off, len) && len <= FMT_REQUEST_MAX;
}

/* ------------------------------------------------------------ tables */

/* How many of count entries of entry_size bytes at off lie inside the file
 * (the rest read as zeros): whole entries only, or with partial also one that
 * EOF cuts short. */
uint64_t fmt_entries_in_file(const struct fmt_io *io, uint64_t off, uint64_t count,
                             uint64_t entry_size, bool partial);

/* One chunk of a table: entries [first, first + n), n * entry_size bytes. A
 * nonzero return stops the walk and becomes fmt_walk()'s result. */
typedef int (*fmt_chunk_fn)(void *ctx, uint64_t first, const uint8_t *entries, size_t n);

/* Read count entries of entry_size (1..4096) bytes at off in chunks of up to
 * 16 KiB and hand each chunk to fn (bytes past EOF read as zeros). Returns 0,
 * -1 on a read error (info->error set), or fn's nonzero result. */
int fmt_walk(const struct fmt_io *io, struct fmt_info *info, uint64_t off, uint64_t count,
             size_t entry_size, fmt_chunk_fn fn, void *ctx) __attribute__((warn_unused_result));

/* Entries that fail a check (past EOF, misaligned, ...): how many, and the
 * index of the first, for one finding per table instead of one per entry. */
struct fmt_tally {
    uint64_t count, first;
};
static inline void fmt_tally_add(struct fmt_tally *t, uint64_t index)
{
    if (t->count++ == 0)
        t->first = index;
}

#endif
