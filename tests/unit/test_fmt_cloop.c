/* test_fmt_cloop.c: the cloop parser against qemu-img 7.2, the sample and crafted images. */
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
    MUT(put32be(c + 132, 0x04000000),
        "image requires too many offsets, try increasing block size");
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
    uint8_t *big = calloc(1, 65536);
    memcpy(big, b, len);
    truncation_loop(big, 65536, "x.cloop", NULL, 65536);
    truncation_loop(big, 65536, "x.cloop", "cloop", 65536);
    mutation_loop(big, 65536, "x.cloop", "cloop", 600, 3000);
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
    static const struct {
        uint32_t off;
        uint64_t val;
        int width;
        const char *reason;
    } cases[] = {
        {128, 1000, 4, "block_size 1000 must be a multiple of 512"},
        {128, 0, 4, "block_size cannot be zero"},
        {128, 128u << 20, 4, "block_size 134217728 must be 64 MB or less"},
        {132, 0x20000000, 4, "n_blocks 536870912 must be 536870911 or less"},
        {132, 0x04000000, 4, "image requires too many offsets, try increasing block size"},
        {136 + 16, 5, 8, "offsets not monotonically increasing at index 2, image file is corrupt"},
        {136 + 24, 1ull << 40, 8,
         "invalid compressed block size at index 3, image file is corrupt"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *c = malloc(len);
        memcpy(c, b, len);
        if (cases[i].width == 8)
            put64be(c + cases[i].off, cases[i].val);
        else
            put32be(c + cases[i].off, (uint32_t)cases[i].val);
        char name[64];
        snprintf(name, sizeof(name), "r%zu.cloop", i);
        const char *p = tmp_path(name);
        spit(p, c, len);
        refused_like_qemu(p, NULL, cases[i].reason);
        free(c);
    }
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
