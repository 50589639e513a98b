/* fmt_testlib.c: helpers of the per-format Check tests (test_fmt_<format>.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_testlib.h"
#include "fmt_testlib.h"
#include "guest/lib/sha256.h"

/* ------------------------------------------------------------ files */

char *slurp(const char *path, size_t *len)
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

uint8_t *load(const char *path, size_t *len)
{
    return (uint8_t *)slurp(path, len);
}

void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

const char *tmp_path(const char *name)
{
    static char path[4][4200];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 4200, "%s/%s", test_tmpdir(), name);
    return p;
}

const char *sample(const char *name)
{
    static char path[4200];
    const char *src = __FILE__; /* .../tests/unit/fmt_testlib.c */
    const char *slash = strrchr(src, '/');
    int dir = slash ? (int)(slash - src) : 0;
    snprintf(path, sizeof(path), "%.*s%s../../images/samples/%s", dir, src, slash ? "/" : "", name);
    return path;
}

/* ------------------------------------------------------------ byte layout */

void put16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void put64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void put32be(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

void put64be(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

void put_field(uint8_t *image, const struct field_case *c, enum byte_order order)
{
    ck_assert_msg(c->width == 1 || c->width == 2 || c->width == 4 || c->width == 8,
                  "field width %d", c->width);
    for (int i = 0; i < c->width; i++) {
        int shift = 8 * (order == FIELD_BE ? c->width - 1 - i : i);
        image[c->offset + (size_t)i] = (uint8_t)(c->value >> shift);
    }
}

/* ------------------------------------------------------------ running the parsers */

int run_file(const char *path, const char *format, char **human, char **json, char **err)
{
    struct fmt_io io = file_io_open(path);
    ck_assert_msg(io.ctx != NULL, "cannot open %s", path);
    int rc = test_info(&io, format, human, json, err);
    file_io_close(&io);
    return rc;
}

int run_mem(const uint8_t *data, size_t len, const char *name, const char *format, char **human,
            char **json, char **err)
{
    struct mem_image m = {data, len};
    struct fmt_io io = mem_image_io(&m, name);
    return test_info(&io, format, human, json, err);
}

char *expect_ok(const uint8_t *data, size_t len, const char *name, const char *format)
{
    char *human, *json, *err;
    int rc = run_mem(data, len, name, format, &human, &json, &err);
    ck_assert_msg(rc == 0, "%s failed: %s", name, err);
    free(json);
    return human;
}

void expect_fail(const uint8_t *data, size_t len, const char *name, const char *format,
                 const char *reason)
{
    char *human, *json, *err;
    int rc = run_mem(data, len, name, format, &human, &json, &err);
    ck_assert_msg(rc == -1, "expected '%s' but the image opened:\n%s", reason, rc ? "" : human);
    ck_assert_str_eq(err, reason);
    free(err);
}

char *without_safety(char *human)
{
    char *s = strstr(human, "safety: ");
    if (s && (s == human || s[-1] == '\n'))
        *s = '\0';
    return human;
}

/* Drops the "disk size" line (the VMM measures it; the parsers alone leave it 0). */
static void drop_disk_size(char *text)
{
    char *s = strstr(text, "\ndisk size: ");
    if (s) {
        char *e = strchr(s + 1, '\n');
        if (e)
            memmove(s, e, strlen(e) + 1);
        else
            s[1] = '\0';
    }
}

bool has_finding(const char *human, const char *check)
{
    char pat[128];
    snprintf(pat, sizeof(pat), "\n    %s: ", check);
    return strstr(human, pat) != NULL;
}

void truncation_loop(const uint8_t *data, size_t len, const char *name, const char *format,
                     size_t upto, size_t step)
{
    for (size_t cut = 0; cut <= upto && cut <= len; cut += step) {
        char *human = NULL, *json = NULL, *err = NULL;
        if (run_mem(data, cut, name, format, &human, &json, &err) == 0) {
            ck_assert_ptr_nonnull(human);
            free(human);
            free(json);
        } else {
            ck_assert_msg(err && err[0], "cut at %zu: empty error", cut);
            free(err);
        }
    }
}

void mutation_loop(const uint8_t *data, size_t len, const char *name, const char *format,
                   size_t area, int rounds, uint32_t seed)
{
    uint8_t *copy = malloc(len);
    uint32_t x = seed;
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

/* ------------------------------------------------------------ against qemu-img */

/* Scratch files go to the test directory, never next to the image (samples!). */
static void scratch(char *out, size_t cap, const char *path, const char *suffix)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    snprintf(out, cap, "%s/%s.%s", test_tmpdir(), base, suffix);
}

static char *compare_with_qemu(const char *path, const char *format, bool human_too,
                               const char *drop_py)
{
    char *human, *json, *err;
    char qh[4200], qj[4200], pj[4200];
    const char *fo = format ? "-f " : "", *fn = format ? format : "";

    scratch(qh, sizeof(qh), path, "qemu-human");
    scratch(qj, sizeof(qj), path, "qemu-json");
    scratch(pj, sizeof(pj), path, "pupa-json");
    /* stderr: qemu-img nags about block modules it lacks (dmg) even when it succeeds */
    ck_assert_int_eq(test_sh("qemu-img info %s%s '%s' > '%s' 2>/dev/null", fo, fn, path, qh), 0);
    ck_assert_int_eq(
        test_sh("qemu-img info --output=json %s%s '%s' > '%s' 2>/dev/null", fo, fn, path, qj), 0);
    int rc = run_file(path, format, &human, &json, &err);
    ck_assert_msg(rc == 0, "%s: pupa failed: %s", path, err);
    if (human_too) {
        char *q = slurp(qh, NULL);
        char *mine = strdup(human);
        drop_disk_size(q);
        drop_disk_size(mine);
        ck_assert_str_eq(without_safety(mine), q);
        free(q);
        free(mine);
    }
    spit(pj, json, strlen(json));
    int same = test_sh("/usr/bin/python3 -c 'import json,sys\n"
                       "q=json.load(open(sys.argv[1])); t=json.load(open(sys.argv[2]))\n"
                       "t.pop(\"safety\"); q.pop(\"actual-size\"); t.pop(\"actual-size\")\n"
                       "%s\nsys.exit(0 if q==t else 1)' '%s' '%s'",
                       drop_py ? drop_py : "", qj, pj);
    ck_assert_msg(same == 0, "%s: JSON differs from qemu-img's", path);
    free(json);
    return human;
}

char *same_as_qemu(const char *path, const char *format)
{
    return compare_with_qemu(path, format, true, NULL);
}

char *same_json_as_qemu(const char *path, const char *format, const char *drop_py)
{
    return compare_with_qemu(path, format, false, drop_py);
}

void refused_like_qemu(const char *path, const char *format, const char *reason)
{
    char *human, *json, *err;
    char qe[4200], want[4600];
    scratch(qe, sizeof(qe), path, "qemu-err");
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

void refusals_like_qemu(const uint8_t *image, size_t len, const struct field_case *cases,
                        size_t ncases, enum byte_order order, const char *ext, const char *format)
{
    uint8_t *c = malloc(len);
    for (size_t i = 0; i < ncases; i++) {
        ck_assert_uint_le(cases[i].offset + (size_t)cases[i].width, len);
        memcpy(c, image, len);
        put_field(c, &cases[i], order);
        char name[64], reason[4600];
        snprintf(name, sizeof(name), "r%zu.%s", i, ext);
        const char *p = tmp_path(name);
        spit(p, c, len);
        const char *at = strstr(cases[i].reason, "%s"); /* the path, spliced in */
        if (at)
            snprintf(reason, sizeof(reason), "%.*s%s%s", (int)(at - cases[i].reason),
                     cases[i].reason, p, at + 2);
        else
            snprintf(reason, sizeof(reason), "%s", cases[i].reason);
        refused_like_qemu(p, format, reason);
    }
    free(c);
}

int run_suite(Suite *s, bool have_qemu)
{
    return test_run_suite_or_skip(
        s, have_qemu ? NULL : "qemu-img not installed; only the crafted-image tests ran");
}

uint8_t *copy_64k(const uint8_t *image, size_t len)
{
    ck_assert_uint_le(len, 65536);
    uint8_t *big = calloc(1, 65536);
    ck_assert_ptr_nonnull(big);
    memcpy(big, image, len);
    return big;
}

void robustness_64k(const uint8_t *image, const char *name, const char *format, size_t area)
{
    truncation_loop(image, 65536, name, NULL, 65536, 512);
    truncation_loop(image, 65536, name, format, 65536, 512);
    mutation_loop(image, 65536, name, format, area, 3000, 2024);
}

void created_like_qemu(const char *format, const char *ext, const char *const (*opts)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof(name), "c%zu.%s", i, ext);
        const char *p = tmp_path(name);
        ck_assert_int_eq(
            test_sh("qemu-img create -q -f %s %s '%s' %s", format, opts[i][0], p, opts[i][1]), 0);
        char *h = same_as_qemu(p, NULL);
        ck_assert_msg(strstr(h, "safety: safe\n") != NULL, "%s: %s", p, h);
        free(h);
        free(same_as_qemu(p, format));
    }
}

/* ------------------------------------------------------------ block layer against qemu-img */

static void sha256_hex(const uint8_t *data, size_t len, char hex[65])
{
    struct sha256 s;
    uint8_t d[32];
    sha256_init(&s, false);
    sha256_update(&s, data, len);
    sha256_final(&s, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

char *blk_same_as_qemu(const char *path, const char *const *backing, size_t nbacking)
{
    const char *paths[BLK_TEST_MAX_LAYERS];
    static struct blk_test_chain c;
    char qo[4200], raw[4200];
    char *json = NULL;
    ck_assert_uint_lt(nbacking, BLK_TEST_MAX_LAYERS);
    paths[0] = path;
    for (size_t i = 0; i < nbacking; i++)
        paths[i + 1] = backing[i];
    scratch(qo, sizeof(qo), path, "qemu-map");
    scratch(raw, sizeof(raw), path, "qemu-raw");
    bool opened = blk_test_open(&c, paths, nbacking + 1, NULL) == 0;
    for (int j = 0; j < 2; j++) {
        int qrc = test_sh("qemu-img map --output=%s '%s' > '%s' 2>/dev/null", j ? "json" : "human",
                          path, qo);
        char *q = slurp(qo, NULL);
        int rc = 1;
        char *err = NULL, *out = opened ? blk_test_map(&c, j, 0, UINT64_MAX, &rc, &err) : NULL;
        ck_assert_msg(qrc == rc, "%s: qemu-img map exits %d, pupa %d (%s)", path, qrc, rc,
                      err      ? err
                      : opened ? ""
                               : c.error);
        ck_assert_msg(strcmp(q, out ? out : "") == 0, "%s map:\nqemu-img:\n%s\npupa:\n%s", path, q,
                      out ? out : "");
        free(q);
        free(err);
        if (j)
            json = out;
        else
            free(out);
    }
    int qrc = test_sh("qemu-img convert -O raw '%s' '%s' 2>/dev/null", path, raw);
    char hex[65];
    int rc = opened ? blk_test_sha256(&c, 1u << 20, hex) : -1;
    if (qrc != 0) {
        ck_assert_msg(rc != 0, "%s: qemu-img convert fails, pupa reads the disk", path);
    } else {
        size_t len;
        uint8_t *bytes = load(raw, &len);
        char want[65];
        sha256_hex(bytes, len, want);
        free(bytes);
        ck_assert_msg(rc == 0, "%s: qemu-img convert reads the disk, pupa fails: %s", path,
                      c.error);
        ck_assert_msg(strcmp(hex, want) == 0, "%s: sha256 %s, qemu-img's %s", path, hex, want);
    }
    unlink(raw);
    blk_test_close(&c);
    return json ? json : strdup("");
}
