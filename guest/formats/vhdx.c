/* vhdx.c: the vhdx format (work in progress: not parsed yet). */
#include "format.h"

static int vhdx_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "vhdx: not supported yet");
}

const struct fmt_driver fmt_vhdx = {
    .name = "vhdx",
    .probe = NULL,
    .open = vhdx_open,
};
