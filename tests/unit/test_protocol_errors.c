/* test_protocol_errors.c: truncated, over-long, garbage and zero-length frames, too-small buffers:
 * documented results, never a crash. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/protocol/samples.h"
#include "testutil.h"

#define SENTINEL ((size_t)0x5eed)

static pupa_reader reader;
static union {
    pupa_GuestMessage g;
    pupa_VmmConfig c;
} msgbuf;

/* Sample _i of all guest and config samples: its frame in buf, its length. */
static const pb_msgdesc_t *sample_frame(int i, uint8_t *buf, size_t cap, size_t *len, char *what,
                                        size_t what_cap)
{
    static pupa_GuestMessage m;
    static pupa_VmmConfig c;
    if (i < SK_COUNT * SV_COUNT) {
        sample_guest(&m, i / SV_COUNT, i % SV_COUNT);
        snprintf(what, what_cap, "%s/%s", sample_kind_name(i / SV_COUNT),
                 sample_variant_name(i % SV_COUNT));
        *len = sample_encode(pupa_GuestMessage_fields, &m, buf, cap);
        return pupa_GuestMessage_fields;
    }
    i -= SK_COUNT * SV_COUNT;
    sample_config(&c, sample_ndev[i / SV_COUNT], i % SV_COUNT);
    snprintf(what, what_cap, "config %u devices/%s", sample_ndev[i / SV_COUNT],
             sample_variant_name(i % SV_COUNT));
    *len = sample_encode(pupa_VmmConfig_fields, &c, buf, cap);
    return pupa_VmmConfig_fields;
}
#define NSAMPLES (SK_COUNT * SV_COUNT + SAMPLE_NDEV_COUNT * SV_COUNT)

/* ------------------------------------------------------------ truncation */

/* Every prefix of a frame is NEED_MORE, consumes nothing and names no
 * reason; the whole frame decodes. Fed to the reader, a prefix leaves it
 * partial (pupa_reader_partial true: the stream ended inside a frame), no
 * message and no error. Each prefix sits in a buffer of exactly its size,
 * so reading past it is caught by ASan. */
START_TEST(truncated_every_prefix)
{
    static uint8_t frame[PUPA_FRAME_MAX];
    char what[64];
    size_t n = 0;
    const pb_msgdesc_t *fields = sample_frame(_i, frame, sizeof(frame), &n, what, sizeof(what));

    for (size_t len = 0; len <= n; len++) {
        uint8_t *buf = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(buf);
        memcpy(buf, frame, len);
        size_t consumed = SENTINEL;
        const char *detail = "unset";
        pupa_frame_status st = pupa_frame_decode(fields, &msgbuf, buf, len, &consumed, &detail);
        if (len < n) {
            ck_assert_msg(st == PUPA_FRAME_NEED_MORE, "%s: %zu of %zu bytes: status %d", what, len,
                          n, st);
            ck_assert_uint_eq(consumed, SENTINEL);
            ck_assert_ptr_null(detail);
        } else {
            ck_assert_int_eq(st, PUPA_FRAME_OK);
            ck_assert_uint_eq(consumed, n);
        }

        pupa_reader_init(&reader, fields, &msgbuf);
        ck_assert_int_eq(pupa_reader_feed(&reader, buf, len, NULL, NULL), PUPA_FRAME_OK);
        ck_assert_uint_eq(reader.frames, len == n ? 1 : 0);
        ck_assert_msg(pupa_reader_partial(&reader) == (len > 0 && len < n),
                      "%s: %zu of %zu bytes: partial %d", what, len, n,
                      pupa_reader_partial(&reader));
        ck_assert_int_eq(reader.error, PUPA_FRAME_OK);
        free(buf);
    }
}
END_TEST

/* ------------------------------------------------------------ buffer sizes */

/* Encoding into every buffer size below the frame size is NO_SPACE, leaves
 * *out_len alone and writes nothing past the buffer (each buffer is exactly
 * cap bytes, so ASan sees any overrun); the exact size works. */
