/* file_alloc.c: data and holes of a file from an offset on, by lseek. */
#include <errno.h>
#include <unistd.h>

#include "file_alloc.h"

static size_t put(struct pupa_blk_alloc *out, size_t n, uint64_t off, uint64_t len, uint32_t kind)
{
    out[n] = (struct pupa_blk_alloc){off, len, kind, 0};
    return n + 1;
}

size_t file_alloc_extents(int fd, uint64_t off, struct pupa_blk_alloc *out, size_t max)
{
    size_t n = 0;
    uint64_t pos = off;
    while (n < max) {
        if (pos > (uint64_t)INT64_MAX)
            return put(out, n, pos, 0, PUPA_BLK_ALLOC_HOLE);
        off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
        if (data < 0) /* ENXIO: a hole to the end, or past it; otherwise nothing known */
            return put(out, n, pos, 0,
                       errno == ENXIO ? PUPA_BLK_ALLOC_HOLE : PUPA_BLK_ALLOC_UNKNOWN);
        if ((uint64_t)data < pos)
            return put(out, n, pos, 0, PUPA_BLK_ALLOC_UNKNOWN);
        if ((uint64_t)data > pos) {
            n = put(out, n, pos, (uint64_t)data - pos, PUPA_BLK_ALLOC_HOLE);
            pos = (uint64_t)data;
            continue;
        }
        off_t hole = lseek(fd, (off_t)pos, SEEK_HOLE);
        if (hole < 0 || (uint64_t)hole <= pos) /* a hole dug meanwhile: qemu gives up too */
            return put(out, n, pos, 0,
                       hole < 0 && errno == ENXIO ? PUPA_BLK_ALLOC_HOLE : PUPA_BLK_ALLOC_UNKNOWN);
        n = put(out, n, pos, (uint64_t)hole - pos, PUPA_BLK_ALLOC_DATA);
        pos = (uint64_t)hole;
    }
    return n;
}
