/* luks.h: the LUKS1 header, shared by the luks driver and qcow2's "encrypt" dict. */
#ifndef PUPA_LUKS_H
#define PUPA_LUKS_H

#include <stdint.h>

#include "format.h"

#define FMT_LUKS_SLOTS 8

/* A validated LUKS1 header and the names qemu prints for it. */
struct fmt_luks {
    char cipher_name[33], cipher_mode[33], hash_spec[33], uuid[41];
    uint32_t payload_sector, key_bytes, mk_iters;
    uint32_t active[FMT_LUKS_SLOTS], iters[FMT_LUKS_SLOTS], key_sector[FMT_LUKS_SLOTS],
        stripes[FMT_LUKS_SLOTS];
    const char *cipher_alg, *mode, *ivgen, *ivhash, *hash; /* ivhash NULL: none */
};

/* Read and check the header at [offset, offset+length) of io as qemu's crypto layer
 * does (qcow2 passes its crypto extension's range). 0, or -1 with fmt_fail(). */
int fmt_luks_load(const struct fmt_io *io, struct fmt_info *info, uint64_t offset, uint64_t length,
                  struct fmt_luks *l) __attribute__((warn_unused_result));

/* Emit qemu's luks format-specific members (cipher-alg, cipher-mode, ivgen-alg,
 * ivgen-hash-alg, hash-alg, payload-offset, master-key-iters, uuid, slots: [...]) into
 * the currently open dict of info's tree. */
void fmt_luks_describe(struct fmt_info *info, const struct fmt_luks *l);

#endif
