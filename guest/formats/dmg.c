/* dmg.c: the dmg format (work in progress: not parsed yet). */
#include "format.h"

static int dmg_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "dmg: not supported yet");
}

const struct fmt_driver fmt_dmg = {
    .name = "dmg",
    .probe = NULL,
    .open = dmg_open,
};
