/* test_fmt_cloop.c: the cloop parser against qemu-img 7.2, the sample and crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted images */

static const char cloop_magic[] = "#!/bin/sh\n#V2.0 Format\n"
                                  "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";

/* A V2.0 image: n blocks of `csize` compressed bytes each (contents are not inflated). */
static uint8_t *cloop_image(uint32_t block_size, uint32_t n, uint32_t csize, size_t *len)
{
    size_t first = 136 + 8 * ((size_t)n + 1);
    *len = first + (size_t)n * csize;
    uint8_t *b = calloc(1, *len);
    memcpy(b, cloop_magic, strlen(cloop_magic));
    put32be(b + 128, block_size);
    put32be(b + 132, n);
    for (uint32_t i = 0; i <= n; i++)
        put64be(b + 136 + 8 * i, first + (uint64_t)i * csize);
    return b;
}

START_TEST(crafted_header)
{
    size_t len;
    uint8_t *b = cloop_image(65536, 3, 100, &len);
    char *h = expect_ok(b, len, "x.cloop", NULL);
    ck_assert_str_eq(h, "image: x.cloop\nfile format: cloop\n"
                        "virtual size: 192 KiB (196608 bytes)\ndisk size: 0 B\nsafety: safe\n");
    free(h);
    free(b);
    /* qemu multiplies blocks by sectors per block in 32 bits */
    b = cloop_image(64 << 20, 40000, 1, &len);
    h = expect_ok(b, len, "x.cloop", NULL);
    ck_assert_ptr_nonnull(strstr(h, "virtual size: 452 GiB (485331304448 bytes)\n"));
    free(h);
    free(b);
}
END_TEST

START_TEST(probe_scores_two)
{
    /* the magic is a shell script: qemu gives it 2, so a .dmg name wins over it */
    size_t len;
    uint8_t *b = cloop_image(65536, 1, 100, &len);
    char *h = expect_ok(b, len, "x.cloop", NULL);
    ck_assert_ptr_nonnull(strstr(h, "file format: cloop\n"));
    free(h);
    expect_fail(b, len, "x.dmg", NULL, "Could not locate UDIF trailer in dmg file");
    free(b);
}
END_TEST

START_TEST(crafted_refusals)
{
    size_t len;
    uint8_t *b = cloop_image(65536, 4, 100, &len);
    uint8_t *c = malloc(len);
#define MUT(stmt, reason)                                                                          \
    do {                                                                                           \
        memcpy(c, b, len);                                                                         \
        stmt;                                                                                      \
        expect_fail(c, len, "x.cloop", "cloop", reason);                                           \
    } while (0)
    MUT(put32be(c + 128, 1000), "block_size 1000 must be a multiple of 512");
    MUT(put32be(c + 128, 0), "block_size cannot be zero");
    MUT(put32be(c + 128, 128u << 20), "block_size 134217728 must be 64 MB or less");
    MUT(put32be(c + 132, 0x20000000), "n_blocks 536870912 must be 536870911 or less");
    MUT(put32be(c + 132, 0x04000000), "image requires too many offsets, try increasing block size");
    MUT(put64be(c + 136 + 16, 5),
        "offsets not monotonically increasing at index 2, image file is corrupt");
    MUT(put64be(c + 136 + 24, 1ull << 40),
        "invalid compressed block size at index 3, image file is corrupt");
    /* offsets beyond the table read the compressed data as numbers */
    MUT((put32be(c + 132, 1000), memset(c + 136 + 40, 0xff, 8)),
        "invalid compressed block size at index 5, image file is corrupt");
#undef MUT
    free(c);
    free(b);
}
END_TEST

START_TEST(findings)
{
    size_t len;
    uint8_t *b = cloop_image(65536, 3, 100, &len);
    put64be(b + 136 + 24, 100000); /* the last block ends past the file */
    char *h = expect_ok(b, len, "x.cloop", NULL);
    ck_assert_ptr_nonnull(strstr(h, "out-of-range: the compressed blocks end at offset 100000"));
    free(h);
    /* a table running past the end of the file, all zeros */
    uint8_t z[512] = {0};
    memcpy(z, cloop_magic, strlen(cloop_magic));
    put32be(z + 128, 512);
    put32be(z + 132, 10000);
    h = expect_ok(z, sizeof(z), "x.cloop", NULL);
    ck_assert_ptr_nonnull(strstr(h, "the offsets table (10001 entries) extends past"));
    free(h);
    /* ... but a non-zero last offset in the file makes the zeros after it decrease */
    put64be(z + 136 + 8 * 46, 7);
    expect_fail(z, sizeof(z), "x.cloop", NULL,
                "offsets not monotonically increasing at index 47, image file is corrupt");
    free(b);
}
END_TEST

START_TEST(robustness)
{
    size_t len;
    uint8_t *b = cloop_image(65536, 50, 1000, &len);
    ck_assert_uint_le(len, 65536);
    uint8_t *big = copy_64k(b, len);
    robustness_64k(big, "x.cloop", "cloop", 600);
    free(big);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_samples)
{
    free(same_as_qemu(sample("cloop-v2.cloop"), NULL));
    free(same_as_qemu(sample("cloop-v2.cloop"), "cloop"));
    size_t len;
    uint8_t *b = cloop_image(64 << 20, 40000, 1, &len); /* 32-bit sector count wraps */
    const char *p = tmp_path("wrap.cloop");
    spit(p, b, len);
    free(same_as_qemu(p, NULL));
    free(b);
    b = cloop_image(65536, 3, 100, &len);
    put64be(b + 136 + 24, 100000);
    p = tmp_path("eof.cloop");
    spit(p, b, len);
    char *h = same_as_qemu(p, NULL);
    ck_assert(has_finding(h, "out-of-range"));
    free(h);
    free(b);
}
END_TEST

START_TEST(qemu_refusals)
{
    size_t len;
    uint8_t *b = cloop_image(65536, 4, 100, &len);
    static const struct field_case cases[] = {
        {128, 4, 1000, "block_size 1000 must be a multiple of 512"},
        {128, 4, 0, "block_size cannot be zero"},
        {128, 4, 128u << 20, "block_size 134217728 must be 64 MB or less"},
        {132, 4, 0x20000000, "n_blocks 536870912 must be 536870911 or less"},
        {132, 4, 0x04000000, "image requires too many offsets, try increasing block size"},
        {136 + 16, 8, 5, "offsets not monotonically increasing at index 2, image file is corrupt"},
        {136 + 24, 8, 1ull << 40,
         "invalid compressed block size at index 3, image file is corrupt"},
    };
    refusals_like_qemu(b, len, cases, sizeof(cases) / sizeof(cases[0]), FIELD_BE, "cloop", NULL);
    free(b);
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_cloop");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, crafted_header);
    tcase_add_test(tc, probe_scores_two);
    tcase_add_test(tc, crafted_refusals);
    tcase_add_test(tc, findings);
    tcase_add_test(tc, robustness);
    suite_add_tcase(s, tc);
    if (have_qemu) {
        TCase *tq = tcase_create("qemu-img");
        tcase_set_timeout(tq, 300);
        tcase_add_test(tq, qemu_samples);
        tcase_add_test(tq, qemu_refusals);
        suite_add_tcase(s, tq);
    }
    return run_suite(s, have_qemu);
}
