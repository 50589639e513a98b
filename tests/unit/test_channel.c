/* test_channel.c: the worker -> parent channel: records round-trip at every split, and
 * every malformed record a compromised worker can send breaks the channel for good,
 * without the parent reading or writing past what it holds. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "vmm/channel.h"
#include "vmm/vm.h"

struct sink {
    uint8_t com1[4096], log[4096];
    size_t ncom1, nlog;
    struct channel_result res;
    int results;
    int refuse_after; /* the bytes callback fails once this many bytes arrived (< 0: never) */
    bool count_only;  /* count COM1 bytes without keeping them */
};

static int on_bytes(void *ctx, enum channel_kind kind, const uint8_t *data, size_t n)
{
    struct sink *s = ctx;
    if (s->count_only) {
        s->ncom1 += n;
        return 0;
    }
    uint8_t *dst = kind == CHANNEL_COM1 ? s->com1 + s->ncom1 : s->log + s->nlog;
    size_t *len = kind == CHANNEL_COM1 ? &s->ncom1 : &s->nlog;
    ck_assert_uint_le(*len + n, sizeof(s->com1));
    memcpy(dst, data, n);
    *len += n;
    if (s->refuse_after >= 0 && s->ncom1 >= (size_t)s->refuse_after)
        return -1;
    return 0;
}

static void on_result(void *ctx, const struct channel_result *r)
{
    struct sink *s = ctx;
    s->res = *r;
    s->results++;
}

static const struct channel_ops ops = {on_bytes, on_result};

/* What channel_put writes, read back from a pipe. */
static size_t stream(uint8_t *buf, size_t cap)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(channel_put(p[1], CHANNEL_COM1, "hello ", 6), 0);
    ck_assert_int_eq(channel_put(p[1], CHANNEL_LOG, "log line\n", 9), 0);
    ck_assert_int_eq(channel_put(p[1], CHANNEL_COM1, "world", 5), 0);
    struct channel_result r;
    memset(&r, 0, sizeof(r));
    r.state = VM_EXITED;
    r.exits = 42;
    strcpy(r.error, "guest gave up: \x1b[2Jcleared");
    ck_assert_int_eq(channel_put(p[1], CHANNEL_RESULT, &r, sizeof(r)), 0);
    close(p[1]);
    size_t n = 0;
    ssize_t got;
    while ((got = read(p[0], buf + n, cap - n)) > 0)
        n += (size_t)got;
    close(p[0]);
    return n;
}

START_TEST(round_trip_at_every_split)
{
    static uint8_t buf[4096];
    size_t n = stream(buf, sizeof(buf));
    for (size_t split = 0; split <= n; split++) {
        struct channel_reader r;
        struct sink s = {.refuse_after = -1};
        struct pupa_error err;
        err_init(&err);
        channel_reader_init(&r);
        ck_assert_int_eq(channel_feed(&r, buf, split, &ops, &s, &err), 0);
        ck_assert_int_eq(channel_feed(&r, buf + split, n - split, &ops, &s, &err), 0);
        ck_assert_int_eq(channel_end(&r, &err), 0);
        ck_assert_uint_eq(s.ncom1, 11);
        ck_assert(memcmp(s.com1, "hello world", 11) == 0);
        ck_assert_uint_eq(s.nlog, 9);
        ck_assert_int_eq(s.results, 1);
        ck_assert_uint_eq(s.res.exits, 42);
        /* the worker's text is cleaned once, on arrival */
        ck_assert_str_eq(s.res.error, "guest gave up: ?[2Jcleared");
    }
}
END_TEST

/* Feed bytes; expect the channel to break with err naming why. */
static void expect_broken(const uint8_t *data, size_t n, const char *why)
{
    struct channel_reader r;
    struct sink s = {.refuse_after = -1};
    struct pupa_error err;
    err_init(&err);
    channel_reader_init(&r);
    ck_assert_int_eq(channel_feed(&r, data, n, &ops, &s, &err), -1);
    ck_assert_int_eq(err.cls, ERRC_GUEST_FAILURE);
    ck_assert_msg(strstr(err.msg, why), "'%s' does not say '%s'", err.msg, why);
    /* sticky: nothing more is taken, however valid */
    size_t before = s.ncom1;
    static const uint8_t good[] = {'C', 1, 0, 0, 0, 'x'};
    ck_assert_int_eq(channel_feed(&r, good, sizeof(good), &ops, &s, &err), -1);
    ck_assert_uint_eq(s.ncom1, before);
    ck_assert_int_eq(channel_end(&r, &err), -1);
}

