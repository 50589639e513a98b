/* sha256.h: SHA-256 for the guest: CPU SHA extensions when present, portable C
 * otherwise. Pure; also built on the host for tests. */
#ifndef PUPA_SHA256_H
#define PUPA_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t total;
    uint8_t buf[64];
    size_t buffered;
    bool use_shani;
};

/* use_shani: the caller checked CPUID (leaf 7 EBX bit 29, plus SSSE3/SSE4.1). */
void sha256_init(struct sha256 *s, bool use_shani);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);

/* True when this CPU (by CPUID) has the SHA extensions and SSE4.1. */
bool sha256_cpu_has_shani(void);

#endif
