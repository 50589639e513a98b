/* vmdk.c: VMware vmdk images (VMDK4 sparse, stream-optimized, COWD, descriptor files) as qemu 7.2
 * reads them. */
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "pupa/abi.h"

#define VMDK3_MAGIC               0x434f5744u /* "COWD" */
#define VMDK4_MAGIC               0x4b444d56u /* "KDMV" */
#define VMDK4_FLAG_RGD            (1u << 1)
#define VMDK4_COMPRESSION_DEFLATE 1
#define VMDK4_GD_AT_END           UINT64_MAX
#define VMDK_SECTOR               512u
#define VMDK_DESC_SIZE            10240u /* qemu reads CID and parent hint from this much */
#define VMDK_DESC_MAX             ((1u << 20) - 1)    /* qemu's cap on a descriptor it parses */
#define VMDK_MAX_GRANULARITY      0x200000u           /* sectors: qemu refuses larger grains */
#define VMDK_MAX_L1               (32u * 1024 * 1024) /* qemu refuses larger grain directories */
#define VMDK_EXTENT_MAX_SECTORS   (1ull << 32)        /* 2 TiB: the format's own limit */
#define VMDK_FINDINGS_MAX         64   /* external-extent findings listed one by one */
#define VMDK_LIST_MAX             4000 /* extents listed (the report takes 20000 nodes) */
static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* ------------------------------------------------------------ descriptor text */

/* A descriptor as qemu sees it: a C string of at most VMDK_DESC_MAX bytes read
 * from base, cut at its first NUL. Accessed through a window so a 1 MiB text
 * never has to sit on the stack. */
struct vtext {
    const struct fmt_io *io;
    uint64_t base;
    uint32_t len;
    uint32_t woff, wlen;
    bool ioerr;
    uint8_t win[8192];
};

static void vt_fill(struct vtext *t, uint32_t at, uint32_t limit)
{
    uint32_t n = sizeof(t->win);
    if (limit - at < n)
        n = limit - at;
    t->woff = at;
    t->wlen = n;
    if (t->io->read(t->io->ctx, t->base + at, t->win, n) != 0) {
        t->ioerr = true;
        memset(t->win, 0, n);
    }
}

/* Find the text's length: qemu reads `size` bytes and stops at the first NUL. */
static void vt_init(struct vtext *t, const struct fmt_io *io, uint64_t base, uint32_t size)
{
    t->io = io;
    t->base = base;
    t->ioerr = false;
    t->len = size;
    t->woff = t->wlen = 0;
    for (uint32_t at = 0; at < size;) {
        vt_fill(t, at, size);
        const uint8_t *nul = memchr(t->win, 0, t->wlen);
        if (nul) {
            t->len = at + (uint32_t)(nul - t->win);
            break;
        }
        at += t->wlen;
    }
}

static int vt_ch(struct vtext *t, uint32_t i)
{
    if (i >= t->len)
        return 0;
    if (i < t->woff || i - t->woff >= t->wlen)
        vt_fill(t, i, t->len);
    return t->win[i - t->woff];
}

/* strstr() from position from: index of the first match, or -1. */
static int64_t vt_find(struct vtext *t, uint32_t from, const char *needle)
{
    size_t n = strlen(needle);
    for (uint32_t i = from; i < t->len && t->len - i >= n; i++) {
        if (vt_ch(t, i) != (uint8_t)needle[0])
            continue;
        size_t k = 1;
        while (k < n && vt_ch(t, i + (uint32_t)k) == (uint8_t)needle[k])
            k++;
        if (k == n)
            return i;
    }
    return -1;
}

/* ------------------------------------------------------------ sscanf, glibc style */

struct scan {
    struct vtext *t;
    uint32_t pos;
};

static int sc_peek(struct scan *s)
{
    return vt_ch(s->t, s->pos);
}

static void sc_skip_ws(struct scan *s)
{
    while (is_space(sc_peek(s)))
        s->pos++;
}

