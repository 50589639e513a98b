/* test_fmt_vhdx.c: the vhdx parser against qemu-img 7.2 and on crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted VHDX images */

#define MIB      (1024u * 1024u)
#define IMG_SIZE (8 * MIB)
static uint8_t img[IMG_SIZE];

static uint32_t crc32c(const uint8_t *p, size_t n, uint32_t crc)
{
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return crc;
}

/* checksum field at +4 over len bytes */
static void seal(uint8_t *p, size_t len)
{
    put32le(p + 4, 0);
    put32le(p + 4, crc32c(p, len, 0xffffffffu) ^ 0xffffffffu);
}

static const uint8_t G_BAT[16] = {0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
                                  0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08};
static const uint8_t G_META[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
                                   0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
static const uint8_t G_ITEMS[6][16] = {
    {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d, 0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7,
     0x6b},
    {0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4,
     0xb8},
    {0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45, 0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7,
     0x46},
    {0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47, 0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab,
     0x5f},
    {0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44, 0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5,
     0x56},
    {0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45, 0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab,
     0x0c},
};

struct hx {
    uint64_t seq, log_offset;
    uint32_t log_length;
    uint16_t log_version, version;
    uint8_t log_guid[16];
};

static void put_header(uint32_t at, const struct hx *h)
{
    uint8_t *p = img + at;
    memset(p, 0, 4096);
    memcpy(p, "head", 4);
    put64le(p + 8, h->seq);
    memcpy(p + 48, h->log_guid, 16);
    put16le(p + 64, h->log_version);
    put16le(p + 66, h->version);
    put32le(p + 68, h->log_length);
    put64le(p + 72, h->log_offset);
    seal(p, 4096);
}

static void put_regions(uint64_t bat_off, uint32_t bat_len, uint64_t meta_off, uint32_t meta_len)
{
    uint8_t *p = img + 192 * 1024;
    memset(p, 0, 65536);
    memcpy(p, "regi", 4);
    put32le(p + 8, 2);
    memcpy(p + 16, G_BAT, 16);
    put64le(p + 32, bat_off);
    put32le(p + 40, bat_len);
    put32le(p + 44, 1);
    memcpy(p + 48, G_META, 16);
    put64le(p + 64, meta_off);
    put32le(p + 72, meta_len);
    put32le(p + 76, 1);
    seal(p, 65536);
}

struct mx {
    uint32_t block_size, bits, lss;
    uint64_t size;
    int nitems; /* 5 standard ones, 6 adds a parent locator */
};

static void put_metadata(const struct mx *m)
{
    uint8_t *p = img + 3 * MIB;
    memset(p, 0, MIB);
    memcpy(p, "metadata", 8);
    put16le(p + 10, (uint16_t)m->nitems);
    static const uint32_t lens[6] = {8, 8, 16, 4, 4, 20};
    uint32_t off = 65536;
    for (int i = 0; i < m->nitems; i++) {
        memcpy(p + 32 + 32 * i, G_ITEMS[i], 16);
        put32le(p + 48 + 32 * i, off);
        put32le(p + 52 + 32 * i, lens[i]);
        put32le(p + 56 + 32 * i, 4);
        if (i == 0) {
            put32le(p + off, m->block_size);
            put32le(p + off + 4, m->bits);
        } else if (i == 1) {
            put64le(p + off, m->size);
        } else if (i == 3 || i == 4) {
            put32le(p + off, m->lss);
        }
        off += 64;
    }
}

static struct hx hx_default(uint64_t seq)
{
    struct hx h = {seq, MIB, MIB, 0, 1, {0}};
    return h;
}

static struct mx mx_default(void)
{
    struct mx m = {MIB, 0, 512, 1ull << 30, 5};
    return m;
}

static void build(void)
{
    memset(img, 0, sizeof(img));
    memcpy(img, "vhdxfile", 8);
    struct hx h1 = hx_default(1), h2 = hx_default(2);
    put_header(64 * 1024, &h1);
    put_header(128 * 1024, &h2);
    put_regions(2 * MIB, MIB, 3 * MIB, MIB);
    struct mx m = mx_default();
    put_metadata(&m);
}

/* a log entry at the start of the log: header, nd descriptors, nd data sectors */
static void put_log_entry(uint64_t seq, const uint8_t *guid, int nd, bool bad_desc)
{
    uint8_t *p = img + MIB;
    uint32_t sectors = 1 + (uint32_t)nd;
    memset(p, 0, sectors * 4096);
    memcpy(p, "loge", 4);
    put32le(p + 8, sectors * 4096);
    put64le(p + 16, seq);
    put32le(p + 24, (uint32_t)nd);
    memcpy(p + 32, guid, 16);
    for (int i = 0; i < nd; i++) {
        uint8_t *d = p + 64 + 32 * i;
        memcpy(d, "desc", 4);
        put64le(d + 16, bad_desc ? 100 : 4 * MIB);
        put64le(d + 24, seq);
        memcpy(p + 4096 * (1 + i), "data", 4);
    }
    seal(p, sectors * 4096);
}

static const char *inval = "Could not open 'x.vhdx': Invalid argument";
static const char *notsup = "Could not open 'x.vhdx': Operation not supported";

START_TEST(crafted_values)
{
    build();
    char *out = expect_ok(img, IMG_SIZE, "x.vhdx", NULL);
    ck_assert_str_eq(without_safety(out), "image: x.vhdx\nfile format: vhdx\nvirtual size: 1 GiB "
                                          "(1073741824 bytes)\ndisk size: 0 B\n"
                                          "cluster_size: 1048576\n");
    free(out);
    /* one valid header is enough; equal sequence numbers need equal headers */
    struct hx h = hx_default(9);
    put_header(128 * 1024, &h);
    img[128 * 1024 + 100] ^= 1;
    free(expect_ok(img, IMG_SIZE, "x.vhdx", NULL));
    build();
    h = hx_default(1);
    put_header(128 * 1024, &h);
    free(expect_ok(img, IMG_SIZE, "x.vhdx", NULL));
    h.log_length = 2 * MIB;
    put_header(128 * 1024, &h);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, "No valid VHDX header found");
    /* a 1 TiB disk of 256 MiB blocks; leave_blocks_allocated does not matter */
    build();
    struct mx m = mx_default();
    m.size = 1ull << 40, m.block_size = 256 * MIB, m.bits = 1;
    put_metadata(&m);
    out = expect_ok(img, IMG_SIZE, "x.vhdx", NULL);
    ck_assert_ptr_nonnull(strstr(out, "virtual size: 1 TiB (1099511627776 bytes)\n"));
    ck_assert_ptr_nonnull(strstr(out, "cluster_size: 268435456\n"));
    free(out);
}
END_TEST

