/* drivers.c: every image format pupa knows, in qemu's probing order. */
#include <stddef.h>

#include "format.h"

extern const struct fmt_driver fmt_raw, fmt_qcow2, fmt_qcow, fmt_qed, fmt_vmdk, fmt_vpc, fmt_vhdx,
    fmt_vdi, fmt_parallels, fmt_bochs, fmt_cloop, fmt_dmg, fmt_luks;

/* qemu 7.2 probes every driver and keeps the first strictly highest score;
 * this is the order in which it meets them. */
const struct fmt_driver *const fmt_drivers[] = {
    &fmt_qcow2, &fmt_qcow, &fmt_qed,   &fmt_vmdk, &fmt_vpc, &fmt_vhdx, &fmt_vdi,
    &fmt_parallels, &fmt_bochs, &fmt_cloop, &fmt_dmg, &fmt_luks, &fmt_raw, NULL,
};
