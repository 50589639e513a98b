/* test_blk_qcow2.c: the qcow2 block driver on crafted tables, each image also
 * given to qemu-img (map and convert) so that pupa must read it as qemu does:
 * data, zero and unallocated clusters, entries past EOF, clusters shared or over
 * metadata, misaligned tables and clusters, invalid subcluster bitmaps, zero
 * clusters in v2, compressed clusters (zlib and zstd) that are fine, truncated,
 * corrupt or bombs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "blk_testlib.h"
#include "fmt_testlib.h"

#define CB          16
#define CS          (1u << CB)
#define DISK        (16u * CS) /* one L2 table's worth is plenty */
#define L2_AT       (3ull * CS)
#define COPIED      (1ull << 63)
#define COMPRESSED  (1ull << 62)
#define CSIZE_SHIFT (62 - (CB - 8))

struct img {
    uint8_t *b;
    size_t len;
    bool extl2;
};

static void grow(struct img *m, size_t len)
{
    if (len <= m->len)
        return;
    m->b = realloc(m->b, len);
    memset(m->b + m->len, 0, len - m->len);
    m->len = len;
}

/* header, refcount table (cluster 1, empty), L1 (cluster 2) -> L2 (cluster 3) */
static struct img new_image(uint32_t version, bool extl2)
{
    struct img m = {NULL, 0, extl2};
    grow(&m, 4 * CS);
    uint8_t *h = m.b;
    put32be(h, 0x514649fb);
    put32be(h + 4, version);
    put32be(h + 20, CB);
    put64be(h + 24, DISK);
    put32be(h + 36, 1);         /* l1_size */
    put64be(h + 40, 2ull * CS); /* l1_table_offset */
    put64be(h + 48, CS);        /* refcount_table_offset */
    put32be(h + 56, 1);         /* refcount_table_clusters */
    if (version == 3) {
        put64be(h + 72, extl2 ? 1ull << 4 : 0); /* incompatible features */
        put32be(h + 96, 4);                     /* refcount_order */
        put32be(h + 100, 112);                  /* header_length */
    }
    put64be(m.b + 2 * CS, L2_AT | COPIED);
    return m;
}

static void l2(struct img *m, unsigned index, uint64_t entry, uint64_t bitmap)
{
    size_t at = L2_AT + index * (m->extl2 ? 16u : 8u);
    put64be(m->b + at, entry);
    if (m->extl2)
        put64be(m->b + at + 8, bitmap);
}

/* A data cluster filled with `byte` (each 512-byte sector numbered in its first byte). */
static uint64_t data_cluster(struct img *m, unsigned cluster, uint8_t byte)
{
    grow(m, (size_t)(cluster + 1) * CS);
    memset(m->b + (size_t)cluster * CS, byte, CS);
    for (unsigned s = 0; s < CS / 512; s++)
        m->b[(size_t)cluster * CS + s * 512] = (uint8_t)s;
    return (uint64_t)cluster * CS;
}

/* A compressed cluster's L2 entry for `stream` placed at byte `at` of the file. */
static uint64_t put_compressed(struct img *m, uint64_t at, const void *stream, size_t len)
{
    grow(m, at + len);
    memcpy(m->b + at, stream, len);
    uint64_t sectors = (at % 512 + len + 511) / 512;
    return COMPRESSED | at | ((sectors - 1) << CSIZE_SHIFT);
}

static size_t deflate_raw(const void *in, size_t inlen, uint8_t *out, size_t cap)
{
    z_stream s;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(deflateInit2(&s, 9, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY), Z_OK);
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)inlen;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&s, Z_FINISH), Z_STREAM_END);
    size_t n = s.total_out;
    deflateEnd(&s);
    return n;
}

static const char *save(const struct img *m, const char *name)
{
    const char *p = tmp_path(name);
    spit(p, m->b, m->len);
    return p;
}

/* qemu-img map's stderr for path. */
static char *qemu_map_stderr(const char *path)
{
    const char *err = tmp_path("qemu-map.err");
    test_sh("qemu-img map '%s' >/dev/null 2> '%s'", path, err);
    return slurp(err, NULL);
}

/* ------------------------------------------------------------ tests */

