/* test_sha256.c: the guest's SHA-256 (guest/lib/sha256.c, built for the host),
 * portable and with the SHA extensions: FIPS 180-4 example vectors, and both
 * implementations against each other over every length up to 300 bytes and
 * large buffers fed in uneven pieces. (End to end, tests/e2e/test_read.py
 * compares the guest's digests with sha256sum.) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/lib/sha256.h"
#include "testutil.h"

static void digest_hex(bool shani, const void *data, size_t len, char hex[65])
{
    struct sha256 s;
    uint8_t out[32];
    sha256_init(&s, shani);
    sha256_update(&s, data, len);
    sha256_final(&s, out);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
}

/* every implementation this CPU can run */
static int impls(bool list[2])
{
    list[0] = false;
    list[1] = true;
    return sha256_cpu_has_shani() ? 2 : 1;
}

START_TEST(fips_vectors)
{
    static const struct {
        const char *msg;
        const char *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    bool list[2];
    int n = impls(list);
    char hex[65];
    for (int k = 0; k < n; k++) {
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
            digest_hex(list[k], v[i].msg, strlen(v[i].msg), hex);
            ck_assert_msg(strcmp(hex, v[i].hex) == 0, "%s sha256(\"%s\") = %s",
                          list[k] ? "SHA-NI" : "portable", v[i].msg, hex);
        }
        /* one million 'a', fed 1000 at a time */
        char chunk[1000];
        memset(chunk, 'a', sizeof(chunk));
        struct sha256 s;
        uint8_t out[32];
        sha256_init(&s, list[k]);
        for (int i = 0; i < 1000; i++)
            sha256_update(&s, chunk, sizeof(chunk));
        sha256_final(&s, out);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", out[i]);
        ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
}
END_TEST

START_TEST(implementations_agree)
{
    if (!sha256_cpu_has_shani()) {
        fprintf(stderr, "note: this CPU has no SHA extensions: portable code checked by vectors\n");
        return;
    }
    size_t big = 3 << 20;
    uint8_t *buf = malloc(big);
    ck_assert_ptr_nonnull(buf);
    uint32_t x = 2024;
    for (size_t i = 0; i < big; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    char a[65], b[65];
    for (size_t len = 0; len <= 300; len++) {
        digest_hex(false, buf, len, a);
        digest_hex(true, buf, len, b);
        ck_assert_msg(strcmp(a, b) == 0, "length %zu: portable %s, SHA-NI %s", len, a, b);
    }
    /* large and unaligned, in uneven pieces through the partial-block buffer */
    struct sha256 p, q;
    uint8_t dp[32], dq[32];
    sha256_init(&p, false);
    sha256_init(&q, true);
    size_t off = 1, step = 1;
    while (off < big) {
        size_t take = step < big - off ? step : big - off;
        sha256_update(&p, buf + off, take);
        sha256_update(&q, buf + off, take);
        off += take;
        step = step * 3 + 7;
    }
    sha256_final(&p, dp);
    sha256_final(&q, dq);
    ck_assert_mem_eq(dp, dq, 32);
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("sha256");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fips_vectors);
    tcase_add_test(tc, implementations_agree);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