/* "%Ns": 1 ok, 0 matching failure, -1 input failure (end of string) */
static int sc_word(struct scan *s, char *out, size_t width)
{
    size_t n = 0;
    sc_skip_ws(s);
    if (sc_peek(s) == 0)
        return -1;
    while (n < width && sc_peek(s) != 0 && !is_space(sc_peek(s))) {
        out[n++] = (char)sc_peek(s);
        s->pos++;
    }
    out[n] = '\0';
    return 1;
}

/* "%lld" as glibc does it (strtoll saturates on overflow). */
static int sc_int64(struct scan *s, int64_t *out)
{
    bool neg = false, any = false;
    uint64_t v = 0;
    bool over = false;
    sc_skip_ws(s);
    if (sc_peek(s) == 0)
        return -1;
    if (sc_peek(s) == '+' || sc_peek(s) == '-') {
        neg = sc_peek(s) == '-';
        s->pos++;
    }
    while (sc_peek(s) >= '0' && sc_peek(s) <= '9') {
        unsigned d = (unsigned)(sc_peek(s) - '0');
        if (v > (UINT64_MAX - d) / 10)
            over = true;
        else
            v = v * 10 + d;
        any = true;
        s->pos++;
    }
    if (!any)
        return 0;
    if (neg)
        *out = (over || v > (uint64_t)INT64_MAX + 1) ? INT64_MIN
               : v == (uint64_t)INT64_MAX + 1        ? INT64_MIN
                                                     : -(int64_t)v;
    else
        *out = (over || v > (uint64_t)INT64_MAX) ? INT64_MAX : (int64_t)v;
    return 1;
}

/* One line of the extent description, as qemu's
 * sscanf(p, "%10s %lld %10s \"%511[^\n\r\"]\" %lld", ...) sees it. */
struct ext_line {
    char access[11], type[11];
    char fname[512];
    int64_t flat_offset;
    int matches;
};

static int scan_extent(struct vtext *t, uint32_t p, int64_t *sectors, struct ext_line *e)
{
    struct scan s = {t, p};
    int r, n = 0;

    e->flat_offset = -1;
    e->access[0] = e->type[0] = e->fname[0] = '\0';
    if ((r = sc_word(&s, e->access, 10)) <= 0)
        return n ? n : (r < 0 ? -1 : 0);
    n++;
    if ((r = sc_int64(&s, sectors)) <= 0)
        return n;
    n++;
    if ((r = sc_word(&s, e->type, 10)) <= 0)
        return n;
    n++;
    sc_skip_ws(&s);
    if (sc_peek(&s) != '"')
        return n;
    s.pos++;
    size_t k = 0;
    for (int c = sc_peek(&s); k < 511 && c != 0 && c != '\n' && c != '\r' && c != '"';
         c = sc_peek(&s)) {
        e->fname[k++] = (char)c;
        s.pos++;
    }
    e->fname[k] = '\0';
    if (k == 0)
        return n;
    n++;
    if (sc_peek(&s) != '"')
        return n;
    s.pos++;
    if (sc_int64(&s, &e->flat_offset) == 1)
        n++;
    return n;
}

static uint32_t vt_next_line(struct vtext *t, uint32_t p)
{
    for (int c = vt_ch(t, p); c != 0; c = vt_ch(t, p)) {
        p++;
        if (c == '\n')
            return p;
    }
    return p;
}

/* ------------------------------------------------------------ parser state */

struct vmdk {
    const struct fmt_io *io;
    struct fmt_info *info;
    char create_type[128];
    bool have_create_type;
    uint64_t desc_offset; /* where CID and parentFileNameHint are read */
    /* the one sparse extent that is the image itself */
    bool sparse_self;
    uint64_t sectors;
    uint64_t cluster_sectors;
    bool compressed;
    /* the descriptor's extents (external files) */
    uint32_t n_ext;
    bool any_flat, any_sparse;
    uint64_t total_sectors;
};