START_TEST(clusters_of_every_kind)
{
    struct img m = new_image(3, false);
    uint64_t d = data_cluster(&m, 4, 0x11);
    data_cluster(&m, 5, 0x22);
    l2(&m, 0, d | COPIED, 0);
    l2(&m, 1, 1, 0);               /* zero, no host cluster */
    l2(&m, 2, (5ull * CS) | 1, 0); /* zero, preallocated */
    /* 3: unallocated */
    l2(&m, 4, 100ull * CS | COPIED, 0); /* past EOF: reads as zeros */
    l2(&m, 5, CS | COPIED, 0);          /* over the refcount table */
    l2(&m, 6, d | COPIED, 0);           /* shares cluster 4 with entry 0 */
    l2(&m, 7, (5ull * CS) | COPIED, 0);
    l2(&m, 8, (6ull * CS) | COPIED, 0); /* contiguous with 7, cluster 6 past EOF */
    const char *p = save(&m, "kinds.qcow2");
    char *json = blk_same_as_qemu(p, NULL, 0);
    ck_assert_ptr_nonnull(strstr(json, "\"start\": 262144, \"length\": 65536, \"depth\": 0, "
                                       "\"present\": true, \"zero\": false, \"data\": true, "
                                       "\"offset\": 6553600}"));
    free(json);
    /* the bytes: cluster 6 of the disk is cluster 4 of the file again */
    static struct blk_test_chain c;
    const char *paths[] = {p};
    ck_assert_int_eq(blk_test_open(&c, paths, 1, NULL), 0);
    uint8_t a[CS], b[CS];
    ck_assert_int_eq(blk_read(&c.nodes[0], 0, a, CS), 0);
    ck_assert_int_eq(blk_read(&c.nodes[0], 6ull * CS, b, CS), 0);
    ck_assert_mem_eq(a, b, CS);
    ck_assert_uint_eq(a[512], 1);
    ck_assert_uint_eq(a[513], 0x11);
    ck_assert_int_eq(blk_read(&c.nodes[0], 4ull * CS, b, CS), 0);
    for (size_t i = 0; i < CS; i++)
        ck_assert_uint_eq(b[i], 0);
    blk_test_close(&c);
    free(m.b);
}
END_TEST

/* qemu's corruption cases: its message once on stderr, the call fails with EIO. */
static void corrupt_like_qemu(struct img *m, const char *name, const char *message)
{
    const char *p = save(m, name);
    free(blk_same_as_qemu(p, NULL, 0));
    char *q = qemu_map_stderr(p);
    char want[512];
    snprintf(want, sizeof(want),
             "qcow2: Image is corrupt: %s; further non-fatal corruption events will be "
             "suppressed\nqemu-img: Could not read file metadata: Input/output error\n",
             message);
    ck_assert_str_eq(q, want);
    free(q);
    static struct blk_test_chain c;
    const char *paths[] = {p};
    ck_assert_int_eq(blk_test_open(&c, paths, 1, NULL), 0);
    int rc;
    char *err;
    free(blk_test_map(&c, true, 0, UINT64_MAX, &rc, &err));
    ck_assert_int_eq(rc, 1);
    ck_assert_str_eq(err, "Could not read file metadata: Input/output error");
    snprintf(want, sizeof(want),
             "qcow2: Image is corrupt: %s; further non-fatal corruption events will be "
             "suppressed",
             message);
    ck_assert_str_eq(c.nodes[0].warning, want);
    free(err);
    blk_test_close(&c);
}

START_TEST(misaligned_l2_table)
{
    struct img m = new_image(3, false);
    put64be(m.b + 2 * CS, (L2_AT + 512) | COPIED);
    corrupt_like_qemu(&m, "l2-misaligned.qcow2", "L2 table offset 0x30200 unaligned (L1 index: 0)");
    free(m.b);
}
END_TEST

START_TEST(misaligned_cluster)
{
    struct img m = new_image(3, false);
    data_cluster(&m, 4, 0x33);
    l2(&m, 2, (4ull * CS + 512) | COPIED, 0);
    corrupt_like_qemu(&m, "cluster-misaligned.qcow2",
                      "Cluster allocation offset 0x40200 unaligned (L2 offset: 0x30000, L2 index: "
                      "0x2)");
    free(m.b);
}
END_TEST

START_TEST(zero_cluster_in_v2)
{
    struct img m = new_image(2, false);
    l2(&m, 1, 1, 0);
    corrupt_like_qemu(&m, "v2-zero.qcow2",
                      "Zero cluster entry found in pre-v3 image (L2 offset: 0x30000, L2 index: "
                      "0x1)");
    free(m.b);
}
END_TEST

START_TEST(subclusters)
{
    struct img m = new_image(3, true);
    uint64_t d = data_cluster(&m, 4, 0x44);
    l2(&m, 0, d | COPIED, 0x0000000full | (0xf0ull << 32)); /* 4 allocated, 4 zero, rest not */
    l2(&m, 1, 0, 0xffff0000ull << 32);                      /* zero subclusters, no cluster */
    data_cluster(&m, 5, 0x55);
    l2(&m, 2, (5ull * CS) | COPIED, 0xffffffffull);
    l2(&m, 3, (6ull * CS) | COPIED, 0xffffffffull); /* contiguous with 2 */
    free(blk_same_as_qemu(save(&m, "subclusters.qcow2"), NULL, 0));
    /* a subcluster both allocated and zero */
    l2(&m, 5, (5ull * CS) | COPIED, 0x1ull | (0x1ull << 32));
    corrupt_like_qemu(&m, "subclusters-invalid.qcow2",
                      "Invalid cluster entry found  (L2 offset: 0x30000, L2 index: 0x5)");
    free(m.b);
}
END_TEST

