/* test_checksums.c: the guest's MD5 (RFC 1321) and CRC-32C (Castagnoli) against
 * published test vectors, whole and fed in uneven pieces. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "guest/lib/crc32c.h"
#include "guest/lib/md5.h"
#include "testutil.h"

static void md5_hex(const void *data, size_t len, size_t piece, char hex[33])
{
    struct md5 m;
    uint8_t out[16];
    const uint8_t *p = data;
    md5_init(&m);
    while (len > 0) {
        size_t n = piece && piece < len ? piece : len;
        md5_update(&m, p, n);
        p += n;
        len -= n;
    }
    md5_final(&m, out);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
}

/* RFC 1321, appendix A.5 */
START_TEST(md5_rfc1321)
{
    static const struct {
        const char *msg, *hex;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    char hex[33];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        for (size_t piece = 0; piece <= 7; piece++) {
            md5_hex(v[i].msg, strlen(v[i].msg), piece, hex);
            ck_assert_msg(strcmp(hex, v[i].hex) == 0, "md5(\"%s\") in pieces of %zu = %s", v[i].msg,
                          piece, hex);
        }
    }
}
END_TEST

/* lengths around the 56-byte padding boundary and one million 'a' */
START_TEST(md5_padding_and_long)
{
    static const char *const a55 = "ef1772b6dff9a122358552954ad0df65"; /* "a" x 55 */
    static const char *const a56 = "3b0c8ac703f828b04c6c197006d17218"; /* "a" x 56 */
    static const char *const a64 = "014842d480b571495a4a0363793f7367"; /* "a" x 64 */
    char buf[64], hex[33];
    memset(buf, 'a', sizeof(buf));
    md5_hex(buf, 55, 0, hex);
    ck_assert_str_eq(hex, a55);
    md5_hex(buf, 56, 0, hex);
    ck_assert_str_eq(hex, a56);
    md5_hex(buf, 64, 0, hex);
    ck_assert_str_eq(hex, a64);
    static char million[1000000];
    memset(million, 'a', sizeof(million));
    md5_hex(million, sizeof(million), 4093, hex);
    ck_assert_str_eq(hex, "7707d6ae4e027c70eea2a935c2296f21");
}
END_TEST

/* RFC 3720 (iSCSI), appendix B.4, and the common check value */
START_TEST(crc32c_vectors)
{
    uint8_t buf[32];
    ck_assert_uint_eq(crc32c("123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(crc32c("", 0), 0);
    memset(buf, 0, 32);
    ck_assert_uint_eq(crc32c(buf, 32), 0x8a9136aau);
    memset(buf, 0xff, 32);
    ck_assert_uint_eq(crc32c(buf, 32), 0x62a8ab43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    ck_assert_uint_eq(crc32c(buf, 32), 0x46dd794eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(crc32c(buf, 32), 0x113fdb5cu);
    /* in pieces: the update function carries the state */
    uint32_t c = 0xffffffffu;
    c = crc32c_update(c, "1234", 4);
    c = crc32c_update(c, "56789", 5);
    ck_assert_uint_eq(c ^ 0xffffffffu, 0xe3069283u);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checksums");
    TCase *tc = tcase_create("vectors");
    tcase_add_test(tc, md5_rfc1321);
    tcase_add_test(tc, md5_padding_and_long);
    tcase_add_test(tc, crc32c_vectors);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
