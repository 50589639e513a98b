/* sha256.c: SHA-256 (FIPS 180-4), portable and with x86 SHA extensions. */
#include <string.h>

#include "sha256.h"

/* gcc's immintrin.h pulls in mm_malloc.h (and a libc) unless told it is done */
#define _MM_MALLOC_H_INCLUDED
#include <immintrin.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4); /* the guest builds with -fno-builtin: no call */
    return __builtin_bswap32(v);
}

/* Shaped for the emulator as much as for the CPU: under TCG every guest memory
 * access goes through the soft TLB, so the schedule is a 16-word ring updated
 * in place (not a 64-word array), the rounds are unrolled by 8 so the working
 * variables rotate by renaming instead of 8 moves a round, and the choose and
 * majority functions take 3 and 4 operations instead of 4 and 5. */
#define CH(e, f, g)  ((((f) ^ (g)) & (e)) ^ (g))
#define MAJ(a, b, c) (((a) & (b)) | ((c) & ((a) | (b))))
#define S0(a)        (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22))
#define S1(e)        (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25))
#define s0(x)        (ror(x, 7) ^ ror(x, 18) ^ ((x) >> 3))
#define s1(x)        (ror(x, 17) ^ ror(x, 19) ^ ((x) >> 10))
/* w[j & 15] for round i >= 16, from the ring */
#define SCHEDULE(j)                                                                                \
    (w[(j)&15] += s1(w[((j) + 14) & 15]) + w[((j) + 9) & 15] + s0(w[((j) + 1) & 15]))
#define ROUND(a, b, c, d, e, f, g, h, k, x)                                                        \
    do {                                                                                           \
        uint32_t t1_ = (h) + S1(e) + CH(e, f, g) + (k) + (x);                                      \
        (d) += t1_;                                                                                \
        (h) = t1_ + S0(a) + MAJ(a, b, c);                                                          \
    } while (0)
#define EIGHT(i, X)                                                                                \
    do {                                                                                           \
        ROUND(a, b, c, d, e, f, g, hh, K[(i) + 0], X((i) + 0));                                    \
        ROUND(hh, a, b, c, d, e, f, g, K[(i) + 1], X((i) + 1));                                    \
        ROUND(g, hh, a, b, c, d, e, f, K[(i) + 2], X((i) + 2));                                    \
        ROUND(f, g, hh, a, b, c, d, e, K[(i) + 3], X((i) + 3));                                    \
        ROUND(e, f, g, hh, a, b, c, d, K[(i) + 4], X((i) + 4));                                    \
        ROUND(d, e, f, g, hh, a, b, c, K[(i) + 5], X((i) + 5));                                    \
        ROUND(c, d, e, f, g, hh, a, b, K[(i) + 6], X((i) + 6));                                    \
        ROUND(b, c, d, e, f, g, hh, a, K[(i) + 7], X((i) + 7));                                    \
    } while (0)
#define FIRST(j) (w[j] = load_be32(p + 4 * (j)))

static void blocks_portable(uint32_t h[8], const uint8_t *p, size_t n)
{
    while (n--) {
        uint32_t w[16];
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        EIGHT(0, FIRST);
        EIGHT(8, FIRST);
        EIGHT(16, SCHEDULE);
        EIGHT(24, SCHEDULE);
        EIGHT(32, SCHEDULE);
        EIGHT(40, SCHEDULE);
        EIGHT(48, SCHEDULE);
        EIGHT(56, SCHEDULE);
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
        h[5] += f;
        h[6] += g;
        h[7] += hh;
        p += 64;
    }
}

/* The SHA-NI round structure (Intel's white paper): state kept as ABEF/CDGH,
 * four rounds per sha256rnds2 pair, message schedule with msg1/msg2. */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_shani(uint32_t h[8],
                                                                     const uint8_t *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);
    __m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xb1);         /* CDAB */
    st1 = _mm_shuffle_epi32(st1, 0x1b);         /* EFGH */
    __m128i st0 = _mm_alignr_epi8(tmp, st1, 8); /* ABEF */
    st1 = _mm_blend_epi16(st1, tmp, 0xf0);      /* CDGH */

    while (n--) {
        __m128i save0 = st0, save1 = st1;
        __m128i m[4];
        for (int i = 0; i < 4; i++)
            m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
        for (int r = 0; r < 16; r++) {
            __m128i msg = _mm_add_epi32(m[r & 3], _mm_loadu_si128((const __m128i *)&K[4 * r]));
            st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
            if (r < 12) {
                /* schedule the words for round r + 4 */
                __m128i t = _mm_alignr_epi8(m[(r + 3) & 3], m[(r + 2) & 3], 4);
                __m128i next = _mm_add_epi32(_mm_sha256msg1_epu32(m[r & 3], m[(r + 1) & 3]), t);
                m[r & 3] = _mm_sha256msg2_epu32(next, m[(r + 3) & 3]);
            }
            msg = _mm_shuffle_epi32(msg, 0x0e);
            st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
        }
        st0 = _mm_add_epi32(st0, save0);
        st1 = _mm_add_epi32(st1, save1);
        p += 64;
    }
    tmp = _mm_shuffle_epi32(st0, 0x1b);    /* FEBA */
    st1 = _mm_shuffle_epi32(st1, 0xb1);    /* DCHG */
    st0 = _mm_blend_epi16(tmp, st1, 0xf0); /* DCBA */
    st1 = _mm_alignr_epi8(st1, tmp, 8);    /* ABEF -> HGFE */
    _mm_storeu_si128((__m128i *)&h[0], st0);
    _mm_storeu_si128((__m128i *)&h[4], st1);
}

static void blocks(struct sha256 *s, const uint8_t *p, size_t n)
{
    if (s->use_shani)
        blocks_shani(s->h, p, n);
    else
        blocks_portable(s->h, p, n);
}

void sha256_init(struct sha256 *s, bool use_shani)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof(iv));
    s->total = 0;
    s->buffered = 0;
    s->use_shani = use_shani;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    if (s->buffered) {
        size_t take = 64 - s->buffered < len ? 64 - s->buffered : len;
        memcpy(s->buf + s->buffered, p, take);
        s->buffered += take;
        p += take;
        len -= take;
        if (s->buffered < 64)
            return;
        blocks(s, s->buf, 1);
        s->buffered = 0;
    }
    if (len >= 64) {
        blocks(s, p, len / 64);
        p += len / 64 * 64;
        len %= 64;
    }
    memcpy(s->buf, p, len);
    s->buffered = len;
}

void sha256_final(struct sha256 *s, uint8_t out[32])
{
    uint64_t bits = s->total * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (s->buffered < 56 ? 56 : 120) - s->buffered;
    for (int i = 0; i < 8; i++)
        pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, pad, padlen + 8);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
}

bool sha256_cpu_has_shani(void)
{
    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
    if (a < 7)
        return false;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    bool sse41 = (c >> 19) & 1, ssse3 = (c >> 9) & 1;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    return sse41 && ssse3 && ((b >> 29) & 1);
}
