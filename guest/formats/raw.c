/* raw.c: the raw format: the image is the disk, byte for byte (parser and block driver). */

#include "blk.h"
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

/* qemu's raw_co_block_status: every byte is the file's byte at the same offset;
 * the file layer says whether it is data or a hole. */
static int raw_block_status(void *drv, uint64_t off, uint64_t len, struct blk_extent *out)
{
    (void)drv;
    out->flags = BLK_RAW | BLK_OFFSET_VALID;
    out->offset = off;
    out->len = len;
    return 0;
}

static const struct blk_driver raw_driver = {
    .request_alignment = 1,
    .block_status = raw_block_status,
};

static void raw_blk_init(struct blk_open *open)
{
    open->ops = &raw_driver;
    open->drv = NULL;
}

/* raw, and qemu's protocol drivers asked for with -f (file, host_device): the
 * same bytes, reported under the driver's name (info_run fills it in); those
 * two are never probed, and the VMM checks the file type each one requires. */
static int raw_open(const struct fmt_io *io, struct fmt_info *info)
{
    /* qemu's file layer counts whole 512-byte sectors */
    info->virtual_size = (io->size + 511) / 512 * 512;
    info->flags |= PUPA_INFO_F_HAS_DIRTY_FLAG;
    if (info->blk)
        raw_blk_init(info->blk);
    return 0;
}

const struct fmt_driver fmt_raw = {
    .name = "raw",
    .probe = raw_probe,
    .open = raw_open,
    .whole_disk = true,
};
const struct fmt_driver fmt_file = {.name = "file", .open = raw_open, .whole_disk = true};
const struct fmt_driver fmt_host_device = {
    .name = "host_device",
    .open = raw_open,
    .whole_disk = true,
};
