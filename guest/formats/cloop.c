/* cloop.c: the cloop format (work in progress: not parsed yet). */
#include "format.h"

static int cloop_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "cloop: not supported yet");
}

const struct fmt_driver fmt_cloop = {
    .name = "cloop",
    .probe = NULL,
    .open = cloop_open,
};