enum { PASS_CHECK, PASS_EMIT };

static bool flat_type(const char *type)
{
    return strcmp(type, "FLAT") == 0 || strcmp(type, "VMFS") == 0;
}

/* qemu's extent file name: the descriptor's directory plus the name, unless absolute. */
static void extent_path(char *dst, size_t cap, const char *image, const char *fname)
{
    if (fname[0] == '/') {
        snprintf(dst, cap, "%s", fname);
        return;
    }
    char dir[FMT_PATH_MAX];
    if (!pupa_path_combine(dir, sizeof(dir), image, ""))
        dir[0] = '\0';
    snprintf(dst, cap, "%s%s", dir, fname);
}

static bool leaves_dir(const char *fname)
{
    if (fname[0] == '/')
        return true;
    for (const char *p = fname; (p = strstr(p, "..")) != NULL; p += 2) {
        bool start = p == fname || p[-1] == '/';
        bool end = p[2] == '\0' || p[2] == '/';
        if (start && end)
            return true;
    }
    return false;
}

/* qemu's vmdk_parse_extents(). PASS_CHECK validates and sums (pupa never
 * opens the files, so it stops only where qemu would stop for the text's own
 * sake); PASS_EMIT streams the extents list and the findings. */
static int parse_extents(struct vmdk *v, struct vtext *t, int pass)
{
    struct ext_line e;
    int64_t sectors = 0;
    uint32_t index = 0;

    for (uint32_t p = 0; vt_ch(t, p) != 0; p = vt_next_line(t, p)) {
        e.matches = scan_extent(t, p, &sectors, &e);
        if (e.matches < 4 || strcmp(e.access, "RW") != 0)
            continue;
        bool invalid = false;
        if (strcmp(e.type, "FLAT") == 0) {
            invalid = e.matches != 5 || e.flat_offset < 0;
        } else if (strcmp(e.type, "VMFS") == 0) {
            invalid = e.matches != 4;
        } else if (e.matches != 4) {
            invalid = true;
        }
        if (invalid) {
            char line[FMT_ERROR_MAX];
            uint32_t np = vt_next_line(t, p), n = 0;
            if (np > p && vt_ch(t, np - 1) == '\n')
                np--;
            while (p + n < np && n < sizeof(line) - 1) {
                line[n] = (char)vt_ch(t, p + n);
                n++;
            }
            line[n] = '\0';
            return fmt_fail(v->info, "Invalid extent line: %s", line);
        }
        if (sectors <= 0 ||
            (strcmp(e.type, "FLAT") && strcmp(e.type, "SPARSE") && strcmp(e.type, "VMFS") &&
             strcmp(e.type, "VMFSSPARSE") && strcmp(e.type, "SESPARSE")))
            continue;

        if (pass == PASS_CHECK) {
            uint64_t sum;
            if (!fmt_add_ok(v->total_sectors, (uint64_t)sectors, &sum))
                sum = UINT64_MAX;
            v->total_sectors = sum;
            v->n_ext++;
            if (flat_type(e.type))
                v->any_flat = true;
            else
                v->any_sparse = true;
            continue;
        }
        /* what the descriptor says; cluster size and compression live in the
         * extent file's own header, which pupa does not open */
        char path[FMT_PATH_MAX];
        extent_path(path, sizeof(path), v->io->filename, e.fname);
        if (index < VMDK_LIST_MAX) {
            fmt_dict(v->info, NULL);
            fmt_str(v->info, "filename", path);
            fmt_str(v->info, "format", e.type);
            fmt_int(v->info, "virtual-size", (int64_t)((uint64_t)sectors * VMDK_SECTOR));
            fmt_end(v->info);
        }
        if (index < VMDK_FINDINGS_MAX)
            fmt_finding(v->info, "external-extent",
                        "the descriptor names %s extent '%s' (path '%s')%s; qemu would open it, "
                        "pupa did not",
                        e.type, e.fname, path,
                        leaves_dir(e.fname) ? ", outside the image's directory" : "");
        index++;
    }
    if (pass == PASS_EMIT && index > VMDK_FINDINGS_MAX)
        fmt_finding(v->info, "external-extent", "%u more extent files are named",
                    index - VMDK_FINDINGS_MAX);
    if (pass == PASS_EMIT && index > VMDK_LIST_MAX)
        fmt_finding(v->info, "out-of-range",
                    "the descriptor names %u extents; only the first %u are listed", index,
                    VMDK_LIST_MAX);
    return 0;
}

