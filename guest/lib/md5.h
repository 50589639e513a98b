/* md5.h: MD5 (RFC 1321), for checksums formats keep in their metadata (parallels'
 * format extension). Pure; also built on the host for tests. Not for security. */
#ifndef PUPA_MD5_H
#define PUPA_MD5_H

#include <stddef.h>
#include <stdint.h>

struct md5 {
    uint32_t h[4];
    uint64_t len;
    uint8_t buf[64];
};

void md5_init(struct md5 *m);
void md5_update(struct md5 *m, const void *data, size_t n);
void md5_final(struct md5 *m, uint8_t out[16]);

#endif