START_TEST(compressed_zlib)
{
    struct img m = new_image(3, false);
    static uint8_t plain[CS], stream[2 * CS], big[64u << 20];
    for (size_t i = 0; i < CS; i++)
        plain[i] = (uint8_t)(i * 7 / 13);
    size_t n = deflate_raw(plain, CS, stream, sizeof(stream));
    l2(&m, 0, put_compressed(&m, 4ull * CS + 100, stream, n), 0);
    /* the same stream again, the last byte cut off by EOF: qemu reads zeros there */
    uint64_t end = m.len + 4096;
    l2(&m, 1, put_compressed(&m, end, stream, n - 1), 0);
    free(blk_same_as_qemu(save(&m, "zlib.qcow2"), NULL, 0));

    /* a bomb: 64 MiB of zeros in one stream; qemu takes the first cluster of it */
    size_t bn = deflate_raw(big, sizeof(big), stream, sizeof(stream));
    ck_assert_uint_lt(bn, 2 * CS);
    l2(&m, 2, put_compressed(&m, m.len + 512, stream, bn), 0);
    free(blk_same_as_qemu(save(&m, "zlib-bomb.qcow2"), NULL, 0));

    /* garbage: the read fails (qemu-img convert too) */
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 151 + 7);
    l2(&m, 3, put_compressed(&m, m.len + 1024, junk, sizeof(junk)), 0);
    free(blk_same_as_qemu(save(&m, "zlib-junk.qcow2"), NULL, 0));
    static struct blk_test_chain c;
    const char *paths[] = {tmp_path("zlib-junk.qcow2")};
    ck_assert_int_eq(blk_test_open(&c, paths, 1, NULL), 0);
    ck_assert_int_eq(blk_read(&c.nodes[0], 3ull * CS, plain, CS), -1);
    ck_assert_str_eq(c.nodes[0].error, "Input/output error");
    blk_test_close(&c);
    free(m.b);
}
END_TEST

START_TEST(compressed_zstd)
{
    struct img m = new_image(3, false);
    put64be(m.b + 72, 1ull << 3); /* incompatible: compression type */
    m.b[104] = 1;                 /* zstd */
    static uint8_t plain[CS], stream[2 * CS], twice[2 * CS];
    for (size_t i = 0; i < CS; i++)
        plain[i] = (uint8_t)(i % 251);
    size_t n = ZSTD_compress(stream, sizeof(stream), plain, CS, 3);
    ck_assert(!ZSTD_isError(n));
    l2(&m, 0, put_compressed(&m, 4ull * CS + 7, stream, n), 0);
    /* a frame with more than a cluster in it: qemu refuses to cut it short */
    memcpy(twice, plain, CS);
    memcpy(twice + CS, plain, CS);
    size_t tn = ZSTD_compress(stream, sizeof(stream), twice, sizeof(twice), 3);
    ck_assert(!ZSTD_isError(tn));
    l2(&m, 1, put_compressed(&m, m.len + 512, stream, tn), 0);
    free(blk_same_as_qemu(save(&m, "zstd.qcow2"), NULL, 0));
    /* truncated frame: the read fails */
    l2(&m, 1, put_compressed(&m, m.len + 512, stream, tn / 2), 0);
    free(blk_same_as_qemu(save(&m, "zstd-cut.qcow2"), NULL, 0));
    free(m.b);
}
END_TEST

START_TEST(tables_out_of_reach)
{
    struct img m = new_image(3, false);
    put64be(m.b + 2 * CS, (200ull * CS) | COPIED); /* L2 table past EOF: all unallocated */
    free(blk_same_as_qemu(save(&m, "l2-past-eof.qcow2"), NULL, 0));
    /* the farthest an L1 entry can point (2^56 - 64 KiB): zeros there too, no error */
    put64be(m.b + 2 * CS, 0x00ffffffffff0000ull);
    const char *p = save(&m, "l2-far.qcow2");
    free(blk_same_as_qemu(p, NULL, 0));
    char *q = qemu_map_stderr(p);
    ck_assert_str_eq(q, "");
    free(q);
    free(m.b);
}
END_TEST

int main(void)
{
    test_tmpdir();
    Suite *s = suite_create("blk_qcow2");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    if (test_have_qemu_img()) {
        tcase_add_test(tc, clusters_of_every_kind);
        tcase_add_test(tc, misaligned_l2_table);
        tcase_add_test(tc, misaligned_cluster);
        tcase_add_test(tc, zero_cluster_in_v2);
        tcase_add_test(tc, subclusters);
        tcase_add_test(tc, compressed_zlib);
        tcase_add_test(tc, compressed_zstd);
        tcase_add_test(tc, tables_out_of_reach);
    }
    suite_add_tcase(s, tc);
    return run_suite(s, test_have_qemu_img());
}