/* qemu's vmdk_parse_description(desc, "createType", ct, 128). */
static bool parse_create_type(struct vtext *t, char *out, size_t cap)
{
    int64_t at = vt_find(t, 0, "createType");
    if (at < 0)
        return false;
    uint64_t pos = (uint64_t)at + strlen("createType") + 2;
    if (pos >= t->len)
        return false;
    uint32_t end = (uint32_t)pos;
    while (end < t->len && vt_ch(t, end) != '"')
        end++;
    if (end == t->len || cap < (size_t)(end - pos) + 1)
        return false;
    for (uint32_t i = (uint32_t)pos; i < end; i++)
        out[i - pos] = (char)vt_ch(t, i);
    out[end - pos] = '\0';
    return true;
}

/* qemu's vmdk_open_desc_file() over a descriptor at base. */
static int open_desc(struct vmdk *v, struct vtext *t, uint64_t base, uint64_t file_size)
{
    uint32_t size = file_size < VMDK_DESC_MAX ? (uint32_t)file_size : VMDK_DESC_MAX;
    if (!fmt_range_ok(base, size))
        return fmt_fail(v->info, "Could not read from file: Input/output error");
    vt_init(t, v->io, base, size);
    if (!parse_create_type(t, v->create_type, sizeof(v->create_type)))
        return fmt_fail(v->info, "invalid VMDK image descriptor");
    static const char *const types[] = {"monolithicFlat",       "vmfs",
                                        "vmfsSparse",           "seSparse",
                                        "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"};
    bool known = false;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        known |= strcmp(v->create_type, types[i]) == 0;
    if (!known)
        return fmt_fail(v->info, "Unsupported image type '%s'", v->create_type);
    v->have_create_type = true;
    if (parse_extents(v, t, PASS_CHECK) != 0)
        return -1;
    if (t->ioerr)
        return fmt_fail(v->info, "Could not read from file: Input/output error");
    if (v->n_ext == 0)
        /* qemu-img 7.2 asserts (num_extents != 0) and aborts on such a descriptor */
        return fmt_fail(v->info, "Invalid VMDK image descriptor: no usable extent "
                                 "(qemu-img 7.2 aborts on this image)");
    return 0;
}

/* ------------------------------------------------------------ sparse extents */

static int read_l1_tables(struct vmdk *v, uint64_t l1_off, uint64_t l1b_off, uint32_t l1_size)
{
    uint64_t bytes = (uint64_t)l1_size * 4;
    if (!fmt_range_ok(l1_off, bytes))
        return fmt_fail(v->info, "Could not read l1 table from extent '%s': Input/output error",
                        v->io->filename);
    if (l1b_off && !fmt_range_ok(l1b_off, bytes))
        return fmt_fail(v->info,
                        "Could not read l1 backup table from extent '%s': Input/output error",
                        v->io->filename);
    return 0;
}

struct gd_check {
    uint64_t size, gt_bytes;
    struct fmt_tally past_eof;
};

static int gd_chunk(void *ctx, uint64_t first, const uint8_t *e, size_t n)
{
    struct gd_check *c = ctx;
    const uint64_t size = c->size, gt_bytes = c->gt_bytes;
    for (size_t i = 0; i < n; i++) {
        uint64_t gt = (uint64_t)fmt_le32(e + 4 * i) * VMDK_SECTOR; /* < 2^41 */
        if (gt != 0 && !fmt_fits(gt, gt_bytes, size))
            fmt_tally_add(&c->past_eof, first + i);
    }
    return 0;
}

