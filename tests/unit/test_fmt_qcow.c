/* test_fmt_qcow.c: the qcow (version 1) parser against qemu-img, crafted headers and truncation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char *slurp_cmd(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 65536;
    char *s = calloc(1, cap);
    size_t len = fread(s, 1, cap - 1, p);
    s[len] = '\0';
    if (pclose(p) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void blank_disk_size(char *s)
{
    char *p = strstr(s, "disk size: ");
    if (!p)
        return;
    p += strlen("disk size: ");
    char *end = strchr(p, '\n');
    if (end)
        memmove(p, end, strlen(end) + 1);
}

static const char *tmp(const char *name)
{
    static char buf[4][4200];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof(buf[0]), "%s/%s", test_tmpdir(), name);
    return b;
}

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
    char cmd[8192];
    if (!test_have_qemu_img())
        return;
    ck_assert_int_eq(test_sh("cd '%s' && %s >/dev/null 2>&1", test_tmpdir(), made[_i].create), 0);
    const char *path = tmp(made[_i].name);
    snprintf(cmd, sizeof(cmd), "qemu-img info '%s' 2>/dev/null", path);
    char *want = slurp_cmd(cmd);
    ck_assert_ptr_nonnull(want);
    struct fmt_io io = file_io_open(path);
    char *human, *json, *err;
    ck_assert_int_eq(test_info(&io, NULL, &human, &json, &err), 0);
    file_io_close(&io);
    blank_disk_size(want);
    blank_disk_size(human);
    char *safety = strstr(human, "safety: ");
    ck_assert_ptr_nonnull(safety);
    ck_assert_str_eq(safety, made[_i].safe ? "safety: safe\n" : safety);
    if (!made[_i].safe)
        ck_assert_ptr_nonnull(strstr(safety, "safety: UNSAFE\n"));
    ck_assert_ptr_null(strstr(safety, "out-of-range"));
    *safety = '\0';
    ck_assert_str_eq(human, want);
    ck_assert_ptr_nonnull(strstr(json, "\"dirty-flag\": false"));
    free(want);
    free(human);
    free(json);
}
END_TEST

/* ------------------------------------------------------------ crafted images */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* What qemu-img writes for 1 GiB: 4 KiB clusters, 512-entry L2 tables, the
 * L1 table right after the 48-byte header. */
static size_t base_image(uint8_t *d)
{
    memset(d, 0, 8192);
    put32(d, 0x514649fb);
    put32(d + 4, 1);
    put64(d + 24, 1ull << 30);
    d[32] = 12;
    d[33] = 9;
    put64(d + 40, 48);
    return 48 + 512 * 8;
}

static int run(uint8_t *d, size_t len, const char *format, char **human, char **json, char **err)
{
    struct mem_image m = {d, len};
    struct fmt_io io = mem_image_io(&m, "x.qcow");
    return test_info(&io, format, human, json, err);
}

START_TEST(crafted_base)
{
    static uint8_t d[8192];
    size_t len = base_image(d);
    char *human, *json, *err;
    ck_assert_int_eq(run(d, len, NULL, &human, &json, &err), 0);
    ck_assert_str_eq(human, "image: x.qcow\nfile format: qcow\n"
                            "virtual size: 1 GiB (1073741824 bytes)\ndisk size: 0 B\n"
                            "cluster_size: 4096\nsafety: safe\n");
    free(human);
    free(json);
}
END_TEST

static const struct {
    uint32_t off, width;
    uint64_t value;
    const char *error;
} refusals[] = {
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
    uint8_t *p = d + refusals[_i].off;
    if (refusals[_i].width == 1)
        *p = (uint8_t)refusals[_i].value;
    else if (refusals[_i].width == 4)
        put32(p, (uint32_t)refusals[_i].value);
    else
        put64(p, refusals[_i].value);
    char *human, *json, *err;
    /* forced: a version other than 1 is not probed as qcow */
    ck_assert_int_eq(run(d, len, "qcow", &human, &json, &err), -1);
    ck_assert_str_eq(err, refusals[_i].error);
    free(err);
}
END_TEST

START_TEST(backing_and_findings)
{
    static uint8_t d[8192];
    size_t len = base_image(d);
    char *human, *json, *err;

    /* the name between the header and the L1 table, as qemu-img puts it */
    put64(d + 8, 48);
    put32(d + 16, 8);
    memcpy(d + 48, "base.img", 8);
    put64(d + 40, 64);
    len = 64 + 4096;
    ck_assert_int_eq(run(d, len, NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "backing file: base.img\n"));
    ck_assert_ptr_null(strstr(human, "backing file format"));
    ck_assert_ptr_nonnull(strstr(human, "    backing-file: the image names a backing file"));
    ck_assert_ptr_null(strstr(human, "out-of-range"));
    free(human);
    free(json);

    put32(d + 16, 1024);
    ck_assert_int_eq(run(d, len, NULL, &human, &json, &err), -1);
    ck_assert_str_eq(err, "Backing file name too long");
    free(err);

    len = base_image(d);
    put64(d + 40, 1ull << 40); /* L1 far past the end: zeros for qemu */
    ck_assert_int_eq(run(d, len, NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "safety: UNSAFE\n    out-of-range: the L1 table"));
    free(human);
    free(json);

    len = base_image(d);
    put64(d + 40, 0); /* L1 on top of the header */
    ck_assert_int_eq(run(d, len, NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "the L1 table (offset 0) overlaps the image header"));
    free(human);
    free(json);

    len = base_image(d);
    put32(d + 36, 1); /* AES */
    ck_assert_int_eq(run(d, len, NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "encrypted: yes\ncluster_size: 4096\n"));
    ck_assert_ptr_nonnull(strstr(json, "\"encrypted\": true"));
    free(human);
    free(json);

    len = base_image(d);
    put64(d + 24, 511); /* less than a sector: qemu counts whole sectors */
    ck_assert_int_eq(run(d, len, NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "virtual size: 0 B (0 bytes)\n"));
    free(human);
    free(json);
}
END_TEST

START_TEST(truncation_never_crashes)
{
    static uint8_t d[8192];
    size_t full = base_image(d);
    put64(d + 8, 48);
    put32(d + 16, 8);
    memcpy(d + 48, "base.img", 8);
    put64(d + 40, 512);
    full = 512 + 4096;
    for (size_t cut = 0; cut <= full; cut += 8) {
        char *human, *json, *err;
        if (run(d, cut, NULL, &human, &json, &err) == 0) {
            free(human);
            free(json);
        } else {
            ck_assert_msg(err && err[0], "cut at %zu: empty error", cut);
            free(err);
        }
    }
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
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        return 1;
    return test_have_qemu_img() ? 0 : 77;
}