START_TEST(crafted_refusals)
{
    build();
    img[0] = 'X';
    expect_fail(img, IMG_SIZE, "x.vhdx", "vhdx", inval);
    build();
    img[64 * 1024 + 200] ^= 1;
    img[128 * 1024 + 200] ^= 1;
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, "No valid VHDX header found");

    struct hx h;
    build(), h = hx_default(5), h.log_offset = 0, put_header(64 * 1024, &h);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), h = hx_default(5), h.log_version = 1, put_header(64 * 1024, &h);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), h = hx_default(5), memset(h.log_guid, 0x11, 16), h.log_length = MIB + 4096;
    put_header(64 * 1024, &h);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), h = hx_default(5), memset(h.log_guid, 0x11, 16), h.log_offset = 1ull << 63;
    put_header(64 * 1024, &h);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, "Could not open 'x.vhdx': Input/output error");

    build(), img[192 * 1024 + 100] ^= 1;
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), put_regions(2 * MIB, MIB, 2 * MIB + 4096, MIB);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), put_regions(MIB, MIB, 3 * MIB, MIB); /* the BAT over the log */
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);

    struct mx m;
    build(), m = mx_default(), m.nitems = 4, put_metadata(&m);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, notsup);
    build(), m = mx_default(), m.nitems = 6, m.bits = 2, put_metadata(&m);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, notsup);
    build(), m = mx_default(), m.bits = 2, put_metadata(&m);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), m = mx_default(), m.block_size = 512 * 1024, put_metadata(&m);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), m = mx_default(), m.block_size = 3 * MIB, put_metadata(&m);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), m = mx_default(), m.lss = 4096, put_metadata(&m);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, notsup);
    build(), m = mx_default(), m.size = 0, put_metadata(&m);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval); /* qemu wants a huge BAT for size 0 */

    build(), put64le(img + 2 * MIB, (100ull * MIB) | 6);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), put64le(img + 2 * MIB, (3ull * MIB) | 6); /* a payload block over the metadata */
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), put_regions(2 * MIB, 4096, 3 * MIB, MIB); /* BAT too small for 1024 blocks */
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
}
END_TEST

START_TEST(crafted_log)
{
    uint8_t guid[16];
    memset(guid, 0x11, sizeof(guid));
    struct hx h = hx_default(5);
    memcpy(h.log_guid, guid, 16);
    const char *replay = "VHDX image file 'x.vhdx' opened read-only, but contains a log that "
                         "needs to be replayed";

    /* a log GUID but no entry: nothing to replay */
    build(), put_header(64 * 1024, &h);
    free(expect_ok(img, IMG_SIZE, "x.vhdx", NULL));
    build(), put_header(64 * 1024, &h), put_log_entry(7, guid, 0, false);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, replay);
    build(), put_header(64 * 1024, &h), put_log_entry(7, guid, 3, false);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, replay);
    /* a bad checksum or another log's GUID: not an entry */
    build(), put_header(64 * 1024, &h), put_log_entry(7, guid, 0, false);
    img[MIB + 100] ^= 1;
    free(expect_ok(img, IMG_SIZE, "x.vhdx", NULL));
    uint8_t other[16];
    memset(other, 0x22, sizeof(other));
    build(), put_header(64 * 1024, &h), put_log_entry(7, other, 0, false);
    free(expect_ok(img, IMG_SIZE, "x.vhdx", NULL));
    /* an invalid descriptor in a valid entry fails the open */
    build(), put_header(64 * 1024, &h), put_log_entry(7, guid, 1, true);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
}
END_TEST

