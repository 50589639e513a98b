/* test_fmt_qcow2.c: the qcow2 parser against qemu-img, crafted headers and truncation. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ helpers */

/* qemu-img create, retried: LUKS creation measures CPU time and fails now and then. */
static int make(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int make(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    for (int i = 0; i < 5; i++)
        if (test_sh("cd '%s' && %s >/dev/null 2>&1", test_tmpdir(), cmd) == 0)
            return 0;
    return -1;
}

/* ------------------------------------------------------------ qemu-img made images */

static const struct {
    const char *name, *create;
    bool safe;
} made[] = {
    {"v3.qcow2", "qemu-img create -f qcow2 v3.qcow2 1G", true},
    {"v2.qcow2", "qemu-img create -f qcow2 -o compat=0.10 v2.qcow2 1G", true},
    {"c512.qcow2", "qemu-img create -f qcow2 -o cluster_size=512 c512.qcow2 64M", true},
    {"c4k.qcow2", "qemu-img create -f qcow2 -o cluster_size=4k c4k.qcow2 3G", true},
    {"c2m.qcow2", "qemu-img create -f qcow2 -o cluster_size=2M c2m.qcow2 5G", true},
    {"lazy.qcow2", "qemu-img create -f qcow2 -o lazy_refcounts=on lazy.qcow2 1G", true},
    {"zstd.qcow2", "qemu-img create -f qcow2 -o compression_type=zstd zstd.qcow2 1G", true},
    {"el2.qcow2", "qemu-img create -f qcow2 -o extended_l2=on el2.qcow2 1G", true},
    {"rc1.qcow2", "qemu-img create -f qcow2 -o refcount_bits=1 rc1.qcow2 1G", true},
    {"rc64.qcow2", "qemu-img create -f qcow2 -o refcount_bits=64 rc64.qcow2 1G", true},
    {"meta.qcow2", "qemu-img create -f qcow2 -o preallocation=metadata meta.qcow2 64M", true},
    {"big.qcow2", "qemu-img create -f qcow2 big.qcow2 2T", true},
    {"back.qcow2", "qemu-img create -f qcow2 -b v3.qcow2 -F qcow2 back.qcow2", false},
    {"backnf.qcow2", "qemu-img create -f qcow2 -u -b sub/missing.img -F raw backnf.qcow2 1G",
     false},
    {"df.qcow2", "qemu-img create -f qcow2 -o data_file=df-extent.raw df.qcow2 64M", false},
    {"dfraw.qcow2",
     "qemu-img create -f qcow2 -o data_file=dfraw-extent.raw,data_file_raw=on dfraw.qcow2 64M",
     false},
    {"sn.qcow2",
     "qemu-img create -f qcow2 sn.qcow2 1G && qemu-img snapshot -c first sn.qcow2 && "
     "qemu-img snapshot -c 'second one' sn.qcow2",
     true},
    {"snv2.qcow2",
     "qemu-img create -f qcow2 -o compat=0.10 snv2.qcow2 1G && qemu-img snapshot -c old "
     "snv2.qcow2",
     true},
    {"bm.qcow2",
     "qemu-img create -f qcow2 bm.qcow2 1G && qemu-img bitmap --add bm.qcow2 b0 && "
     "qemu-img bitmap --add -g 128k bm.qcow2 b1 && qemu-img bitmap --add --disable bm.qcow2 b2",
     true},
    {"aes.qcow2",
     "qemu-img create -f qcow2 --object secret,id=s0,data=pw "
     "-o encrypt.format=aes,encrypt.key-secret=s0 aes.qcow2 64M",
     false},
    {"luks.qcow2",
     "qemu-img create -f qcow2 --object secret,id=s0,data=pw "
     "-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 luks.qcow2 64M",
     false},
};

START_TEST(made_by_qemu_img)
{
    if (!test_have_qemu_img())
        return;
    ck_assert_msg(make("%s", made[_i].create) == 0, "%s", made[_i].create);
    char *out = same_as_qemu(tmp_path(made[_i].name), NULL);
    if (made[_i].safe)
        ck_assert_msg(strstr(out, "safety: safe\n") != NULL, "%s: %s", made[_i].name, out);
    else
        ck_assert_msg(strstr(out, "safety: UNSAFE\n") != NULL, "%s: %s", made[_i].name, out);
    ck_assert_ptr_null(strstr(out, "out-of-range"));
    free(out);
}
END_TEST

/* Every 512-byte cut of the first 64 KiB of a rich image: no crash, and either
 * an answer or an error message. */
START_TEST(truncation_never_crashes)
{
    const char *name = "trunc.qcow2";
    if (!test_have_qemu_img())
        return;
    ck_assert_int_eq(make("qemu-img create -f qcow2 -o cluster_size=4k trunc.qcow2 1G && "
                          "qemu-img snapshot -c s1 trunc.qcow2 && "
                          "qemu-img bitmap --add trunc.qcow2 bm && "
                          "qemu-img create -f qcow2 -u -b base.img -F raw t2.qcow2 1G"),
                     0);
    for (int f = 0; f < 2; f++) {
        size_t len;
        uint8_t *data = load(tmp_path(f ? "t2.qcow2" : name), &len);
        truncation_loop(data, len, "cut.qcow2", "qcow2", 65536, 512);
        free(data);
    }
}
END_TEST

/* ------------------------------------------------------------ crafted images */

#define CLUSTER 512u

struct img {
    uint8_t d[65536];
    size_t len;
};

/* A valid v3 image with 512-byte clusters: header, refcount table at 512,
 * L1 table at 1024 (32 entries for 1 MiB), extensions from offset 112. */
static void base_image(struct img *m)
{
    memset(m, 0, sizeof(*m));
    uint8_t *h = m->d;
    put32be(h, 0x514649fb);
    put32be(h + 4, 3);
    put32be(h + 20, 9);       /* cluster bits */
    put64be(h + 24, 1 << 20); /* size */
    put32be(h + 36, 32);      /* l1 size */
    put64be(h + 40, 1024);    /* l1 offset */
    put64be(h + 48, 512);     /* refcount table */
    put32be(h + 56, 1);       /* refcount table clusters */
    put32be(h + 96, 4);       /* refcount order */
    put32be(h + 100, 112);    /* header length */
    m->len = 2048;
}

/* Append a header extension at *off (starting at 112). */
static void add_ext(struct img *m, size_t *off, uint32_t magic, const void *data, uint32_t len)
{
    put32be(m->d + *off, magic);
    put32be(m->d + *off + 4, len);
    memcpy(m->d + *off + 8, data, len);
    *off += 8 + ((len + 7u) & ~7u);
}

/* QCOW2_TEST_DUMP=DIR keeps every crafted image, to check them against qemu-img. */
static void dump(const struct img *m)
{
    const char *dir = getenv("QCOW2_TEST_DUMP");
    static int seq;
    if (dir) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/crafted-%d-%d.qcow2", dir, (int)getpid(), seq++);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(m->d, 1, m->len, f);
            fclose(f);
        }
    }
}

