/* test_fmt_dmg.c: the dmg parser against qemu-img 7.2, the samples and crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted images */

#define UDZE 0u
#define UDRW 1u
#define UDIG 2u
#define UDZO 0x80000005u
#define UDBZ 0x80000006u
#define UDCM 0x7ffffffeu
#define UDLE 0xffffffffu

struct chunk {
    uint32_t type;
    uint64_t sector, count, offset, length;
};

/* A mish (blkx) block: 204-byte header and 40-byte chunk entries. */
static size_t mish(uint8_t *m, const struct chunk *c, size_t n)
{
    memset(m, 0, 204 + 40 * n);
    put32be(m, 0x6d697368);
    put32be(m + 4, 1);
    put32be(m + 200, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = m + 204 + 40 * i;
        put32be(e, c[i].type);
        put64be(e + 8, c[i].sector);
        put64be(e + 16, c[i].count);
        put64be(e + 24, c[i].offset);
        put64be(e + 32, c[i].length);
    }
    return 204 + 40 * n;
}

static void koly(uint8_t *k, uint64_t xml_off, uint64_t xml_len, uint64_t rsrc_off,
                 uint64_t rsrc_len, uint64_t sectors)
{
    memset(k, 0, 512);
    memcpy(k, "koly", 4);
    put32be(k + 4, 4);
    put32be(k + 8, 512);
    put64be(k + 0x28, rsrc_off);
    put64be(k + 0x30, rsrc_len);
    put64be(k + 0xd8, xml_off);
    put64be(k + 0xe0, xml_len);
    put64be(k + 0x1ec, sectors);
}

