/* test_protocol_reader.c: the streaming frame reader gives the same messages however the stream is
 * chunked. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/protocol/samples.h"
#include "testutil.h"

/* One stream, the messages it holds and where each frame ends. */
struct stream {
    const pb_msgdesc_t *fields;
    uint8_t *bytes;
    size_t len;
    void *msgs; /* pupa_GuestMessage[] or pupa_VmmConfig[] */
    size_t count;
    size_t *ends; /* ends[i]: offset just past frame i */
};

static struct stream guest, config;

static void index_frames(struct stream *s)
{
    size_t off = 0, i = 0;
    s->ends = calloc(s->count, sizeof(*s->ends));
    ck_assert_ptr_nonnull(s->ends);
    while (off < s->len) {
        ck_assert_uint_lt(i, s->count);
        off += PUPA_FRAME_HEADER + (s->bytes[off] | (s->bytes[off + 1] << 8));
        s->ends[i++] = off;
    }
    ck_assert_uint_eq(off, s->len);
    ck_assert_uint_eq(i, s->count);
}

static void setup(void)
{
    pupa_GuestMessage *gm;
    pupa_VmmConfig *cm;
    guest.fields = pupa_GuestMessage_fields;
    guest.bytes = sample_guest_stream(&guest.len, &gm, &guest.count);
    guest.msgs = gm;
    index_frames(&guest);
    config.fields = pupa_VmmConfig_fields;
    config.bytes = sample_config_stream(&config.len, &cm, &config.count);
    config.msgs = cm;
    index_frames(&config);
}

static void teardown(void)
{
    free(guest.bytes);
    free(guest.msgs);
    free(guest.ends);
    free(config.bytes);
    free(config.msgs);
    free(config.ends);
}

/* Frames wholly inside stream[0..off). */
static size_t frames_before(const struct stream *s, size_t off)
{
    size_t n = 0;
    while (n < s->count && s->ends[n] <= off)
        n++;
    return n;
}

static bool at_boundary(const struct stream *s, size_t off)
{
    size_t n = frames_before(s, off);
    return off == 0 || (n > 0 && s->ends[n - 1] == off);
}

/* Callback: each message must be the next expected one. */
struct check_ctx {
    const struct stream *s;
    size_t seen;
    char failure[200]; /* first mismatch */
};

static void check_cb(void *ctx, const void *msg)
{
    struct check_ctx *c = ctx;
    const char *diff;
    if (c->seen >= c->s->count) {
        if (!c->failure[0])
            snprintf(c->failure, sizeof(c->failure), "message %zu: more than expected", c->seen);
        c->seen++;
        return;
    }
    if (c->s->fields == pupa_GuestMessage_fields)
        diff = sample_guest_diff((const pupa_GuestMessage *)c->s->msgs + c->seen, msg);
    else
        diff = sample_config_diff((const pupa_VmmConfig *)c->s->msgs + c->seen, msg);
    if (diff && !c->failure[0])
        snprintf(c->failure, sizeof(c->failure), "message %zu: field %s differs", c->seen, diff);
    c->seen++;
}

static pupa_reader reader;
static union {
    pupa_GuestMessage g;
    pupa_VmmConfig c;
} msgbuf;

static void reader_start(const struct stream *s, struct check_ctx *c)
{
    pupa_reader_init(&reader, s->fields, &msgbuf);
    memset(c, 0, sizeof(*c));
    c->s = s;
}

/* Feed s->bytes[from..to) and check the reader's state afterwards. */
static void feed_checked(const struct stream *s, struct check_ctx *c, size_t from, size_t to)
{
    ck_assert_int_eq(pupa_reader_feed(&reader, s->bytes + from, to - from, check_cb, c),
                     PUPA_FRAME_OK);
    size_t n = frames_before(s, to);
    ck_assert_msg(c->failure[0] == '\0', "fed up to %zu: %s", to, c->failure);
    ck_assert_msg(c->seen == n, "fed up to %zu: %zu messages, expected %zu", to, c->seen, n);
    ck_assert_uint_eq(reader.frames, n);
    ck_assert_uint_eq(reader.offset, n ? s->ends[n - 1] : 0);
    ck_assert_msg(pupa_reader_partial(&reader) == !at_boundary(s, to),
                  "fed up to %zu: partial is %d", to, pupa_reader_partial(&reader));
    ck_assert_int_eq(reader.error, PUPA_FRAME_OK);
}

static void every_split(const struct stream *s)
{
    struct check_ctx c;
    for (size_t split = 0; split <= s->len; split++) {
        reader_start(s, &c);
        feed_checked(s, &c, 0, split);
        feed_checked(s, &c, split, s->len);
        ck_assert_uint_eq(c.seen, s->count);
    }
}

