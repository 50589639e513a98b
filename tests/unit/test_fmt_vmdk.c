/* test_fmt_vmdk.c: the vmdk parser against qemu-img 7.2 and on crafted images. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_testlib.h"

/* ------------------------------------------------------------ crafted VMDK4 sparse images */

struct v4 {
    uint32_t version, flags, gtes;
    uint64_t capacity, granularity, desc_offset, desc_size, rgd, gd, grain_offset;
    uint16_t compress;
};

static struct v4 v4_default(void)
{
    struct v4 h = {1, 3, 512, 2097152, 128, 1, 20, 21, 30, 128, 0};
    return h;
}

#define IMG_SIZE (128 * 1024)
static uint8_t img[IMG_SIZE];

static const char *desc_default = "# Disk DescriptorFile\nversion=1\nCID=12345678\n"
                                  "parentCID=ffffffff\ncreateType=\"monolithicSparse\"\n"
                                  "RW 2097152 SPARSE \"x.vmdk\"\n";

static void build(const struct v4 *h, const char *desc)
{
    memset(img, 0, sizeof(img));
    memcpy(img, "KDMV", 4);
    put32le(img + 4, h->version);
    put32le(img + 8, h->flags);
    put64le(img + 12, h->capacity);
    put64le(img + 20, h->granularity);
    put64le(img + 28, h->desc_offset);
    put64le(img + 36, h->desc_size);
    put32le(img + 44, h->gtes);
    put64le(img + 48, h->rgd);
    put64le(img + 56, h->gd);
    put64le(img + 64, h->grain_offset);
    memcpy(img + 73, "\n \r\n", 4);
    img[77] = (uint8_t)h->compress;
    img[78] = (uint8_t)(h->compress >> 8);
    if (desc)
        memcpy(img + 512, desc, strlen(desc));
}

static void build_desc_file(const char *text)
{
    memset(img, 0, sizeof(img));
    memcpy(img, text, strlen(text));
}

START_TEST(sparse_header_refusals)
{
    struct v4 h;
    h = v4_default(), h.version = 4, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "Unsupported VMDK version 4");
    h = v4_default(), h.gtes = 513, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "L2 table size too big");
    h = v4_default(), h.granularity = 0, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "L1 entry size is invalid");
    /* num_gtes * granularity is truncated to 32 bits in qemu */
    h = v4_default(), h.granularity = 1ull << 23, h.gtes = 512, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "L1 entry size is invalid");
    h = v4_default(), h.grain_offset = 100000, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "File truncated, expecting at least 51200000 bytes");
    h = v4_default(), h.granularity = 0x200001, h.gtes = 1, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "Invalid granularity, image may be corrupt");
    h = v4_default(), h.granularity = 1, h.gtes = 1, h.capacity = 40u << 20,
    build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "L1 size too big");
    h = v4_default(), h.gd = 1ull << 54, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL,
                "Could not read l1 table from extent 'x.vmdk': Input/output error");
    h = v4_default(), h.rgd = 1ull << 54, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL,
                "Could not read l1 backup table from extent 'x.vmdk': Input/output error");
    h = v4_default(), h.gd = UINT64_MAX, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "Invalid footer");
    expect_fail(img, 1024, "x.vmdk", NULL, "Failed to read footer: Input/output error");
    h = v4_default(), build(&h, "CID=1\n");
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "Could not open 'x.vmdk': Invalid argument");
    h = v4_default(), build(&h, "CID=zz\nparentCID=1\n");
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "Could not open 'x.vmdk': Invalid argument");
    h = v4_default(), build(&h, "CID=1\nparentCID=2\nparentFileNameHint=\"no end\n");
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "Could not open 'x.vmdk': Invalid argument");
    h = v4_default(), h.capacity = 1ull << 62, h.granularity = 0x200000, build(&h, desc_default);
    expect_fail(img, IMG_SIZE, "x.vmdk", NULL, "Can't get image size 'x.vmdk': File too large");
    expect_fail(img, 0, "x.vmdk", "vmdk", "File is too small, not a valid image");
}
END_TEST

