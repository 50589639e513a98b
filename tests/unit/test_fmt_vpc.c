/* test_fmt_vpc.c: the vpc (VHD) parser against qemu-img 7.2 and on crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted VHDs */

struct foot {
    const char *app;
    uint64_t size, data_offset;
    uint16_t cyls;
    uint8_t heads, secs;
    uint32_t type;
    bool bad_sum;
};

static struct foot foot_default(void)
{
    struct foot f = {"qemu", 1ull << 30, 512, 2080, 16, 63, 3, false};
    return f;
}

static void footer(uint8_t *p, const struct foot *f)
{
    memset(p, 0, 512);
    memcpy(p, "conectix", 8);
    put32be(p + 8, 2);
    put32be(p + 12, 0x10000);
    put64be(p + 16, f->data_offset);
    memcpy(p + 28, f->app, 4);
    put64be(p + 40, f->size);
    put64be(p + 48, f->size);
    p[56] = (uint8_t)(f->cyls >> 8);
    p[57] = (uint8_t)f->cyls;
    p[58] = f->heads;
    p[59] = f->secs;
    put32be(p + 60, f->type);
    uint32_t sum = 0;
    for (int i = 0; i < 512; i++)
        sum += p[i];
    put32be(p + 64, ~sum + (f->bad_sum ? 1 : 0));
}

#define IMG_SIZE (512 + 1024 + 4096 + 512)
static uint8_t img[IMG_SIZE];

/* footer copy, dynamic header, a 1024-entry BAT (all free), footer */
static void dynamic(const struct foot *f, uint64_t bat_offset, int32_t entries, uint32_t block_size)
{
    memset(img, 0, sizeof(img));
    footer(img, f);
    memcpy(img + 512, "cxsparse", 8);
    put64be(img + 512 + 8, UINT64_MAX);
    put64be(img + 512 + 16, bat_offset);
    put32be(img + 512 + 24, 0x10000);
    put32be(img + 512 + 28, (uint32_t)entries);
    put32be(img + 512 + 32, block_size);
    memset(img + 1536, 0xff, 4096);
    footer(img + IMG_SIZE - 512, f);
}

START_TEST(sizes_and_creator_apps)
{
    struct foot f = foot_default();
    dynamic(&f, 1536, 1024, 2u << 20);
    char *out = expect_ok(img, IMG_SIZE, "d.vhd", NULL);
    /* CHS: 2080 * 16 * 63 sectors */
    ck_assert_ptr_nonnull(
        strstr(out, "file format: vpc\nvirtual size: 1 GiB (1073479680 bytes)\n"));
    ck_assert_ptr_nonnull(strstr(out, "cluster_size: 2097152\n"));
    ck_assert_ptr_nonnull(strstr(out, "safety: safe\n"));
    free(out);
    /* current_size for these creators, and for the maximum CHS geometry */
    static const char *const apps[] = {"qem2", "win ", "d2v ", "CTXS", "tap\0"};
    for (int i = 0; i < 5; i++) {
        f = foot_default();
        f.app = apps[i];
        f.size = 12345678;
        dynamic(&f, 1536, 1024, 2u << 20);
        out = expect_ok(img, IMG_SIZE, "d.vhd", NULL);
        ck_assert_ptr_nonnull(strstr(out, "(12345344 bytes)"));
        free(out);
    }
    f = foot_default(), f.app = "tap ", f.size = 12345678;
    dynamic(&f, 1536, 1024, 2u << 20);
    out = expect_ok(img, IMG_SIZE, "d.vhd", NULL);
    ck_assert_ptr_nonnull(strstr(out, "(1073479680 bytes)"));
    free(out);
    f = foot_default(), f.cyls = 65535, f.heads = 16, f.secs = 255, f.size = 1ull << 30;
    dynamic(&f, 1536, 1024, 2u << 20);
    out = expect_ok(img, IMG_SIZE, "d.vhd", NULL);
    ck_assert_ptr_nonnull(strstr(out, "(1073741824 bytes)"));
    free(out);
    /* dynamic header but a footer that says fixed: no cluster size */
    f = foot_default(), f.type = 2;
    dynamic(&f, 1536, 1024, 2u << 20);
    out = expect_ok(img, IMG_SIZE, "d.vhd", NULL);
    ck_assert_ptr_null(strstr(out, "cluster_size"));
    free(out);
}
END_TEST

START_TEST(fixed_disks)
{
    struct foot f = foot_default();
    f.type = 2, f.cyls = 1, f.heads = 1, f.secs = 8, f.size = 4096;
    memset(img, 0, sizeof(img));
    footer(img + 4096, &f);
    /* probing looks at offset 0 only: raw; forced, it is a fixed VHD */
    char *out = expect_ok(img, 4608, "f.vhd", NULL);
    ck_assert_ptr_nonnull(strstr(out, "file format: raw\n"));
    free(out);
    out = expect_ok(img, 4608, "f.vhd", "vpc");
    ck_assert_ptr_nonnull(strstr(out, "file format: vpc\nvirtual size: 4 KiB (4096 bytes)\n"));
    ck_assert_ptr_null(strstr(out, "cluster_size"));
    free(out);
    /* the footer is looked for in the last whole sector of the rounded size */
    expect_fail(img, 4611, "f.vhd", "vpc", "invalid VPC image");
    f.type = 3;
    footer(img + 4096, &f);
    expect_fail(img, 4608, "f.vhd", "vpc", "invalid VPC image");
    expect_fail(img, 0, "f.vhd", "vpc", "File too small for a VHD header");
    expect_fail(img, 100, "f.vhd", "vpc", "invalid VPC image");
}
END_TEST

