/* test_fmt_vdi.c: the vdi parser against qemu-img 7.2 and on crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted images */

/* A minimal VDI 1.1 header + block map as qemu-img writes it (dynamic, nothing allocated). */
static uint8_t *vdi_image(uint64_t disk, uint32_t blocks, size_t *len)
{
    uint32_t bmap_bytes = (blocks * 4 + 511) / 512 * 512;
    *len = 512 + bmap_bytes;
    uint8_t *b = calloc(1, *len);
    memcpy(b, "<<< QEMU VM Virtual Disk Image >>>\n", 35);
    put32le(b + 0x40, 0xbeda107f);
    put32le(b + 0x44, 0x00010001);
    put32le(b + 0x48, 0x180);
    put32le(b + 0x4c, 1);
    put32le(b + 0x154, 512);
    put32le(b + 0x158, 512 + bmap_bytes);
    put32le(b + 0x168, 512);
    put64le(b + 0x170, disk);
    put32le(b + 0x178, 1048576);
    put32le(b + 0x180, blocks);
    memset(b + 512, 0xff, blocks * 4);
    return b;
}

START_TEST(crafted_header)
{
    size_t len;
    uint8_t *b = vdi_image(100 << 20, 100, &len);
    char *h = expect_ok(b, len, "x.vdi", NULL);
    ck_assert_ptr_nonnull(strstr(h, "file format: vdi\nvirtual size: 100 MiB (104857600 bytes)\n"));
    ck_assert_ptr_nonnull(strstr(h, "cluster_size: 1048576\n"));
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    /* odd sizes are rounded up to whole sectors */
    put64le(b + 0x170, 1000);
    h = expect_ok(b, len, "x.vdi", NULL);
    ck_assert_ptr_nonnull(strstr(h, "virtual size: 1 KiB (1024 bytes)\n"));
    free(h);
    free(b);
}
END_TEST

START_TEST(crafted_refusals)
{
    size_t len;
    uint8_t *b = vdi_image(100 << 20, 100, &len);
    uint8_t *c = malloc(len);
#define MUT(stmt, reason)                                                                          \
    do {                                                                                           \
        memcpy(c, b, len);                                                                         \
        stmt;                                                                                      \
        expect_fail(c, len, "x.vdi", "vdi", reason);                                               \
    } while (0)
    const char *too_big = "Unsupported VDI image size (size is 0x1000000000000000, max supported "
                          "is 0x1fffff8000000)";
    MUT(put64le(c + 0x170, 1ull << 60), too_big);
    /* the size check comes before the signature check */
    MUT((put64le(c + 0x170, 1ull << 60), put32le(c + 0x40, 0)), too_big);
    MUT(put32le(c + 0x40, 0x12345678), "Image not in VDI format (bad signature 12345678)");
    MUT(put32le(c + 0x44, 0x00020003), "unsupported VDI image (version 2.3)");
    MUT(put32le(c + 0x154, 0x201), "unsupported VDI image (unaligned block map offset 0x201)");
    MUT(put32le(c + 0x158, 0x401), "unsupported VDI image (unaligned data offset 0x401)");
    MUT(put32le(c + 0x168, 4096), "unsupported VDI image (sector size 4096 is not 512)");
    MUT(put32le(c + 0x178, 2097152), "unsupported VDI image (block size 2097152 is not 1048576)");
    MUT(put32le(c + 0x180, 99),
        "unsupported VDI image (disk size 104857600, image bitmap has room for 103809024)");
    MUT(c[0x1a8] = 1, "unsupported VDI image (non-NULL link UUID)");
    MUT(c[0x1b8] = 1, "unsupported VDI image (non-NULL parent UUID)");
    MUT(put32le(c + 0x180, 0x1fffff81),
        "unsupported VDI image (too many blocks 536870785, max is 536870784)");
#undef MUT
    free(c);
    free(b);
}
END_TEST

