/* test_fmt_qed.c: the qed parser against qemu-img 7.2 and on crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted images */

/* A QED header with an empty L1 table at the first cluster after the header. */
static uint8_t *qed_image(uint32_t cluster, uint32_t table, uint64_t size, size_t *len)
{
    *len = (size_t)cluster * (1 + table);
    uint8_t *b = calloc(1, *len);
    memcpy(b, "QED", 4);
    put32le(b + 4, cluster);
    put32le(b + 8, table);
    put32le(b + 12, 1);
    put64le(b + 40, cluster);
    put64le(b + 48, size);
    return b;
}

START_TEST(crafted_header)
{
    size_t len;
    uint8_t *b = qed_image(4096, 4, 1 << 30, &len);
    char *h = expect_ok(b, len, "x.qed", NULL);
    ck_assert_ptr_nonnull(strstr(h, "file format: qed\nvirtual size: 1 GiB (1073741824 bytes)\n"
                                    "disk size: 0 B\ncluster_size: 4096\nsafety: safe\n"));
    free(h);
    /* qemu 7.2 reports need-check images as clean: dirty-flag stays false */
    put64le(b + 16, 2);
    char *human, *json, *err;
    ck_assert_int_eq(run_mem(b, len, "x.qed", NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(json, "\"dirty-flag\": false"));
    ck_assert_ptr_null(strstr(human, "cleanly shut down"));
    free(human);
    free(json);
    free(b);
}
END_TEST

START_TEST(backing_file)
{
    size_t len;
    uint8_t *b = qed_image(4096, 4, 1 << 20, &len);
    put64le(b + 16, 1);
    put32le(b + 56, 64);
    put32le(b + 60, 9);
    memcpy(b + 64, "base.qcow", 9);
    char *h = expect_ok(b, len, "dir/x.qed", NULL);
    ck_assert_ptr_nonnull(strstr(h, "backing file: base.qcow (actual path: dir/base.qcow)\n"));
    ck_assert_ptr_null(strstr(h, "backing file format"));
    ck_assert(has_finding(h, "backing-file"));
    free(h);
    /* the no-probe flag is qed's way of recording a raw backing file */
    put64le(b + 16, 5);
    h = expect_ok(b, len, "x.qed", NULL);
    ck_assert_ptr_nonnull(strstr(h, "backing file: base.qcow\nbacking file format: raw\n"));
    free(h);
    /* the name ends at its first NUL */
    b[68] = 0;
    h = expect_ok(b, len, "x.qed", NULL);
    ck_assert_ptr_nonnull(strstr(h, "backing file: base\n"));
    free(h);
    /* an empty name is no backing file */
    put32le(b + 60, 0);
    h = expect_ok(b, len, "x.qed", NULL);
    ck_assert_ptr_null(strstr(h, "backing file"));
    free(h);
    /* the no-probe flag alone means nothing */
    put64le(b + 16, 4);
    h = expect_ok(b, len, "x.qed", NULL);
    ck_assert_ptr_null(strstr(h, "backing file"));
    free(h);
    free(b);
}
END_TEST

START_TEST(crafted_refusals)
{
    size_t len;
    uint8_t *b = qed_image(4096, 4, 1 << 20, &len);
    uint8_t *c = malloc(len);
#define MUT(stmt, reason)                                                                          \
    do {                                                                                           \
        memcpy(c, b, len);                                                                         \
        stmt;                                                                                      \
        expect_fail(c, len, "x.qed", "qed", reason);                                               \
    } while (0)
    MUT(c[0] = 'X', "Image not in QED format");
    MUT(put64le(c + 16, 0x18), "Unsupported QED features: 18");
    MUT(put32le(c + 4, 3000), "QED cluster size is invalid");
    MUT(put32le(c + 4, 2048), "QED cluster size is invalid");
    MUT(put32le(c + 4, 128u << 20), "QED cluster size is invalid");
    MUT(put32le(c + 8, 3), "QED table size is invalid");
    MUT(put32le(c + 8, 32), "QED table size is invalid");
    MUT(put64le(c + 48, 1000), "QED image size is invalid");
    MUT(put64le(c + 48, 1ull << 62), "QED image size is invalid");
    /* a one-cluster table always fails qemu's overflow test */
    MUT(put32le(c + 8, 1), "QED table offset is invalid");
    MUT(put64le(c + 40, 4097), "QED table offset is invalid");
    MUT(put64le(c + 40, 0), "QED table offset is invalid");
    MUT(put64le(c + 40, 8192), "QED table offset is invalid"); /* ends past the file */
    MUT(put32le(c + 12, 2), "QED table offset is invalid");    /* starts inside the header */
    MUT((put32le(c + 12, 0x100000), put64le(c + 40, 4096)), "QED table offset is invalid");
    MUT((put32le(c + 12, 0), put32le(c + 4, 65536), put64le(c + 40, 4096)),
        "QED table offset is invalid");
    MUT((put64le(c + 16, 1), put32le(c + 56, 4090), put32le(c + 60, 10)),
        "QED backing filename offset is invalid");
    MUT((put64le(c + 16, 1), put32le(c + 12, 2), put32le(c + 56, 64), put32le(c + 60, 4096)),
        "QED table offset is invalid");
#undef MUT
    free(c);
    free(b);

    /* a backing name of PATH_MAX bytes or more is refused */
    b = qed_image(65536, 2, 1 << 20, &len);
    put64le(b + 16, 1);
    put32le(b + 56, 64);
    put32le(b + 60, 4096);
    expect_fail(b, len, "x.qed", NULL, "Failed to read backing filename");
    put32le(b + 60, 4095);
    memset(b + 64, 'a', 4095);
    char *h = expect_ok(b, len, "x.qed", NULL);
    ck_assert_ptr_nonnull(strstr(h, "backing file: aaaa"));
    free(h);
    free(b);
}
END_TEST

/* A huge sparse file: the header, then zeros (for offsets beyond 4 GiB). */
static int sparse_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    const uint8_t *hdr = ctx;
    memset(buf, 0, len);
    if (off < 64)
        memcpy(buf, hdr + off, 64 - off < len ? 64 - off : len);
    return 0;
}

