/* vpc.c: the vpc format (work in progress: not parsed yet). */
#include "format.h"

static int vpc_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "vpc: not supported yet");
}

const struct fmt_driver fmt_vpc = {
    .name = "vpc",
    .probe = NULL,
    .open = vpc_open,
};
