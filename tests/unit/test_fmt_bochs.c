/* test_fmt_bochs.c: the bochs parser against qemu-img 7.2, the samples and crafted images. */
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

/* A committed sample (images/samples/, built by images/make-samples). */
static const char *sample(const char *name)
{
    static char path[4200];
    const char *src = __FILE__; /* .../tests/unit/test_fmt_x.c */
    const char *slash = strrchr(src, '/');
    int dir = slash ? (int)(slash - src) : 0;
    snprintf(path, sizeof(path), "%.*s%s../../images/samples/%s", dir, src, slash ? "/" : "",
             name);
    return path;
}

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
    ck_assert_uint_le(len, 65536);
    uint8_t *big = calloc(1, 65536);
    memcpy(big, b, len);
    truncation_loop(big, 65536, "x.bochs", NULL, 65536);
    truncation_loop(big, 65536, "x.bochs", "bochs", 65536);
    mutation_loop(big, 65536, "x.bochs", "bochs", 600, 3000);
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
    static const struct {
        uint32_t off;
        uint64_t val;
        int width;
        const char *reason;
    } cases[] = {
        {72, 0x100001, 4, "Catalog size is too large"},
        {80, 100, 4, "Extent size must be at least 512"},
        {80, 3000, 4, "Extent size 3000 is not a power of two"},
        {80, 0x1000000, 4, "Extent size 16777216 is too large"},
        {88, 1ull << 40, 8, "Catalog size is too small for this disk size"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *c = malloc(len);
        memcpy(c, b, len);
        if (cases[i].width == 8)
            put64le(c + cases[i].off, cases[i].val);
        else
            put32le(c + cases[i].off, (uint32_t)cases[i].val);
        char name[64];
        snprintf(name, sizeof(name), "r%zu.bochs", i);
        const char *p = tmp_path(name);
        spit(p, c, len);
        refused_like_qemu(p, NULL, cases[i].reason);
        free(c);
    }
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
