/* test_fmt_vdi.c: the vdi parser against qemu-img 7.2 and on crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define HELPER __attribute__((unused)) static

/* ------------------------------------------------------------ helpers (same in every
 * test_fmt_<misc format>.c: each test is its own program) */

HELPER char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    size_t cap = 65536, n = 0, r;
    char *buf = malloc(cap + 1);
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

HELPER void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* pupa's human output without its "safety:" block and without "disk size" (the parsers
 * alone do not measure it) */
HELPER void strip_output(char *text)
{
    char *s = strstr(text, "safety: ");
    if (s && (s == text || s[-1] == '\n'))
        *s = '\0';
    s = strstr(text, "\ndisk size: ");
    if (s) {
        char *e = strchr(s + 1, '\n');
        if (e)
            memmove(s, e, strlen(e) + 1);
        else
            s[1] = '\0';
    }
}

HELPER int run_file(const char *path, const char *format, char **human, char **json, char **err)
{
    struct fmt_io io = file_io_open(path);
    ck_assert_msg(io.ctx != NULL, "cannot open %s", path);
    int rc = test_info(&io, format, human, json, err);
    file_io_close(&io);
    return rc;
}

HELPER int run_mem(const uint8_t *data, size_t len, const char *name, const char *format,
                   char **human, char **json, char **err)
{
    struct mem_image m = {data, len};
    struct fmt_io io = mem_image_io(&m, name);
    return test_info(&io, format, human, json, err);
}

/* pupa prints what qemu-img prints for this file: human text byte for byte and JSON as
 * parsed objects (minus "safety", "actual-size" and "disk size"). Returns pupa's human
 * output with its safety block (caller frees). */
HELPER char *same_as_qemu(const char *path, const char *format)
{
    char *human, *json, *err;
    char qh[4200], qj[4200], pj[4200];
    const char *fo = format ? "-f " : "", *fn = format ? format : "";

    /* scratch files go to the test directory, never next to the image (samples!) */
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    snprintf(qh, sizeof(qh), "%s/%s.qemu-human", test_tmpdir(), base);
    snprintf(qj, sizeof(qj), "%s/%s.qemu-json", test_tmpdir(), base);
    snprintf(pj, sizeof(pj), "%s/%s.pupa-json", test_tmpdir(), base);
    ck_assert_int_eq(test_sh("qemu-img info %s%s '%s' > '%s' 2>/dev/null", fo, fn, path, qh), 0);
    ck_assert_int_eq(
        test_sh("qemu-img info --output=json %s%s '%s' > '%s' 2>/dev/null", fo, fn, path, qj), 0);
    int rc = run_file(path, format, &human, &json, &err);
    ck_assert_msg(rc == 0, "%s: pupa failed: %s", path, err);
    char *q = slurp(qh, NULL);
    char *mine = strdup(human);
    strip_output(q);
    strip_output(mine);
    ck_assert_str_eq(mine, q);
    free(q);
    free(mine);
    spit(pj, json, strlen(json));
    int same = test_sh("/usr/bin/python3 -c 'import json,sys\n"
                       "q=json.load(open(sys.argv[1])); t=json.load(open(sys.argv[2]))\n"
                       "t.pop(\"safety\"); q.pop(\"actual-size\",0); t.pop(\"actual-size\",0)\n"
                       "sys.exit(0 if q==t else 1)' '%s' '%s'",
                       qj, pj);
    ck_assert_msg(same == 0, "%s: JSON differs from qemu-img's", path);
    free(json);
    return human;
}

/* qemu-img refuses the file with this reason, and so does pupa. */
HELPER void refused_like_qemu(const char *path, const char *format, const char *reason)
{
    char *human, *json, *err;
    char qe[4200], want[4600];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    snprintf(qe, sizeof(qe), "%s/%s.qemu-err", test_tmpdir(), base);
    ck_assert_int_ne(test_sh("qemu-img info %s%s '%s' 2> '%s' >/dev/null", format ? "-f " : "",
                             format ? format : "", path, qe),
                     0);
    char *q = slurp(qe, NULL);
    snprintf(want, sizeof(want), "qemu-img: Could not open '%s': %s\n", path, reason);
    ck_assert_msg(strstr(q, want) != NULL, "qemu-img said: %s (expected %s)", q, want);
    free(q);
    ck_assert_int_eq(run_file(path, format, &human, &json, &err), -1);
    ck_assert_str_eq(err, reason);
    free(err);
}

HELPER void expect_fail(const uint8_t *data, size_t len, const char *name, const char *format,
                        const char *reason)
{
    char *human, *json, *err;
    int rc = run_mem(data, len, name, format, &human, &json, &err);
    ck_assert_msg(rc == -1, "expected '%s' but the image opened", reason);
    ck_assert_str_eq(err, reason);
    free(err);
}