START_TEST(encode_every_buffer_size)
{
    static uint8_t frame[PUPA_FRAME_MAX];
    static pupa_GuestMessage m;
    static pupa_VmmConfig c;
    char what[64];
    size_t n = 0;
    const pb_msgdesc_t *fields = sample_frame(_i, frame, sizeof(frame), &n, what, sizeof(what));
    const void *msg = &m;
    if (_i < SK_COUNT * SV_COUNT) {
        sample_guest(&m, _i / SV_COUNT, _i % SV_COUNT);
    } else {
        int j = _i - SK_COUNT * SV_COUNT;
        sample_config(&c, sample_ndev[j / SV_COUNT], j % SV_COUNT);
        msg = &c;
    }

    for (size_t cap = 0; cap <= n + 1; cap++) {
        uint8_t *buf = malloc(cap ? cap : 1);
        ck_assert_ptr_nonnull(buf);
        memset(buf, 0xee, cap);
        size_t out = SENTINEL;
        pupa_frame_status st = pupa_frame_encode(fields, msg, buf, cap, &out);
        if (cap < n) {
            ck_assert_msg(st == PUPA_FRAME_NO_SPACE, "%s: cap %zu of %zu: status %d", what, cap, n,
                          st);
            ck_assert_uint_eq(out, SENTINEL);
        } else {
            ck_assert_int_eq(st, PUPA_FRAME_OK);
            ck_assert_uint_eq(out, n);
            ck_assert_mem_eq(buf, frame, n);
            if (cap > n)
                ck_assert_uint_eq(buf[n], 0xee); /* nothing after the frame */
        }
        free(buf);
    }
}
END_TEST

/* A message nanopb refuses (a string without its NUL, too many devices)
 * is ENCODE_FAILED, not a crash or a short frame, and nothing is written. */
START_TEST(encode_refused)
{
    static pupa_GuestMessage m;
    static pupa_VmmConfig c;
    uint8_t buf[64];
    size_t out = SENTINEL;

    memset(&m, 0, sizeof(m));
    m.which_payload = pupa_GuestMessage_init_tag;
    memset(m.payload.init.stage, 'a', sizeof(m.payload.init.stage)); /* no NUL */
    memset(buf, 0xee, sizeof(buf));
    ck_assert_int_eq(pupa_frame_encode(pupa_GuestMessage_fields, &m, buf, sizeof(buf), &out),
                     PUPA_FRAME_ENCODE_FAILED);
    ck_assert_uint_eq(out, SENTINEL);
    ck_assert_uint_eq(buf[0], 0xee);

    memset(&c, 0, sizeof(c));
    c.devices_count = PUPA_MAX_DEVICES + 1;
    ck_assert_int_eq(pupa_frame_encode(pupa_VmmConfig_fields, &c, buf, sizeof(buf), &out),
                     PUPA_FRAME_ENCODE_FAILED);
    ck_assert_uint_eq(out, SENTINEL);
    ck_assert_uint_eq(buf[0], 0xee);
}
END_TEST

/* ------------------------------------------------------------ zero length */

/* Documented: a zero-length payload is a valid frame, the all-default
 * message (Level DEBUG, no payload member; a VmmConfig with no devices and
 * empty strings). Decoding overwrites whatever the buffer held. One byte of
 * header is not a frame yet. */
