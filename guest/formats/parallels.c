/* parallels.c: the parallels format (work in progress: not parsed yet). */
#include "format.h"

static int parallels_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "parallels: not supported yet");
}

const struct fmt_driver fmt_parallels = {
    .name = "parallels",
    .probe = NULL,
    .open = parallels_open,
};
