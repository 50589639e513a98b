/* test_fmt_vpc.c: the vpc (VHD) parser against qemu-img 7.2 and on crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------ helpers shared by the format tests */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (n + 65536 > cap) {
            cap = (cap + 65536) * 2;
            buf = realloc(buf, cap + 1);
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* pupa's output up to its own "safety:" block, without the "disk size" line
 * (the VMM measures that; the parsers alone leave it 0) */
static char *without_safety(char *human)
{
    char *s = strstr(human, "safety: ");
    if (s && (s == human || s[-1] == '\n'))
        *s = '\0';
    return human;
}

static void drop_disk_size(char *text)
{
    char *s = strstr(text, "\ndisk size: ");
    if (s) {
        char *e = strchr(s + 1, '\n');
        memmove(s, e ? e : s + strlen(s), strlen(e ? e : s + strlen(s)) + 1);
    }
}

/* Run the parsers on a file the way pupa info does (forced format or probing). */
static int run_file(const char *path, const char *format, char **human, char **json, char **err)
{
    struct fmt_io io = file_io_open(path);
    ck_assert_ptr_nonnull(io.ctx);
    int rc = test_info(&io, format, human, json, err);
    file_io_close(&io);
    return rc;
}

static int run_mem(const uint8_t *data, size_t len, const char *name, const char *format,
                   char **human, char **json, char **err)
{
    struct mem_image m = {data, len};
    struct fmt_io io = mem_image_io(&m, name);
    return test_info(&io, format, human, json, err);
}

/* The file's pupa output equals qemu-img's: human byte for byte (when
 * human_too) and JSON as parsed objects after dropping the keys drop_py (a
 * python statement over q and t, the two objects) — for multi-file images. */
static void same_as_qemu(const char *path, const char *format, bool human_too, const char *drop_py)
{
    char *human, *json, *err;
    char qh[4200], qj[4200], pj[4200];
    const char *fopt = format ? "-f " : "";
    const char *fname = format ? format : "";

    snprintf(qh, sizeof(qh), "%s.qemu-human", path);
    snprintf(qj, sizeof(qj), "%s.qemu-json", path);
    snprintf(pj, sizeof(pj), "%s.pupa-json", path);
    ck_assert_int_eq(test_sh("qemu-img info %s%s '%s' > '%s'", fopt, fname, path, qh), 0);
    ck_assert_int_eq(test_sh("qemu-img info --output=json %s%s '%s' > '%s'", fopt, fname, path, qj), 0);
    int rc = run_file(path, format, &human, &json, &err);
    ck_assert_msg(rc == 0, "%s: pupa failed: %s", path, err);
    if (human_too) {
        char *q = slurp(qh, NULL);
        drop_disk_size(q);
        drop_disk_size(human);
        ck_assert_str_eq(without_safety(human), q);
        free(q);
    }
    spit(pj, json, strlen(json));
    int same = test_sh("/usr/bin/python3 -c 'import json,sys\n"
                       "q=json.load(open(sys.argv[1])); t=json.load(open(sys.argv[2]))\n"
                       "t.pop(\"safety\"); q.pop(\"actual-size\"); t.pop(\"actual-size\")\n"
                       "%s\nsys.exit(0 if q==t else 1)' '%s' '%s'",
                       drop_py ? drop_py : "", qj, pj);
    ck_assert_msg(same == 0, "%s: JSON differs from qemu-img's", path);
    free(human);
    free(json);
}

/* qemu-img refuses the file; pupa refuses it with the same reason. */
static void refused_like_qemu(const char *path, const char *format, const char *reason)
{
    char *human, *json, *err;
    char qe[4200], want[4600];
    snprintf(qe, sizeof(qe), "%s.qemu-err", path);
    ck_assert_int_ne(test_sh("qemu-img info %s%s '%s' 2> '%s' >/dev/null", format ? "-f " : "",
                             format ? format : "", path, qe),
                     0);
    char *q = slurp(qe, NULL);
    snprintf(want, sizeof(want), "Could not open '%s': %s", path, reason);
    ck_assert_msg(strstr(q, want) != NULL, "qemu-img said: %s (expected %s)", q, want);
    free(q);
    ck_assert_int_eq(run_file(path, format, &human, &json, &err), -1);
    ck_assert_str_eq(err, reason);
    free(err);
}

static void expect_fail(const uint8_t *data, size_t len, const char *name, const char *format,
                        const char *reason)
{
    char *human, *json, *err;
    int rc = run_mem(data, len, name, format, &human, &json, &err);
    ck_assert_msg(rc == -1, "expected '%s' but the image opened", reason);
    ck_assert_str_eq(err, reason);
    free(err);
}

/* Succeeds; returns the human output (caller frees). */
static char *expect_ok(const uint8_t *data, size_t len, const char *name, const char *format)
{
    char *human, *json, *err;
    int rc = run_mem(data, len, name, format, &human, &json, &err);
    ck_assert_msg(rc == 0, "%s failed: %s", name, err);
    free(json);
    return human;
}

/* Never crash: every cut of the image either opens or fails with a reason. */
static void truncation_loop(const uint8_t *data, size_t len, const char *format, size_t upto,
                            size_t step)
{
    for (size_t cut = 0; cut <= upto && cut <= len; cut += step) {
        char *human = NULL, *json = NULL, *err = NULL;
        int rc = run_mem(data, cut, "cut.img", format, &human, &json, &err);
        if (rc == 0) {
            ck_assert_ptr_nonnull(human);
            free(human);
            free(json);
        } else {
            ck_assert_ptr_nonnull(err);
            ck_assert_int_gt(strlen(err), 0);
            free(err);
        }
    }
}

/* Deterministic byte flips in the first `area` bytes: no crash, no hang. */
static void mutation_loop(const uint8_t *data, size_t len, const char *format, size_t area,
                          int rounds)
{
    uint8_t *copy = malloc(len);
    uint32_t x = 12345;
    for (int r = 0; r < rounds; r++) {
        memcpy(copy, data, len);
        for (int k = 0; k < 1 + r % 8; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % (area < len ? area : len);
            x = x * 1103515245u + 12345u;
            copy[at] = (uint8_t)(x >> 16);
        }
        char *human = NULL, *json = NULL, *err = NULL;
        if (run_mem(copy, len, "mut.img", format, &human, &json, &err) == 0) {
            free(human);
            free(json);
        } else {
            free(err);
        }
    }
    free(copy);
}

static int run_suite(Suite *s, bool have_qemu)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        return 1;
    if (!have_qemu) {
        fprintf(stderr, "SKIP: qemu-img not installed; only the crafted-image tests ran\n");
        return 77;
    }
    return 0;
}