static int run(struct img *m, char **human, char **json, char **err)
{
    dump(m);
    return run_mem(m->d, m->len, "x.qcow2", NULL, human, json, err);
}

static void img_fails(struct img *m, const char *want)
{
    dump(m);
    expect_fail(m->d, m->len, "x.qcow2", NULL, want);
}

static char *img_opens(struct img *m, char **json)
{
    char *human, *j, *err;
    int rc = run(m, &human, &j, &err);
    ck_assert_msg(rc == 0, "unexpected failure: %s", rc ? err : "");
    if (json)
        *json = j;
    else
        free(j);
    return human;
}

START_TEST(crafted_base_is_clean)
{
    struct img m;
    base_image(&m);
    char *json;
    char *h = img_opens(&m, &json);
    ck_assert_str_eq(h, "image: x.qcow2\nfile format: qcow2\n"
                        "virtual size: 1 MiB (1048576 bytes)\ndisk size: 0 B\n"
                        "cluster_size: 512\nFormat specific information:\n"
                        "    compat: 1.1\n    compression type: zlib\n    lazy refcounts: false\n"
                        "    refcount bits: 16\n    corrupt: false\n    extended l2: false\n"
                        "safety: safe\n");
    ck_assert_ptr_nonnull(strstr(json, "\"dirty-flag\": false"));
    free(h);
    free(json);
}
END_TEST

