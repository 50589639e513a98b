/* reader.c: streaming frame reader; bytes in any chunking, messages out. */
#include <string.h>

#include "pupa/protocol.h"

void pupa_reader_init(pupa_reader *r, const pb_msgdesc_t *fields, void *msg)
{
    r->fields = fields;
    r->msg = msg;
    r->have = 0;
    r->need = PUPA_FRAME_HEADER;
    r->offset = 0;
    r->frames = 0;
    r->error = PUPA_FRAME_OK;
    r->error_offset = 0;
    r->error_detail = NULL;
}

static pupa_frame_status reader_fail(pupa_reader *r, pupa_frame_status st, const char *detail)
{
    r->error = st;
    r->error_offset = r->offset;
    r->error_detail = detail;
    return st;
}

pupa_frame_status pupa_reader_feed(pupa_reader *r, const uint8_t *data, size_t len,
                                   pupa_reader_cb cb, void *ctx)
{
    if (r->error < 0)
        return r->error;

    while (len > 0) {
        /* Fill up to the size we know we need: first the header, then the frame. */
        size_t take = r->need - r->have;
        if (take > len)
            take = len;
        memcpy(r->buf + r->have, data, take);
        r->have += take;
        data += take;
        len -= take;
        if (r->have < r->need)
            break;

        if (r->need == PUPA_FRAME_HEADER) {
            size_t payload = (size_t)r->buf[0] | ((size_t)r->buf[1] << 8);
            if (payload > PUPA_FRAME_MAX_PAYLOAD)
                return reader_fail(r, PUPA_FRAME_TOO_LONG, NULL);
            r->need = PUPA_FRAME_HEADER + payload;
            if (payload > 0)
                continue;
        }

        size_t consumed = 0;
        const char *detail = NULL;
        pupa_frame_status st =
            pupa_frame_decode(r->fields, r->msg, r->buf, r->have, &consumed, &detail);
        if (st != PUPA_FRAME_OK)
            return reader_fail(r, st, detail);
        r->offset += consumed;
        r->have = 0;
        r->need = PUPA_FRAME_HEADER;
        r->frames++;
        if (cb)
            cb(ctx, r->msg);
    }
    return PUPA_FRAME_OK;
}

bool pupa_reader_partial(const pupa_reader *r)
{
    return r->error == PUPA_FRAME_OK && r->have > 0;
}
