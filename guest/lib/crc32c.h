/* crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as VHDX
 * checksums its headers, region table, metadata and log. Pure; also built on the
 * host for tests. */
#ifndef PUPA_CRC32C_H
#define PUPA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over more bytes: no initial or final inversion here, so a
 * checksum split in pieces is crc32c_update(crc32c_update(~0, a), b) ^ ~0. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t n);

/* The standard CRC-32C of data: ~0 in, ~0 out ("123456789" gives 0xe3069283). */
uint32_t crc32c(const void *data, size_t n);

#endif
