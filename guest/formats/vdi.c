/* vdi.c: the vdi format (work in progress: not parsed yet). */
#include "format.h"

static int vdi_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "vdi: not supported yet");
}

const struct fmt_driver fmt_vdi = {
    .name = "vdi",
    .probe = NULL,
    .open = vdi_open,
};
