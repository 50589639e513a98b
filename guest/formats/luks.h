/* luks.h: LUKS header description shared by the luks driver and qcow2's "encrypt" dict. */
#ifndef PUPA_LUKS_H
#define PUPA_LUKS_H

#include <stdint.h>

#include "format.h"

/* Emit the LUKS header at [offset, offset+length) of io as qemu's luks format-specific members
 * (cipher-alg, cipher-mode, ivgen-alg, ivgen-hash-alg, hash-alg, payload-offset, master-key-iters,
 * uuid, slots: [...]) into the currently open dict of info's tree. 0, or -1 with fmt_fail(). */
int fmt_luks_describe(const struct fmt_io *io, struct fmt_info *info, uint64_t offset,
                      uint64_t length);

#endif
