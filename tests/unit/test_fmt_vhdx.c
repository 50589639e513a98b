/* test_fmt_vhdx.c: the vhdx parser against qemu-img 7.2 and on crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------ helpers shared by the format tests */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (n + 65536 > cap) {
            cap = (cap + 65536) * 2;
            buf = realloc(buf, cap + 1);
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* pupa's output up to its own "safety:" block, without the "disk size" line
 * (the VMM measures that; the parsers alone leave it 0) */
static char *without_safety(char *human)
{
    char *s = strstr(human, "safety: ");
    if (s && (s == human || s[-1] == '\n'))
        *s = '\0';
    return human;
}

static void drop_disk_size(char *text)
{
    char *s = strstr(text, "\ndisk size: ");
    if (s) {
        char *e = strchr(s + 1, '\n');
        memmove(s, e ? e : s + strlen(s), strlen(e ? e : s + strlen(s)) + 1);
    }
}

/* Run the parsers on a file the way pupa info does (forced format or probing). */
static int run_file(const char *path, const char *format, char **human, char **json, char **err)
{
    struct fmt_io io = file_io_open(path);
    ck_assert_ptr_nonnull(io.ctx);
    int rc = test_info(&io, format, human, json, err);
    file_io_close(&io);
    return rc;
}

static int run_mem(const uint8_t *data, size_t len, const char *name, const char *format,
                   char **human, char **json, char **err)
{
    struct mem_image m = {data, len};
    struct fmt_io io = mem_image_io(&m, name);
    return test_info(&io, format, human, json, err);
}

/* The file's pupa output equals qemu-img's: human byte for byte (when
 * human_too) and JSON as parsed objects after dropping the keys drop_py (a
 * python statement over q and t, the two objects) — for multi-file images. */
static void same_as_qemu(const char *path, const char *format, bool human_too, const char *drop_py)
{
    char *human, *json, *err;
    char qh[4200], qj[4200], pj[4200];
    const char *fopt = format ? "-f " : "";
    const char *fname = format ? format : "";

    snprintf(qh, sizeof(qh), "%s.qemu-human", path);
    snprintf(qj, sizeof(qj), "%s.qemu-json", path);
    snprintf(pj, sizeof(pj), "%s.pupa-json", path);
    ck_assert_int_eq(test_sh("qemu-img info %s%s '%s' > '%s'", fopt, fname, path, qh), 0);
    ck_assert_int_eq(test_sh("qemu-img info --output=json %s%s '%s' > '%s'", fopt, fname, path, qj), 0);
    int rc = run_file(path, format, &human, &json, &err);
    ck_assert_msg(rc == 0, "%s: pupa failed: %s", path, err);
    if (human_too) {
        char *q = slurp(qh, NULL);
        drop_disk_size(q);
        drop_disk_size(human);
        ck_assert_str_eq(without_safety(human), q);
        free(q);
    }
    spit(pj, json, strlen(json));
    int same = test_sh("/usr/bin/python3 -c 'import json,sys\n"
                       "q=json.load(open(sys.argv[1])); t=json.load(open(sys.argv[2]))\n"
                       "t.pop(\"safety\"); q.pop(\"actual-size\"); t.pop(\"actual-size\")\n"
                       "%s\nsys.exit(0 if q==t else 1)' '%s' '%s'",
                       drop_py ? drop_py : "", qj, pj);
    ck_assert_msg(same == 0, "%s: JSON differs from qemu-img's", path);
    free(human);
    free(json);
}

/* qemu-img refuses the file; pupa refuses it with the same reason. */
static void refused_like_qemu(const char *path, const char *format, const char *reason)
{
    char *human, *json, *err;
    char qe[4200], want[4600];
    snprintf(qe, sizeof(qe), "%s.qemu-err", path);
    ck_assert_int_ne(test_sh("qemu-img info %s%s '%s' 2> '%s' >/dev/null", format ? "-f " : "",
                             format ? format : "", path, qe),
                     0);
    char *q = slurp(qe, NULL);
    snprintf(want, sizeof(want), "Could not open '%s': %s", path, reason);
    ck_assert_msg(strstr(q, want) != NULL, "qemu-img said: %s (expected %s)", q, want);
    free(q);
    ck_assert_int_eq(run_file(path, format, &human, &json, &err), -1);
    ck_assert_str_eq(err, reason);
    free(err);
}

static void expect_fail(const uint8_t *data, size_t len, const char *name, const char *format,
                        const char *reason)
{
    char *human, *json, *err;
    int rc = run_mem(data, len, name, format, &human, &json, &err);
    ck_assert_msg(rc == -1, "expected '%s' but the image opened", reason);
    ck_assert_str_eq(err, reason);
    free(err);
}

/* Succeeds; returns the human output (caller frees). */
static char *expect_ok(const uint8_t *data, size_t len, const char *name, const char *format)
{
    char *human, *json, *err;
    int rc = run_mem(data, len, name, format, &human, &json, &err);
    ck_assert_msg(rc == 0, "%s failed: %s", name, err);
    free(json);
    return human;
}

/* Never crash: every cut of the image either opens or fails with a reason. */
static void truncation_loop(const uint8_t *data, size_t len, const char *format, size_t upto,
                            size_t step)
{
    for (size_t cut = 0; cut <= upto && cut <= len; cut += step) {
        char *human = NULL, *json = NULL, *err = NULL;
        int rc = run_mem(data, cut, "cut.img", format, &human, &json, &err);
        if (rc == 0) {
            ck_assert_ptr_nonnull(human);
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
static void mutation_loop(const uint8_t *data, size_t len, const char *format, size_t area,
                          int rounds)
{
    uint8_t *copy = malloc(len);
    uint32_t x = 12345;
    for (int r = 0; r < rounds; r++) {
        memcpy(copy, data, len);
        for (int k = 0; k < 1 + r % 8; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % (area < len ? area : len);
            x = x * 1103515245u + 12345u;
            copy[at] = (uint8_t)(x >> 16);
        }
        char *human = NULL, *json = NULL, *err = NULL;
        if (run_mem(copy, len, "mut.img", format, &human, &json, &err) == 0) {
            free(human);
            free(json);
        } else {
            free(err);
        }
    }
    free(copy);
}

static int run_suite(Suite *s, bool have_qemu)
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

/* ------------------------------------------------------------ crafted VHDX images */

#define MIB (1024u * 1024u)
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

static void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

/* checksum field at +4 over len bytes */
static void seal(uint8_t *p, size_t len)
{
    le32(p + 4, 0);
    le32(p + 4, crc32c(p, len, 0xffffffffu) ^ 0xffffffffu);
}

static const uint8_t G_BAT[16] = {0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
                                  0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08};
static const uint8_t G_META[16] = {0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
                                   0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e};
static const uint8_t G_ITEMS[6][16] = {
    {0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d, 0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b},
    {0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8},
    {0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45, 0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46},
    {0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47, 0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f},
    {0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44, 0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56},
    {0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45, 0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c},
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
    le64(p + 8, h->seq);
    memcpy(p + 48, h->log_guid, 16);
    le16(p + 64, h->log_version);
    le16(p + 66, h->version);
    le32(p + 68, h->log_length);
    le64(p + 72, h->log_offset);
    seal(p, 4096);
}

static void put_regions(uint64_t bat_off, uint32_t bat_len, uint64_t meta_off, uint32_t meta_len)
{
    uint8_t *p = img + 192 * 1024;
    memset(p, 0, 65536);
    memcpy(p, "regi", 4);
    le32(p + 8, 2);
    memcpy(p + 16, G_BAT, 16);
    le64(p + 32, bat_off);
    le32(p + 40, bat_len);
    le32(p + 44, 1);
    memcpy(p + 48, G_META, 16);
    le64(p + 64, meta_off);
    le32(p + 72, meta_len);
    le32(p + 76, 1);
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
    le16(p + 10, (uint16_t)m->nitems);
    static const uint32_t lens[6] = {8, 8, 16, 4, 4, 20};
    uint32_t off = 65536;
    for (int i = 0; i < m->nitems; i++) {
        memcpy(p + 32 + 32 * i, G_ITEMS[i], 16);
        le32(p + 48 + 32 * i, off);
        le32(p + 52 + 32 * i, lens[i]);
        le32(p + 56 + 32 * i, 4);
        if (i == 0) {
            le32(p + off, m->block_size);
            le32(p + off + 4, m->bits);
        } else if (i == 1) {
            le64(p + off, m->size);
        } else if (i == 3 || i == 4) {
            le32(p + off, m->lss);
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
    le32(p + 8, sectors * 4096);
    le64(p + 16, seq);
    le32(p + 24, (uint32_t)nd);
    memcpy(p + 32, guid, 16);
    for (int i = 0; i < nd; i++) {
        uint8_t *d = p + 64 + 32 * i;
        memcpy(d, "desc", 4);
        le64(d + 16, bad_desc ? 100 : 4 * MIB);
        le64(d + 24, seq);
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

    build(), le64(img + 2 * MIB, (100ull * MIB) | 6);
    expect_fail(img, IMG_SIZE, "x.vhdx", NULL, inval);
    build(), le64(img + 2 * MIB, (3ull * MIB) | 6); /* a payload block over the metadata */
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
    le64(img + 2 * MIB, (5ull * MIB) | 6);
    truncation_loop(img, IMG_SIZE, NULL, 64 * 1024, 512);
    truncation_loop(img, IMG_SIZE, NULL, IMG_SIZE, 64 * 1024);
    uint8_t guid[16];
    memset(guid, 0x11, sizeof(guid));
    struct hx h = hx_default(5);
    memcpy(h.log_guid, guid, 16);
    put_header(64 * 1024, &h);
    put_log_entry(7, guid, 2, false);
    mutation_loop(img, IMG_SIZE, NULL, 64, 200);
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
            ck_assert_int_eq(test_sh("qemu-img create -q -f vhdx %s '%s' %s", opts[i], path,
                                     sizes[j]),
                             0);
            same_as_qemu(path, NULL, true, NULL);
            /* cut copies: pupa answers like qemu-img or fails, never crashes */
            size_t len;
            uint8_t *data = (uint8_t *)slurp(path, &len);
            truncation_loop(data, len, NULL, 64 * 1024, 512);
            free(data);
        }
    }
    snprintf(path, sizeof(path), "%s/vhdx-data.vhdx", dir);
    ck_assert_int_eq(test_sh("head -c 3000000 /dev/urandom > '%s.raw' && qemu-img convert -O vhdx "
                             "'%s.raw' '%s'",
                             path, path, path),
                     0);
    same_as_qemu(path, NULL, true, NULL);
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
    build(), le64(img + 2 * MIB, (100ull * MIB) | 6);
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
