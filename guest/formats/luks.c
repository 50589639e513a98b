/* luks.c: the luks format (work in progress: not parsed yet). */
#include "format.h"

static int luks_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "luks: not supported yet");
}

const struct fmt_driver fmt_luks = {
    .name = "luks",
    .probe = NULL,
    .open = luks_open,
};