static const struct field_case header_errors[] = {
    {4, 4, 4, "Unsupported qcow2 version 4"},
    {20, 4, 8, "Unsupported cluster size: 2^8"},
    {20, 4, 22, "Unsupported cluster size: 2^22"},
    {100, 4, 100, "qcow2 header too short"},
    {100, 4, 1024, "qcow2 header exceeds cluster size"},
    {8, 8, 1000, "Invalid backing file offset"},
    {72, 8, 8, "qcow2: Compression type incompatible feature bit must not be set"},
    {72, 8, 1u << 20, "Unsupported qcow2 feature(s): Unknown incompatible feature: 100000"},
    {72, 8, 16, "Unsupported subcluster size: 16"},
    {96, 4, 7, "Reference count entry width too large; may not exceed 64 bits"},
    {56, 4, 0, "Image does not contain a reference count table"},
    {56, 4, 20000, "Reference count table too large"},
    {48, 8, 513, "Reference count table offset invalid"},
    {60, 4, 70000, "Snapshot table too large"},
    {64, 8, 100, "Snapshot table offset invalid"},
    {36, 4, 5u << 20, "Active L1 table too large"},
    {40, 8, 1000, "Active L1 table offset invalid"},
    {36, 4, 31, "L1 table is too small"},
    {24, 8, 1ull << 63, "Image is too big"},
    {24, 8, UINT64_MAX, "Could not refresh total sector count: File too large"},
    {40, 8, 0x7fffffffffff0000ull, "Could not read L1 table: Input/output error"},
    {32, 4, 3, "Unsupported encryption method 3"},
    {32, 4, 0xffffffffu, "Unsupported encryption method -1"},
    {48, 8, 0x7ffffffffff00000ull, "Could not initialize refcount handling: Input/output error"},
    {32, 4, 2, "Missing CRYPTO header for crypt method 2"},
};

START_TEST(header_refusals)
{
    struct img m;
    base_image(&m);
    put_field(m.d, &header_errors[_i], FIELD_BE);
    img_fails(&m, header_errors[_i].reason);
}
END_TEST

START_TEST(compression_type_refusals)
{
    struct img m;
    base_image(&m);
    m.d[104] = 1;
    img_fails(&m, "qcow2: Compression type incompatible feature bit must be set");
    put64be(m.d + 72, 8);
    m.d[104] = 2;
    img_fails(&m, "qcow2: unknown compression type: 2");
    m.d[104] = 1; /* zstd with its bit: fine */
    char *h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "    compression type: zstd\n"));
    free(h);
    /* a 104-byte header has no compression type byte: whatever follows is ignored */
    base_image(&m);
    put32be(m.d + 100, 104);
    m.d[104] = 7;
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "compression type: zlib"));
    free(h);
}
END_TEST

START_TEST(feature_name_table)
{
    struct img m;
    uint8_t t[3 * 48];
    size_t off = 112;
    base_image(&m);
    memset(t, 0, sizeof(t));
    t[0] = 0, t[1] = 20, memcpy(t + 2, "shiny new thing", 15);
    t[48] = 1, t[49] = 21, memcpy(t + 50, "a compatible one", 16);
    t[96] = 0, t[97] = 84, memcpy(t + 98, "bit 84 is bit 20 on x86", 23);
    add_ext(&m, &off, 0x6803f857, t, sizeof(t));
    put64be(m.d + 72, (1ull << 20) | (1ull << 21) | (1ull << 40));
    img_fails(&m, "Unsupported qcow2 feature(s): shiny new thing, "
                  "Unknown incompatible feature: 10000200000");
    /* a crypto extension ends qemu's early scan: the table after it is not seen */
    base_image(&m);
    off = 112;
    uint8_t c[16] = {0};
    add_ext(&m, &off, 0x0537be77, c, sizeof(c));
    add_ext(&m, &off, 0x6803f857, t, 48);
    put64be(m.d + 72, 1ull << 20);
    img_fails(&m, "Unsupported qcow2 feature(s): Unknown incompatible feature: 100000");
}
END_TEST

