/* qcow.c: the qcow format (work in progress: not parsed yet). */
#include "format.h"

static int qcow_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "qcow: not supported yet");
}

const struct fmt_driver fmt_qcow = {
    .name = "qcow",
    .probe = NULL,
    .open = qcow_open,
};
