/* dmg.c: the dmg format (Apple UDIF: koly trailer, blkx/mish chunk tables) as qemu 7.2 reads it. */
#include <string.h>

#include "format.h"

#define DMG_LENGTHS_MAX      (64u * 1024 * 1024)
#define DMG_SECTORCOUNTS_MAX (DMG_LENGTHS_MAX / 512)
#define DMG_XML_MAX          (16u * 1024 * 1024)
#define DMG_MISH             0x6d697368u /* "mish" */

enum { UDZE = 0, UDRW = 1, UDIG = 2, UDZO = 0x80000005u };

/* qemu probes dmg by file name only. */
static int dmg_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)buf;
    (void)len;
    if (!filename)
        return 0;
    size_t n = strlen(filename);
    return n > 4 && strcmp(filename + n - 4, ".dmg") == 0 ? 2 : 0;
}

/* ------------------------------------------------------------ buffered file access */

struct win {
    const struct fmt_io *io;
    struct fmt_info *info;
    uint64_t base; /* file offset of buf[0] */
    size_t len;    /* valid bytes in buf */
    uint8_t buf[16384];
};

static int win_get(struct win *w, uint64_t off, uint8_t *c)
{
    if (off < w->base || off - w->base >= w->len) {
        if (off >= w->io->size) { /* past the end of the file: zeros */
            *c = 0;
            return 0;
        }
        size_t n =
            w->io->size - off < sizeof(w->buf) ? (size_t)(w->io->size - off) : sizeof(w->buf);
        if (fmt_read(w->io, w->info, off, w->buf, n) != 0)
            return -1;
        w->base = off;
        w->len = n;
    }
    *c = w->buf[off - w->base];
    return 0;
}