START_TEST(extension_refusals)
{
    struct img m;
    size_t off;
    uint8_t b[24];

    base_image(&m);
    put32be(m.d + 112, 0x12345678);
    put32be(m.d + 116, 500);
    img_fails(&m, "Header extension too large");

    base_image(&m);
    off = 112;
    add_ext(&m, &off, 0xe2792aca, "0123456789abcdef", 16);
    img_fails(&m, "ERROR: ext_backing_format: len=16 too large (>=16)");

    base_image(&m);
    off = 112;
    memset(b, 0, sizeof(b));
    add_ext(&m, &off, 0x0537be77, b, 16);
    img_fails(&m, "CRYPTO header extension only expected with LUKS encryption method");
    put32be(m.d + 32, 2);
    put64be(m.d + 120, 0x1234);
    img_fails(&m, "Encryption header offset '4660' is not a multiple of cluster size '512'");
    put64be(m.d + 120, 4096);
    put64be(m.d + 128, 100);
    img_fails(&m, "Request for data outside of extension header");
    put64be(m.d + 128, 4096);
    img_fails(&m, "Volume is not in LUKS format");

    base_image(&m);
    off = 112;
    add_ext(&m, &off, 0x23852875, b, 16);
    img_fails(&m, "bitmaps_ext: Invalid extension length");

    struct {
        uint32_t nb, reserved;
        uint64_t size, offset;
        const char *error;
    } bm[] = {
        {1, 1, 0, 0, "bitmaps_ext: Reserved field is not zero"},
        {65536, 0, 0, 0,
         "bitmaps_ext: Image has 65536 bitmaps, exceeding the QEMU supported maximum of 65535"},
        {0, 0, 0, 0, "found bitmaps extension with zero bitmaps"},
        {1, 0, 0, 100, "bitmaps_ext: invalid bitmap directory offset"},
        {1, 0, 1ull << 40, 512,
         "bitmaps_ext: bitmap directory size (1099511627776) exceeds the maximum supported size "
         "(67107840)"},
        {1, 0, 0, 4096, "Requested bitmap directory size is zero"},
        {1, 0, 8, 4096, "Broken bitmap directory"},
        {1, 0, 32, 0x7fffffffffff0000ull, "Failed to read bitmap directory: Input/output error"},
    };
    for (size_t i = 0; i < sizeof(bm) / sizeof(bm[0]); i++) {
        base_image(&m);
        off = 112;
        put32be(b, bm[i].nb);
        put32be(b + 4, bm[i].reserved);
        put64be(b + 8, bm[i].size);
        put64be(b + 16, bm[i].offset);
        add_ext(&m, &off, 0x23852875, b, 24);
        put64be(m.d + 88, 1); /* autoclear: bitmaps */
        img_fails(&m, bm[i].error);
    }
    /* without the autoclear bit the extension is ignored */
    put64be(m.d + 88, 0);
    char *h = img_opens(&m, NULL);
    ck_assert_ptr_null(strstr(h, "bitmaps"));
    free(h);
}
END_TEST

/* One bitmap directory entry at 4096 with its table at 4608. */
static void bitmap_image(struct img *m, uint32_t flags, uint8_t gran, const char *name,
                         uint32_t table_size)
{
    size_t off = 112;
    uint8_t b[24];
    base_image(m);
    put32be(b, 1);
    put32be(b + 4, 0);
    size_t entry = (24 + strlen(name) + 7) & ~(size_t)7;
    put64be(b + 8, entry);
    put64be(b + 16, 4096);
    add_ext(m, &off, 0x23852875, b, 24);
    put64be(m->d + 88, 1);
    uint8_t *e = m->d + 4096;
    put64be(e, 4608);
    put32be(e + 8, table_size);
    put32be(e + 12, flags);
    e[16] = 1;
    e[17] = gran;
    e[18] = 0;
    e[19] = (uint8_t)strlen(name);
    memcpy(e + 24, name, strlen(name));
    m->len = 5120;
}

