/* bochs.c: the bochs format (work in progress: not parsed yet). */
#include "format.h"

static int bochs_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "bochs: not supported yet");
}

const struct fmt_driver fmt_bochs = {
    .name = "bochs",
    .probe = NULL,
    .open = bochs_open,
};