START_TEST(crafted_findings)
{
    build();
    put_regions(20 * MIB, MIB, 3 * MIB, MIB); /* a BAT past the end, all blocks absent */
    char *out = expect_ok(img, IMG_SIZE, "x.vhdx", NULL);
    ck_assert_ptr_nonnull(strstr(out, "out-of-range: the block allocation table"));
    free(out);
    build();
    struct mx m = mx_default();
    m.size = 1ull << 50, m.block_size = 256 * MIB;
    put_metadata(&m);
    put_regions(2 * MIB, MIB, 3 * MIB, MIB);
    char *human, *json, *err;
    /* 2^50 / 256 MiB = 4 Mi blocks need a 32 MiB BAT: refused like qemu */
    ck_assert_int_eq(run_mem(img, IMG_SIZE, "x.vhdx", NULL, &human, &json, &err), -1);
    free(err);
}
END_TEST

START_TEST(robustness)
{
    build();
    put64le(img + 2 * MIB, (5ull * MIB) | 6);
    truncation_loop(img, IMG_SIZE, "cut.img", NULL, 64 * 1024, 512);
    truncation_loop(img, IMG_SIZE, "cut.img", NULL, IMG_SIZE, 64 * 1024);
    uint8_t guid[16];
    memset(guid, 0x11, sizeof(guid));
    struct hx h = hx_default(5);
    memcpy(h.log_guid, guid, 16);
    put_header(64 * 1024, &h);
    put_log_entry(7, guid, 2, false);
    mutation_loop(img, IMG_SIZE, "mut.img", NULL, 64, 200, 12345);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_created)
{
    const char *dir = test_tmpdir();
    static const char *const opts[] = {
        "",
        "-o subformat=fixed,block_size=1M",
        "-o block_size=1M",
        "-o block_size=32M",
        "-o block_size=256M",
        "-o log_size=4M",
        "-o block_state_zero=off",
    };
    static const char *const sizes[] = {"1G", "1000000000", "16M", "1"};
    char path[4200];
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
            snprintf(path, sizeof(path), "%s/vhdx-%zu-%zu.vhdx", dir, i, j);
            ck_assert_int_eq(
                test_sh("qemu-img create -q -f vhdx %s '%s' %s", opts[i], path, sizes[j]), 0);
            free(same_as_qemu(path, NULL));
            /* cut copies: pupa answers like qemu-img or fails, never crashes */
            size_t len;
            uint8_t *data = (uint8_t *)slurp(path, &len);
            truncation_loop(data, len, "cut.img", NULL, 64 * 1024, 512);
            free(data);
        }
    }
    snprintf(path, sizeof(path), "%s/vhdx-data.vhdx", dir);
    ck_assert_int_eq(test_sh("head -c 3000000 /dev/urandom > '%s.raw' && qemu-img convert -O vhdx "
                             "'%s.raw' '%s'",
                             path, path, path),
                     0);
    free(same_as_qemu(path, NULL));
}
END_TEST

START_TEST(qemu_refusals_match)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/bad.vhdx", test_tmpdir());
    char reason[4400];
    uint8_t guid[16];
    memset(guid, 0x11, sizeof(guid));
    struct hx h = hx_default(5);
    memcpy(h.log_guid, guid, 16);
    build(), put_header(64 * 1024, &h), put_log_entry(7, guid, 1, false);
    spit(path, img, IMG_SIZE);
    snprintf(reason, sizeof(reason),
             "VHDX image file '%s' opened read-only, but contains a log that needs to be replayed",
             path);
    refused_like_qemu(path, NULL, reason);
    build();
    img[64 * 1024 + 200] ^= 1;
    img[128 * 1024 + 200] ^= 1;
    spit(path, img, IMG_SIZE);
    refused_like_qemu(path, NULL, "No valid VHDX header found");
    struct mx m = mx_default();
    build(), m.lss = 4096, put_metadata(&m);
    spit(path, img, IMG_SIZE);
    snprintf(reason, sizeof(reason), "Could not open '%s': Operation not supported", path);
    refused_like_qemu(path, NULL, reason);
    build(), put64le(img + 2 * MIB, (100ull * MIB) | 6);
    spit(path, img, IMG_SIZE);
    snprintf(reason, sizeof(reason), "Could not open '%s': Invalid argument", path);
    refused_like_qemu(path, NULL, reason);
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_vhdx");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, crafted_values);
    tcase_add_test(tc, crafted_refusals);
    tcase_add_test(tc, crafted_log);
    tcase_add_test(tc, crafted_findings);
    tcase_add_test(tc, robustness);
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