START_TEST(findings)
{
    size_t len;
    uint8_t *b = vdi_image(4 << 20, 4, &len);
    /* the block map lies past the end of the file */
    put32le(b + 0x154, 1 << 20);
    char *h = expect_ok(b, len, "x.vdi", NULL);
    ck_assert(has_finding(h, "out-of-range"));
    ck_assert_ptr_nonnull(strstr(h, "the block map (512 bytes at offset 1048576) extends past"));
    free(h);
    /* an allocated block past the end of the file, and one beyond the image's blocks */
    put32le(b + 0x154, 512);
    put32le(b + 512, 0);
    put32le(b + 516, 9);
    h = expect_ok(b, len, "x.vdi", NULL);
    ck_assert_ptr_nonnull(strstr(h, "2 block map entries point past the end of the file"));
    ck_assert_ptr_nonnull(strstr(h, "1 block map entries point beyond the image's 4 blocks"));
    free(h);
    free(b);
}
END_TEST

START_TEST(robustness)
{
    size_t len;
    uint8_t *b = vdi_image(64 << 20, 64, &len);
    uint8_t *big = copy_64k(b, len);
    put32le(big + 512, 0); /* one allocated block */
    robustness_64k(big, "x.vdi", "vdi", 1024);
    free(big);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_created)
{
    static const char *const opts[][2] = {
        {"", "1M"}, {"", "100M"}, {"", "3G"}, {"-o static=on", "5M"}, {"-o static=on", "1536K"},
        {"", "0"},  {"", "1000"},
    };
    created_like_qemu("vdi", "vdi", opts, sizeof(opts) / sizeof(opts[0]));
    /* allocated blocks (qemu-io writes whole 1 MiB blocks) */
    const char *p = tmp_path("w.vdi");
    ck_assert_int_eq(test_sh("qemu-img create -q -f vdi '%s' 64M", p), 0);
    ck_assert_int_eq(test_sh("qemu-io -f vdi -c 'write -P 7 3M 1M' -c 'write 40M 4k' '%s' "
                             ">/dev/null",
                             p),
                     0);
    char *h = same_as_qemu(p, NULL);
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    /* cut the last allocated block short: qemu still opens it, pupa reports it */
    ck_assert_int_eq(test_sh("truncate -s 1500000 '%s'", p), 0);
    h = same_as_qemu(p, NULL);
    ck_assert_ptr_nonnull(strstr(h, "1 block map entries point past the end of the file"));
    free(h);
}
END_TEST

/* Refusals: pupa and qemu-img give the same reason for the same crafted file. */
START_TEST(qemu_refusals)
{
    const char *base = tmp_path("base.vdi");
    ck_assert_int_eq(test_sh("qemu-img create -q -f vdi '%s' 100M", base), 0);
    size_t len;
    uint8_t *b = load(base, &len);
    static const struct field_case cases[] = {
        {0x170, 8, 1ull << 60,
         "Unsupported VDI image size (size is 0x1000000000000000, max supported is "
         "0x1fffff8000000)"},
        {0x44, 4, 0x00020003, "unsupported VDI image (version 2.3)"},
        {0x154, 4, 0x201, "unsupported VDI image (unaligned block map offset 0x201)"},
        {0x158, 4, 0x401, "unsupported VDI image (unaligned data offset 0x401)"},
        {0x168, 4, 4096, "unsupported VDI image (sector size 4096 is not 512)"},
        {0x178, 4, 2097152, "unsupported VDI image (block size 2097152 is not 1048576)"},
        {0x180, 4, 99,
         "unsupported VDI image (disk size 104857600, image bitmap has room for 103809024)"},
        {0x1a8, 4, 1, "unsupported VDI image (non-NULL link UUID)"},
        {0x1b8, 4, 1, "unsupported VDI image (non-NULL parent UUID)"},
    };
    refusals_like_qemu(b, len, cases, sizeof(cases) / sizeof(cases[0]), FIELD_LE, "vdi", NULL);
    /* a bad signature is not vdi when probing; forced, both refuse */
    put32le(b + 0x40, 0x12345678);
    const char *p = tmp_path("sig.vdi");
    spit(p, b, len);
    refused_like_qemu(p, "vdi", "Image not in VDI format (bad signature 12345678)");
    free(b);
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_vdi");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, crafted_header);
    tcase_add_test(tc, crafted_refusals);
    tcase_add_test(tc, findings);
    tcase_add_test(tc, robustness);
    suite_add_tcase(s, tc);
    if (have_qemu) {
        TCase *tq = tcase_create("qemu-img");
        tcase_set_timeout(tq, 300);
        tcase_add_test(tq, qemu_created);
        tcase_add_test(tq, qemu_refusals);
        suite_add_tcase(s, tq);
    }
    return run_suite(s, have_qemu);
}
