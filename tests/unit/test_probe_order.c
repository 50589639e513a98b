/* test_probe_order.c: info_probe() picks the format qemu-img 7.2 picks, ties included. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/ops/info.h"
#include "testutil.h"

/* The format qemu-img probes for a file: the last format node bdrv_open_common traces. */
static bool qemu_choice(const char *path, char *out, size_t cap)
{
    char cmd[4400], line[4400];
    snprintf(cmd, sizeof(cmd), "qemu-img --trace bdrv_open_common info '%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    out[0] = '\0';
    while (fgets(line, sizeof(line), p)) {
        char *f = strstr(line, "format_name \"");
        if (!f)
            continue;
        f += strlen("format_name \"");
        char *e = strchr(f, '"');
        if (e && strncmp(f, "file", 4) != 0)
            snprintf(out, cap, "%.*s", (int)(e - f), f);
    }
    pclose(p);
    return out[0] != '\0';
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32be(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

#define VDI_SIG 0xbeda107fu

/* The probe-relevant bytes of each format, optionally with a vdi signature at 0x40. */
static void build(const char *what, uint8_t *b, bool with_vdi)
{
    memset(b, 0, FMT_PROBE_SIZE);
    if (!strcmp(what, "qcow2")) {
        memcpy(b, "QFI\xfb", 4);
        put32be(b + 4, 3);
    } else if (!strcmp(what, "qcow")) {
        memcpy(b, "QFI\xfb", 4);
        put32be(b + 4, 1);
    } else if (!strcmp(what, "qed")) {
        memcpy(b, "QED", 4);
    } else if (!strcmp(what, "vmdk")) {
        memcpy(b, "KDMV", 4);
    } else if (!strcmp(what, "vmdk-text")) {
        /* a descriptor whose first comment line covers offset 0x40 */
        memset(b, 'x', 100);
        b[0] = '#';
        b[100] = '\n';
        strcpy((char *)b + 101, "# Disk DescriptorFile\nversion=1\nCID=fffffffe\n");
    } else if (!strcmp(what, "vpc")) {
        memcpy(b, "conectix", 8);
    } else if (!strcmp(what, "vhdx")) {
        memcpy(b, "vhdxfile", 8);
    } else if (!strcmp(what, "parallels")) {
        memcpy(b, "WithouFreSpacExt", 16);
        put32le(b + 16, 2);
    } else if (!strcmp(what, "luks")) {
        memcpy(b, "LUKS\xba\xbe\x00\x01", 8);
    } else if (!strcmp(what, "luks2")) {
        memcpy(b, "LUKS\xba\xbe\x00\x02", 8);
    } else if (!strcmp(what, "bochs")) {
        strcpy((char *)b, "Bochs Virtual HD Image");
        strcpy((char *)b + 32, "Redolog");
        strcpy((char *)b + 48, "Growing");
        put32le(b + 64, 0x20000);
    } else if (!strcmp(what, "cloop")) {
        strcpy((char *)b, "#!/bin/sh\n#V2.0 Format\n"
                          "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n");
    } else if (!strcmp(what, "vdi")) {
        put32le(b + 0x40, VDI_SIG);
    }
    if (with_vdi)
        put32le(b + 0x40, VDI_SIG);
}

static const struct {
    const char *build; /* what to lay out */
    bool with_vdi;     /* plus a vdi signature at 0x40 */
    const char *name;  /* the file name (dmg probes by name) */
    const char *want;  /* what qemu-img 7.2 picked when measured */
} cases[] = {
    /* one signature each */
    {"qcow2", false, "a.img", "qcow2"},
    {"qcow", false, "a.img", "qcow"},
    {"qed", false, "a.img", "qed"},
    {"vmdk", false, "a.img", "vmdk"},
    {"vmdk-text", false, "a.img", "vmdk"},
    {"vpc", false, "a.img", "vpc"},
    {"vhdx", false, "a.img", "vhdx"},
    {"parallels", false, "a.img", "parallels"},
    {"luks", false, "a.img", "luks"},
    {"luks2", false, "a.img", "raw"},
    {"bochs", false, "a.img", "bochs"},
    {"cloop", false, "a.img", "cloop"},
    {"vdi", false, "a.img", "vdi"},
    {"none", false, "a.dmg", "dmg"},
    {"none", false, "a.img", "raw"},
    /* ties at 100 with vdi's signature at 0x40 */
    {"qcow2", true, "a.img", "vdi"},
    {"qcow", true, "a.img", "vdi"},
    {"qed", true, "a.img", "qed"},
    {"vmdk", true, "a.img", "vdi"},
    {"vmdk-text", true, "a.img", "vdi"},
    {"vpc", true, "a.img", "vdi"},
    {"vhdx", true, "a.img", "vdi"},
    {"parallels", true, "a.img", "parallels"},
    {"luks", true, "a.img", "vdi"},
    {"luks2", true, "a.img", "vdi"},
    /* ties at 2: a cloop file named .dmg */
    {"cloop", false, "a.dmg", "dmg"},
    /* a higher score beats the name */
    {"qcow2", false, "a.dmg", "qcow2"},
};

/* Skip a case whose drivers are not implemented yet (no probe function). */
static bool probes_exist(const char *want, const char *built)
{
    const struct fmt_driver *w = fmt_find(want);
    const char *other = !strcmp(built, "vmdk-text") ? "vmdk"
                        : !strcmp(built, "luks2")   ? "luks"
                        : !strcmp(built, "none")    ? "raw"
                                                    : built;
    const struct fmt_driver *o = fmt_find(other);
    return w && w->probe && o && o->probe;
}

START_TEST(pupa_picks_what_qemu_picked)
{
    static uint8_t b[FMT_PROBE_SIZE];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!probes_exist(cases[i].want, cases[i].build)) {
            fprintf(stderr, "note: case %zu skipped: a driver has no probe yet\n", i);
            continue;
        }
        build(cases[i].build, b, cases[i].with_vdi);
        const struct fmt_driver *d = info_probe(b, sizeof(b), cases[i].name);
        ck_assert_msg(!strcmp(d->name, cases[i].want),
                      "case %zu (%s%s, %s): pupa picks %s, want %s", i, cases[i].build,
                      cases[i].with_vdi ? "+vdi" : "", cases[i].name, d->name, cases[i].want);
    }
}
END_TEST

/* The same files, asked of the installed qemu-img. */
START_TEST(qemu_agrees)
{
    static uint8_t b[FMT_PROBE_SIZE];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[4200], got[64];
        snprintf(path, sizeof(path), "%s/p%zu-%s", test_tmpdir(), i, cases[i].name);
        build(cases[i].build, b, cases[i].with_vdi);
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(b, 1, sizeof(b), f), sizeof(b));
        fclose(f);
        ck_assert_msg(qemu_choice(path, got, sizeof(got)), "no trace from qemu-img for %s", path);
        ck_assert_msg(!strcmp(got, cases[i].want), "case %zu: qemu-img picks %s, table says %s", i,
                      got, cases[i].want);
        if (probes_exist(cases[i].want, cases[i].build)) {
            const struct fmt_driver *d = info_probe(b, sizeof(b), path);
            ck_assert_str_eq(d->name, got);
        }
    }
}
END_TEST

