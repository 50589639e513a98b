/* test_fmt_parallels.c: the parallels parser against qemu-img 7.2 and crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted images */

/* A parallels image as qemu-img writes it: header, zeroed catalog up to the first cluster. */
static uint8_t *prl_image(const char *magic, uint32_t tracks, uint64_t size, size_t *len)
{
    uint64_t cluster = (uint64_t)tracks * 512;
    uint32_t entries = (uint32_t)((size + cluster - 1) / cluster);
    uint64_t bat_end = 64 + 4ull * entries;
    uint64_t data_sectors = (bat_end + cluster - 1) / cluster * tracks;
    *len = data_sectors * 512;
    uint8_t *b = calloc(1, *len);
    memcpy(b, magic, 16);
    put32le(b + 16, 2);
    put32le(b + 20, 16);
    put32le(b + 24, (uint32_t)(size / 512 / 16 / 32));
    put32le(b + 28, tracks);
    put32le(b + 32, entries);
    put64le(b + 36, size / 512);
    put32le(b + 48, (uint32_t)data_sectors);
    return b;
}

START_TEST(crafted_header)
{
    size_t len;
    uint8_t *b = prl_image("WithouFreSpacExt", 8, 100 << 20, &len);
    char *h = expect_ok(b, len, "x.hdd", NULL);
    ck_assert_str_eq(h, "image: x.hdd\nfile format: parallels\n"
                        "virtual size: 100 MiB (104857600 bytes)\ndisk size: 0 B\nsafety: safe\n");
    free(h);
    char *human, *json, *err;
    ck_assert_int_eq(run_mem(b, len, "x.hdd", NULL, &human, &json, &err), 0);
    ck_assert_ptr_null(strstr(json, "dirty-flag"));
    ck_assert_ptr_null(strstr(json, "cluster-size"));
    free(human);
    free(json);
    /* the old magic keeps a 32-bit sector count and 1-sector catalog units */
    memcpy(b, "WithoutFreeSpace", 16);
    put64le(b + 36, 0x100000400ull);
    h = expect_ok(b, len, "x.hdd", NULL);
    ck_assert_ptr_nonnull(strstr(h, "virtual size: 512 KiB (524288 bytes)\n"));
    free(h);
    /* read-only opens accept images that were not closed cleanly */
    memcpy(b, "WithouFreSpacExt", 16);
    put64le(b + 36, 204800);
    put32le(b + 44, 0x746F6E59);
    h = expect_ok(b, len, "x.hdd", NULL);
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    free(b);
}
END_TEST

START_TEST(crafted_refusals)
{
    size_t len;
    uint8_t *b = prl_image("WithouFreSpacExt", 8, 100 << 20, &len);
    uint8_t *c = malloc(len);
#define MUT(stmt, reason)                                                                          \
    do {                                                                                           \
        memcpy(c, b, len);                                                                         \
        stmt;                                                                                      \
        expect_fail(c, len, "x.hdd", "parallels", reason);                                         \
    } while (0)
    MUT(c[0] = 'X', "Image not in Parallels format");
    MUT(put32le(c + 16, 3), "Image not in Parallels format");
    MUT(put32le(c + 28, 0), "Invalid image: Zero sectors per track");
    MUT(put32le(c + 28, 0x7fffffff / 513 + 1), "Invalid image: Too big cluster");
    MUT(put32le(c + 32, 0x20000000), "Catalog too large");
    /* header + catalog in one read beyond qemu's request limit */
    MUT(put32le(c + 32, 0x1fffff71), "Could not open 'x.hdd': Input/output error");
    MUT(put64le(c + 36, (1ull << 54) - 1), "Could not refresh total sector count: File too large");
    MUT(put64le(c + 36, 1ull << 63), "Can't get image size 'x.hdd'");
    MUT(put64le(c + 36, 1ull << 60), "Can't get image size 'x.hdd': File too large");
    MUT(put64le(c + 56, 1), "Wrong parallels Format Extension magic: 0x0, expected: "
                            "0xab234cef23dcea87");
    MUT(put64le(c + 56, 1ull << 55), "parallels: Format Extension offset overflows (qemu-img "
                                     "7.2 aborts on this image)");
    MUT(put64le(c + 56, 1ull << 53), "Wrong parallels Format Extension magic: 0x0, expected: "
                                     "0xab234cef23dcea87");
    /* 1 MiB below 2^63: beyond the block layer's largest offset */
    MUT(put64le(c + 56, ((1ull << 63) - (1u << 20)) / 512),
        "Failed to read Format Extension cluster: Input/output error");
#undef MUT
    /* the largest catalog qemu can read at once still opens */
    memcpy(c, b, len);
    put32le(c + 32, 0x1fffff70);
    char *h = expect_ok(c, len, "x.hdd", "parallels");
    ck_assert(has_finding(h, "out-of-range"));
    free(h);
    free(c);
    free(b);
}
END_TEST

