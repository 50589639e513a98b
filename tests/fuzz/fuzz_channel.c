/* fuzz_channel.c: libFuzzer harness for the parent's record decoder (vmm/channel.c): a
 * compromised worker's pipe, fed in chunks the input chooses, must never make the
 * parent read or write out of bounds, and must either decode (the payload bytes arrive
 * in order, exactly as a reference walk of the records says) or break for good.
 *
 * Input: [chunking byte k][record stream]; k == 0 feeds everything at once, else chunks
 * of pseudo-random sizes 1..k. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/channel.h"
#include "vmm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    uint64_t hash, bytes; /* FNV-1a over (kind, byte) of every payload byte */
    int results;
};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_channel: %s\n", what);
    abort();
}

static void mix(struct seen *s, uint8_t kind, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s->hash = (s->hash ^ kind) * 1099511628211ull;
        s->hash = (s->hash ^ p[i]) * 1099511628211ull;
    }
    s->bytes += n;
}

static int on_bytes(void *ctx, enum channel_kind kind, const uint8_t *p, size_t n)
{
    if (kind != CHANNEL_COM1 && kind != CHANNEL_LOG)
        fail("bytes of a kind that carries none");
    mix(ctx, (uint8_t)kind, p, n);
    return 0;
}

static void on_result(void *ctx, const struct channel_result *r)
{
    struct seen *s = ctx;
    if (r->state > VM_STOPPED || memchr(r->error, '\0', sizeof(r->error)) == NULL)
        fail("an unchecked result was handed out");
    for (const char *c = r->error; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            fail("a control character in the result's text");
    }
    s->results++;
}

static const struct channel_ops ops = {on_bytes, on_result};

/* The reference: walk whole records; true when the stream is valid up to its end. */
static bool reference(const uint8_t *p, size_t n, struct seen *s, bool *complete)
{
    bool result = false;
    *complete = true;
    while (n > 0) {
        if (n < CHANNEL_HEADER) {
            *complete = false;
            return true;
        }
        uint32_t len =
            (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
        uint8_t kind = p[0];
        if (result || (kind != CHANNEL_COM1 && kind != CHANNEL_LOG && kind != CHANNEL_RESULT))
            return false;
        if (kind == CHANNEL_RESULT ? len != sizeof(struct channel_result)
                                   : len > CHANNEL_MAX_PAYLOAD)
            return false;
        size_t have = n - CHANNEL_HEADER < len ? n - CHANNEL_HEADER : len;
        if (kind != CHANNEL_RESULT)
            mix(s, kind, p + CHANNEL_HEADER, have);
        if (have < len) {
            *complete = false;
            return true;
        }
        if (kind == CHANNEL_RESULT) {
            uint32_t state;
            memcpy(&state, p + CHANNEL_HEADER, 4);
            if (state > VM_STOPPED)
                return false;
            result = true;
            s->results++;
        }
        p += CHANNEL_HEADER + len;
        n -= CHANNEL_HEADER + len;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned k = data[0];
    data++;
    size--;
    struct channel_reader r;
    struct pupa_error err;
    struct seen got = {1469598103934665603ull, 0, 0}, want = got;
    err_init(&err);
    channel_reader_init(&r);
    int rc = 0;
    uint32_t rng = k * 2654435761u + 1;
    for (size_t off = 0; off < size && rc == 0;) {
        rng = rng * 1103515245u + 12345u;
        size_t n = k ? 1 + (rng >> 16) % k : size;
        if (n > size - off)
            n = size - off;
        rc = channel_feed(&r, data + off, n, &ops, &got, &err);
        off += n;
    }
    bool complete, valid = reference(data, size, &want, &complete);
    if (rc == 0 && !valid)
        fail("an invalid stream was accepted");
    if (rc != 0 && valid)
        fail("a valid stream was refused");
    if (rc != 0 && (err.cls != ERRC_GUEST_FAILURE || !err.msg[0]))
        fail("a refusal without a reason");
    if (valid && (got.hash != want.hash || got.bytes != want.bytes || got.results != want.results))
        fail("payload bytes or results differ from the reference");
    if (valid && (channel_end(&r, &err) == 0) != complete)
        fail("the end of the stream is judged wrongly");
    return 0;
}
