/* drivers.c: every image format pupa knows, in qemu 7.2's probing order. */
#include <stddef.h>

#include "format.h"
#include "pupa/formats.h"

#define DECLARE_(n) extern const struct fmt_driver fmt_##n;
PUPA_FORMATS(DECLARE_)
#undef DECLARE_

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
 * raw scores 1 and is the fallback; file and host_device are never probed.
 * The list itself is PUPA_FORMATS in pupa/formats.h, which the VMM checks
 * --format names against. */
#define ENTRY_(n) &fmt_##n,
const struct fmt_driver *const fmt_drivers[] = {PUPA_FORMATS(ENTRY_) NULL};
#undef ENTRY_