START_TEST(sparse_crafted_values)
{
    struct v4 h = v4_default();
    build(&h, "CID=fffffffe\nparentCID=-1\nparentFileNameHint=\"/etc/passwd\"\n");
    char *out = expect_ok(img, IMG_SIZE, "x.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "virtual size: 1 GiB (1073741824 bytes)\n"));
    ck_assert_ptr_nonnull(strstr(out, "cluster_size: 65536\n"));
    ck_assert_ptr_nonnull(strstr(out, "backing file: /etc/passwd\nbacking file format: vmdk\n"));
    ck_assert_ptr_nonnull(strstr(out, "    cid: 4294967294\n    parent cid: 4294967295\n"));
    ck_assert_ptr_nonnull(strstr(out, "create type: monolithicSparse\n"));
    ck_assert_ptr_nonnull(strstr(out, "safety: UNSAFE\n    backing-file: "));
    free(out);

    /* "CID" is found inside "parentCID" when no CID line comes first */
    build(&h, "parentCID=2a\n");
    out = expect_ok(img, IMG_SIZE, "x.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "    cid: 42\n    parent cid: 42\n"));
    free(out);

    /* compressed: streamOptimized, "compressed: true" in the extent */
    h.compress = 1;
    build(&h, desc_default);
    out = expect_ok(img, IMG_SIZE, "x.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "create type: streamOptimized\n"));
    ck_assert_ptr_nonnull(strstr(out, "compressed: true\n"));
    ck_assert_ptr_nonnull(strstr(out, "safety: safe\n"));
    free(out);

    /* stream-optimized with the grain directory "at end": the footer's header wins */
    h = v4_default(), h.gd = UINT64_MAX, h.compress = 1, h.version = 3;
    build(&h, desc_default);
    put32le(img + IMG_SIZE - 1536 + 12, 3); /* footer marker */
    h.gd = 40, h.capacity = 4096;
    struct v4 keep = h;
    uint8_t first[512];
    build(&keep, NULL);
    memcpy(first, img, 512);
    h.gd = UINT64_MAX, h.capacity = 2097152;
    build(&h, desc_default);
    put32le(img + IMG_SIZE - 1536 + 12, 3);
    memcpy(img + IMG_SIZE - 1024, first, 512);
    out = expect_ok(img, IMG_SIZE, "x.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "virtual size: 2 MiB (2097152 bytes)\n"));
    ck_assert_ptr_nonnull(strstr(out, "create type: streamOptimized\n"));
    free(out);

    /* version 3 opens read-only, version 0 too */
    h = v4_default(), h.version = 3, build(&h, desc_default);
    free(expect_ok(img, IMG_SIZE, "x.vmdk", NULL));
}
END_TEST

START_TEST(sparse_findings)
{
    struct v4 h = v4_default();
    /* grain directory past the end of the file */
    h.gd = 100000, h.flags = 1, build(&h, desc_default);
    char *out = expect_ok(img, IMG_SIZE, "x.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "out-of-range: the grain directory"));
    free(out);
    /* a grain table past the end */
    h = v4_default(), build(&h, desc_default);
    put32le(img + 30 * 512, 5000);
    out = expect_ok(img, IMG_SIZE, "x.vmdk", NULL);
    ck_assert_ptr_nonnull(
        strstr(out, "out-of-range: 1 grain table(s) named by the grain directory"));
    free(out);
    /* capacity beyond 2 TiB, odd grain table size */
    h = v4_default(), h.capacity = 1ull << 33, h.gtes = 256, h.granularity = 2048, h.flags = 1;
    build(&h, desc_default);
    out = expect_ok(img, IMG_SIZE, "x.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "capacity of 8589934592 sectors is beyond"));
    ck_assert_ptr_nonnull(strstr(out, "grain tables have 256 entries"));
    free(out);
}
END_TEST

START_TEST(cowd_image)
{
    memset(img, 0, sizeof(img));
    memcpy(img, "COWD", 4);
    uint32_t f[10] = {1, 3, 204800, 16, 4, 100, 0, 0, 0, 0};
    for (int i = 0; i < 10; i++)
        put32le(img + 4 + 4 * i, f[i]);
    memcpy(img + 512, "CID=1\nparentCID=2\n", 18);
    char *out = expect_ok(img, IMG_SIZE, "c.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "virtual size: 100 MiB (104857600 bytes)\n"));
    ck_assert_ptr_nonnull(strstr(out, "cluster_size: 8192\n"));
    ck_assert_ptr_nonnull(strstr(out, "create type: \n"));
    free(out);
    put32le(img + 16, 0x200001);
    expect_fail(img, IMG_SIZE, "c.vmdk", NULL, "Invalid granularity, image may be corrupt");
}
END_TEST

START_TEST(descriptor_refusals)
{
    build_desc_file("# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=2\nRW 100 FLAT \"e\" 0\n");
    expect_fail(img, 200, "d.vmdk", NULL, "invalid VMDK image descriptor");
    build_desc_file("version=1\ncreateType=\"foo\"\n");
    expect_fail(img, 200, "d.vmdk", NULL, "Unsupported image type 'foo'");
    build_desc_file("version=1\ncreateType=\"vmfs\"\nRW 100 FLAT \"e\"\r\n");
    expect_fail(img, 200, "d.vmdk", NULL, "Invalid extent line: RW 100 FLAT \"e\"\r");
    build_desc_file("version=1\ncreateType=\"vmfs\"\nRW 100 VMFS \"e\" 5\n");
    expect_fail(img, 200, "d.vmdk", NULL, "Invalid extent line: RW 100 VMFS \"e\" 5");
    build_desc_file("version=1\ncreateType=\"vmfs\"\nRW 100 SPARSE \"e\" 5\n");
    expect_fail(img, 200, "d.vmdk", NULL, "Invalid extent line: RW 100 SPARSE \"e\" 5");
    build_desc_file("version=1\ncreateType=\"vmfs\"\nRW 100 FLAT \"e\" -1\n");
    expect_fail(img, 200, "d.vmdk", NULL, "Invalid extent line: RW 100 FLAT \"e\" -1");
    /* no usable extent: qemu-img 7.2 aborts; pupa refuses */
    build_desc_file("version=1\nCID=1\nparentCID=2\ncreateType=\"vmfs\"\nRW -1 VMFS \"e\"\n"
                    "RDONLY 100 FLAT \"e\" 0\nRW 100 FOO \"e\"\n");
    char *human, *json, *err;
    ck_assert_int_eq(run_mem(img, 300, "d.vmdk", NULL, &human, &json, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no usable extent"));
    free(err);
    /* an invalid line after a good one still fails, as in qemu */
    build_desc_file("version=1\nCID=1\nparentCID=2\ncreateType=\"vmfs\"\nRW 100 VMFS \"a\"\n"
                    "RW 100 FLAT \"b\"\n");
    expect_fail(img, 300, "d.vmdk", NULL, "Invalid extent line: RW 100 FLAT \"b\"");
}
END_TEST

START_TEST(descriptor_external_extents)
{
    build_desc_file("# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=2\n"
                    "createType=\"monolithicFlat\"\nRW 20480 FLAT \"flat-x.vmdk\" 0\n"
                    "RW\n 100\n VMFS\n \"/etc/hostname\"\n"
                    "RW 8 SPARSE \"../up/s.vmdk\"\n");
    char *out = expect_ok(img, 400, "dir/d.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "virtual size: 10.1 MiB (10541056 bytes)\n"));
    ck_assert_ptr_null(strstr(out, "cluster_size"));
    ck_assert_ptr_nonnull(strstr(out, "create type: monolithicFlat\n"));
    ck_assert_ptr_nonnull(strstr(out, "filename: dir/flat-x.vmdk\n"));
    ck_assert_ptr_nonnull(strstr(out, "filename: /etc/hostname\n"));
    ck_assert_ptr_nonnull(strstr(out, "filename: dir/../up/s.vmdk\n"));
    ck_assert_ptr_nonnull(strstr(out, "format: SPARSE\n"));
    ck_assert_ptr_nonnull(strstr(out, "safety: UNSAFE\n"));
    ck_assert_ptr_nonnull(strstr(out, "external-extent: the descriptor names FLAT extent "
                                      "'flat-x.vmdk' (path 'dir/flat-x.vmdk')"));
    ck_assert_ptr_nonnull(strstr(out, "'/etc/hostname' (path '/etc/hostname'), outside"));
    ck_assert_ptr_nonnull(strstr(out, "'../up/s.vmdk' (path 'dir/../up/s.vmdk'), outside"));
    free(out);

    /* the same descriptor embedded in a sparse header with capacity 0 */
    struct v4 h = v4_default();
    h.capacity = 0, h.desc_offset = 2;
    build(&h, "CID=5\nparentCID=6\n");
    const char *d = "createType=\"twoGbMaxExtentFlat\"\nRW 100 FLAT \"other.bin\" 0\n";
    memcpy(img + 1024, d, strlen(d));
    out = expect_ok(img, IMG_SIZE, "e.vmdk", NULL);
    ck_assert_ptr_nonnull(strstr(out, "cid: 5\n    parent cid: 6\n"));
    ck_assert_ptr_nonnull(strstr(out, "create type: twoGbMaxExtentFlat\n"));
    ck_assert_ptr_nonnull(strstr(out, "external-extent: "));
    free(out);
}
END_TEST

START_TEST(probe_rules)
{
    char *human, *json, *err;
    /* blank lines must hold a space; "version=N" right after comments */
    build_desc_file("# c\n  \r\nversion=2\r\ncreateType=\"vmfs\"\nCID=1\nparentCID=2\n"
                    "RW 1 VMFS \"e\"\n");
    ck_assert_int_eq(run_mem(img, 200, "p.vmdk", NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "file format: vmdk\n"));
    free(human);
    free(json);
    build_desc_file("\nversion=1\ncreateType=\"vmfs\"\nCID=1\nparentCID=2\nRW 1 VMFS \"e\"\n");
    ck_assert_int_eq(run_mem(img, 200, "p.vmdk", NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "file format: raw\n"));
    free(human);
    free(json);
}
END_TEST

START_TEST(robustness)
{
    struct v4 h = v4_default();
    build(&h, desc_default);
    put32le(img + 30 * 512, 40);
    truncation_loop(img, IMG_SIZE, "cut.img", NULL, IMG_SIZE, 512);
    mutation_loop(img, IMG_SIZE, "mut.img", NULL, 1024, 3000, 12345);
    mutation_loop(img, IMG_SIZE, "mut.img", "vmdk", 80, 3000, 12345);
    build_desc_file("# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=2\n"
                    "createType=\"vmfs\"\nRW 100 VMFS \"a\"\nRW 8 SPARSE \"b\"\n"
                    "parentFileNameHint=\"x\"\n");
    mutation_loop(img, 300, "mut.img", NULL, 200, 3000, 12345);
}
END_TEST

/* ------------------------------------------------------------ against qemu-img */

START_TEST(qemu_created_single_files)
{
    const char *dir = test_tmpdir();
    static const char *const opts[] = {
        "",
        "-o subformat=streamOptimized",
        "-o compat6=on,adapter_type=lsilogic",
        "-o adapter_type=buslogic,hwversion=10,toolsversion=7",
        "-o zeroed_grain=on",
        "-o subformat=monolithicSparse,adapter_type=legacyESX",
    };
    static const char *const sizes[] = {"1G", "1000000000", "3G", "64K"};
    char path[4200];
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
            snprintf(path, sizeof(path), "%s/vmdk-%zu-%zu.vmdk", dir, i, j);
            ck_assert_int_eq(
                test_sh("qemu-img create -q -f vmdk %s '%s' %s", opts[i], path, sizes[j]), 0);
            free(same_as_qemu(path, NULL));
        }
    }
    /* with data, a backing file, converted stream-optimized */
    snprintf(path, sizeof(path), "%s/data.raw", dir);
    ck_assert_int_eq(test_sh("head -c 300000 /dev/urandom > '%s'", path), 0);
    ck_assert_int_eq(test_sh("qemu-img convert -O vmdk -o subformat=streamOptimized '%s' "
                             "'%s/conv-stream.vmdk' && qemu-img convert -O vmdk '%s' "
                             "'%s/conv.vmdk' && cd '%s' && qemu-img create -q -f vmdk -b "
                             "conv.vmdk -F vmdk backed.vmdk 1G",
                             path, dir, path, dir, dir),
                     0);
    static const char *const more[] = {"conv-stream.vmdk", "conv.vmdk", "backed.vmdk"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, more[i]);
        free(same_as_qemu(path, NULL));
    }
    char *human, *json, *err;
    ck_assert_int_eq(run_file(path, NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "backing-file: "));
    free(human);
    free(json);
}
END_TEST

/* Descriptor sets: everything that does not need the extent files matches. */
START_TEST(qemu_created_multi_file)
{
    const char *dir = test_tmpdir();
    static const char *const opts[] = {
        "-o subformat=monolithicFlat",
        "-o subformat=twoGbMaxExtentFlat",
        "-o subformat=twoGbMaxExtentSparse",
        "-o subformat=twoGbMaxExtentSparse,compat6=on",
    };
    char path[4200];
    ck_assert_int_eq(test_sh("mkdir -p '%s/multi'", dir), 0);
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        snprintf(path, sizeof(path), "%s/multi/m%zu.vmdk", dir, i);
        ck_assert_int_eq(test_sh("qemu-img create -q -f vmdk %s '%s' 5G", opts[i], path), 0);
        /* disk size counts the extents; sparse extents carry their grain size */
        free(same_json_as_qemu(path, NULL,
                               "for o in (q, t):\n"
                               "    o.pop(\"cluster-size\", None)\n"
                               "    for e in o[\"format-specific\"][\"data\"][\"extents\"]:\n"
                               "        e.pop(\"cluster-size\", None)\n"));
        char *human, *json, *err;
        ck_assert_int_eq(run_file(path, NULL, &human, &json, &err), 0);
        ck_assert_ptr_nonnull(strstr(human, "safety: UNSAFE\n    external-extent: "));
        free(human);
        free(json);
    }
}
END_TEST

START_TEST(qemu_refusals_match)
{
    const char *dir = test_tmpdir();
    char path[4200];
    struct v4 h;
    h = v4_default(), h.version = 4, build(&h, desc_default);
    snprintf(path, sizeof(path), "%s/r1.vmdk", dir);
    spit(path, img, IMG_SIZE);
    refused_like_qemu(path, NULL, "Unsupported VMDK version 4");
    h = v4_default(), h.gtes = 1024, build(&h, desc_default);
    spit(path, img, IMG_SIZE);
    refused_like_qemu(path, NULL, "L2 table size too big");
    h = v4_default(), h.grain_offset = 100000, build(&h, desc_default);
    spit(path, img, IMG_SIZE);
    refused_like_qemu(path, NULL, "File truncated, expecting at least 51200000 bytes");
    build_desc_file("version=1\nCID=1\nparentCID=2\ncreateType=\"monolithicFlat\"\n"
                    "RW 100 FLAT \"ext.bin\"\n");
    spit(path, img, 200);
    refused_like_qemu(path, NULL, "Invalid extent line: RW 100 FLAT \"ext.bin\"");
    build_desc_file("version=1\ncreateType=\"foo\"\n");
    spit(path, img, 200);
    refused_like_qemu(path, NULL, "Unsupported image type 'foo'");
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("fmt_vmdk");
    TCase *tc = tcase_create("crafted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sparse_header_refusals);
    tcase_add_test(tc, sparse_crafted_values);
    tcase_add_test(tc, sparse_findings);
    tcase_add_test(tc, cowd_image);
    tcase_add_test(tc, descriptor_refusals);
    tcase_add_test(tc, descriptor_external_extents);
    tcase_add_test(tc, probe_rules);
    tcase_add_test(tc, robustness);
    suite_add_tcase(s, tc);
    if (have_qemu) {
        TCase *tq = tcase_create("qemu-img");
        tcase_set_timeout(tq, 300);
        tcase_add_test(tq, qemu_created_single_files);
        tcase_add_test(tq, qemu_created_multi_file);
        tcase_add_test(tq, qemu_refusals_match);
        suite_add_tcase(s, tq);
    }
    return run_suite(s, have_qemu);
}
