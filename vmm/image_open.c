/* image_open.c: open images read-only and without blocking, with qemu-img's file-type
 * and --format rules and wording (see image_open.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_open.h"
#include "pupa/formats.h"

int err_could_not_open(struct pupa_error *err, enum pupa_errc cls, const char *path,
                       const char *cause_fmt, ...)
{
    char cause[PUPA_ERROR_MAX];
    va_list ap;
    va_start(ap, cause_fmt);
    vsnprintf(cause, sizeof(cause), cause_fmt, ap);
    va_end(ap);
    return err_set(err, cls, "Could not open '%s': %s", path, cause);
}

int image_check_format(const char *format, const char *path, struct pupa_error *err)
{
    if (format && !pupa_format_known(format))
        return err_could_not_open(err, ERRC_UNSUPPORTED, path, "Unknown driver '%s'", format);
    return 0;
}

/* The file-type rule of --format, once the file is open. */
static int check_file_type(const char *format, const char *path, mode_t mode,
                           struct pupa_error *err)
{
    enum pupa_format_file need = format ? pupa_format_file_rule(format) : PUPA_FORMAT_ANY_FILE;
    if (need == PUPA_FORMAT_REGULAR_FILE && !S_ISREG(mode))
        return err_could_not_open(err, ERRC_NOT_A_FILE, path,
                                  "'file' driver requires '%s' to be a regular file", path);
    if (need == PUPA_FORMAT_BLOCK_DEVICE && !S_ISBLK(mode))
        return err_could_not_open(err, ERRC_NOT_A_FILE, path,
                                  "'host_device' driver requires '%s' to be either a character "
                                  "or block device",
                                  path);
    return 0;
}

static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode)                    ? "a directory"
           : S_ISFIFO(mode)                 ? "a FIFO"
           : S_ISSOCK(mode)                 ? "a socket"
           : S_ISCHR(mode)                  ? "a character device"
           : S_ISREG(mode) || S_ISBLK(mode) ? NULL
                                            : "not a regular file";
}

/* open() failed: name the cause (opening a socket says ENXIO, which explains nothing). */
static int open_failed(const char *path, int e, struct pupa_error *err)
{
    struct stat st;
    if (e == ENXIO && stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        return err_could_not_open(err, ERRC_NOT_A_FILE, path,
                                  "is a socket, not a regular file or block device");
    return err_could_not_open(err, errc_from_errno(e), path, "%s", strerror(e));
}

/* Size, disk usage and a first read: a clear error here beats an I/O error in the guest. */
static int measure(struct image *img, const char *path, const struct stat *st,
                   struct pupa_error *err)
{
    if (S_ISBLK(st->st_mode)) {
        uint64_t bytes = 0;
        if (ioctl(img->fd, BLKGETSIZE64, &bytes) != 0)
            return err_could_not_open(err, errc_from_errno(errno), path, "%s", strerror(errno));
        img->size = bytes;
    } else {
        img->size = (uint64_t)st->st_size;
    }
    uint8_t b;
    if (img->size > 0 && pread(img->fd, &b, 1, 0) < 0)
        return err_could_not_open(err, errc_from_errno(errno), path, "%s", strerror(errno));
    img->actual = (uint64_t)st->st_blocks * 512;
    return 0;
}

int image_open(struct image *img, const char *path, const char *format, struct pupa_error *err)
{
    img->fd = -1;
    if (image_check_format(format, path, err) != 0)
        return -1;
    /* O_NONBLOCK: a FIFO or a device must not hang pupa before it is refused */
    img->fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (img->fd < 0)
        return open_failed(path, errno, err);
    struct stat st;
    const char *kind = NULL;
    int rc = 0;
    if (fstat(img->fd, &st) != 0)
        rc = err_could_not_open(err, errc_from_errno(errno), path, "%s", strerror(errno));
    else if ((kind = file_kind(st.st_mode)))
        rc = err_could_not_open(err, ERRC_NOT_A_FILE, path,
                                "is %s, not a regular file or block device", kind);
    else if (check_file_type(format, path, st.st_mode, err) != 0 || measure(img, path, &st, err))
        rc = -1;
    if (rc != 0) {
        image_close(img);
        return -1;
    }
    int fl = fcntl(img->fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(img->fd, F_SETFL, fl & ~O_NONBLOCK);
    return 0;
}

void image_close(struct image *img)
{
    if (img->fd >= 0)
        close(img->fd);
    img->fd = -1;
}