START_TEST(every_split_guest)
{
    every_split(&guest);
}
END_TEST

START_TEST(every_split_config)
{
    every_split(&config);
}
END_TEST

static void byte_at_a_time(const struct stream *s)
{
    struct check_ctx c;
    reader_start(s, &c);
    for (size_t i = 0; i < s->len; i++)
        feed_checked(s, &c, i, i + 1);
    ck_assert_uint_eq(c.seen, s->count);
}

START_TEST(one_byte_at_a_time)
{
    byte_at_a_time(&guest);
    byte_at_a_time(&config);
}
END_TEST

START_TEST(all_at_once)
{
    struct check_ctx c;
    reader_start(&guest, &c);
    feed_checked(&guest, &c, 0, guest.len);
    ck_assert_uint_eq(c.seen, guest.count);
    ck_assert_uint_eq(reader.frames, SK_COUNT * SV_COUNT);
    reader_start(&config, &c);
    feed_checked(&config, &c, 0, config.len);
    ck_assert_uint_eq(c.seen, config.count);
}
END_TEST

/* Chunk sizes from a PRNG, with empty feeds in between: no effect. */
START_TEST(random_chunks)
{
    uint32_t x = 2463534242u + (uint32_t)_i;
    struct check_ctx c;
    const struct stream *s = _i % 2 ? &config : &guest;
    reader_start(s, &c);
    size_t off = 0;
    while (off < s->len) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t n = x % 4 == 0 ? 0 : x % (_i < 4 ? 64 : 5000);
        if (n > s->len - off)
            n = s->len - off;
        feed_checked(s, &c, off, off + n);
        off += n;
    }
    ck_assert_uint_eq(c.seen, s->count);
}
END_TEST

/* Every way to cut a short stream into three chunks. */
START_TEST(every_two_splits_short_stream)
{
    static pupa_GuestMessage msgs[6];
    static const int kinds[6] = {SK_INIT, SK_NONE, SK_CAPACITY, SK_NONE, SK_COMPLETE, SK_PROGRESS};
    static const int variants[6] = {SV_TYPICAL, SV_EMPTY, SV_TYPICAL,
                                    SV_EMPTY,   SV_EMPTY, SV_TYPICAL};
    uint8_t bytes[1024];
    size_t len = 0;
    for (int i = 0; i < 6; i++) {
        sample_guest(&msgs[i], kinds[i], variants[i]);
        len += sample_encode(pupa_GuestMessage_fields, &msgs[i], bytes + len, sizeof(bytes) - len);
    }
    struct stream s = {pupa_GuestMessage_fields, bytes, len, msgs, 6, NULL};
    index_frames(&s);
    struct check_ctx c;
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            reader_start(&s, &c);
            feed_checked(&s, &c, 0, a);
            feed_checked(&s, &c, a, b);
            feed_checked(&s, &c, b, len);
            ck_assert_uint_eq(c.seen, 6);
        }
    }
    free(s.ends);
}
END_TEST

struct count_ctx {
    size_t calls;
    pb_size_t which[8];
    pupa_Level level[8];
};

static void count_cb(void *ctx, const void *msg)
{
    struct count_ctx *c = ctx;
    const pupa_GuestMessage *m = msg;
    if (c->calls < 8) {
        c->which[c->calls] = m->which_payload;
        c->level[c->calls] = m->level;
    }
    c->calls++;
}

/* Three frames in one chunk: three callbacks during that one call. The
 * zero-length frame after a full one is an all-default message: the
 * reader's message buffer keeps nothing of the previous frame. */
START_TEST(several_frames_in_one_chunk)
{
    static pupa_GuestMessage m;
    uint8_t buf[PUPA_FRAME_MAX * 3];
    size_t len = 0;
    struct count_ctx c = {0};

    sample_guest(&m, SK_INFO_RESULT, SV_MAX);
    len += sample_encode(pupa_GuestMessage_fields, &m, buf + len, sizeof(buf) - len);
    buf[len++] = 0; /* zero-length frame */
    buf[len++] = 0;
    sample_guest(&m, SK_CAPACITY, SV_TYPICAL);
    len += sample_encode(pupa_GuestMessage_fields, &m, buf + len, sizeof(buf) - len);

    pupa_reader_init(&reader, pupa_GuestMessage_fields, &msgbuf.g);
    ck_assert_int_eq(pupa_reader_feed(&reader, buf, len, count_cb, &c), PUPA_FRAME_OK);
    ck_assert_uint_eq(c.calls, 3);
    ck_assert_uint_eq(reader.frames, 3);
    ck_assert_uint_eq(reader.offset, len);
    ck_assert(!pupa_reader_partial(&reader));
    ck_assert_uint_eq(c.which[0], pupa_GuestMessage_info_result_tag);
    ck_assert_int_eq(c.level[0], pupa_Level_COMPLETE);
    ck_assert_uint_eq(c.which[1], 0);
    ck_assert_int_eq(c.level[1], pupa_Level_DEBUG);
    ck_assert_uint_eq(c.which[2], pupa_GuestMessage_capacity_tag);
    ck_assert_int_eq(c.level[2], pupa_Level_INFO);
    /* the buffer holds the last message */
    ck_assert_ptr_null(sample_guest_diff(&m, &msgbuf.g));
}
END_TEST

