/* channel.c: worker -> parent records (see channel.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "util.h"
#include "vm.h"

/* ---------------------------------------------------------------- worker side */

/* write(2) only: it is the one output call a confined worker keeps (vmm/sandbox.c).
 * The worker is the pipe's only writer, so a record may take several writes. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EPIPE;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int channel_put(int fd, enum channel_kind kind, const void *payload, size_t len)
{
    const uint8_t *p = payload;
    do {
        uint32_t n = len > CHANNEL_MAX_PAYLOAD ? CHANNEL_MAX_PAYLOAD : (uint32_t)len;
        uint8_t hdr[CHANNEL_HEADER] = {(uint8_t)kind, (uint8_t)n, (uint8_t)(n >> 8),
                                       (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
        int rc = write_all(fd, hdr, sizeof(hdr));
        if (rc == 0)
            rc = write_all(fd, p, n);
        if (rc != 0)
            return rc;
        p += n;
        len -= n;
    } while (len > 0);
    return 0;
}

/* ---------------------------------------------------------------- parent side */

void channel_reader_init(struct channel_reader *r)
{
    memset(r, 0, sizeof(*r));
}

__attribute__((format(printf, 3, 4))) static int
broken(struct channel_reader *r, struct pupa_error *err, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    r->broken = true;
    return err_set(err, ERRC_GUEST_FAILURE, "worker broke its channel at byte %llu: %s",
                   (unsigned long long)r->offset, why);
}

/* A header is complete: is this a record a worker may send now? */
static int check_header(struct channel_reader *r, struct pupa_error *err)
{
    r->kind = r->hdr[0];
    r->len = (uint32_t)r->hdr[1] | (uint32_t)r->hdr[2] << 8 | (uint32_t)r->hdr[3] << 16 |
             (uint32_t)r->hdr[4] << 24;
    r->have = 0;
    if (r->got_result)
        return broken(r, err, "a record after the result");
    switch (r->kind) {
    case CHANNEL_COM1:
    case CHANNEL_LOG:
        if (r->len > CHANNEL_MAX_PAYLOAD)
            return broken(r, err, "a record of %u bytes (at most %u)", r->len, CHANNEL_MAX_PAYLOAD);
        return 0;
    case CHANNEL_RESULT:
        if (r->len != sizeof(r->res))
            return broken(r, err, "a result of %u bytes (want %zu)", r->len, sizeof(r->res));
        return 0;
    default:
        return broken(r, err, "unknown record kind 0x%02x", r->kind);
    }
}

/* The result record is complete: check every field before anyone reads it. */
static int take_result(struct channel_reader *r, const struct channel_ops *ops, void *ctx,
                       struct pupa_error *err)
{
    struct channel_result *res = &r->res;
    if (res->state > VM_STOPPED)
        return broken(r, err, "a result with machine state %u", res->state);
    res->error[sizeof(res->error) - 1] = '\0';
    char clean[sizeof(res->error)];
    sanitize_for_tty(clean, sizeof(clean), res->error);
    memcpy(res->error, clean, sizeof(clean));
    r->got_result = true;
    ops->result(ctx, res);
    return 0;
}

int channel_feed(struct channel_reader *r, const uint8_t *data, size_t n,
                 const struct channel_ops *ops, void *ctx, struct pupa_error *err)
{
    if (r->broken)
        return -1;
    while (n > 0) {
        if (r->hdr_have < CHANNEL_HEADER) {
            size_t take = CHANNEL_HEADER - r->hdr_have < n ? CHANNEL_HEADER - r->hdr_have : n;
            memcpy(r->hdr + r->hdr_have, data, take);
            r->hdr_have += take;
            data += take;
            n -= take;
            if (r->hdr_have < CHANNEL_HEADER)
                return 0;
            if (check_header(r, err) != 0)
                return -1;
            r->offset += CHANNEL_HEADER;
        }
        size_t take = r->len - r->have < n ? r->len - r->have : n;
        if (r->kind == CHANNEL_RESULT) {
            memcpy((uint8_t *)&r->res + r->have, data, take);
        } else if (take > 0 && ops->bytes(ctx, (enum channel_kind)r->kind, data, take) != 0) {
            r->broken = true;
            return -1;
        }
        r->have += (uint32_t)take;
        r->offset += take;
        data += take;
        n -= take;
        if (r->have == r->len) {
            r->hdr_have = 0;
            if (r->kind == CHANNEL_RESULT && take_result(r, ops, ctx, err) != 0)
                return -1;
        }
    }
    return 0;
}

int channel_end(struct channel_reader *r, struct pupa_error *err)
{
    if (r->broken)
        return -1;
    if (r->hdr_have != 0)
        return broken(r, err, "the pipe closed in the middle of a record");
    return 0;
}