/* Real images made by qemu-img, with a vdi signature written at 0x40. */
START_TEST(qemu_created_polyglots)
{
    static const char *const fmts[] = {"qcow2", "qcow", "qed", "vmdk", "vpc", "vhdx", "parallels"};
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        char path[4200], got[64];
        snprintf(path, sizeof(path), "%s/poly-%s.img", test_tmpdir(), fmts[i]);
        ck_assert_int_eq(test_sh("qemu-img create -q -f %s '%s' 1M", fmts[i], path), 0);
        FILE *f = fopen(path, "r+b");
        ck_assert_ptr_nonnull(f);
        uint8_t sig[4];
        put32le(sig, VDI_SIG);
        ck_assert_int_eq(fseek(f, 0x40, SEEK_SET), 0);
        ck_assert_uint_eq(fwrite(sig, 1, 4, f), 4);
        fclose(f);
        ck_assert(qemu_choice(path, got, sizeof(got)));
        f = fopen(path, "rb");
        static uint8_t b[FMT_PROBE_SIZE];
        memset(b, 0, sizeof(b));
        size_t n = fread(b, 1, sizeof(b), f);
        fclose(f);
        const struct fmt_driver *d = info_probe(b, n, path);
        ck_assert_msg(!strcmp(d->name, got), "%s+vdi: pupa picks %s, qemu-img %s", fmts[i], d->name,
                      got);
    }
}
END_TEST

int main(void)
{
    bool have_qemu = test_have_qemu_img();
    Suite *s = suite_create("probe_order");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, pupa_picks_what_qemu_picked);
    suite_add_tcase(s, tc);
    if (have_qemu) {
        TCase *tq = tcase_create("qemu-img");
        tcase_set_timeout(tq, 120);
        tcase_add_test(tq, qemu_agrees);
        tcase_add_test(tq, qemu_created_polyglots);
        suite_add_tcase(s, tq);
    }
    return test_run_suite_or_skip(
        s, have_qemu ? NULL : "qemu-img not installed; only the recorded table was checked");
}