START_TEST(zero_length_frame_is_default_message)
{
    static const uint8_t zero[2] = {0, 0};
    size_t consumed = SENTINEL;
    const char *detail = "unset";

    memset(&msgbuf, 0xa5, sizeof(msgbuf));
    ck_assert_int_eq(
        pupa_frame_decode(pupa_GuestMessage_fields, &msgbuf.g, zero, 2, &consumed, &detail),
        PUPA_FRAME_OK);
    ck_assert_uint_eq(consumed, 2);
    ck_assert_ptr_null(detail);
    ck_assert_int_eq(msgbuf.g.level, pupa_Level_DEBUG);
    ck_assert_uint_eq(msgbuf.g.which_payload, 0);

    memset(&msgbuf, 0xa5, sizeof(msgbuf));
    ck_assert_int_eq(pupa_frame_decode(pupa_VmmConfig_fields, &msgbuf.c, zero, 2, &consumed, NULL),
                     PUPA_FRAME_OK);
    static pupa_VmmConfig empty;
    sample_config(&empty, 0, SV_EMPTY);
    ck_assert_ptr_null(sample_config_diff(&empty, &msgbuf.c));

    consumed = SENTINEL;
    ck_assert_int_eq(
        pupa_frame_decode(pupa_GuestMessage_fields, &msgbuf.g, zero, 1, &consumed, NULL),
        PUPA_FRAME_NEED_MORE);
    ck_assert_int_eq(
        pupa_frame_decode(pupa_GuestMessage_fields, &msgbuf.g, NULL, 0, &consumed, NULL),
        PUPA_FRAME_NEED_MORE);
    ck_assert_uint_eq(consumed, SENTINEL);
}
END_TEST

/* ------------------------------------------------------------ length limit */

static void put_u16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

/* A prefix over PUPA_FRAME_MAX_PAYLOAD is TOO_LONG as soon as the two
 * header bytes are there: there is no point waiting for the payload. */
START_TEST(length_prefix_over_limit)
{
    static const size_t lengths[] = {PUPA_FRAME_MAX_PAYLOAD + 1, 0x8000, 0xffff};
    static uint8_t buf[0x10000 + 2];
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        memset(buf, 0, sizeof(buf));
        put_u16(buf, lengths[i]);
        for (size_t len = 2; len <= lengths[i] + 2; len += len < 64 ? 1 : 4093) {
            size_t consumed = SENTINEL;
            const char *detail = "unset";
            ck_assert_int_eq(pupa_frame_decode(pupa_GuestMessage_fields, &msgbuf.g, buf, len,
                                               &consumed, &detail),
                             PUPA_FRAME_TOO_LONG);
            ck_assert_uint_eq(consumed, SENTINEL);
            ck_assert_ptr_null(detail);
        }
        pupa_reader_init(&reader, pupa_VmmConfig_fields, &msgbuf.c);
        ck_assert_int_eq(pupa_reader_feed(&reader, buf, 1, NULL, NULL), PUPA_FRAME_OK);
        ck_assert_int_eq(pupa_reader_feed(&reader, buf + 1, 1, NULL, NULL), PUPA_FRAME_TOO_LONG);
    }
}
END_TEST

/* Exactly PUPA_FRAME_MAX_PAYLOAD is allowed: a message padded with an
 * unknown length-delimited field (field 100) that decoders skip. */
static size_t max_payload_frame(uint8_t *buf)
{
    const size_t pad = PUPA_FRAME_MAX_PAYLOAD - 6; /* level(2) + tag(2) + length(2) */
    size_t n = 0;
    put_u16(buf, PUPA_FRAME_MAX_PAYLOAD);
    n = 2;
    buf[n++] = 0x08; /* GuestMessage.level = INFO */
    buf[n++] = 0x01;
    buf[n++] = (uint8_t)((100 << 3 | 2) & 0x7f) | 0x80; /* field 100, length-delimited */
    buf[n++] = (uint8_t)((100 << 3 | 2) >> 7);
    buf[n++] = (uint8_t)(pad & 0x7f) | 0x80;
    buf[n++] = (uint8_t)(pad >> 7);
    memset(buf + n, 0x5a, pad);
    return n + pad;
}

