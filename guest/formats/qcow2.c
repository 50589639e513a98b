/* qcow2.c: the qcow2 format (work in progress: not parsed yet). */
#include "format.h"

static int qcow2_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "qcow2: not supported yet");
}

const struct fmt_driver fmt_qcow2 = {
    .name = "qcow2",
    .probe = NULL,
    .open = qcow2_open,
};
