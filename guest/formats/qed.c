/* qed.c: the qed format (work in progress: not parsed yet). */
#include "format.h"

static int qed_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "qed: not supported yet");
}

const struct fmt_driver fmt_qed = {
    .name = "qed",
    .probe = NULL,
    .open = qed_open,
};