START_TEST(malformed_records)
{
    /* longer than any record may be: the parent once kept reading into a 16 KiB buffer */
    static const uint8_t huge[] = {'C', 0, 0, 0x10, 0x01, 'a', 'b'};
    expect_broken(huge, sizeof(huge), "a record of 17825792 bytes");
    static const uint8_t max[] = {'L', 0xff, 0xff, 0xff, 0xff};
    expect_broken(max, sizeof(max), "a record of 4294967295 bytes");
    static const uint8_t kind[] = {'M', 1, 0, 0, 0, 'x'};
    expect_broken(kind, sizeof(kind), "unknown record kind 0x4d");
    static const uint8_t small_result[] = {'R', 4, 0, 0, 0, 1, 2, 3, 4};
    expect_broken(small_result, sizeof(small_result), "a result of 4 bytes");

    /* a result with a machine state that does not exist */
    uint8_t bad_state[CHANNEL_HEADER + sizeof(struct channel_result)] = {'R'};
    uint32_t len = sizeof(struct channel_result);
    memcpy(bad_state + 1, &len, 4);
    struct channel_result res;
    memset(&res, 'A', sizeof(res)); /* and an error text without a NUL */
    res.state = 99;
    memcpy(bad_state + CHANNEL_HEADER, &res, sizeof(res));
    expect_broken(bad_state, sizeof(bad_state), "machine state 99");

    /* anything after the result */
    uint8_t after[sizeof(bad_state) + 6];
    res.state = VM_EXITED;
    memcpy(bad_state + CHANNEL_HEADER, &res, sizeof(res));
    memcpy(after, bad_state, sizeof(bad_state));
    memcpy(after + sizeof(bad_state), (const uint8_t[]){'C', 1, 0, 0, 0, 'x'}, 6);
    expect_broken(after, sizeof(after), "a record after the result");
}
END_TEST

START_TEST(text_without_nul_is_cut)
{
    uint8_t rec[CHANNEL_HEADER + sizeof(struct channel_result)] = {'R'};
    uint32_t len = sizeof(struct channel_result);
    memcpy(rec + 1, &len, 4);
    struct channel_result res;
    memset(&res, 'A', sizeof(res));
    res.state = VM_FAILED;
    memcpy(rec + CHANNEL_HEADER, &res, sizeof(res));
    struct channel_reader r;
    struct sink s = {.refuse_after = -1};
    struct pupa_error err;
    err_init(&err);
    channel_reader_init(&r);
    ck_assert_int_eq(channel_feed(&r, rec, sizeof(rec), &ops, &s, &err), 0);
    ck_assert_int_eq(s.results, 1);
    ck_assert_uint_eq(strlen(s.res.error), sizeof(s.res.error) - 1);
}
END_TEST

START_TEST(cut_short_and_refused)
{
    /* the pipe closes in the middle of a record */
    static const uint8_t cut[] = {'C', 9, 0, 0, 0, 'a', 'b'};
    struct channel_reader r;
    struct sink s = {.refuse_after = -1};
    struct pupa_error err;
    err_init(&err);
    channel_reader_init(&r);
    ck_assert_int_eq(channel_feed(&r, cut, sizeof(cut), &ops, &s, &err), 0);
    ck_assert_int_eq(channel_end(&r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "in the middle of a record"));

    /* the consumer of the bytes refuses them (a frame broke the protocol): sticky too */
    static const uint8_t two[] = {'C', 2, 0, 0, 0, 'a', 'b', 'C', 1, 0, 0, 0, 'c'};
    struct sink s2 = {.refuse_after = 1};
    err_init(&err);
    channel_reader_init(&r);
    ck_assert_int_eq(channel_feed(&r, two, sizeof(two), &ops, &s2, &err), -1);
    ck_assert_uint_eq(s2.ncom1, 2);
    ck_assert_int_eq(channel_feed(&r, two, sizeof(two), &ops, &s2, &err), -1);
    ck_assert_uint_eq(s2.ncom1, 2);
}
END_TEST

START_TEST(put_splits_big_payloads)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    size_t n = CHANNEL_MAX_PAYLOAD + 10;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* a writer that blocks until the reader takes it all */
        uint8_t *big = calloc(1, n);
        _exit(big && channel_put(p[1], CHANNEL_COM1, big, n) == 0 ? 0 : 1);
    }
    close(p[1]);
    struct channel_reader r;
    struct sink s = {.refuse_after = -1, .count_only = true};
    struct pupa_error err;
    err_init(&err);
    channel_reader_init(&r);
    static uint8_t buf[65536];
    size_t total = 0, first_len = 0;
    ssize_t got;
    while ((got = read(p[0], buf, sizeof(buf))) > 0) {
        if (total == 0)
            memcpy(&first_len, buf + 1, 4);
        total += (size_t)got;
        ck_assert_int_eq(channel_feed(&r, buf, (size_t)got, &ops, &s, &err), 0);
    }
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_uint_eq(first_len, CHANNEL_MAX_PAYLOAD);
    ck_assert_uint_eq(total, n + 2 * CHANNEL_HEADER);
    ck_assert_uint_eq(s.ncom1, n);
    ck_assert_int_eq(channel_end(&r, &err), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("channel");
    TCase *tc = tcase_create("channel");
    tcase_add_test(tc, round_trip_at_every_split);
    tcase_add_test(tc, malformed_records);
    tcase_add_test(tc, text_without_nul_is_cut);
    tcase_add_test(tc, cut_short_and_refused);
    tcase_add_test(tc, put_splits_big_payloads);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
