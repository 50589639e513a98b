/* fuzz_image.h: the image a fuzz input describes, shared by the format harnesses
 * (fuzz_formats.c, fuzz_blk.c).
 *
 * Input: [mode byte][name byte][image bytes...].
 *   mode < 0xa0           probe like qemu-img
 *   mode >= 0xa0          force format (mode - 0xa0) % (drivers + 1): a driver's
 *                         name, or one past the last: an unknown name
 *   name & 7              the file name the parsers see (dmg is probed by name;
 *                         backing files are resolved against it)
 *   (name >> 3) & 3       image size: 0 the data, 1 rounded up to 512, 2 the data
 *                         + 1 GiB of zeros, 3 the data, reads past it fail (EIO)
 *   name & 0x20           (harness-specific: fuzz_formats prints for a terminal)
 *   name & 0x40           (harness-specific)
 *   name & 0x80           sparse layout: the image bytes are [u32 LE size in
 *                         sectors] then records [u32 LE sector][u16 LE length]
 *                         [bytes]: a large image with little data, zeros
 *                         elsewhere, later records over earlier ones
 * Reads past the end of the data return zeros, like qemu's block layer. */
#ifndef PUPA_FUZZ_IMAGE_H
#define PUPA_FUZZ_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../guest/formats/format.h"

#define FUZZ_FORCE_BASE  0xa0
#define FUZZ_MAX_RECORDS 4096

struct fuzz_record {
    uint64_t off;
    const uint8_t *data;
    size_t len;
};

struct fuzz_image {
    const uint8_t *data; /* flat layout */
    size_t len;          /* flat: bytes of data; sparse: the image length */
    int eio_past_end;
    bool sparse;
    size_t nrecords;
    struct fuzz_record records[FUZZ_MAX_RECORDS];
};

/* Abort with a message: the harness found a bug. */
void fuzz_die(const char *harness, const char *what, const char *detail) __attribute__((noreturn));

/* Set img up from an input of at least 2 bytes; io gets its fmt_io (size, name)
 * and *forced the format to force (NULL: probe). */
void fuzz_image_setup(struct fuzz_image *img, const uint8_t *data, size_t size, struct fmt_io *io,
                      const char **forced);

/* The fmt_io read callback over a fuzz_image (ctx: the image). */
int fuzz_image_read(void *ctx, uint64_t off, void *buf, size_t len);

#endif