/* ------------------------------------------------------------ crafted VHDs */

static void be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void be64(uint8_t *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}

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
    be32(p + 8, 2);
    be32(p + 12, 0x10000);
    be64(p + 16, f->data_offset);
    memcpy(p + 28, f->app, 4);
    be64(p + 40, f->size);
    be64(p + 48, f->size);
    p[56] = (uint8_t)(f->cyls >> 8);
    p[57] = (uint8_t)f->cyls;
    p[58] = f->heads;
    p[59] = f->secs;
    be32(p + 60, f->type);
    uint32_t sum = 0;
    for (int i = 0; i < 512; i++)
        sum += p[i];
    be32(p + 64, ~sum + (f->bad_sum ? 1 : 0));
}

#define IMG_SIZE (512 + 1024 + 4096 + 512)
static uint8_t img[IMG_SIZE];

/* footer copy, dynamic header, a 1024-entry BAT (all free), footer */
static void dynamic(const struct foot *f, uint64_t bat_offset, int32_t entries, uint32_t block_size)
{
    memset(img, 0, sizeof(img));
    footer(img, f);
    memcpy(img + 512, "cxsparse", 8);
    be64(img + 512 + 8, UINT64_MAX);
    be64(img + 512 + 16, bat_offset);
    be32(img + 512 + 24, 0x10000);
    be32(img + 512 + 28, (uint32_t)entries);
    be32(img + 512 + 32, block_size);
    memset(img + 1536, 0xff, 4096);
    footer(img + IMG_SIZE - 512, f);
}

START_TEST(sizes_and_creator_apps)
{
    struct foot f = foot_default();
    dynamic(&f, 1536, 1024, 2u << 20);
    char *out = expect_ok(img, IMG_SIZE, "d.vhd", NULL);
    /* CHS: 2080 * 16 * 63 sectors */
    ck_assert_ptr_nonnull(strstr(out, "file format: vpc\nvirtual size: 1 GiB (1073479680 bytes)\n"));
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
    be32(img + 1536, 0x10);
    expect_fail(img, IMG_SIZE, "d.vhd", NULL, trunc);
}
END_TEST

START_TEST(findings_and_robustness)
{
    struct foot f = foot_default();
    f.size = 4096, f.cyls = 1, f.heads = 1, f.secs = 8;
    dynamic(&f, 1536, 1024, 512);
    be32(img + 1536, 2); /* block 0 at sector 2: inside the dynamic header */
    char *out = expect_ok(img, IMG_SIZE, "d.vhd", NULL);
    ck_assert_ptr_nonnull(strstr(out, "out-of-range: 1 BAT entries point into the image's own"));
    free(out);
    f = foot_default();
    dynamic(&f, 1536, 1024, 2u << 20);
    truncation_loop(img, IMG_SIZE, NULL, IMG_SIZE, 512);
    truncation_loop(img, IMG_SIZE, "vpc", IMG_SIZE, 512);
    mutation_loop(img, IMG_SIZE, NULL, 600, 3000);
    mutation_loop(img, IMG_SIZE, "vpc", IMG_SIZE, 3000);
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
            ck_assert_int_eq(test_sh("qemu-img create -q -f vpc %s '%s' %s", opts[i], path,
                                     sizes[j]),
                             0);
            same_as_qemu(path, NULL, true, NULL);
            same_as_qemu(path, "vpc", true, NULL);
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
            same_as_qemu(path, NULL, true, NULL);
            same_as_qemu(path, "vpc", true, NULL);
        }
    }
    /* with data */
    snprintf(path, sizeof(path), "%s/vpc-data.vhd", dir);
    ck_assert_int_eq(test_sh("head -c 3000000 /dev/urandom > '%s.raw' && qemu-img convert -O vpc "
                             "'%s.raw' '%s'",
                             path, path, path),
                     0);
    same_as_qemu(path, NULL, true, NULL);
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
    be32(img + 1536, 0x10);
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
