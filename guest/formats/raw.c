/* raw.c: the raw format: the image is the disk, byte for byte. */
#include <string.h>

#include "format.h"
#include "pupa/abi.h"

/* qemu's raw probe answers 1 for anything: the fallback when no format claims it. */
static int raw_probe(const uint8_t *buf, size_t len, const char *filename)
{
    (void)buf;
    (void)len;
    (void)filename;
    return 1;
}

static int bytes_open(const struct fmt_io *io, struct fmt_info *info, const char *name)
{
    strcpy(info->format, name);
    /* qemu's file layer counts whole 512-byte sectors */
    info->virtual_size = (io->size + 511) / 512 * 512;
    info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;
    return 0;
}

static int raw_open(const struct fmt_io *io, struct fmt_info *info)
{
    return bytes_open(io, info, "raw");
}

/* qemu's protocol drivers asked for with -f: the same bytes under their own
 * name, no probe (the VMM checks the file type each one requires). */
static int file_open(const struct fmt_io *io, struct fmt_info *info)
{
    return bytes_open(io, info, "file");
}

static int host_device_open(const struct fmt_io *io, struct fmt_info *info)
{
    return bytes_open(io, info, "host_device");
}

const struct fmt_driver fmt_raw = {
    .name = "raw",
    .probe = raw_probe,
    .open = raw_open,
    .whole_disk = true,
};
const struct fmt_driver fmt_file = {.name = "file", .open = file_open, .whole_disk = true};
const struct fmt_driver fmt_host_device = {
    .name = "host_device",
    .open = host_device_open,
    .whole_disk = true,
};