static void b64(const uint8_t *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

/* 1 KiB of data fork, an XML plist (`body` with the base64 mish in place of its "%s"),
 * the koly trailer. */
static uint8_t *dmg_xml(const struct chunk *c, size_t n, const char *body, uint64_t sectors,
                        size_t *len)
{
    static uint8_t m[8192];
    static char text[16384], xml[20000];
    size_t ml = mish(m, c, n);
    b64(m, ml, text);
    const char *at = strstr(body, "%s");
    ck_assert_ptr_nonnull(at);
    size_t xl = (size_t)(at - body);
    memcpy(xml, body, xl);
    memcpy(xml + xl, text, strlen(text));
    xl += strlen(text);
    memcpy(xml + xl, at + 2, strlen(at + 2));
    xl += strlen(at + 2);
    *len = 1024 + xl + 512;
    uint8_t *b = calloc(1, *len);
    memcpy(b + 1024, xml, xl);
    koly(b + 1024 + xl, 1024, xl, 0, 0, sectors);
    return b;
}

#define PLIST                                                                                      \
    "<plist><dict><key>blkx</key><array><dict><key>Data</key><data>\n%s\n"                         \
    "</data></dict></array></dict></plist>\n"

static const struct chunk basic[] = {
    {UDZO, 0, 8, 0, 100},
    {UDZE, 8, 2040, 0, 0},
    {UDRW, 2048, 2, 100, 1024 - 100},
    {UDLE, 2050, 0, 0, 0},
};

START_TEST(crafted_xml)
{
    size_t len;
    uint8_t *b = dmg_xml(basic, 4, PLIST, 2050, &len);
    char *h = expect_ok(b, len, "x.dmg", NULL);
    ck_assert_str_eq(h, "image: x.dmg\nfile format: dmg\nvirtual size: 1 MiB (1049600 bytes)\n"
                        "disk size: 0 B\nsafety: safe\n");
    free(h);
    char *human, *json, *err;
    ck_assert_int_eq(run_mem(b, len, "x.dmg", NULL, &human, &json, &err), 0);
    ck_assert_ptr_null(strstr(json, "dirty-flag"));
    free(human);
    free(json);
    /* only the name makes it dmg; forced, any name works */
    h = expect_ok(b, len, "x.img", NULL);
    ck_assert_ptr_nonnull(strstr(h, "file format: raw\n"));
    free(h);
    h = expect_ok(b, len, ".dmg", NULL);
    ck_assert_ptr_nonnull(strstr(h, "file format: raw\n"));
    free(h);
    h = expect_ok(b, len, "x.DMG", NULL);
    ck_assert_ptr_nonnull(strstr(h, "file format: raw\n"));
    free(h);
    free(expect_ok(b, len, "x.img", "dmg"));
    free(b);
}
END_TEST

START_TEST(crafted_resource_fork)
{
    uint8_t m[1024];
    size_t ml = mish(m, basic, 4);
    size_t fork = 16 + 4 + ml, len = 1024 + fork + 512;
    uint8_t *b = calloc(1, len);
    put32be(b + 1024, 16);
    put32be(b + 1024 + 8, (uint32_t)(4 + ml));
    put32be(b + 1024 + 16, (uint32_t)ml);
    memcpy(b + 1024 + 20, m, ml);
    koly(b + 1024 + fork, 0, 0, 1024, fork, 2050);
    free(expect_ok(b, len, "x.dmg", NULL));
    uint8_t *c = malloc(len);
    const char *einval = "Could not open 'x.dmg': Invalid argument";
#define MUT(stmt)                                                                                  \
    do {                                                                                           \
        memcpy(c, b, len);                                                                         \
        stmt;                                                                                      \
        expect_fail(c, len, "x.dmg", NULL, einval);                                                \
    } while (0)
    MUT(put32be(c + 1024, (uint32_t)fork + 1));        /* data offset beyond the fork */
    MUT(put32be(c + 1024 + 8, 0));                     /* empty data */
    MUT(put32be(c + 1024 + 8, (uint32_t)fork));        /* data runs past the fork */
    MUT(put32be(c + 1024, 0xfffffff0));                /* wraps in 32 bits, still refused */
    MUT(put32be(c + 1024 + 16, 0));                    /* a zero-length resource */
    MUT(put32be(c + 1024 + 16, 100000));               /* a resource past the data */
    MUT(put64be(c + 1024 + fork + 0x28, 1024 + fork)); /* fork starts at the trailer */
    MUT(put64be(c + 1024 + fork + 0x30, 0));           /* neither fork nor plist */
#undef MUT
    free(c);
    free(b);
}
END_TEST

START_TEST(crafted_refusals)
{
    const char *einval = "Could not open 'x.dmg': Invalid argument";
    size_t len;
    uint8_t *b = dmg_xml(basic, 4, PLIST, 2050, &len);
    size_t k = len - 512;
    uint8_t *c = malloc(len + 3);
#define MUT(stmt, reason)                                                                          \
    do {                                                                                           \
        memcpy(c, b, len);                                                                         \
        stmt;                                                                                      \
        expect_fail(c, len, "x.dmg", NULL, reason);                                                \
    } while (0)
    MUT(c[k] = 'X', "Could not locate UDIF trailer in dmg file");
    MUT(put64be(c + k + 0x18, k + 1), einval);
    MUT(put64be(c + k + 0xd8, k), einval);
    MUT(put64be(c + k + 0xe0, k), einval);
    MUT(put64be(c + k + 0xe0, 0), einval);
    MUT(put64be(c + k + 0x1ec, 1ull << 63), einval);
    MUT(put64be(c + k + 0x1ec, (1ull << 54) - 1),
        "Could not refresh total sector count: File too large");
    MUT(put64be(c + k + 0x1ec, 1ull << 60), "Can't get image size 'x.dmg': File too large");
#undef MUT
    expect_fail(b, 500, "x.dmg", "dmg", "Could not locate UDIF trailer in dmg file");
    expect_fail(b, 0, "x.dmg", "dmg", "dmg file must be at least 512 bytes long");
    /* odd file sizes: the trailer is searched in the last 515 bytes of the rounded size */
    memcpy(c, b, len);
    memset(c + len, 0, 3);
    free(expect_ok(c, len + 3, "x.dmg", NULL));
    free(c);
    free(b);

    /* the chunk tables */
    struct chunk big[] = {{UDZO, 0, 131073, 0, 10}, {UDLE, 0, 0, 0, 0}};
    b = dmg_xml(big, 2, PLIST, 100, &len);
    expect_fail(b, len, "x.dmg", NULL, einval);
    free(b);
    big[0].count = 131072;
    b = dmg_xml(big, 2, PLIST, 100, &len);
    free(expect_ok(b, len, "x.dmg", NULL));
    free(b);
    big[0].type = UDZE; /* zeros may be unbounded */
    big[0].count = 1ull << 40;
    b = dmg_xml(big, 2, PLIST, 100, &len);
    free(expect_ok(b, len, "x.dmg", NULL));
    free(b);
    big[0].length = (64 << 20) + 1; /* but not longer than 64 MiB */
    b = dmg_xml(big, 2, PLIST, 100, &len);
    expect_fail(b, len, "x.dmg", NULL, einval);
    free(b);
    /* unknown types (and bzip2/lzfse without their modules) are dropped unchecked */
    struct chunk unk[] = {{0x80000004, 0, 1ull << 40, 0, 1ull << 40},
                          {UDBZ, 0, 1ull << 40, 0, 1ull << 40},
                          {UDCM, 0, 1ull << 40, 0, 1ull << 40},
                          {UDLE, 0, 0, 0, 0}};
    b = dmg_xml(unk, 4, PLIST, 100, &len);
    free(expect_ok(b, len, "x.dmg", NULL));
    free(b);
}
END_TEST

START_TEST(crafted_plist_text)
{
    const char *einval = "Could not open 'x.dmg': Invalid argument";
    size_t len;
    uint8_t *b;
    /* an unclosed <data> is refused; text after a NUL is never seen */
    b = dmg_xml(basic, 4, "<data>%s</dat>", 2050, &len);
    expect_fail(b, len, "x.dmg", NULL, einval);
    free(b);
    b = dmg_xml(basic, 4, "<data>%s\n</data><data>AAAA", 2050, &len);
    expect_fail(b, len, "x.dmg", NULL, einval);
    free(b);
    /* junk inside <data> is skipped by the base64 decoder; short blocks are ignored */
    b = dmg_xml(basic, 4, "<data>!!%s@@</data><data>AAAA</data><data>=</data><data></data>", 2050,
                &len);
    free(expect_ok(b, len, "x.dmg", NULL));
    free(b);
    /* a bad chunk after a NUL is invisible */
    struct chunk bad[] = {{UDZO, 0, 131073, 0, 10}, {UDLE, 0, 0, 0, 0}};
    b = dmg_xml(bad, 2, "<data>%s</data>", 100, &len);
    size_t xl = len - 1024 - 512;
    uint8_t *c = calloc(1, len + 1);
    memcpy(c, b, 1024);
    c[1024] = 0; /* a NUL, then the plist */
    memcpy(c + 1025, b + 1024, xl);
    koly(c + 1025 + xl, 1024, xl + 1, 0, 0, 100);
    free(expect_ok(c, len + 1, "x.dmg", NULL));
    free(c);
    free(b);
}
END_TEST

START_TEST(findings)
{
    struct chunk far[] = {{UDRW, 0, 8, 100000, 4096}, {UDLE, 8, 0, 0, 0}};
    size_t len;
    uint8_t *b = dmg_xml(far, 2, PLIST, 8, &len);
    char *h = expect_ok(b, len, "x.dmg", NULL);
    ck_assert_ptr_nonnull(strstr(h, "out-of-range: 1 chunks lie past the end of the file "
                                    "(first at offset 100000)"));
    free(h);
    free(b);
}
END_TEST

START_TEST(robustness)
{
    size_t len;
    uint8_t *b = dmg_xml(basic, 4, PLIST, 2050, &len);
    truncation_loop(b, len, "x.dmg", "dmg", len, 512);
    mutation_loop(b, len, "x.dmg", "dmg", len, 4000, 2024);
    free(b);
    size_t slen;
    uint8_t *s = load(sample("dmg-rsrc.dmg"), &slen);
    truncation_loop(s, slen, "x.dmg", "dmg", slen, 512);
    mutation_loop(s, slen, "x.dmg", "dmg", slen, 4000, 2024);
    free(s);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_samples)
{
    free(same_as_qemu(sample("dmg-udzo.dmg"), NULL));
    free(same_as_qemu(sample("dmg-rsrc.dmg"), NULL));
    free(same_as_qemu(sample("dmg-rsrc.dmg"), "dmg"));
    size_t len;
    uint8_t *b =
        dmg_xml(basic, 4, "<data>!!%s@@</data><data>AAAA</data><data>=</data>", 2050, &len);
    const char *p = tmp_path("junk.dmg");
    spit(p, b, len);
    free(same_as_qemu(p, NULL));
    free(b);
    struct chunk far[] = {{UDRW, 0, 8, 100000, 4096}, {UDLE, 8, 0, 0, 0}};
    b = dmg_xml(far, 2, PLIST, 8, &len);
    p = tmp_path("far.dmg");
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
    uint8_t *b = dmg_xml(basic, 4, PLIST, 2050, &len);
    size_t k = len - 512;
    const char *einval = "Could not open '%s': Invalid argument"; /* %s: the file's path */
    const struct field_case cases[] = {
        {k + 0x18, 8, k + 1, einval},
        {k + 0xe0, 8, 0, einval},
        {k + 0x1ec, 8, 1ull << 63, einval},
        {k + 0x1ec, 8, (1ull << 54) - 1, "Could not refresh total sector count: File too large"},
    };
    refusals_like_qemu(b, len, cases, sizeof(cases) / sizeof(cases[0]), FIELD_BE, "dmg", NULL);
    b[k] = 'X';
    const char *p = tmp_path("nokoly.dmg");
    spit(p, b, len);
    refused_like_qemu(p, NULL, "Could not locate UDIF trailer in dmg file");
    free(b);
    struct chunk big[] = {{UDZO, 0, 131073, 0, 10}, {UDLE, 0, 0, 0, 0}};
    b = dmg_xml(big, 2, PLIST, 100, &len);
    p = tmp_path("big.dmg");
    spit(p, b, len);
    char reason[200];
    snprintf(reason, sizeof(reason), "Could not open '%s': Invalid argument", p);
    refused_like_qemu(p, NULL, reason);
    free(b);
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_dmg");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, crafted_xml);
    tcase_add_test(tc, crafted_resource_fork);
    tcase_add_test(tc, crafted_refusals);
    tcase_add_test(tc, crafted_plist_text);
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
