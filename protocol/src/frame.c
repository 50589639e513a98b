/* frame.c: encode and decode one [u16 LE length][protobuf] frame. */
#include <pb_decode.h>
#include <pb_encode.h>

#include "pupa/protocol.h"

_Static_assert(pupa_GuestMessage_size <= PUPA_FRAME_MAX_PAYLOAD,
               "GuestMessage must fit in one frame");
_Static_assert(pupa_VmmConfig_size <= PUPA_FRAME_MAX_PAYLOAD, "VmmConfig must fit in one frame");
_Static_assert(PUPA_FRAME_MAX_PAYLOAD <= 0xffff, "frame length is a u16");

const char *pupa_frame_status_str(pupa_frame_status st)
{
    switch (st) {
    case PUPA_FRAME_OK:
        return "ok";
    case PUPA_FRAME_NEED_MORE:
        return "frame incomplete";
    case PUPA_FRAME_TOO_LONG:
        return "length prefix over the limit";
    case PUPA_FRAME_BAD_PAYLOAD:
        return "payload does not decode";
    case PUPA_FRAME_NO_SPACE:
        return "message does not fit the buffer";
    case PUPA_FRAME_ENCODE_FAILED:
        return "message does not encode";
    }
    return "unknown frame status";
}

pupa_frame_status pupa_frame_encode(const pb_msgdesc_t *fields, const void *msg, uint8_t *buf,
                                    size_t cap, size_t *out_len)
{
    if (cap < PUPA_FRAME_HEADER)
        return PUPA_FRAME_NO_SPACE;
    size_t room = cap - PUPA_FRAME_HEADER;
    if (room > PUPA_FRAME_MAX_PAYLOAD)
        room = PUPA_FRAME_MAX_PAYLOAD;

    /* one pass straight into the buffer; only a failure pays for a sizing pass,
     * to tell "does not fit" from "does not encode" */
    pb_ostream_t os = pb_ostream_from_buffer(buf + PUPA_FRAME_HEADER, room);
    if (!pb_encode(&os, fields, msg)) {
        size_t payload = 0;
        if (!pb_get_encoded_size(&payload, fields, msg))
            return PUPA_FRAME_ENCODE_FAILED;
        return payload > room ? PUPA_FRAME_NO_SPACE : PUPA_FRAME_ENCODE_FAILED;
    }
    size_t payload = os.bytes_written;
    buf[0] = (uint8_t)(payload & 0xff);
    buf[1] = (uint8_t)(payload >> 8);
    *out_len = PUPA_FRAME_HEADER + payload;
    return PUPA_FRAME_OK;
}

pupa_frame_status pupa_frame_decode(const pb_msgdesc_t *fields, void *msg, const uint8_t *buf,
                                    size_t len, size_t *consumed, const char **err_detail)
{
    if (err_detail)
        *err_detail = NULL;
    if (len < PUPA_FRAME_HEADER)
        return PUPA_FRAME_NEED_MORE;
    size_t payload = (size_t)buf[0] | ((size_t)buf[1] << 8);
    if (payload > PUPA_FRAME_MAX_PAYLOAD)
        return PUPA_FRAME_TOO_LONG;
    if (len - PUPA_FRAME_HEADER < payload)
        return PUPA_FRAME_NEED_MORE;

    pb_istream_t is = pb_istream_from_buffer(buf + PUPA_FRAME_HEADER, payload);
    if (!pb_decode(&is, fields, msg)) {
        if (err_detail)
            *err_detail = PB_GET_ERROR(&is);
        return PUPA_FRAME_BAD_PAYLOAD;
    }
    *consumed = PUPA_FRAME_HEADER + payload;
    return PUPA_FRAME_OK;
}