START_TEST(header_size_limit)
{
    uint8_t hdr[64] = "QED";
    put32le(hdr + 4, 65536);
    put32le(hdr + 8, 2);
    put32le(hdr + 12, 0x10001); /* 0x10001 clusters of 64 KiB: more than 32 bits of bytes */
    put64le(hdr + 40, 0x10001ull * 65536);
    put64le(hdr + 48, 1 << 20);
    struct fmt_io io = {hdr, sparse_read, 8ull << 30, "big.qed"};
    char *human, *json, *err;
    ck_assert_int_eq(test_info(&io, NULL, &human, &json, &err), -1);
    ck_assert_str_eq(err, "QED header size is too large");
    free(err);
    put32le(hdr + 12, 0xffff);
    put64le(hdr + 40, 0xffffull * 65536);
    ck_assert_int_eq(test_info(&io, NULL, &human, &json, &err), 0);
    free(human);
    free(json);
}
END_TEST

START_TEST(findings)
{
    size_t len;
    uint8_t *b = qed_image(4096, 4, 1 << 30, &len);
    put64le(b + 4096, 4096 * 100);   /* an L2 table past the end of the file */
    put64le(b + 4104, 4096 * 3 + 1); /* a misaligned one */
    char *h = expect_ok(b, len, "x.qed", NULL);
    ck_assert_ptr_nonnull(strstr(h, "out-of-range: 2 L1 entries point to L2 tables outside the "
                                    "file or misaligned (first: entry 0)"));
    free(h);
    free(b);
}
END_TEST