START_TEST(bitmaps)
{
    struct img m;
    char *json;
    /* 1 MiB at 64 KiB granules: 16 bits, one 8-byte word, one cluster */
    bitmap_image(&m, 2, 16, "nightly", 1);
    char *h = img_opens(&m, &json);
    ck_assert_ptr_nonnull(strstr(h, "    bitmaps:\n        [0]:\n            flags:\n"
                                    "                [0]: auto\n            name: nightly\n"
                                    "            granularity: 65536\n"));
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    free(json);

    bitmap_image(&m, 3, 16, "busy", 1);
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "[0]: in-use\n                [1]: auto\n"));
    free(h);

    bitmap_image(&m, 0, 16, "wrong", 2);
    img_fails(&m, "Could not read bitmap 'wrong' from image: Invalid argument");
    bitmap_image(&m, 1, 16, "unused", 2); /* in use: its table is not loaded */
    h = img_opens(&m, NULL);
    free(h);
    bitmap_image(&m, 0, 8, "tiny", 1);
    img_fails(&m, "Bitmap 'tiny' doesn't satisfy the constraints");
    bitmap_image(&m, 4, 16, "flags", 1);
    img_fails(&m, "Bitmap 'flags' doesn't satisfy the constraints");
    bitmap_image(&m, 0, 16, "table", 1);
    put64be(m.d + 4608, 2); /* a reserved bit */
    img_fails(&m,
              "Could not read bitmap_table table from image for bitmap 'table': Invalid argument");
    bitmap_image(&m, 0, 16, "extra", 1);
    put32be(m.d + 4096 + 20, 8);
    img_fails(&m, "Broken bitmap directory"); /* the entry outgrows the directory */
    put64be(m.d + 128, 40);
    img_fails(&m, "Bitmap extra data is not supported");
    bitmap_image(&m, 0, 16, "more", 1);
    put32be(m.d + 120, 2);
    img_fails(&m, "Less bitmaps found than specified in header extension");
}
END_TEST

START_TEST(duplicate_bitmaps)
{
    struct img m;
    size_t off = 112;
    uint8_t b[24];
    base_image(&m);
    put32be(b, 2);
    put32be(b + 4, 0);
    put64be(b + 8, 64);
    put64be(b + 16, 4096);
    add_ext(&m, &off, 0x23852875, b, 24);
    put64be(m.d + 88, 1);
    for (int i = 0; i < 2; i++) {
        uint8_t *e = m.d + 4096 + 32 * i;
        put64be(e, 4608);
        put32be(e + 8, 1);
        put32be(e + 12, 0);
        e[16] = 1;
        e[17] = 16;
        e[19] = 3;
        memcpy(e + 24, "dup", 3);
    }
    m.len = 5120;
    img_fails(&m, "Bitmap already exists: dup");
    put32be(m.d + 4096 + 32 + 12, 1); /* the second one in use: qemu keeps the first */
    char *h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "[1]:\n            flags:\n                [0]: in-use\n"));
    free(h);
}
END_TEST

/* A snapshot table of one entry at 4096. */
static void snapshot_image(struct img *m, uint32_t extra, const char *id, const char *name)
{
    base_image(m);
    put32be(m->d + 60, 1);
    put64be(m->d + 64, 4096);
    uint8_t *s = m->d + 4096;
    put64be(s, 1024);
    put32be(s + 8, 32);
    put32be(s + 12, (uint32_t)strlen(id) << 16 | (uint32_t)strlen(name));
    put32be(s + 16, 1700000000);
    put32be(s + 20, 5);
    put64be(s + 24, 3723004000000ull); /* 1:02:03.004 */
    put32be(s + 32, 1000);
    put32be(s + 36, extra);
    if (extra >= 8)
        put64be(s + 40, 5u << 20);
    if (extra >= 16)
        put64be(s + 48, 1 << 20);
    if (extra >= 24)
        put64be(s + 56, 77);
    memcpy(s + 40 + extra, id, strlen(id));
    memcpy(s + 40 + extra + strlen(id), name, strlen(name));
    m->len = 5120;
}