/* A long run of zero-length frames: each is a message. */
START_TEST(zero_length_frames_stream)
{
    uint8_t zeros[200] = {0};
    struct count_ctx c = {0};
    pupa_reader_init(&reader, pupa_GuestMessage_fields, &msgbuf.g);
    ck_assert_int_eq(pupa_reader_feed(&reader, zeros, 1, count_cb, &c), PUPA_FRAME_OK);
    ck_assert_uint_eq(c.calls, 0);
    ck_assert(pupa_reader_partial(&reader));
    ck_assert_int_eq(pupa_reader_feed(&reader, zeros + 1, sizeof(zeros) - 1, count_cb, &c),
                     PUPA_FRAME_OK);
    ck_assert_uint_eq(c.calls, 100);
    ck_assert_uint_eq(reader.frames, 100);
    ck_assert(!pupa_reader_partial(&reader));
}
END_TEST

/* Without a callback the reader still decodes and counts. */
START_TEST(null_callback_counts)
{
    pupa_reader_init(&reader, guest.fields, &msgbuf.g);
    ck_assert_int_eq(pupa_reader_feed(&reader, guest.bytes, guest.len, NULL, NULL), PUPA_FRAME_OK);
    ck_assert_uint_eq(reader.frames, guest.count);
    ck_assert_uint_eq(reader.offset, guest.len);
    /* the buffer holds the last message of the stream */
    ck_assert_ptr_null(
        sample_guest_diff((const pupa_GuestMessage *)guest.msgs + guest.count - 1, &msgbuf.g));
}
END_TEST

/* Feeding nothing changes nothing, also in the middle of a frame. */
START_TEST(empty_feeds)
{
    struct check_ctx c;
    reader_start(&guest, &c);
    ck_assert_int_eq(pupa_reader_feed(&reader, NULL, 0, check_cb, &c), PUPA_FRAME_OK);
    ck_assert(!pupa_reader_partial(&reader));
    feed_checked(&guest, &c, 0, 3);
    ck_assert_int_eq(pupa_reader_feed(&reader, guest.bytes, 0, check_cb, &c), PUPA_FRAME_OK);
    ck_assert(pupa_reader_partial(&reader));
    ck_assert_uint_eq(reader.have, 3);
    feed_checked(&guest, &c, 3, guest.len);
    ck_assert_uint_eq(c.seen, guest.count);
}
END_TEST

/* pupa_reader_init starts a fresh stream, also after an error. */
START_TEST(reinit_after_error)
{
    static const uint8_t bad[2] = {0xff, 0xff};
    struct check_ctx c;
    pupa_reader_init(&reader, guest.fields, &msgbuf.g);
    ck_assert_int_eq(pupa_reader_feed(&reader, bad, 2, NULL, NULL), PUPA_FRAME_TOO_LONG);
    reader_start(&guest, &c);
    ck_assert_int_eq(reader.error, PUPA_FRAME_OK);
    ck_assert_uint_eq(reader.frames, 0);
    feed_checked(&guest, &c, 0, guest.len);
    ck_assert_uint_eq(c.seen, guest.count);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("protocol_reader");
    TCase *tc = tcase_create("reader");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, every_split_guest);
    tcase_add_test(tc, every_split_config);
    tcase_add_test(tc, one_byte_at_a_time);
    tcase_add_test(tc, all_at_once);
    tcase_add_loop_test(tc, random_chunks, 0, 8);
    tcase_add_test(tc, every_two_splits_short_stream);
    tcase_add_test(tc, several_frames_in_one_chunk);
    tcase_add_test(tc, zero_length_frames_stream);
    tcase_add_test(tc, null_callback_counts);
    tcase_add_test(tc, empty_feeds);
    tcase_add_test(tc, reinit_after_error);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