START_TEST(robustness)
{
    size_t len;
    uint8_t *b = qed_image(4096, 4, 1 << 30, &len);
    uint8_t *big = copy_64k(b, len);
    put64le(big + 16, 1);
    put32le(big + 56, 64);
    put32le(big + 60, 5);
    memcpy(big + 64, "b.img", 5);
    put64le(big + 4096, 20480);
    robustness_64k(big, "x.qed", "qed", 128);
    free(big);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_created)
{
    static const char *const opts[][2] = {
        {"", "1G"},
        {"", "3G"},
        {"", "1000000000"},
        {"-o cluster_size=4k,table_size=16", "3G"},
        {"-o cluster_size=64k,table_size=2", "100M"},
        {"-o cluster_size=128k,table_size=8", "2G"},
        {"-o cluster_size=4k,table_size=4", "64M"},
    };
    created_like_qemu("qed", "qed", opts, sizeof(opts) / sizeof(opts[0]));
    /* allocated clusters */
    const char *p = tmp_path("c6.qed");
    ck_assert_int_eq(
        test_sh("qemu-io -f qed -c 'write -P 3 0 8k' -c 'write 50M 4k' '%s' >/dev/null", p), 0);
    char *h = same_as_qemu(p, NULL);
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    /* backing files: a qed one (format not recorded) and a raw one (recorded as a flag) */
    const char *dir = test_tmpdir();
    ck_assert_int_eq(test_sh("cd '%s' && qemu-img create -q -f qed -b c0.qed -F qed bq.qed && "
                             "qemu-img create -q -f raw base.raw 64M && "
                             "qemu-img create -q -f qed -b base.raw -F raw br.qed 64M",
                             dir),
                     0);
    h = same_as_qemu(tmp_path("bq.qed"), NULL);
    ck_assert_ptr_nonnull(strstr(h, "backing-file: the image names a backing file"));
    free(h);
    h = same_as_qemu(tmp_path("br.qed"), NULL);
    ck_assert_ptr_nonnull(strstr(h, "backing file format: raw\n"));
    free(h);
    /* a table of one cluster: qemu-img creates it but cannot open it */
    p = tmp_path("t1.qed");
    ck_assert_int_eq(
        test_sh("qemu-img create -q -f qed -o cluster_size=4k,table_size=1 '%s' 10M", p), 0);
    refused_like_qemu(p, NULL, "QED table offset is invalid");
}
END_TEST

START_TEST(qemu_refusals)
{
    const char *base = tmp_path("base.qed");
    ck_assert_int_eq(test_sh("qemu-img create -q -f qed '%s' 1G", base), 0);
    size_t len;
    uint8_t *b = load(base, &len);
    static const struct field_case cases[] = {
        {16, 8, 0x18, "Unsupported QED features: 18"}, {4, 4, 3000, "QED cluster size is invalid"},
        {8, 4, 3, "QED table size is invalid"},        {48, 8, 1000, "QED image size is invalid"},
        {40, 8, 4096, "QED table offset is invalid"},  {12, 4, 2, "QED table offset is invalid"},
    };
    refusals_like_qemu(b, len, cases, sizeof(cases) / sizeof(cases[0]), FIELD_LE, "qed", NULL);
    /* backing name checks */
    put64le(b + 16, 1);
    put32le(b + 56, 65530);
    put32le(b + 60, 10);
    const char *p = tmp_path("bo.qed");
    spit(p, b, len);
    refused_like_qemu(p, NULL, "QED backing filename offset is invalid");
    put32le(b + 56, 64);
    put32le(b + 60, 4096);
    p = tmp_path("bl.qed");
    spit(p, b, len);
    refused_like_qemu(p, NULL, "Failed to read backing filename");
    /* need-check set: qemu-img still says dirty-flag false */
    put64le(b + 16, 2);
    p = tmp_path("nc.qed");
    spit(p, b, len);
    free(same_as_qemu(p, NULL));
    free(b);
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_qed");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, crafted_header);
    tcase_add_test(tc, backing_file);
    tcase_add_test(tc, crafted_refusals);
    tcase_add_test(tc, header_size_limit);
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
