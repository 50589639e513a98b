/* test_fmt_tape.c: the committing sink (guest/formats/tape.c): records wait for the
 * parser's result, commit replays them in order, drop forgets them, and a tape that
 * fills up passes everything through instead of losing or reordering it. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "guest/formats/tape.h"
#include "testutil.h"

struct log {
    char text[65536];
};

static void add(struct log *l, char tag, const char *a, const char *b, long long i)
{
    size_t at = strlen(l->text);
    snprintf(l->text + at, sizeof(l->text) - at, "%c%s=%s/%lld;", tag, a ? a : "(null)",
             b ? b : "(null)", i);
}

static void log_node(void *ctx, enum fmt_node_kind kind, const char *key, const char *str,
                     int64_t i, uint64_t u, bool b)
{
    add(ctx, 'N', key, str, (long long)kind * 1000000 + i + (long long)u * 1000 + b);
}

static void log_snapshot(void *ctx, const struct fmt_snapshot *sn)
{
    add(ctx, 'S', sn->id, sn->name, (long long)sn->vm_state_size);
}

static void log_finding(void *ctx, const char *check, const char *detail)
{
    add(ctx, 'F', check, detail, 0);
}

/* A parser's worth of output through the tape's sink. */
static void emit(struct fmt_info *info, int snapshots)
{
    fmt_dict(info, NULL);
    fmt_str(info, "compat", "1.1");
    fmt_int(info, "refcount-bits", 16);
    fmt_uint(info, "granularity", 65536);
    fmt_bool(info, "corrupt", true);
    fmt_end(info);
    for (int i = 0; i < snapshots; i++) {
        struct fmt_snapshot sn;
        memset(&sn, 0, sizeof(sn));
        snprintf(sn.id, sizeof(sn.id), "%d", i + 1);
        snprintf(sn.name, sizeof(sn.name), "snap-%d", i);
        sn.vm_state_size = (uint64_t)i * 7;
        fmt_snapshot(info, &sn);
    }
    fmt_finding(info, "out-of-range", "table %d past EOF", 3);
}

static const char *direct(int snapshots)
{
    static struct log l;
    static struct fmt_info info;
    memset(&l, 0, sizeof(l));
    memset(&info, 0, sizeof(info));
    struct fmt_sink out = {&l, log_node, log_snapshot, log_finding};
    info.sink = &out;
    emit(&info, snapshots);
    return l.text;
}

START_TEST(commit_replays_in_order)
{
    static struct log l;
    static struct fmt_info info;
    static uint8_t arena[65536] __attribute__((aligned(8)));
    struct fmt_tape t;
    struct fmt_sink out = {&l, log_node, log_snapshot, log_finding};
    memset(&l, 0, sizeof(l));
    fmt_tape_init(&t, &out, arena, sizeof(arena));
    info.sink = &t.sink;
    emit(&info, 5);
    ck_assert_str_eq(l.text, ""); /* nothing before the result is known */
    fmt_tape_commit(&t);
    ck_assert_str_eq(l.text, direct(5));
    ck_assert_ptr_nonnull(strstr(l.text, "N(null)=(null)/4000000;")); /* NULL key and string */
    ck_assert_ptr_nonnull(strstr(l.text, "S5=snap-4/28;"));
    /* committed: a second commit sends nothing again */
    fmt_tape_commit(&t);
    ck_assert_str_eq(l.text, direct(5));
}
END_TEST

START_TEST(drop_forgets)
{
    static struct log l;
    static struct fmt_info info;
    static uint8_t arena[65536] __attribute__((aligned(8)));
    struct fmt_tape t;
    struct fmt_sink out = {&l, log_node, log_snapshot, log_finding};
    memset(&l, 0, sizeof(l));
    fmt_tape_init(&t, &out, arena, sizeof(arena));
    info.sink = &t.sink;
    emit(&info, 3);
    fmt_tape_drop(&t);
    fmt_tape_commit(&t);
    ck_assert_str_eq(l.text, "");
}
END_TEST

/* An arena too small for everything: what does not fit passes through, in order. */
START_TEST(spill_passes_through_in_order)
{
    static struct log l;
    static struct fmt_info info;
    static uint8_t arena[2048] __attribute__((aligned(8)));
    struct fmt_tape t;
    struct fmt_sink out = {&l, log_node, log_snapshot, log_finding};
    memset(&l, 0, sizeof(l));
    fmt_tape_init(&t, &out, arena, sizeof(arena));
    info.sink = &t.sink;
    emit(&info, 20); /* 20 snapshots of ~420 bytes cannot fit in 2 KiB */
    ck_assert(t.spilled);
    ck_assert_str_ne(l.text, "");
    fmt_tape_commit(&t);
    ck_assert_str_eq(l.text, direct(20));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fmt_tape");
    TCase *tc = tcase_create("tape");
    tcase_add_test(tc, commit_replays_in_order);
    tcase_add_test(tc, drop_forgets);
    tcase_add_test(tc, spill_passes_through_in_order);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
