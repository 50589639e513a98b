/* fuzz_frame_reader.c: libFuzzer harness: the streaming reader (chunked as the input says) must
 * agree with pupa_frame_decode and never crash. */
/*
 * Input: [chunking byte k][frame stream]. The stream goes, for both message
 * types (GuestMessage, VmmConfig), through
 *   - pupa_frame_decode in a loop over the whole buffer (the reference), and
 *   - the streaming reader, fed in chunks: all at once when k == 0, else in
 *     pseudo-random sizes 1..k (seeded by k, with empty feeds mixed in).
 * Both must see the same frames and stop the same way: same count, same
 * messages (compared by re-encoding), same error at the same offset with the
 * same reason, or the stream ends inside a frame (NEED_MORE / partial). Every
 * decoded message must encode again, and decode + encode of that encoding
 * must give the same bytes. Any disagreement aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pupa/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef union {
    pupa_GuestMessage g;
    pupa_VmmConfig c;
} any_msg;

static pupa_reader reader;
static any_msg msg_ref, msg_stream, msg_again;
static uint8_t enc[PUPA_FRAME_MAX], enc2[PUPA_FRAME_MAX];

static void fail(const char *what, const char *type, unsigned long long a, unsigned long long b)
{
    fprintf(stderr, "fuzz_frame_reader: %s (%s): %llu vs %llu\n", what, type, a, b);
    abort();
}

/* FNV-1a over the re-encoded frames, and their count. */
struct trace {
    const pb_msgdesc_t *fields;
    const char *type;
    uint64_t hash;
    uint64_t frames;
};

static void trace_message(struct trace *t, const void *msg)
{
    size_t n = 0, n2 = 0, consumed = 0;
    pupa_frame_status st = pupa_frame_encode(t->fields, msg, enc, sizeof(enc), &n);
    if (st != PUPA_FRAME_OK)
        fail("a decoded message does not encode", t->type, (unsigned long long)-st, 0);
    st = pupa_frame_decode(t->fields, &msg_again, enc, n, &consumed, NULL);
    if (st != PUPA_FRAME_OK || consumed != n)
        fail("a re-encoded message does not decode", t->type, consumed, n);
    st = pupa_frame_encode(t->fields, &msg_again, enc2, sizeof(enc2), &n2);
    if (st != PUPA_FRAME_OK || n2 != n || memcmp(enc, enc2, n) != 0)
        fail("decode(encode(m)) encodes differently", t->type, n2, n);
    for (size_t i = 0; i < n; i++) {
        t->hash ^= enc[i];
        t->hash *= 0x100000001b3ull;
    }
    t->frames++;
}

static void on_message(void *ctx, const void *msg)
{
    trace_message(ctx, msg);
}

static void check_type(const pb_msgdesc_t *fields, const char *type, uint8_t k, const uint8_t *s,
                       size_t len)
{
    /* reference: frame by frame from one buffer */
    struct trace ref = {fields, type, 0xcbf29ce484222325ull, 0};
    size_t off = 0;
    pupa_frame_status ref_st = PUPA_FRAME_OK;
    const char *ref_detail = NULL;
    while (off < len) {
        size_t consumed = 0;
        ref_st = pupa_frame_decode(fields, &msg_ref, s + off, len - off, &consumed, &ref_detail);
        if (ref_st != PUPA_FRAME_OK)
            break;
        if (consumed < PUPA_FRAME_HEADER || consumed > len - off)
            fail("consumed out of range", type, consumed, len - off);
        trace_message(&ref, &msg_ref);
        off += consumed;
    }
    if (ref_st == PUPA_FRAME_BAD_PAYLOAD && ref_detail == NULL)
        fail("BAD_PAYLOAD without a reason", type, off, 0);

    /* the streaming reader, chunked by k */
    struct trace str = {fields, type, 0xcbf29ce484222325ull, 0};
    pupa_reader_init(&reader, fields, &msg_stream);
    pupa_frame_status st = PUPA_FRAME_OK;
    uint32_t x = 0x9e3779b9u ^ k;
    for (size_t pos = 0; pos < len && st == PUPA_FRAME_OK;) {
        size_t n = len - pos;
        if (k != 0) {
            x = x * 1103515245u + 12345u;
            n = (x >> 16) % 8 == 0 ? 0 : 1 + (x >> 8) % k;
            if (n > len - pos)
                n = len - pos;
        }
        st = pupa_reader_feed(&reader, s + pos, n, on_message, &str);
        pos += n;
    }

    if (str.frames != ref.frames || reader.frames != ref.frames)
        fail("frame counts differ", type, str.frames, ref.frames);
    if (str.hash != ref.hash)
        fail("messages differ", type, str.hash, ref.hash);
    switch (ref_st) {
    case PUPA_FRAME_OK: /* the stream ended on a frame boundary */
        if (st != PUPA_FRAME_OK || pupa_reader_partial(&reader))
            fail("reader disagrees on a clean stream", type, (unsigned long long)st, 0);
        break;
    case PUPA_FRAME_NEED_MORE: /* the stream ended inside a frame */
        if (st != PUPA_FRAME_OK || !pupa_reader_partial(&reader))
            fail("reader disagrees on a truncated stream", type, (unsigned long long)st, 0);
        if (reader.offset != off || reader.have != len - off)
            fail("partial frame not where it should be", type, reader.offset, off);
        break;
    case PUPA_FRAME_TOO_LONG:
    case PUPA_FRAME_BAD_PAYLOAD:
        if (st != ref_st || reader.error != ref_st)
            fail("reader error differs", type, (unsigned long long)-st,
                 (unsigned long long)-ref_st);
        if (reader.error_offset != off)
            fail("error offset differs", type, reader.error_offset, off);
        if ((ref_detail == NULL) != (reader.error_detail == NULL) ||
            (ref_detail && strcmp(ref_detail, reader.error_detail) != 0))
            fail("error reason differs", type, 0, 0);
        if (pupa_reader_partial(&reader))
            fail("partial after an error", type, 0, 0);
        /* sticky: more bytes change nothing */
        if (pupa_reader_feed(&reader, s, len, on_message, &str) != ref_st ||
            str.frames != ref.frames)
            fail("error not sticky", type, str.frames, ref.frames);
        break;
    default:
        fail("pupa_frame_decode returned an unexpected status", type, (unsigned long long)ref_st,
             0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    check_type(pupa_GuestMessage_fields, "GuestMessage", data[0], data + 1, size - 1);
    check_type(pupa_VmmConfig_fields, "VmmConfig", data[0], data + 1, size - 1);
    return 0;
}