START_TEST(snapshots)
{
    struct img m;
    char *json;
    snapshot_image(&m, 24, "1", "before upgrade");
    char *h = img_opens(&m, &json);
    ck_assert_ptr_nonnull(strstr(h, "Snapshot list:\n"));
    ck_assert_ptr_nonnull(strstr(h, "before upgrade      5 MiB"));
    ck_assert_ptr_nonnull(strstr(h, "01:02:03.004         77\n"));
    ck_assert_ptr_nonnull(strstr(json, "\"icount\": 77"));
    ck_assert_ptr_nonnull(strstr(json, "\"vm-clock-sec\": 3723"));
    ck_assert_ptr_nonnull(strstr(json, "\"date-nsec\": 5"));
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    free(json);

    snapshot_image(&m, 0, "7", "old style"); /* 32-bit VM state size, no icount */
    h = img_opens(&m, &json);
    ck_assert_ptr_nonnull(strstr(json, "\"vm-state-size\": 1000"));
    ck_assert_ptr_null(strstr(json, "icount"));
    free(h);
    free(json);

    snapshot_image(&m, 1025, "1", "x");
    img_fails(&m, "Too much extra metadata in snapshot table entry 0");

    /* with an external data file qemu-img lists no snapshots */
    snapshot_image(&m, 24, "1", "hidden");
    put64be(m.d + 72, 4);
    h = img_opens(&m, NULL);
    ck_assert_ptr_null(strstr(h, "Snapshot list"));
    free(h);

    /* a table past the end of the file reads as zeros: accepted, but out of range */
    snapshot_image(&m, 24, "1", "gone");
    put64be(m.d + 64, 1 << 20);
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "safety: UNSAFE\n"));
    ck_assert_ptr_nonnull(strstr(h, "out-of-range: the snapshot table"));
    free(h);

    snapshot_image(&m, 24, "1", "far");
    put64be(m.d + 64, 0x7fffffffffff0000ull);
    img_fails(&m, "Failed to read snapshot table: Input/output error");
}
END_TEST

START_TEST(backing_and_data_file)
{
    struct img m;
    size_t off = 112;
    char *json;
    base_image(&m);
    add_ext(&m, &off, 0xe2792aca, "raw", 3);
    put64be(m.d + 8, 400);
    put32be(m.d + 16, 8);
    memcpy(m.d + 400, "base.img", 8);
    char *h = img_opens(&m, &json);
    ck_assert_ptr_nonnull(strstr(h, "backing file: base.img\nbacking file format: raw\n"));
    ck_assert_ptr_nonnull(strstr(h, "    backing-file: the image names a backing file"));
    ck_assert_ptr_nonnull(strstr(json, "\"backing-filename-format\": \"raw\""));
    free(h);
    free(json);

    put32be(m.d + 16, 113); /* more than the rest of the cluster */
    img_fails(&m, "Backing file name too long");

    base_image(&m);
    off = 112;
    add_ext(&m, &off, 0x44415441, "disk-extent.raw", 15);
    put64be(m.d + 72, 4);
    put64be(m.d + 88, 2);
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "    data file: disk-extent.raw\n    data file raw: true\n"));
    ck_assert_ptr_nonnull(strstr(h, "data-file: the image names an external data file"));
    free(h);
    /* the extension without the incompatible bit: shown, but qemu would not use it */
    put64be(m.d + 72, 0);
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "    data file: disk-extent.raw\n"));
    ck_assert_ptr_null(strstr(h, "data file raw"));
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
}
END_TEST

START_TEST(flags_and_findings)
{
    struct img m;
    char *json;
    base_image(&m);
    put64be(m.d + 72, 3); /* dirty, corrupt */
    put64be(m.d + 80, 1); /* lazy refcounts */
    char *h = img_opens(&m, &json);
    ck_assert_ptr_nonnull(strstr(h, "cleanly shut down: no\n"));
    ck_assert_ptr_nonnull(strstr(h, "    lazy refcounts: true\n"));
    ck_assert_ptr_nonnull(strstr(h, "    corrupt: true\n"));
    ck_assert_ptr_nonnull(strstr(h, "    corrupt: the image is marked corrupt\n"));
    ck_assert_ptr_nonnull(strstr(json, "\"dirty-flag\": true"));
    free(h);
    free(json);

    base_image(&m);
    put64be(m.d + 40, 1 << 20); /* L1 past EOF */
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "out-of-range: the L1 table (offset 1048576, 256 bytes)"));
    free(h);

    base_image(&m);
    put64be(m.d + 48, 1024); /* refcount table on the L1 table */
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "out-of-range: the L1 table overlaps the refcount table\n"));
    free(h);

    base_image(&m);
    put64be(m.d + 48, 0); /* refcount table on the header */
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "the refcount table (offset 0) overlaps the image header"));
    free(h);

    base_image(&m);
    put32be(m.d + 36, 5000); /* more L1 entries than 1 MiB needs: slack qemu may leave */
    put64be(m.d + 40, 4096);
    m.len = 4096 + 5000 * 8;
    ck_assert_uint_le(m.len, sizeof(m.d));
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "safety: safe\n"));
    free(h);
    put32be(m.d + 36, 200000); /* a 1.6 MiB table for 32 entries' worth: absurd */
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(
        strstr(h, "the L1 table has 200000 entries where the virtual size needs 32"));
    free(h);

    base_image(&m);
    put32be(m.d + 4, 2); /* v2: 72-byte header, no feature bits */
    put64be(m.d + 72, 3);
    h = img_opens(&m, NULL);
    ck_assert_ptr_nonnull(strstr(h, "    compat: 0.10\n    compression type: zlib\n"
                                    "    refcount bits: 16\nsafety: safe\n"));
    free(h);

    base_image(&m);
    put32be(m.d + 32, 1); /* AES */
    h = img_opens(&m, &json);
    ck_assert_ptr_nonnull(strstr(h, "encrypted: yes\n"));
    ck_assert_ptr_nonnull(strstr(h, "    encrypt:\n        format: aes\n"));
    ck_assert_ptr_nonnull(strstr(json, "\"encrypted\": true"));
    free(h);
    free(json);
}
END_TEST