START_TEST(refusals)
{
    struct foot f = foot_default();
    f.bad_sum = true;
    dynamic(&f, 1536, 1024, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Incorrect header checksum");
    f = foot_default(), f.cyls = 65535, f.heads = 16, f.secs = 255, f.size = 3ull << 40;
    dynamic(&f, 1536, 1024, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Could not open 'd.vhd': File too large");
    f = foot_default(), f.data_offset = 1ull << 63;
    dynamic(&f, 1536, 1024, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Error reading dynamic VHD header");
    f = foot_default(), f.data_offset = 1ull << 40;
    dynamic(&f, 1536, 1024, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Invalid header magic");
    f = foot_default();
    dynamic(&f, 1536, 1024, 3000);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Invalid block size 3000");
    dynamic(&f, 1536, 1024, 256);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Invalid block size 256");
    dynamic(&f, 1536, 10, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Page table too small");
    dynamic(&f, 1536, (int32_t)0x80000000u, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Max Table Entries too large (-2147483648)");
    dynamic(&f, 1536, 0x20000000, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Max Table Entries too large (536870912)");
    dynamic(&f, 1ull << 63, 1024, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, "Error reading pagetable");
    const char *trunc = "block-vpc: free_data_block_offset points after the end of file. "
                        "The image has been truncated.";
    dynamic(&f, 1ull << 40, 1024, 2u << 20);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, trunc);
    dynamic(&f, 1536, 1024, 2u << 20);
    put32be(img + 1536, 0x10);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, trunc);
}
END_TEST

START_TEST(findings_and_robustness)
{
    struct foot f = foot_default();
    f.size = 4096, f.cyls = 1, f.heads = 1, f.secs = 8;
    dynamic(&f, 1536, 1024, 512);
    put32be(img + 1536, 2); /* block 0 at sector 2: inside the dynamic header */
    char *out = expect_ok(img, IMG_SIZE, "d.vhd", NULL);
    ck_assert_ptr_nonnull(strstr(out, "out-of-range: 1 BAT entries point into the image's own"));
    free(out);
    f = foot_default();
    dynamic(&f, 1536, 1024, 2u << 20);
    truncation_loop(img, IMG_SIZE, "cut.img", NULL, IMG_SIZE, 512);
    truncation_loop(img, IMG_SIZE, "cut.img", "vpc", IMG_SIZE, 512);
    mutation_loop(img, IMG_SIZE, "mut.img", NULL, 600, 3000, 12345);
    mutation_loop(img, IMG_SIZE, "mut.img", "vpc", IMG_SIZE, 3000, 12345);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_created)
{
    const char *dir = test_tmpdir();
    static const char *const opts[] = {"", "-o force_size=on", "-o subformat=dynamic"};
    static const char *const sizes[] = {"1G", "1000M", "10M", "12345678", "3G", "1", "127G"};
    char path[4200];
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
            snprintf(path, sizeof(path), "%s/vpc-%zu-%zu.vhd", dir, i, j);
            ck_assert_int_eq(
                test_sh("qemu-img create -q -f vpc %s '%s' %s", opts[i], path, sizes[j]), 0);
            free(same_as_qemu(path, NULL));
            free(same_as_qemu(path, "vpc"));
        }
    }
    /* fixed: qemu probes these as raw; forced, both read the footer */
    static const char *const fixed[] = {"8M", "12345678", "1"};
    for (size_t j = 0; j < 3; j++) {
        for (int force = 0; force < 2; force++) {
            snprintf(path, sizeof(path), "%s/vpc-fixed-%zu-%d.vhd", dir, j, force);
            ck_assert_int_eq(test_sh("qemu-img create -q -f vpc -o subformat=fixed%s '%s' %s",
                                     force ? ",force_size=on" : "", path, fixed[j]),
                             0);
            free(same_as_qemu(path, NULL));
            free(same_as_qemu(path, "vpc"));
        }
    }
    /* with data */
    snprintf(path, sizeof(path), "%s/vpc-data.vhd", dir);
    ck_assert_int_eq(test_sh("head -c 3000000 /dev/urandom > '%s.raw' && qemu-img convert -O vpc "
                             "'%s.raw' '%s'",
                             path, path, path),
                     0);
    free(same_as_qemu(path, NULL));
}
END_TEST

START_TEST(qemu_refusals_match)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/bad.vhd", test_tmpdir());
    struct foot f = foot_default();
    f.bad_sum = true;
    dynamic(&f, 1536, 1024, 2u << 20);
    spit(path, img, IMG_SIZE);
    refused_like_qemu(path, NULL, "Incorrect header checksum");
    f = foot_default();
    dynamic(&f, 1536, 10, 2u << 20);
    spit(path, img, IMG_SIZE);
    refused_like_qemu(path, NULL, "Page table too small");
    dynamic(&f, 1536, 1024, 3000);
    spit(path, img, IMG_SIZE);
    refused_like_qemu(path, NULL, "Invalid block size 3000");
    dynamic(&f, 1536, 1024, 2u << 20);
    put32be(img + 1536, 0x10);
    spit(path, img, IMG_SIZE);
    refused_like_qemu(path, NULL,
                      "block-vpc: free_data_block_offset points after the end of file. The image "
                      "has been truncated.");
    memset(img, 0, 1024);
    spit(path, img, 1024);
    refused_like_qemu(path, "vpc", "invalid VPC image");
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_vpc");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sizes_and_creator_apps);
    tcase_add_test(tc, fixed_disks);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, findings_and_robustness);
    suite_add_tcase(s, tc);
    if (have_qemu) {
        TCase *tq = tcase_create("qemu-img");
        tcase_set_timeout(tq, 300);
        tcase_add_test(tq, qemu_created);
        tcase_add_test(tq, qemu_refusals_match);
        suite_add_tcase(s, tq);
    }
    return run_suite(s, have_qemu);
}