/* Succeeds; returns the human output (caller frees). */
HELPER char *expect_ok(const uint8_t *data, size_t len, const char *name, const char *format)
{
    char *human, *json, *err;
    int rc = run_mem(data, len, name, format, &human, &json, &err);
    ck_assert_msg(rc == 0, "%s failed: %s", name, err);
    free(json);
    return human;
}

HELPER bool has_finding(const char *human, const char *check)
{
    char pat[128];
    snprintf(pat, sizeof(pat), "\n    %s: ", check);
    return strstr(human, pat) != NULL;
}

/* Never crash: every 512-byte cut of the first `upto` bytes opens or fails with a reason. */
HELPER void truncation_loop(const uint8_t *data, size_t len, const char *name,
                            const char *format, size_t upto)
{
    for (size_t cut = 0; cut <= upto && cut <= len; cut += 512) {
        char *human = NULL, *json = NULL, *err = NULL;
        if (run_mem(data, cut, name, format, &human, &json, &err) == 0) {
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
HELPER void mutation_loop(const uint8_t *data, size_t len, const char *name, const char *format,
                          size_t area, int rounds)
{
    uint8_t *copy = malloc(len);
    uint32_t x = 2024;
    for (int r = 0; r < rounds; r++) {
        memcpy(copy, data, len);
        for (int k = 0; k < 1 + r % 8; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % (area < len ? area : len);
            x = x * 1103515245u + 12345u;
            copy[at] = (uint8_t)(x >> 16);
        }
        char *human = NULL, *json = NULL, *err = NULL;
        if (run_mem(copy, len, name, format, &human, &json, &err) == 0) {
            free(human);
            free(json);
        } else {
            ck_assert_ptr_nonnull(err);
            free(err);
        }
    }
    free(copy);
}

HELPER void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

HELPER void put64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

HELPER void put32be(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

HELPER void put64be(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* A file in the scratch directory. */
HELPER const char *tmp_path(const char *name)
{
    static char path[4][4200];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 4200, "%s/%s", test_tmpdir(), name);
    return p;
}

HELPER uint8_t *load(const char *path, size_t *len)
{
    return (uint8_t *)slurp(path, len);
}

HELPER int run_suite(Suite *s, bool have_qemu)
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
    uint8_t *big = calloc(1, 65536);
    memcpy(big, b, len);
    put32le(big + 512, 0); /* one allocated block */
    truncation_loop(big, 65536, "x.vdi", NULL, 65536);
    truncation_loop(big, 65536, "x.vdi", "vdi", 65536);
    mutation_loop(big, 65536, "x.vdi", "vdi", 1024, 3000);
    free(big);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_created)
{
    static const char *const opts[][2] = {
        {"", "1M"}, {"", "100M"}, {"", "3G"}, {"-o static=on", "5M"},
        {"-o static=on", "1536K"}, {"", "0"}, {"", "1000"},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "c%zu.vdi", i);
        const char *p = tmp_path(name);
        ck_assert_int_eq(test_sh("qemu-img create -q -f vdi %s '%s' %s", opts[i][0], p, opts[i][1]),
                         0);
        char *h = same_as_qemu(p, NULL);
        ck_assert_msg(strstr(h, "safety: safe\n") != NULL, "%s: %s", p, h);
        free(h);
        free(same_as_qemu(p, "vdi"));
    }
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
    static const struct {
        uint32_t off;
        uint64_t val;
        int width;
        const char *reason;
    } cases[] = {
        {0x170, 1ull << 60, 8,
         "Unsupported VDI image size (size is 0x1000000000000000, max supported is "
         "0x1fffff8000000)"},
        {0x44, 0x00020003, 4, "unsupported VDI image (version 2.3)"},
        {0x154, 0x201, 4, "unsupported VDI image (unaligned block map offset 0x201)"},
        {0x158, 0x401, 4, "unsupported VDI image (unaligned data offset 0x401)"},
        {0x168, 4096, 4, "unsupported VDI image (sector size 4096 is not 512)"},
        {0x178, 2097152, 4, "unsupported VDI image (block size 2097152 is not 1048576)"},
        {0x180, 99, 4,
         "unsupported VDI image (disk size 104857600, image bitmap has room for 103809024)"},
        {0x1a8, 1, 4, "unsupported VDI image (non-NULL link UUID)"},
        {0x1b8, 1, 4, "unsupported VDI image (non-NULL parent UUID)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *c = malloc(len);
        memcpy(c, b, len);
        if (cases[i].width == 8)
            put64le(c + cases[i].off, cases[i].val);
        else
            put32le(c + cases[i].off, (uint32_t)cases[i].val);
        char name[64];
        snprintf(name, sizeof(name), "r%zu.vdi", i);
        const char *p = tmp_path(name);
        spit(p, c, len);
        refused_like_qemu(p, NULL, cases[i].reason);
        free(c);
    }
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
