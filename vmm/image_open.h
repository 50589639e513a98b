/* image_open.h: what pupa may open and how. Only paths the user named; only regular
 * files and block devices (a FIFO or a device never blocks or feeds a guest); read
 * only, without following the image anywhere; qemu-img's --format rules; and the
 * one "Could not open 'FILE': ..." wording every refusal uses. */
#ifndef PUPA_IMAGE_OPEN_H
#define PUPA_IMAGE_OPEN_H

#include <stdint.h>

#include "error.h"

struct image {
    int fd;          /* read-only, close-on-exec; -1 when closed */
    uint64_t size;   /* exact bytes (BLKGETSIZE64 for a block device) */
    uint64_t actual; /* st_blocks * 512: qemu-img's "disk size" */
};

/* qemu-img's checks of a --format name before any file is opened: an unknown
 * driver fails even for a missing file. 0 or -1 (err set). NULL: no --format. */
PUPA_MUST_CHECK int image_check_format(const char *format, const char *path,
                                       struct pupa_error *err);

/* Open path for a guest to read. 0 with img filled, or -1 with err set (the
 * "Could not open" line, classed). */
PUPA_MUST_CHECK int image_open(struct image *img, const char *path, const char *format,
                               struct pupa_error *err);
void image_close(struct image *img);

/* "Could not open 'PATH': CAUSE": the one shape of every refusal (the host's and
 * the guest's), as qemu-img words them. Returns -1 like err_set. */
int err_could_not_open(struct pupa_error *err, enum pupa_errc cls, const char *path,
                       const char *cause_fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