START_TEST(findings)
{
    size_t len;
    uint8_t *b = prl_image("WithouFreSpacExt", 8, 1 << 20, &len);
    put32le(b + 64, 1); /* cluster 1 (sector 8): past the end of the 4 KiB file */
    put32le(b + 68, 0); /* unallocated */
    char *h = expect_ok(b, len, "x.hdd", NULL);
    ck_assert_ptr_nonnull(strstr(h, "out-of-range: 1 catalog entries point past the end of the "
                                    "file (first: entry 0)"));
    free(h);
    /* a disk larger than its catalog covers */
    put32le(b + 64, 0);
    put64le(b + 36, 1ull << 40);
    h = expect_ok(b, len, "x.hdd", NULL);
    ck_assert_ptr_nonnull(strstr(h, "the catalog covers 1048576 bytes of the "));
    free(h);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ format extension */

static void md5(const uint8_t *data, size_t len, uint8_t out[16])
{
    char path[4200], cmd[9000];
    snprintf(path, sizeof(path), "%s/md5.in", test_tmpdir());
    spit(path, data, len);
    snprintf(cmd, sizeof(cmd), "md5sum '%s'", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < 16; i++) {
        unsigned v;
        ck_assert_int_eq(fscanf(p, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    pclose(p);
}

/* An image with a format extension cluster at its end, holding the given features. */
static uint8_t *prl_ext(const uint8_t *features, size_t flen, size_t *len)
{
    size_t base_len;
    uint8_t *base = prl_image("WithouFreSpacExt", 8, 100 << 20, &base_len);
    *len = base_len + 4096;
    uint8_t *b = calloc(1, *len);
    memcpy(b, base, base_len);
    free(base);
    put64le(b + 56, base_len / 512);
    uint8_t *ext = b + base_len;
    put64le(ext, 0xAB234CEF23DCEA87ull);
    memcpy(ext + 24, features, flen);
    md5(ext + 24, 4096 - 24, ext + 8);
    return b;
}

static size_t feature(uint8_t *p, uint64_t magic, uint64_t flags, const uint8_t *data,
                      uint32_t size)
{
    put64le(p, magic);
    put64le(p + 8, flags);
    put32le(p + 16, size);
    if (size)
        memcpy(p + 24, data, size);
    return (24 + size + 7) & ~(size_t)7;
}

static uint32_t bitmap_feature(uint8_t *p, uint64_t sectors, uint8_t id, uint32_t gran,
                               uint32_t l1_size, uint64_t entry)
{
    memset(p, 0, 40);
    put64le(p, sectors);
    memset(p + 8, id, 16);
    put32le(p + 24, gran);
    put32le(p + 28, l1_size);
    put64le(p + 32, entry);
    return 32 + 8 * l1_size;
}

#define DIRTY_BITMAP 0x20385FAE252CB34Aull

START_TEST(format_extension)
{
    uint8_t f[1024], bm[64];
    size_t len, n;
    uint8_t *b;
    char *h;

    /* empty: just the end marker */
    memset(f, 0, sizeof(f));
    b = prl_ext(f, 24, &len);
    free(expect_ok(b, len, "x.hdd", NULL));
    /* a broken checksum */
    b[len - 1] ^= 1;
    expect_fail(b, len, "x.hdd", NULL,
                "Wrong checksum in Format Extension header. Format extension is corrupted.");
    free(b);
    /* a dirty bitmap: 100 MiB at 64 KiB granularity is 200 bytes, one 4 KiB cluster */
    uint32_t bl = bitmap_feature(bm, 204800, 1, 128, 1, 1);
    n = feature(f, DIRTY_BITMAP, 0, bm, bl);
    memset(f + n, 0, 24);
    b = prl_ext(f, n + 24, &len);
    free(expect_ok(b, len, "x.hdd", NULL));
    free(b);
    /* a data cluster past the end of the file is reported */
    bitmap_feature(bm, 204800, 1, 128, 1, 100000);
    n = feature(f, DIRTY_BITMAP, 0, bm, bl);
    b = prl_ext(f, n + 24, &len);
    h = expect_ok(b, len, "x.hdd", NULL);
    ck_assert(has_finding(h, "out-of-range"));
    free(h);
    free(b);

    struct {
        uint64_t magic, flags;
        uint32_t sectors, gran, l1, dsize;
        int twice;
        const char *reason;
    } cases[] = {
        {DIRTY_BITMAP, 1, 204800, 128, 1, 40, 0, "Flags for extension feature are unsupported"},
        {77, 0, 204800, 128, 1, 40, 0, "Unknown feature: 0x4d"},
        {DIRTY_BITMAP, 0, 204800, 128, 1, 5000, 0,
         "Feature data_size exceedes Format Extension cluster"},
        {DIRTY_BITMAP, 0, 204800, 128, 1, 3, 0,
         "Too small Bitmap Feature area in Parallels Format Extension: 3 bytes, expected at "
         "least 32 bytes"},
        {DIRTY_BITMAP, 0, 5, 128, 1, 40, 0,
         "Bitmap size (in sectors) 5 differs from disk size in sectors 204800"},
        {DIRTY_BITMAP, 0, 204800, 128, 5, 40, 0,
         "Bitmaps feature corrupted: l1 table exceeds extension data_size"},
        {DIRTY_BITMAP, 0, 204800, 128, 2, 48, 0,
         "Bitmap table size 2 does not correspond to bitmap size and cluster size. Expected 1"},
        {DIRTY_BITMAP, 0, 204800, 1, 1, 40, 0,
         "Bitmap table size 1 does not correspond to bitmap size and cluster size. Expected 7"},
        {DIRTY_BITMAP, 0, 204800, 3, 1, 40, 0,
         "parallels: invalid dirty bitmap granularity 1536 (qemu-img 7.2 aborts on this image)"},
        {DIRTY_BITMAP, 0, 204800, 128, 1, 40, 1,
         "Bitmap already exists: 01010101-0101-0101-0101-010101010101"},
        {DIRTY_BITMAP, 0, 204800, 128, 1, 4000, 0, NULL}, /* fits: accepted */
        {DIRTY_BITMAP, 0, 204800, 128, 1, 4030, 0,
         "parallels: Format Extension features run past the extension cluster (qemu-img 7.2 "
         "reads out of bounds)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(f, 0, sizeof(f));
        bitmap_feature(bm, cases[i].sectors, 1, cases[i].gran, cases[i].l1, 1);
        uint32_t ds = cases[i].dsize;
        put64le(f, cases[i].magic);
        put64le(f + 8, cases[i].flags);
        put32le(f + 16, ds);
        memcpy(f + 24, bm, ds < 40 ? ds : 40);
        n = 24 + ((ds < 40 ? ds : 40) + 7) / 8 * 8;
        if (cases[i].twice)
            n += feature(f + n, DIRTY_BITMAP, 0, bm, 40);
        b = prl_ext(f, n + 24 <= sizeof(f) ? n + 24 : sizeof(f), &len);
        if (cases[i].reason) {
            expect_fail(b, len, "x.hdd", NULL, cases[i].reason);
        } else {
            free(expect_ok(b, len, "x.hdd", NULL));
        }
        free(b);
    }
}
END_TEST

START_TEST(robustness)
{
    size_t len;
    uint8_t *b = prl_image("WithouFreSpacExt", 8, 16 << 20, &len);
    uint8_t *big = copy_64k(b, len);
    for (int i = 0; i < 8; i++)
        put32le(big + 64 + 4 * i, 8 + i);
    robustness_64k(big, "x.hdd", "parallels", 128);
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
        {"-o cluster_size=4k", "100M"},
        {"-o cluster_size=64k", "2G"},
        {"-o cluster_size=64k", "64M"},
    };
    created_like_qemu("parallels", "hdd", opts, sizeof(opts) / sizeof(opts[0]));
    const char *p = tmp_path("c5.hdd");
    ck_assert_int_eq(
        test_sh("qemu-io -f parallels -c 'write -P 5 0 64k' -c 'write 10M 4k' '%s' >/dev/null", p),
        0);
    char *h = same_as_qemu(p, NULL);
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    /* clusters cut off: qemu still opens the image, pupa reports them */
    ck_assert_int_eq(test_sh("truncate -s 100000 '%s'", p), 0);
    h = same_as_qemu(p, NULL);
    ck_assert_ptr_nonnull(strstr(h, "catalog entries point past the end of the file"));
    free(h);
}
END_TEST

START_TEST(qemu_refusals)
{
    const char *base = tmp_path("base.hdd");
    ck_assert_int_eq(test_sh("qemu-img create -q -f parallels -o cluster_size=4k '%s' 100M", base),
                     0);
    size_t len;
    uint8_t *b = load(base, &len);
    static const struct field_case cases[] = {
        {28, 4, 0, "Invalid image: Zero sectors per track"},
        {28, 4, 0x7fffffff / 513 + 1, "Invalid image: Too big cluster"},
        {32, 4, 0x20000000, "Catalog too large"},
        {36, 8, (1ull << 54) - 1, "Could not refresh total sector count: File too large"},
        {56, 8, 1, "Wrong parallels Format Extension magic: 0x0, expected: 0xab234cef23dcea87"},
    };
    refusals_like_qemu(b, len, cases, sizeof(cases) / sizeof(cases[0]), FIELD_LE, "hdd", NULL);
    /* the old magic, the in-use flag and a valid format extension all open like qemu-img */
    memcpy(b, "WithoutFreeSpace", 16);
    put32le(b + 44, 0x746F6E59);
    const char *p = tmp_path("old.hdd");
    spit(p, b, len);
    free(same_as_qemu(p, NULL));
    free(b);
    uint8_t f[256] = {0}, bm[64];
    uint32_t bl = bitmap_feature(bm, 204800, 9, 128, 1, 0);
    size_t n = feature(f, DIRTY_BITMAP, 0, bm, bl);
    b = prl_ext(f, n + 24, &len);
    p = tmp_path("ext.hdd");
    spit(p, b, len);
    free(same_as_qemu(p, NULL));
    b[len - 1] ^= 1;
    p = tmp_path("extsum.hdd");
    spit(p, b, len);
    refused_like_qemu(p, NULL,
                      "Wrong checksum in Format Extension header. Format extension is corrupted.");
    free(b);
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_parallels");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, crafted_header);
    tcase_add_test(tc, crafted_refusals);
    tcase_add_test(tc, findings);
    tcase_add_test(tc, format_extension);
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