START_TEST(length_prefix_at_limit)
{
    static uint8_t buf[PUPA_FRAME_MAX + 8];
    size_t n = max_payload_frame(buf), consumed = 0;
    ck_assert_uint_eq(n, PUPA_FRAME_MAX);
    memset(&msgbuf, 0xa5, sizeof(msgbuf));
    ck_assert_int_eq(
        pupa_frame_decode(pupa_GuestMessage_fields, &msgbuf.g, buf, n, &consumed, NULL),
        PUPA_FRAME_OK);
    ck_assert_uint_eq(consumed, PUPA_FRAME_MAX);
    ck_assert_int_eq(msgbuf.g.level, pupa_Level_INFO);
    ck_assert_uint_eq(msgbuf.g.which_payload, 0);
    /* as a VmmConfig, field 1 as a varint is the wrong wire type for devices */
    ck_assert_int_eq(pupa_frame_decode(pupa_VmmConfig_fields, &msgbuf.c, buf, n, &consumed, NULL),
                     PUPA_FRAME_BAD_PAYLOAD);
    buf[2] = 0x10; /* VmmConfig.progress_percent = 1 */
    ck_assert_int_eq(pupa_frame_decode(pupa_VmmConfig_fields, &msgbuf.c, buf, n, &consumed, NULL),
                     PUPA_FRAME_OK);
    ck_assert_uint_eq(msgbuf.c.progress_percent, 1);
    buf[2] = 0x08;

    /* the reader takes it too, byte by byte, and the frame after it */
    buf[n] = 0;
    buf[n + 1] = 0;
    pupa_reader_init(&reader, pupa_GuestMessage_fields, &msgbuf.g);
    for (size_t i = 0; i < n + 2; i++)
        ck_assert_int_eq(pupa_reader_feed(&reader, buf + i, 1, NULL, NULL), PUPA_FRAME_OK);
    ck_assert_uint_eq(reader.frames, 2);
    ck_assert(!pupa_reader_partial(&reader));
}
END_TEST

/* ------------------------------------------------------------ garbage */

struct bad_case {
    const char *what;
    const pb_msgdesc_t *fields;
    const char *payload;
    size_t len;
    const char *reason; /* nanopb's */
};

static char device33[64], sha33[64], devices17[64];

static void build_cases(void)
{
    /* CapacityMessage.device with 33 characters: one over max_size 33 */
    device33[0] = 0x1a;
    device33[1] = 35;
    device33[2] = 0x0a;
    device33[3] = 33;
    memset(device33 + 4, 'd', 33);
    /* DigestMessage.sha256 (field 16 of GuestMessage) with 33 bytes */
    sha33[0] = (char)0x82;
    sha33[1] = 0x01;
    sha33[2] = 35;
    sha33[3] = 0x12;
    sha33[4] = 33;
    memset(sha33 + 5, 1, 33);
    /* VmmConfig with 17 empty devices: one over max_count 16 */
    for (int i = 0; i < 17; i++) {
        devices17[2 * i] = 0x0a;
        devices17[2 * i + 1] = 0;
    }
}

#define CASE(w, f, p, r)                                                                           \
    {                                                                                              \
        w, f, p, sizeof(p) - 1, r                                                                  \
    }
