/* test_fmt_qcow.c: the qcow (version 1) parser against qemu-img, crafted headers and truncation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ qemu-img made images */

static const struct {
    const char *name, *create;
    bool safe;
} made[] = {
    {"plain.qcow", "qemu-img create -f qcow plain.qcow 1G", true},
    {"odd.qcow", "qemu-img create -f qcow odd.qcow 1000001", true},
    {"big.qcow", "qemu-img create -f qcow big.qcow 3T", true},
    {"back.qcow",
     "qemu-img create -f qcow plain2.qcow 1G && "
     "qemu-img create -f qcow -b plain2.qcow -F qcow back.qcow",
     false},
    {"backabs.qcow", "qemu-img create -f qcow -u -b /nonexistent/base.img -F raw backabs.qcow 2G",
     false},
    {"aes.qcow",
     "qemu-img create -f qcow --object secret,id=s0,data=pw "
     "-o encrypt.format=aes,encrypt.key-secret=s0 aes.qcow 1G",
     false},
};

START_TEST(made_by_qemu_img)
{
    if (!test_have_qemu_img())
        return;
    ck_assert_int_eq(test_sh("cd '%s' && %s >/dev/null 2>&1", test_tmpdir(), made[_i].create), 0);
    const char *path = tmp_path(made[_i].name);
    char *human = same_as_qemu(path, NULL);
    char *safety = strstr(human, "safety: ");
    ck_assert_ptr_nonnull(safety);
    ck_assert_str_eq(safety, made[_i].safe ? "safety: safe\n" : safety);
    if (!made[_i].safe)
        ck_assert_ptr_nonnull(strstr(safety, "safety: UNSAFE\n"));
    ck_assert_ptr_null(strstr(safety, "out-of-range"));
    free(human);
    char *json, *err;
    ck_assert_int_eq(run_file(path, NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(json, "\"dirty-flag\": false"));
    free(human);
    free(json);
}
END_TEST

/* ------------------------------------------------------------ crafted images */

/* What qemu-img writes for 1 GiB: 4 KiB clusters, 512-entry L2 tables, the
 * L1 table right after the 48-byte header. */
static size_t base_image(uint8_t *d)
{
    memset(d, 0, 8192);
    put32be(d, 0x514649fb);
    put32be(d + 4, 1);
    put64be(d + 24, 1ull << 30);
    d[32] = 12;
    d[33] = 9;
    put64be(d + 40, 48);
    return 48 + 512 * 8;
}

START_TEST(crafted_base)
{
    static uint8_t d[8192];
    size_t len = base_image(d);
    char *human = expect_ok(d, len, "x.qcow", NULL);
    ck_assert_str_eq(human, "image: x.qcow\nfile format: qcow\n"
                            "virtual size: 1 GiB (1073741824 bytes)\ndisk size: 0 B\n"
                            "cluster_size: 4096\nsafety: safe\n");
    free(human);
}
END_TEST

static const struct field_case refusals[] = {
    {4, 4, 2, "qcow (v1) does not support qcow version 2"},
    {24, 8, 1, "Image size is too small (must be at least 2 bytes)"},
    {32, 1, 8, "Cluster size must be between 512 and 64k"},
    {32, 1, 17, "Cluster size must be between 512 and 64k"},
    {33, 1, 5, "L2 table size must be between 512 and 64k"},
    {33, 1, 14, "L2 table size must be between 512 and 64k"},
    {36, 4, 2, "invalid encryption method in qcow header"},
    {24, 8, UINT64_MAX, "Image too large"},
    {24, 8, 1ull << 60, "Image too large"},
    {40, 8, 0x7ffffffffffff000ull, "Could not open 'x.qcow': Input/output error"},
};

START_TEST(header_refusals)
{
    static uint8_t d[8192];
    size_t len = base_image(d);
    put_field(d, &refusals[_i], FIELD_BE);
    /* forced: a version other than 1 is not probed as qcow */
    expect_fail(d, len, "x.qcow", "qcow", refusals[_i].reason);
}
END_TEST

START_TEST(backing_and_findings)
{
    static uint8_t d[8192];
    size_t len = base_image(d);
    char *human, *json, *err;

    /* the name between the header and the L1 table, as qemu-img puts it */
    put64be(d + 8, 48);
    put32be(d + 16, 8);
    memcpy(d + 48, "base.img", 8);
    put64be(d + 40, 64);
    len = 64 + 4096;
    human = expect_ok(d, len, "x.qcow", NULL);
    ck_assert_ptr_nonnull(strstr(human, "backing file: base.img\n"));
    ck_assert_ptr_null(strstr(human, "backing file format"));
    ck_assert_ptr_nonnull(strstr(human, "    backing-file: the image names a backing file"));
    ck_assert_ptr_null(strstr(human, "out-of-range"));
    free(human);

    put32be(d + 16, 1024);
    expect_fail(d, len, "x.qcow", NULL, "Backing file name too long");

    len = base_image(d);
    put64be(d + 40, 1ull << 40); /* L1 far past the end: zeros for qemu */
    human = expect_ok(d, len, "x.qcow", NULL);
    ck_assert_ptr_nonnull(strstr(human, "safety: UNSAFE\n    out-of-range: the L1 table"));
    free(human);

    len = base_image(d);
    put64be(d + 40, 0); /* L1 on top of the header */
    human = expect_ok(d, len, "x.qcow", NULL);
    ck_assert_ptr_nonnull(strstr(human, "the L1 table (offset 0) overlaps the image header"));
    free(human);

    len = base_image(d);
    put32be(d + 36, 1); /* AES */
    ck_assert_int_eq(run_mem(d, len, "x.qcow", NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "encrypted: yes\ncluster_size: 4096\n"));
    ck_assert_ptr_nonnull(strstr(json, "\"encrypted\": true"));
    free(human);
    free(json);

    len = base_image(d);
    put64be(d + 24, 511); /* less than a sector: qemu counts whole sectors */
    human = expect_ok(d, len, "x.qcow", NULL);
    ck_assert_ptr_nonnull(strstr(human, "virtual size: 0 B (0 bytes)\n"));
    free(human);
}
END_TEST

START_TEST(truncation_never_crashes)
{
    static uint8_t d[8192];
    size_t full = base_image(d);
    put64be(d + 8, 48);
    put32be(d + 16, 8);
    memcpy(d + 48, "base.img", 8);
    put64be(d + 40, 512);
    full = 512 + 4096;
    truncation_loop(d, full, "x.qcow", NULL, full, 8);
}
END_TEST

int main(void)
{
    test_tmpdir(); /* one directory for all forked tests */
    Suite *s = suite_create("fmt_qcow");
    TCase *tc = tcase_create("qcow");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, made_by_qemu_img, 0, (int)(sizeof(made) / sizeof(made[0])));
    tcase_add_test(tc, crafted_base);
    tcase_add_loop_test(tc, header_refusals, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
    tcase_add_test(tc, backing_and_findings);
    tcase_add_test(tc, truncation_never_crashes);
    suite_add_tcase(s, tc);
    return run_suite(s, test_have_qemu_img());
}