START_TEST(probing)
{
    struct img m;
    base_image(&m);
    put32be(m.d + 4, 1); /* version 1 is the qcow driver's */
    img_fails(&m, "Cluster size must be between 512 and 64k");
    /* forced qcow2 on something else */
    memset(m.d, 0, 8);
    expect_fail(m.d, m.len, "x.qcow2", "qcow2", "Image is not in qcow2 format");
}
END_TEST

/* Random damage to the crafted images: no crash, an answer or a message. */
START_TEST(random_damage)
{
    struct img m;
    uint32_t seed = 12345;
    for (int it = 0; it < 3000; it++) {
        switch (it % 4) {
        case 0:
            base_image(&m);
            break;
        case 1:
            snapshot_image(&m, 24, "1", "snap");
            break;
        case 2:
            bitmap_image(&m, 2, 16, "bm", 1);
            break;
        default:
            bitmap_image(&m, 0, 16, "bm", 1);
            put32be(m.d + 60, 1);
            put64be(m.d + 64, 3072);
            break;
        }
        int n = 1 + it % 5;
        for (int k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t pos = (seed >> 8) % (uint32_t)m.len;
            seed = seed * 1103515245u + 12345u;
            if (pos < 112 || (seed & 3) == 0)
                m.d[pos % 112] = (uint8_t)(seed >> 16);
            else
                m.d[pos] = (uint8_t)(seed >> 16);
        }
        char *human, *json, *err;
        if (run(&m, &human, &json, &err) == 0) {
            free(human);
            free(json);
        } else {
            ck_assert_msg(err && err[0], "iteration %d: empty error", it);
            free(err);
        }
    }
}
END_TEST

int main(void)
{
    test_tmpdir(); /* one directory for all forked tests */
    Suite *s = suite_create("fmt_qcow2");
    TCase *tc = tcase_create("qemu-img");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, made_by_qemu_img, 0, (int)(sizeof(made) / sizeof(made[0])));
    tcase_add_test(tc, truncation_never_crashes);
    suite_add_tcase(s, tc);
    TCase *cr = tcase_create("crafted");
    tcase_set_timeout(cr, 60);
    tcase_add_test(cr, crafted_base_is_clean);
    tcase_add_loop_test(cr, header_refusals, 0,
                        (int)(sizeof(header_errors) / sizeof(header_errors[0])));
    tcase_add_test(cr, compression_type_refusals);
    tcase_add_test(cr, feature_name_table);
    tcase_add_test(cr, extension_refusals);
    tcase_add_test(cr, bitmaps);
    tcase_add_test(cr, duplicate_bitmaps);
    tcase_add_test(cr, snapshots);
    tcase_add_test(cr, backing_and_data_file);
    tcase_add_test(cr, flags_and_findings);
    tcase_add_test(cr, probing);
    tcase_add_test(cr, random_damage);
    suite_add_tcase(s, cr);
    return run_suite(s, test_have_qemu_img());
}