static const struct bad_case bad_cases[] = {
    CASE("level as length-delimited", pupa_GuestMessage_fields, "\x0a\x01\x00", "wrong wire type"),
    CASE("truncated varint", pupa_GuestMessage_fields, "\x08\x80", "end-of-stream"),
    CASE("tag without value", pupa_GuestMessage_fields, "\x08", "end-of-stream"),
    CASE("submessage longer than the frame", pupa_GuestMessage_fields, "\x12\x05\x0a",
         "parent stream too short"),
    CASE("wire type 7", pupa_GuestMessage_fields, "\x0f", "wrong wire type"),
    CASE("zero tag", pupa_GuestMessage_fields, "\x00", "zero tag"),
    CASE("zero tag after a field", pupa_GuestMessage_fields, "\x08\x01\x00", "zero tag"),
    CASE("11-byte varint", pupa_GuestMessage_fields,
         "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "varint overflow"),
    CASE("unknown fixed64 cut short", pupa_GuestMessage_fields, "\xa1\x06\x01\x02",
         "end-of-stream"),
    CASE("uint32 percent of 2^32", pupa_GuestMessage_fields, "\x22\x06\x20\x80\x80\x80\x80\x10",
         "integer too large"),
    CASE("negative Level", pupa_GuestMessage_fields, "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
         "integer too large"),
    CASE("config sector_size as length-delimited", pupa_VmmConfig_fields, "\x0a\x02\x12\x00",
         "wrong wire type"),
};

static void check_bad(const char *what, const pb_msgdesc_t *fields, const char *payload, size_t len,
                      const char *reason)
{
    static uint8_t buf[PUPA_FRAME_MAX + 4];
    size_t consumed = SENTINEL;
    const char *detail = NULL;
    put_u16(buf, len);
    memcpy(buf + 2, payload, len);
    ck_assert_msg(pupa_frame_decode(fields, &msgbuf, buf, len + 2, &consumed, &detail) ==
                      PUPA_FRAME_BAD_PAYLOAD,
                  "%s: not BAD_PAYLOAD", what);
    ck_assert_uint_eq(consumed, SENTINEL);
    ck_assert_msg(detail && strcmp(detail, reason) == 0, "%s: reason '%s', expected '%s'", what,
                  detail ? detail : "(null)", reason);

    /* the reader says the same, byte by byte */
    pupa_reader_init(&reader, fields, &msgbuf);
    pupa_frame_status st = PUPA_FRAME_OK;
    for (size_t i = 0; i < len + 2 && st == PUPA_FRAME_OK; i++)
        st = pupa_reader_feed(&reader, buf + i, 1, NULL, NULL);
    ck_assert_int_eq(st, PUPA_FRAME_BAD_PAYLOAD);
    ck_assert_int_eq(reader.error, PUPA_FRAME_BAD_PAYLOAD);
    ck_assert_str_eq(reader.error_detail, reason);
    ck_assert_uint_eq(reader.error_offset, 0);
    ck_assert_uint_eq(reader.frames, 0);
}

START_TEST(garbage_payloads_name_the_reason)
{
    build_cases();
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
        check_bad(bad_cases[i].what, bad_cases[i].fields, bad_cases[i].payload, bad_cases[i].len,
                  bad_cases[i].reason);
    check_bad("device of 33 characters", pupa_GuestMessage_fields, device33, 37, "string overflow");
    check_bad("sha256 of 33 bytes", pupa_GuestMessage_fields, sha33, 38, "bytes overflow");
    check_bad("17 devices", pupa_VmmConfig_fields, devices17, 34, "array overflow");
}
END_TEST

static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Random payloads and bit-flipped sample frames: OK or BAD_PAYLOAD (with a
 * reason), nothing else; what decodes, encodes again. */
START_TEST(random_payloads_never_crash)
{
    static uint8_t buf[PUPA_FRAME_MAX], again[PUPA_FRAME_MAX];
    uint32_t x = 88172645u;
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 60000; iter++) {
        const pb_msgdesc_t *fields = iter & 1 ? pupa_VmmConfig_fields : pupa_GuestMessage_fields;
        size_t len;
        if (iter % 3 == 0) {
            len = xorshift(&x) % 300;
            for (size_t i = 0; i < len; i++)
                buf[2 + i] = (uint8_t)xorshift(&x);
            put_u16(buf, len);
        } else {
            char what[64];
            size_t n;
            fields = sample_frame((int)(xorshift(&x) % NSAMPLES), buf, sizeof(buf), &n, what,
                                  sizeof(what));
            len = n - 2;
            if (len == 0)
                continue;
            for (int flips = 1 + (int)(xorshift(&x) % 4); flips > 0; flips--)
                buf[2 + xorshift(&x) % len] ^= (uint8_t)(1u << (xorshift(&x) % 8));
        }
        size_t consumed = SENTINEL;
        const char *detail = NULL;
        pupa_frame_status st = pupa_frame_decode(fields, &msgbuf, buf, len + 2, &consumed, &detail);
        if (st == PUPA_FRAME_OK) {
            ok++;
            ck_assert_uint_eq(consumed, len + 2);
            size_t n2 = 0;
            ck_assert_int_eq(pupa_frame_encode(fields, &msgbuf, again, sizeof(again), &n2),
                             PUPA_FRAME_OK);
        } else {
            bad++;
            ck_assert_msg(st == PUPA_FRAME_BAD_PAYLOAD, "iteration %d: status %d", iter, st);
            ck_assert_ptr_nonnull(detail);
            ck_assert_uint_eq(consumed, SENTINEL);
        }
    }
    /* both outcomes were exercised */
    ck_assert_int_gt(ok, 1000);
    ck_assert_int_gt(bad, 1000);
}
END_TEST