static int win_read(struct win *w, uint64_t off, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (win_get(w, off + i, buf + i) != 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ chunk tables */

/* A sequential source of mish bytes: straight from the file, or base64-decoded XML text. */
struct src {
    struct win *w;
    uint64_t pos, end; /* file range still to consume */
    bool b64;
    /* glib's g_base64_decode_step state */
    uint32_t v;
    int i;
    uint8_t last0, last1;
    uint8_t out[3];
    int out_n, out_i;
};

static int b64_rank(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    if (c == '=')
        return 0; /* glib ranks padding as zero and remembers it */
    return -1;
}

/* Next byte; 1 = got one, 0 = end, -1 = read error. */
static int src_next(struct src *s, uint8_t *b)
{
    if (!s->b64) {
        if (s->pos >= s->end)
            return 0;
        return win_get(s->w, s->pos++, b) == 0 ? 1 : -1;
    }
    while (s->out_i == s->out_n) {
        uint8_t c;
        if (s->pos >= s->end)
            return 0;
        if (win_get(s->w, s->pos++, &c) != 0)
            return -1;
        int r = b64_rank(c);
        if (r < 0)
            continue; /* glib skips characters outside the alphabet */
        s->last1 = s->last0;
        s->last0 = c;
        s->v = (s->v << 6) | (uint32_t)r;
        if (++s->i == 4) {
            s->out_n = s->out_i = 0;
            s->out[s->out_n++] = (uint8_t)(s->v >> 16);
            if (s->last1 != '=')
                s->out[s->out_n++] = (uint8_t)(s->v >> 8);
            if (s->last0 != '=')
                s->out[s->out_n++] = (uint8_t)s->v;
            s->i = 0;
        }
    }
    *b = s->out[s->out_i++];
    return 1;
}

static void src_init(struct src *s, struct win *w, uint64_t pos, uint64_t end, bool b64)
{
    memset(s, 0, sizeof(*s));
    s->w = w;
    s->pos = pos;
    s->end = end;
    s->b64 = b64;
}

/* n bytes from the source; short sources leave zeros (qemu's buffer is at least that big
 * wherever it reads). */
static int src_read(struct src *s, uint8_t *buf, size_t n)
{
    memset(buf, 0, n);
    for (size_t i = 0; i < n; i++) {
        int r = src_next(s, buf + i);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
    }
    return 0;
}

struct dmg {
    uint64_t data_fork_offset;
    uint32_t chunks, past_eof;
    uint64_t first_past_eof;
};

static int einval(struct fmt_info *info, const struct fmt_io *io)
{
    return fmt_fail(info, "Could not open '%s': Invalid argument", io->filename);
}

/* qemu's dmg_read_mish_block(): validate the chunk entries qemu keeps. */
static int dmg_mish(struct dmg *d, struct src *s, uint32_t count, const struct fmt_io *io,
                    struct fmt_info *info)
{
    uint8_t hdr[204], e[40];

    if (count < 244) /* too small to be a mish block: skipped */
        return 0;
    if (src_read(s, hdr, sizeof(hdr)) != 0)
        return -1;
    if (fmt_be32(hdr) != DMG_MISH)
        return 0;
    uint64_t out_offset = fmt_be64(hdr + 8);
    uint64_t in_offset = d->data_fork_offset + fmt_be64(hdr + 0x18);
    uint32_t n = (count - 204) / 40;
    for (uint32_t k = 0; k < n; k++) {
        if (src_read(s, e, sizeof(e)) != 0)
            return -1;
        uint32_t type = fmt_be32(e);
        if (type != UDZE && type != UDRW && type != UDIG && type != UDZO)
            continue; /* unknown types (and bzip2/lzfse without their modules) are dropped */
        uint64_t sectors = fmt_be64(e + 8) + out_offset;
        uint64_t sectorcount = fmt_be64(e + 0x10);
        if (type != UDZE && type != UDIG && sectorcount > DMG_SECTORCOUNTS_MAX)
            return einval(info, io);
        uint64_t offset = fmt_be64(e + 0x18) + in_offset;
        uint64_t length = fmt_be64(e + 0x20);
        if (length > DMG_LENGTHS_MAX)
            return einval(info, io);
        (void)sectors;
        d->chunks++;
        if ((type == UDRW || type == UDZO) && length &&
            (offset > io->size || length > io->size - offset) && d->past_eof++ == 0)
            d->first_past_eof = offset;
    }
    return 0;
}

/* The binary resource fork: length-prefixed resources, each possibly a mish block. */
static int dmg_rsrc(struct dmg *d, struct win *w, uint64_t begin, uint64_t length,
                    const struct fmt_io *io, struct fmt_info *info)
{
    uint8_t b[12];

    if (win_read(w, begin, b, sizeof(b)) != 0)
        return -1;
    uint32_t data_off = fmt_be32(b), count = fmt_be32(b + 8);
    if (data_off > length)
        return einval(info, io);
    if (count == 0 || (uint32_t)(data_off + count) > length) /* qemu adds in 32 bits */
        return einval(info, io);
    uint64_t off = begin + data_off, end = off + count;
    while (off < end) { /* each round consumes at least 5 bytes */
        if (win_read(w, off, b, 4) != 0)
            return -1;
        uint32_t n = fmt_be32(b);
        if (n == 0 || n > end - off)
            return einval(info, io);
        off += 4;
        if (n > FMT_REQUEST_MAX)
            return fmt_fail(info, "Could not open '%s': Input/output error", io->filename);
        struct src s;
        src_init(&s, w, off, off + n, false);
        if (dmg_mish(d, &s, n, io, info) != 0)
            return -1;
        off += n;
    }
    return 0;
}

/* Find pattern at or after *pos in [*pos, end), stopping at a NUL like strstr(); returns 1
 * found (*pos at the match), 0 not found, -1 read error. The patterns used here ("<data>",
 * "</data>") do not overlap themselves except at their leading '<'. */
static int xml_find(struct win *w, uint64_t *pos, uint64_t end, const char *pat)
{
    size_t plen = strlen(pat), m = 0;
    for (uint64_t p = *pos; p < end; p++) {
        uint8_t c;
        if (win_get(w, p, &c) != 0)
            return -1;
        if (c == 0)
            return 0;
        if (c == (uint8_t)pat[m]) {
            if (++m == plen) {
                *pos = p + 1 - plen;
                return 1;
            }
        } else {
            m = c == (uint8_t)pat[0] ? 1 : 0;
        }
    }
    return 0;
}

/* The XML property list: every <data>...</data> element is base64 of a mish block. */
static int dmg_xml(struct dmg *d, struct win *w, uint64_t begin, uint64_t length,
                   const struct fmt_io *io, struct fmt_info *info)
{
    if (length == 0 || length > DMG_XML_MAX)
        return einval(info, io);
    uint64_t pos = begin, end = begin + length;
    for (;;) { /* each round moves pos forward */
        int r = xml_find(w, &pos, end, "<data>");
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        uint64_t text = pos + 6, close = text;
        r = xml_find(w, &close, end, "</data>");
        if (r < 0)
            return -1;
        if (r == 0)
            return einval(info, io);
        /* pass 1: decoded length; pass 2: the mish block itself */
        struct src s;
        uint32_t count = 0;
        uint8_t b;
        src_init(&s, w, text, close, true);
        while ((r = src_next(&s, &b)) == 1)
            count++;
        if (r < 0)
            return -1;
        src_init(&s, w, text, close, true);
        if (dmg_mish(d, &s, count, io, info) != 0)
            return -1;
        pos = close + 1; /* qemu resumes right after the '<' it overwrote */
    }
}

/* qemu's dmg_find_koly_offset(): "koly" in the last 515 bytes of the sector-rounded file. */
static int64_t dmg_find_koly(struct win *w, const struct fmt_io *io, struct fmt_info *info)
{
    uint64_t length = (io->size + 511) / 512 * 512;
    uint8_t buf[515];

    if (length < 512)
        return fmt_fail(info, "dmg file must be at least 512 bytes long");
    uint64_t offset = length > 511 + 512 ? length - 511 - 512 : 0;
    size_t n = length < sizeof(buf) ? (size_t)length : sizeof(buf);
    if (win_read(w, offset, buf, n) != 0)
        return -1;
    for (size_t i = 0; i + 3 < n; i++) {
        if (memcmp(buf + i, "koly", 4) == 0)
            return (int64_t)(offset + i);
    }
    return fmt_fail(info, "Could not locate UDIF trailer in dmg file");
}

static int dmg_open(const struct fmt_io *io, struct fmt_info *info)
{
    struct win w;
    struct dmg d;
    uint8_t k[512];

    strcpy(info->format, "dmg");
    memset(&d, 0, sizeof(d));
    w.io = io;
    w.info = info;
    w.base = 0;
    w.len = 0;
    int64_t koly = dmg_find_koly(&w, io, info);
    if (koly < 0)
        return -1;
    uint64_t off = (uint64_t)koly;
    if (win_read(&w, off, k, sizeof(k)) != 0)
        return -1;
    d.data_fork_offset = fmt_be64(k + 0x18);
    if (d.data_fork_offset > off)
        return einval(info, io);
    uint64_t rsrc_off = fmt_be64(k + 0x28), rsrc_len = fmt_be64(k + 0x30);
    if (rsrc_off >= off || rsrc_len > off - rsrc_off)
        return einval(info, io);
    uint64_t xml_off = fmt_be64(k + 0xd8), xml_len = fmt_be64(k + 0xe0);
    if (xml_off >= off || xml_len > off - xml_off)
        return einval(info, io);
    int64_t total_sectors = (int64_t)fmt_be64(k + 0x1ec);
    if (total_sectors < 0)
        return einval(info, io);
    if (rsrc_len != 0) {
        if (dmg_rsrc(&d, &w, rsrc_off, rsrc_len, io, info) != 0)
            return -1;
    } else if (xml_len != 0) {
        if (dmg_xml(&d, &w, xml_off, xml_len, io, info) != 0)
            return -1;
    } else {
        return einval(info, io);
    }

    /* the block layer's limits on the advertised size */
    uint64_t bytes = (uint64_t)total_sectors * 512;
    if (bytes > FMT_MAX_LENGTH)
        return fmt_fail(info, "Could not refresh total sector count: File too large");
    if (total_sectors > INT64_MAX / 512)
        return fmt_fail_whole(info, "Can't get image size '%s': File too large", io->filename);
    info->virtual_size = bytes;
    if (d.past_eof)
        fmt_finding(info, "out-of-range",
                    "%u chunks lie past the end of the file (first at offset %llu)", d.past_eof,
                    (unsigned long long)d.first_past_eof);
    return 0;
}

const struct fmt_driver fmt_dmg = {
    .name = "dmg",
    .probe = dmg_probe,
    .open = dmg_open,
};
