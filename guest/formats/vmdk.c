/* vmdk.c: the vmdk format (work in progress: not parsed yet). */
#include "format.h"

static int vmdk_open(const struct fmt_io *io, struct fmt_info *info)
{
    (void)io;
    return fmt_fail(info, "vmdk: not supported yet");
}

const struct fmt_driver fmt_vmdk = {
    .name = "vmdk",
    .probe = NULL,
    .open = vmdk_open,
};