/* Random byte streams through the reader in random chunks: the only
 * outcomes are OK, TOO_LONG and BAD_PAYLOAD. */
START_TEST(random_streams_through_reader)
{
    static uint8_t stream[4096];
    uint32_t x = 1234567u;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 1 + xorshift(&x) % sizeof(stream);
        for (size_t i = 0; i < len; i++) {
            uint32_t r = xorshift(&x);
            /* small length prefixes are likelier than in uniform noise */
            stream[i] = (uint8_t)(r % 5 == 0 ? r % 7 : r >> 8);
        }
        pupa_reader_init(&reader, iter & 1 ? pupa_VmmConfig_fields : pupa_GuestMessage_fields,
                         &msgbuf);
        pupa_frame_status st = PUPA_FRAME_OK;
        for (size_t off = 0; off < len && st == PUPA_FRAME_OK;) {
            size_t n = 1 + xorshift(&x) % 97;
            if (n > len - off)
                n = len - off;
            st = pupa_reader_feed(&reader, stream + off, n, NULL, NULL);
            off += n;
        }
        ck_assert_msg(st == PUPA_FRAME_OK || st == PUPA_FRAME_TOO_LONG ||
                          st == PUPA_FRAME_BAD_PAYLOAD,
                      "status %d", st);
        ck_assert_int_eq(reader.error, st);
        ck_assert_uint_le(reader.error_offset, len);
        if (st != PUPA_FRAME_OK)
            ck_assert(!pupa_reader_partial(&reader));
    }
}
END_TEST

/* ------------------------------------------------------------ error state */

struct cb_count {
    size_t calls;
};

static void counting_cb(void *ctx, const void *msg)
{
    (void)msg;
    ((struct cb_count *)ctx)->calls++;
}

/* K good frames (N bytes), then a bad frame, then more good frames. */
struct bad_stream {
    uint8_t *bytes;
    size_t len;
    size_t good;     /* K */
    size_t bad_at;   /* N */
    size_t decisive; /* bytes the reader needs to see the error */
    pupa_frame_status error;
    const char *detail;
};

enum { BAD_TOO_LONG, BAD_PAYLOAD_FRAME, BAD_KINDS };

static void make_bad_stream(struct bad_stream *b, int kind)
{
    static pupa_GuestMessage m;
    size_t cap = 8 * PUPA_FRAME_MAX, off = 0;
    b->bytes = malloc(cap);
    ck_assert_ptr_nonnull(b->bytes);
    b->good = 0;
    for (int k = 0; k < SK_COUNT; k += 2, b->good++) {
        sample_guest(&m, k, k % 3 == 0 ? SV_MAX : SV_TYPICAL);
        off += sample_encode(pupa_GuestMessage_fields, &m, b->bytes + off, cap - off);
    }
    b->bad_at = off;
    if (kind == BAD_TOO_LONG) {
        put_u16(b->bytes + off, PUPA_FRAME_MAX_PAYLOAD + 1);
        off += 2;
        b->decisive = off;
        b->error = PUPA_FRAME_TOO_LONG;
        b->detail = NULL;
        memset(b->bytes + off, 0, 40); /* would be zero-length frames */
        off += 40;
    } else {
        put_u16(b->bytes + off, 5);
        memcpy(b->bytes + off + 2, "\x08\x01\x12\x05\x0a", 5); /* submessage past the end */
        off += 7;
        b->decisive = off;
        b->error = PUPA_FRAME_BAD_PAYLOAD;
        b->detail = "parent stream too short";
    }
    sample_guest(&m, SK_PROGRESS, SV_TYPICAL);
    off += sample_encode(pupa_GuestMessage_fields, &m, b->bytes + off, cap - off);
    b->len = off;
}

