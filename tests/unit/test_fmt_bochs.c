/* test_fmt_bochs.c: the bochs parser against qemu-img 7.2, the samples and crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted images */

/* A growing redolog: header, catalog (all unallocated), `alloc` allocated extents. */
static uint8_t *bochs_image(uint32_t version, uint64_t disk, uint32_t extent, uint32_t alloc,
                            size_t *len)
{
    uint32_t catalog = (uint32_t)((disk + extent - 1) / extent);
    *len = 512 + 4 * (size_t)catalog + (size_t)alloc * (512 + extent);
    uint8_t *b = calloc(1, *len);
    strcpy((char *)b, "Bochs Virtual HD Image");
    strcpy((char *)b + 32, "Redolog");
    strcpy((char *)b + 48, "Growing");
    put32le(b + 64, version);
    put32le(b + 68, 512);
    put32le(b + 72, catalog);
    put32le(b + 76, 512);
    put32le(b + 80, extent);
    put64le(b + (version == 0x10000 ? 84 : 88), disk);
    memset(b + 512, 0xff, 4 * (size_t)catalog);
    for (uint32_t i = 0; i < alloc && i < catalog; i++)
        put32le(b + 512 + 4 * i, i);
    return b;
}

START_TEST(crafted_header)
{
    size_t len;
    uint8_t *b = bochs_image(0x20000, 1 << 20, 4096, 2, &len);
    char *h = expect_ok(b, len, "x.bochs", NULL);
    ck_assert_str_eq(h, "image: x.bochs\nfile format: bochs\nvirtual size: 1 MiB (1048576 bytes)\n"
                        "disk size: 0 B\nsafety: safe\n");
    free(h);
    char *human, *json, *err;
    ck_assert_int_eq(run_mem(b, len, "x.bochs", NULL, &human, &json, &err), 0);
    ck_assert_ptr_null(strstr(json, "dirty-flag"));
    ck_assert_ptr_null(strstr(json, "cluster-size"));
    free(human);
    free(json);
    free(b);
    /* version 1 keeps the disk size 4 bytes earlier; odd sizes round down to sectors */
    b = bochs_image(0x10000, 1000000, 4096, 0, &len);
    h = expect_ok(b, len, "x.bochs", NULL);
    ck_assert_ptr_nonnull(strstr(h, "virtual size: 976 KiB (999936 bytes)\n"));
    free(h);
    free(b);
}
END_TEST

START_TEST(probe_is_exact)
{
    size_t len;
    uint8_t *b = bochs_image(0x20000, 1 << 20, 4096, 0, &len);
    /* qemu compares the fields with strcmp: trailing bytes make them different */
    b[32 + 7] = 'X';
    char *h = expect_ok(b, len, "x.bochs", NULL);
    ck_assert_ptr_nonnull(strstr(h, "file format: raw\n"));
    free(h);
    expect_fail(b, len, "x.bochs", "bochs", "Image not in Bochs format");
    b[32 + 7] = 0;
    strcpy((char *)b + 48, "Undoable");
    expect_fail(b, len, "x.bochs", "bochs", "Image not in Bochs format");
    strcpy((char *)b + 48, "Growing");
    put32le(b + 64, 0x30000);
    expect_fail(b, len, "x.bochs", "bochs", "Image not in Bochs format");
    free(b);
}
END_TEST

START_TEST(crafted_refusals)
{
    size_t len;
    uint8_t *b = bochs_image(0x20000, 1 << 20, 4096, 0, &len);
    uint8_t *c = malloc(len);
#define MUT(stmt, reason)                                                                          \
    do {                                                                                           \
        memcpy(c, b, len);                                                                         \
        stmt;                                                                                      \
        expect_fail(c, len, "x.bochs", "bochs", reason);                                           \
    } while (0)
    MUT(put32le(c + 72, 0x100001), "Catalog size is too large");
    MUT(put32le(c + 80, 100), "Extent size must be at least 512");
    MUT(put32le(c + 80, 3000), "Extent size 3000 is not a power of two");
    MUT(put32le(c + 80, 0x1000000), "Extent size 16777216 is too large");
    MUT(put64le(c + 88, 1ull << 40), "Catalog size is too small for this disk size");
    MUT(put32le(c + 72, 255), "Catalog size is too small for this disk size");
#undef MUT
    /* the extremes that still open */
    memcpy(c, b, len);
    put32le(c + 80, 0x800000);
    free(expect_ok(c, len, "x.bochs", NULL));
    memcpy(c, b, len);
    put32le(c + 72, 0x100000);
    char *h = expect_ok(c, len, "x.bochs", NULL);
    ck_assert_ptr_nonnull(strstr(h, "the catalog (1048576 entries at offset 512) extends past"));
    free(h);
    free(c);
    free(b);
}
END_TEST

START_TEST(findings)
{
    size_t len;
    uint8_t *b = bochs_image(0x20000, 1 << 20, 4096, 1, &len);
    put32le(b + 516, 7); /* extent 1 -> data extent 7, past the end of the file */
    char *h = expect_ok(b, len, "x.bochs", NULL);
    ck_assert_ptr_nonnull(strstr(h, "out-of-range: 1 catalog entries point past the end of the "
                                    "file (first: extent 1)"));
    free(h);
    put32le(b + 516, 0xffffffff);
    put32le(b + 68, 100000); /* the catalog itself past the end */
    h = expect_ok(b, len, "x.bochs", NULL);
    ck_assert_ptr_nonnull(strstr(h, "extends past the end of the file"));
    free(h);
    free(b);
}
END_TEST

START_TEST(robustness)
{
    size_t len;
    uint8_t *b = bochs_image(0x20000, 4 << 20, 4096, 8, &len);
    uint8_t *big = copy_64k(b, len);
    robustness_64k(big, "x.bochs", "bochs", 600);
    free(big);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_samples)
{
    free(same_as_qemu(sample("bochs-v2.bochs"), NULL));
    free(same_as_qemu(sample("bochs-v1.bochs"), NULL));
    free(same_as_qemu(sample("bochs-v1.bochs"), "bochs"));
    size_t len;
    uint8_t *b = bochs_image(0x20000, 1 << 20, 4096, 2, &len);
    const char *p = tmp_path("ok.bochs");
    spit(p, b, len);
    char *h = same_as_qemu(p, NULL);
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    put32le(b + 516, 7);
    p = tmp_path("eof.bochs");
    spit(p, b, len);
    h = same_as_qemu(p, NULL);
    ck_assert(has_finding(h, "out-of-range"));
    free(h);
    free(b);
}
END_TEST

START_TEST(qemu_refusals)
{
    size_t len;
    uint8_t *b = bochs_image(0x20000, 1 << 20, 4096, 0, &len);
    static const struct field_case cases[] = {
        {72, 4, 0x100001, "Catalog size is too large"},
        {80, 4, 100, "Extent size must be at least 512"},
        {80, 4, 3000, "Extent size 3000 is not a power of two"},
        {80, 4, 0x1000000, "Extent size 16777216 is too large"},
        {88, 8, 1ull << 40, "Catalog size is too small for this disk size"},
    };
    refusals_like_qemu(b, len, cases, sizeof(cases) / sizeof(cases[0]), FIELD_LE, "bochs", NULL);
    put32le(b + 64, 0x30000);
    const char *p = tmp_path("ver.bochs");
    spit(p, b, len);
    refused_like_qemu(p, "bochs", "Image not in Bochs format");
    free(b);
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_bochs");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, crafted_header);
    tcase_add_test(tc, probe_is_exact);
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