/* Grain directory entries point to grain tables; count those past EOF. */
static int check_grain_tables(struct vmdk *v, uint64_t gd_off, uint32_t l1_size,
                              uint32_t gt_entries, const char *what)
{
    uint64_t size = v->io->size;
    if (l1_size == 0)
        return 0;
    if (!fmt_fits(gd_off, (uint64_t)l1_size * 4, size)) {
        fmt_finding(v->info, "out-of-range",
                    "the %s (offset %llu, %u entries) extends past the end of the file "
                    "(%llu bytes)",
                    what, (unsigned long long)gd_off, l1_size, (unsigned long long)size);
        return 0;
    }
    struct gd_check c = {size, (uint64_t)gt_entries * 4, {0, 0}};
    if (fmt_walk(v->io, v->info, gd_off, l1_size, 4, gd_chunk, &c) != 0)
        return -1;
    if (c.past_eof.count)
        fmt_finding(v->info, "out-of-range",
                    "%llu grain table(s) named by the %s lie past the end of the file "
                    "(first: entry %llu)",
                    (unsigned long long)c.past_eof.count, what,
                    (unsigned long long)c.past_eof.first);
    return 0;
}

static void check_common_limits(struct vmdk *v, uint64_t capacity, uint64_t granularity)
{
    if (capacity > VMDK_EXTENT_MAX_SECTORS)
        fmt_finding(v->info, "out-of-range",
                    "capacity of %llu sectors is beyond the VMDK limit of 2 TiB",
                    (unsigned long long)capacity);
    if (granularity == 0 || (granularity & (granularity - 1)))
        fmt_finding(v->info, "out-of-range", "grain size of %llu sectors is not a power of two",
                    (unsigned long long)granularity);
}

/* VMware 3 "COWD" sparse extent (qemu's vmdk_open_vmfs_sparse). */
static int open_cowd(struct vmdk *v, const uint8_t *hdr)
{
    uint32_t sectors = fmt_le32(hdr + 12), granularity = fmt_le32(hdr + 16);
    uint32_t l1_off = fmt_le32(hdr + 20), l1_size = fmt_le32(hdr + 24);

    if (granularity > VMDK_MAX_GRANULARITY)
        return fmt_fail(v->info, "Invalid granularity, image may be corrupt");
    if (l1_size > VMDK_MAX_L1)
        return fmt_fail(v->info, "L1 size too big");
    if (read_l1_tables(v, (uint64_t)l1_off << 9, 0, l1_size) != 0)
        return -1;
    v->sparse_self = true;
    v->sectors = sectors;
    v->cluster_sectors = granularity;
    check_common_limits(v, sectors, granularity);
    return check_grain_tables(v, (uint64_t)l1_off << 9, l1_size, 4096, "grain directory");
}

/* VMDK4 sparse or stream-optimized extent (qemu's vmdk_open_vmdk4). Returns 1
 * when the header only points to an embedded descriptor. */