static void check_failed(const struct bad_stream *b, size_t calls)
{
    ck_assert_uint_eq(calls, b->good);
    ck_assert_uint_eq(reader.frames, b->good);
    ck_assert_int_eq(reader.error, b->error);
    ck_assert_uint_eq(reader.error_offset, b->bad_at);
    if (b->detail)
        ck_assert_str_eq(reader.error_detail, b->detail);
    else
        ck_assert_ptr_null(reader.error_detail);
    ck_assert(!pupa_reader_partial(&reader));
}

/* After an error every further feed returns it, takes nothing, calls back
 * nothing, and the state (frames, offset, detail) stays. */
START_TEST(error_is_sticky)
{
    struct bad_stream b;
    struct cb_count c = {0};
    make_bad_stream(&b, _i);
    pupa_reader_init(&reader, pupa_GuestMessage_fields, &msgbuf.g);
    ck_assert_int_eq(pupa_reader_feed(&reader, b.bytes, b.len, counting_cb, &c), b.error);
    check_failed(&b, c.calls);
    uint64_t offset = reader.offset;
    size_t have = reader.have;

    static const uint8_t good[2] = {0, 0};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pupa_reader_feed(&reader, good, sizeof(good), counting_cb, &c), b.error);
        ck_assert_int_eq(pupa_reader_feed(&reader, good, 0, counting_cb, &c), b.error);
        ck_assert_int_eq(pupa_reader_feed(&reader, b.bytes, b.len, counting_cb, &c), b.error);
        check_failed(&b, c.calls);
        ck_assert_uint_eq(reader.offset, offset);
        ck_assert_uint_eq(reader.have, have);
    }
    free(b.bytes);
}
END_TEST

/* The same failing stream cut in two at every offset: the error comes from
 * the feed that brings its decisive byte, the good frames before it are all
 * delivered, the offset is that of the bad frame, and the feed after
 * returns the same error. */
START_TEST(error_at_every_split)
{
    struct bad_stream b;
    make_bad_stream(&b, _i);
    for (size_t split = 0; split <= b.len; split++) {
        struct cb_count c = {0};
        pupa_reader_init(&reader, pupa_GuestMessage_fields, &msgbuf.g);
        pupa_frame_status first = pupa_reader_feed(&reader, b.bytes, split, counting_cb, &c);
        ck_assert_msg(first == (split >= b.decisive ? b.error : PUPA_FRAME_OK),
                      "split %zu: first feed %d", split, first);
        pupa_frame_status second =
            pupa_reader_feed(&reader, b.bytes + split, b.len - split, counting_cb, &c);
        ck_assert_msg(second == b.error, "split %zu: second feed %d", split, second);
        check_failed(&b, c.calls);
    }
    free(b.bytes);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("protocol_errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, truncated_every_prefix, 0, NSAMPLES);
    tcase_add_loop_test(tc, encode_every_buffer_size, 0, NSAMPLES);
    tcase_add_test(tc, encode_refused);
    tcase_add_test(tc, zero_length_frame_is_default_message);
    tcase_add_test(tc, length_prefix_over_limit);
    tcase_add_test(tc, length_prefix_at_limit);
    tcase_add_test(tc, garbage_payloads_name_the_reason);
    tcase_add_test(tc, random_payloads_never_crash);
    tcase_add_test(tc, random_streams_through_reader);
    tcase_add_loop_test(tc, error_is_sticky, 0, BAD_KINDS);
    tcase_add_loop_test(tc, error_at_every_split, 0, BAD_KINDS);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
