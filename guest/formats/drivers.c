/* drivers.c: every image format pupa knows, in qemu 7.2's probing order. */
#include <stddef.h>

#include "format.h"

extern const struct fmt_driver fmt_raw, fmt_qcow2, fmt_qcow, fmt_qed, fmt_vmdk, fmt_vpc, fmt_vhdx,
    fmt_vdi, fmt_parallels, fmt_bochs, fmt_cloop, fmt_dmg, fmt_luks;

/* qemu 7.2 probes every driver and keeps the first strictly highest score, so
 * the order only matters between drivers that can score the same on one file.
 * Most signatures sit at offset 0 and exclude each other; the ties that can
 * happen, and what qemu-img 7.2 picks (measured on crafted polyglots, see
 * tests/unit/test_probe_order.c):
 *   - vdi's signature is at 0x40, inside or after most other headers:
 *     qed and parallels win over vdi; vdi wins over qcow2, qcow, vmdk (sparse
 *     and descriptor text), vpc, vhdx and luks. (bochs cannot tie: its version
 *     field is at 0x40.)
 *   - cloop and dmg both score 2 (cloop's shell-script magic, dmg's ".dmg"
 *     file name): dmg wins.
 * raw scores 1 and is the fallback. */
const struct fmt_driver *const fmt_drivers[] = {
    &fmt_qed,  &fmt_parallels, &fmt_vdi,   &fmt_qcow2, &fmt_qcow,  &fmt_vmdk, &fmt_vpc,
    &fmt_vhdx, &fmt_luks,      &fmt_bochs, &fmt_dmg,   &fmt_cloop, &fmt_raw,  NULL,
};
