/* fuzz_image.c: the image a fuzz input describes (see fuzz_image.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_image.h"

#define PAD_ZEROS (1ull << 30)

static const char *const names[8] = {
    "disk.img",          "disk.dmg", "disk.vmdk",      "sub/dir/disk.qcow2",
    "/abs/dir/disk.vhd", "disk",     "../up/disk.DMG", "images/x.dmg.bak",
};

void fuzz_die(const char *harness, const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", harness, what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* The sparse layout's records; returns the image length. */
static uint64_t parse_records(struct fuzz_image *m, const uint8_t *p, size_t n)
{
    uint64_t size = 0;
    m->nrecords = 0;
    if (n >= 4) {
        size = (uint64_t)fmt_le32(p) * 512;
        p += 4;
        n -= 4;
    }
    while (n >= 6 && m->nrecords < FUZZ_MAX_RECORDS) {
        uint64_t off = (uint64_t)fmt_le32(p) * 512;
        size_t len = fmt_le16(p + 4);
        p += 6;
        n -= 6;
        if (len > n)
            len = n;
        m->records[m->nrecords++] = (struct fuzz_record){off, p, len};
        if (off + len > size)
            size = off + len;
        p += len;
        n -= len;
    }
    return size;
}

int fuzz_image_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    const struct fuzz_image *m = ctx;
    uint8_t *out = buf;
    if (len && !buf)
        fuzz_die("fuzz", "read into a NULL buffer", NULL);
    if (off + len < off)
        fuzz_die("fuzz", "read range wraps around", NULL);
    if (m->eio_past_end && off + len > m->len)
        return -1;
    memset(out, 0, len);
    if (m->sparse) {
        for (size_t i = 0; i < m->nrecords; i++) {
            const struct fuzz_record *r = &m->records[i];
            uint64_t lo = r->off > off ? r->off : off;
            uint64_t hi = r->off + r->len < off + len ? r->off + r->len : off + len;
            if (lo < hi)
                memcpy(out + (lo - off), r->data + (lo - r->off), (size_t)(hi - lo));
        }
    } else if (off < m->len) {
        size_t n = m->len - (size_t)off < len ? m->len - (size_t)off : len;
        memcpy(out, m->data + off, n);
    }
    return 0;
}

void fuzz_image_setup(struct fuzz_image *img, const uint8_t *data, size_t size, struct fmt_io *io,
                      const char **forced)
{
    static size_t ndrivers;
    if (!ndrivers) {
        while (fmt_drivers[ndrivers])
            ndrivers++;
    }
    uint8_t mode = data[0], name = data[1];
    img->data = data + 2;
    img->len = size - 2;
    img->eio_past_end = ((name >> 3) & 3) == 3;
    img->sparse = (name & 0x80) != 0;
    if (img->sparse)
        img->len = (size_t)parse_records(img, data + 2, size - 2);
    uint64_t io_size = img->len;
    if (((name >> 3) & 3) == 1)
        io_size = (io_size + 511) / 512 * 512;
    else if (((name >> 3) & 3) == 2)
        io_size += PAD_ZEROS;
    *forced = NULL;
    if (mode >= FUZZ_FORCE_BASE) {
        size_t i = (size_t)(mode - FUZZ_FORCE_BASE) % (ndrivers + 1);
        *forced = i < ndrivers ? fmt_drivers[i]->name : "no-such-format";
    }
    *io = (struct fmt_io){img, fuzz_image_read, io_size, names[name & 7]};
}