static int open_vmdk4(struct vmdk *v, const uint8_t *first, uint64_t *desc_base)
{
    uint8_t footer[1536];
    const uint8_t *h = first + 4;
    uint64_t nb_sectors = (v->io->size + VMDK_SECTOR - 1) / VMDK_SECTOR;

    if (fmt_le64(h + 8) == 0 && fmt_le64(h + 24) != 0) {
        *desc_base = fmt_le64(h + 24) << 9;
        return 1;
    }
    if (!v->have_create_type) {
        strcpy(v->create_type, "monolithicSparse");
        v->have_create_type = true;
    }
    if (fmt_le64(h + 52) == VMDK4_GD_AT_END) {
        /* the footer (two sectors before the end) overrides the header */
        uint64_t at = nb_sectors * VMDK_SECTOR - sizeof(footer);
        if (nb_sectors * VMDK_SECTOR < sizeof(footer))
            return fmt_fail(v->info, "Failed to read footer: Input/output error");
        if (fmt_read(v->io, v->info, at, footer, sizeof(footer)) != 0)
            return -1;
        if (fmt_be32(footer + 512) != VMDK4_MAGIC || fmt_le32(footer + 8) != 0 ||
            fmt_le32(footer + 12) != 3 || fmt_le64(footer + 1024) != 0 ||
            fmt_le32(footer + 1032) != 0 || fmt_le32(footer + 1036) != 0)
            return fmt_fail(v->info, "Invalid footer");
        h = footer + 516;
    }
    uint32_t version = fmt_le32(h), flags = fmt_le32(h + 4);
    uint64_t capacity = fmt_le64(h + 8), granularity = fmt_le64(h + 16);
    uint64_t desc_off = fmt_le64(h + 24), desc_size = fmt_le64(h + 32);
    uint32_t gtes = fmt_le32(h + 40);
    uint64_t rgd = fmt_le64(h + 44), gd = fmt_le64(h + 52), grain_off = fmt_le64(h + 60);
    bool compressed = fmt_le16(h + 73) == VMDK4_COMPRESSION_DEFLATE;

    if (version > 3)
        return fmt_fail(v->info, "Unsupported VMDK version %u", version);
    if (gtes > 512)
        return fmt_fail(v->info, "L2 table size too big");
    uint32_t l1_entry_sectors = (uint32_t)((uint64_t)gtes * granularity);
    if (l1_entry_sectors == 0)
        return fmt_fail(v->info, "L1 entry size is invalid");
    uint32_t l1_size = (uint32_t)((capacity + l1_entry_sectors - 1) / l1_entry_sectors);
    uint64_t l1b_off = (flags & VMDK4_FLAG_RGD) ? rgd << 9 : 0;
    if (nb_sectors < grain_off)
        return fmt_fail(v->info, "File truncated, expecting at least %lld bytes",
                        (long long)(grain_off * VMDK_SECTOR));
    if (granularity > VMDK_MAX_GRANULARITY)
        return fmt_fail(v->info, "Invalid granularity, image may be corrupt");
    if (l1_size > VMDK_MAX_L1)
        return fmt_fail(v->info, "L1 size too big");
    if (read_l1_tables(v, gd << 9, l1b_off, l1_size) != 0)
        return -1;

    v->sparse_self = true;
    v->sectors = capacity;
    v->cluster_sectors = granularity;
    v->compressed = compressed;
    if (compressed)
        strcpy(v->create_type, "streamOptimized");

    check_common_limits(v, capacity, granularity);
    if (gtes != 512)
        fmt_finding(v->info, "out-of-range",
                    "grain tables have %u entries (the VMDK format specifies 512)", gtes);
    uint64_t dsum, dend;
    if (desc_off != 0 && (!fmt_add_ok(desc_off, desc_size, &dsum) ||
                          !fmt_mul_ok(dsum, VMDK_SECTOR, &dend) || dend > v->io->size))
        fmt_finding(v->info, "out-of-range",
                    "the embedded descriptor (sector %llu, %llu sectors) extends past the end "
                    "of the file",
                    (unsigned long long)desc_off, (unsigned long long)desc_size);
    if (check_grain_tables(v, gd << 9, l1_size, gtes, "grain directory") != 0)
        return -1;
    if (l1b_off && check_grain_tables(v, l1b_off, l1_size, gtes, "redundant grain directory") != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ CID and parent hint */

/* qemu reads VMDK_DESC_SIZE bytes at desc_offset into a zeroed buffer with a
 * spare NUL; both lookups below may run past the text's first NUL exactly
 * like qemu's do, so they work on the raw buffer. */
struct rawdesc {
    uint8_t b[VMDK_DESC_SIZE + 1];
};

static int64_t raw_strstr(const uint8_t *b, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    const uint8_t *nul = memchr(b, 0, len);
    size_t slen = nul ? (size_t)(nul - b) : len;
    for (size_t i = 0; i + n <= slen; i++)
        if (memcmp(b + i, needle, n) == 0)
            return (int64_t)i;
    return -1;
}

/* qemu's vmdk_read_cid(): strstr, skip "CID=", sscanf("%x"). */
static bool read_cid(const struct rawdesc *d, bool parent, uint32_t *out)
{
    uint8_t b[VMDK_DESC_SIZE];
    memcpy(b, d->b, sizeof(b));
    b[VMDK_DESC_SIZE - 1] = 0;
    const char *name = parent ? "parentCID" : "CID";
    int64_t at = raw_strstr(b, sizeof(b), name);
    if (at < 0)
        return false;
    size_t p = (size_t)at + strlen(name) + 1;
#define RAW(i) ((i) < sizeof(b) ? b[(i)] : 0)
    while (is_space(RAW(p)))
        p++;
    bool neg = false;
    if (RAW(p) == '+' || RAW(p) == '-') {
        neg = RAW(p) == '-';
        p++;
    }
    uint64_t val = 0;
    bool any = false, over = false;
    if (RAW(p) == '0' && (RAW(p + 1) == 'x' || RAW(p + 1) == 'X')) {
        any = true; /* glibc takes "0x" alone as 0 */
        p += 2;
    }
    for (;; p++) {
        int c = RAW(p), dgt;
        if (c >= '0' && c <= '9')
            dgt = c - '0';
        else if (c >= 'a' && c <= 'f')
            dgt = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            dgt = c - 'A' + 10;
        else
            break;
        if (val > (UINT64_MAX >> 4))
            over = true;
        val = (val << 4) | (unsigned)dgt;
        any = true;
    }
#undef RAW
    if (!any)
        return false;
    if (over)
        val = UINT64_MAX;
    else if (neg)
        val = (uint64_t)0 - val;
    *out = (uint32_t)val; /* strtoul, then stored into an unsigned int */
    return true;
}

/* qemu's vmdk_parent_open(): parentFileNameHint="..." becomes the backing file. */
static int read_parent_hint(struct vmdk *v, const struct rawdesc *d)
{
    int64_t at = raw_strstr(d->b, VMDK_DESC_SIZE, "parentFileNameHint");
    if (at < 0)
        return 0;
    size_t p = (size_t)at + sizeof("parentFileNameHint") + 1, end = p;
    while (end < sizeof(d->b) && d->b[end] != '"' && d->b[end] != 0)
        end++;
    if (end >= sizeof(d->b) || d->b[end] != '"' || end - p > FMT_PATH_MAX - 2)
        return fmt_fail(v->info, "Could not open '%s': Invalid argument", v->io->filename);
    memcpy(v->info->backing_file, d->b + p, end - p);
    v->info->backing_file[end - p] = '\0';
    strcpy(v->info->backing_format, "vmdk");
    return 0;
}

/* ------------------------------------------------------------ driver */

static int vmdk_probe(const uint8_t *buf, size_t len, const char *filename)
{
    const uint8_t *p = buf, *end = buf + len;
    (void)filename;
    if (len < 4)
        return 0;
    if (fmt_be32(buf) == VMDK3_MAGIC || fmt_be32(buf) == VMDK4_MAGIC)
        return 100;
    while (p < end) {
        if (*p == '#') {
            while (p < end && *p != '\n')
                p++;
            p++;
            continue;
        }
        if (*p == ' ') {
            while (p < end && *p == ' ')
                p++;
            if (p < end && *p == '\r')
                p++;
            if (p == end || *p != '\n')
                return 0;
            p++;
            continue;
        }
        for (char n = '1'; n <= '3'; n++) {
            char lf[] = "version=X\n", crlf[] = "version=X\r\n";
            lf[8] = crlf[8] = n;
            if (end - p >= 10 && memcmp(p, lf, 10) == 0)
                return 100;
            if (end - p >= 11 && memcmp(p, crlf, 11) == 0)
                return 100;
        }
        return 0;
    }
    return 0;
}

static void emit_tree(struct vmdk *v, struct vtext *t, uint32_t cid, uint32_t pcid)
{
    struct fmt_info *info = v->info;
    strcpy(info->specific_type, "vmdk");
    fmt_dict(info, NULL);
    fmt_int(info, "cid", cid);
    fmt_int(info, "parent-cid", pcid);
    fmt_str(info, "create-type", v->have_create_type ? v->create_type : "");
    fmt_list(info, "extents");
    if (v->sparse_self) {
        fmt_dict(info, NULL);
        fmt_str(info, "filename", v->io->filename);
        fmt_str(info, "format", "");
        fmt_int(info, "virtual-size", (int64_t)(v->sectors * VMDK_SECTOR));
        fmt_int(info, "cluster-size", (int64_t)(v->cluster_sectors * VMDK_SECTOR));
        if (v->compressed)
            fmt_bool(info, "compressed", true);
        fmt_end(info);
    } else {
        parse_extents(v, t, PASS_EMIT);
    }
    fmt_end(info);
    fmt_end(info);
}

static int vmdk_open(const struct fmt_io *io, struct fmt_info *info)
{
    struct vmdk v;
    struct vtext t;
    struct rawdesc d;
    uint8_t first[512];
    uint64_t rounded = (io->size + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
    bool embedded = false;
    uint64_t desc_base = 0;

    memset(&v, 0, sizeof(v));
    v.io = io;
    v.info = info;
    strcpy(info->format, "vmdk");
    if (rounded < 4)
        return fmt_fail(info, "File is too small, not a valid image");
    if (fmt_read(io, info, 0, first, sizeof(first)) != 0)
        return -1;

    uint32_t magic = fmt_be32(first);
    int r = 0;
    if (magic == VMDK4_MAGIC) {
        r = open_vmdk4(&v, first, &desc_base);
        if (r < 0)
            return -1;
        embedded = r == 1;
        if (embedded && open_desc(&v, &t, desc_base, rounded) != 0)
            return -1;
        v.desc_offset = 0x200;
    } else if (magic == VMDK3_MAGIC) {
        if (open_cowd(&v, first) != 0)
            return -1;
        v.desc_offset = 0x200;
    } else {
        if (open_desc(&v, &t, 0, rounded) != 0)
            return -1;
        v.desc_offset = 0;
    }

    memset(&d, 0, sizeof(d));
    if (fmt_read(io, info, v.desc_offset, d.b, VMDK_DESC_SIZE) != 0)
        return -1;
    if (read_parent_hint(&v, &d) != 0)
        return -1;
    uint32_t cid = 0, pcid = 0;
    if (!read_cid(&d, false, &cid) || !read_cid(&d, true, &pcid))
        return fmt_fail(info, "Could not open '%s': Invalid argument", io->filename);

    uint64_t total = v.sparse_self ? v.sectors : v.total_sectors;
    if (total > (uint64_t)INT64_MAX / VMDK_SECTOR)
        return fmt_fail_whole(info, "Can't get image size '%s': File too large", io->filename);
    info->virtual_size = total * VMDK_SECTOR;

    /* qemu's vmdk_get_info(): a cluster size and the dirty flag only when all
     * extents are alike; pupa cannot see an external sparse extent's grain */
    if (v.sparse_self) {
        info->cluster_size = (uint32_t)(v.cluster_sectors * VMDK_SECTOR);
        info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;
    } else if (!(v.any_flat && v.any_sparse)) {
        info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;
    }

    emit_tree(&v, &t, cid, pcid);
    return 0;
}

const struct fmt_driver fmt_vmdk = {
    .name = "vmdk",
    .probe = vmdk_probe,
    .open = vmdk_open,
};
