/* protocol.h: libpupa-protocol, the framing both sides of pupa link.
 *
 * A frame is [u16 little-endian payload length][protobuf payload]. Everything
 * works on caller-provided buffers; nothing allocates. The same sources build
 * hosted (VMM, tools, tests) and freestanding (guest). */
#ifndef PUPA_PROTOCOL_H
#define PUPA_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pb.h>

#include "guest.pb.h"
#include "pupa/abi.h"

#if defined(__GNUC__)
#define PUPA_MUST_CHECK __attribute__((warn_unused_result))
#else
#define PUPA_MUST_CHECK
#endif

typedef enum {
    PUPA_FRAME_OK = 0,            /* one frame decoded / encoded */
    PUPA_FRAME_NEED_MORE = 1,     /* decode: buffer holds only part of a frame */
    PUPA_FRAME_TOO_LONG = -1,     /* length prefix over PUPA_FRAME_MAX_PAYLOAD */
    PUPA_FRAME_BAD_PAYLOAD = -2,  /* payload does not decode as the message */
    PUPA_FRAME_NO_SPACE = -3,     /* encode: message does not fit the buffer (or a frame) */
    PUPA_FRAME_ENCODE_FAILED = -4 /* encode: nanopb refused the message */
} pupa_frame_status;

/* A short constant description of a status ("length over the limit", ...). */
const char *pupa_frame_status_str(pupa_frame_status st);

/* Encode msg (described by fields, e.g. pupa_GuestMessage_fields) as one frame
 * into buf[0..cap). On PUPA_FRAME_OK *out_len is the frame length. */
PUPA_MUST_CHECK pupa_frame_status pupa_frame_encode(const pb_msgdesc_t *fields, const void *msg,
                                                    uint8_t *buf, size_t cap, size_t *out_len);

/* Decode the frame at the start of buf[0..len) into msg. On PUPA_FRAME_OK
 * *consumed (required) is the frame length; on PUPA_FRAME_NEED_MORE nothing is
 * consumed. A zero-length payload is a valid frame: an all-default message.
 * After BAD_PAYLOAD msg holds whatever decoded before the error: do not use it.
 * When err_detail is not NULL it receives nanopb's reason for BAD_PAYLOAD.
 * Strings are not checked for UTF-8 and end at an embedded NUL: whoever prints
 * them must treat them as untrusted bytes. */
PUPA_MUST_CHECK pupa_frame_status pupa_frame_decode(const pb_msgdesc_t *fields, void *msg,
                                                    const uint8_t *buf, size_t len,
                                                    size_t *consumed, const char **err_detail);

/* ------------------------------------------------------------ streaming reader */

/* Called once per complete message, in stream order. */
typedef void (*pupa_reader_cb)(void *ctx, const void *msg);

typedef struct {
    const pb_msgdesc_t *fields;
    void *msg;               /* caller's message buffer, rewritten for each frame */
    size_t have;             /* bytes buffered of the current frame */
    size_t need;             /* total bytes of the current frame, once known */
    uint64_t offset;         /* stream offset of buf[0] */
    uint64_t frames;         /* messages handed out */
    pupa_frame_status error; /* sticky once negative */
    uint64_t error_offset;   /* stream offset of the frame that failed */
    const char *error_detail;
    uint8_t buf[PUPA_FRAME_MAX];
} pupa_reader;

/* msg must point to storage for one message of type fields. */
void pupa_reader_init(pupa_reader *r, const pb_msgdesc_t *fields, void *msg);

/* Feed any number of bytes. Calls cb for every message completed by them.
 * Returns PUPA_FRAME_OK when all bytes were taken (a partial frame stays
 * buffered), or the error that stopped the stream; after an error every
 * further call returns the same error and consumes nothing. */
PUPA_MUST_CHECK pupa_frame_status pupa_reader_feed(pupa_reader *r, const uint8_t *data, size_t len,
                                                   pupa_reader_cb cb, void *ctx);

/* True when the stream ended in the middle of a frame. */
bool pupa_reader_partial(const pupa_reader *r);

/* ------------------------------------------------------------ message helpers */

/* Each fills *m with one GuestMessage kind and its Level. Strings longer than
 * their field are cut at the field size (always NUL-terminated); the return
 * value says whether everything fitted. NULL strings are empty. */
bool pupa_msg_init(pupa_GuestMessage *m, const char *stage, const char *device, uint64_t address);
bool pupa_msg_capacity(pupa_GuestMessage *m, const char *device, uint64_t sectors, uint64_t bytes);
bool pupa_msg_progress(pupa_GuestMessage *m, const char *operation, const char *device,
                       uint64_t current, uint64_t total);
bool pupa_msg_error(pupa_GuestMessage *m, const char *operation, const char *device,
                    uint64_t sector, uint32_t status, const char *message);
bool pupa_msg_complete(pupa_GuestMessage *m, const char *operation, uint64_t count, bool success);
bool pupa_msg_info_result(pupa_GuestMessage *m, const char *format, uint64_t virtual_size,
                          uint32_t cluster_size, uint32_t flags);
/* sha256 may be NULL: the digest field stays empty. */
bool pupa_msg_digest(pupa_GuestMessage *m, const char *device, const uint8_t sha256[32],
                     uint64_t bytes);
bool pupa_msg_finding(pupa_GuestMessage *m, const char *check, const char *detail);

/* floor(current * 100 / total), 0..100, exact for all values; total 0 counts as done. */
uint32_t pupa_percent(uint64_t current, uint64_t total);

/* Copy src into dst[0..cap) with NUL; returns false when src was cut. */
bool pupa_strlcpy(char *dst, const char *src, size_t cap);

/* Level names as in guest.proto ("DEBUG", ...), NULL for unknown values. */
const char *pupa_level_name(pupa_Level level);
const char *pupa_node_kind_name(pupa_NodeKind kind);
const char *pupa_compare_outcome_name(pupa_CompareOutcome outcome);
const char *pupa_error_print_name(pupa_ErrorPrint print);

/* "vda", "vdb", ...: the name of disk `index` (0-based, < PUPA_MAX_DEVICES) in
 * VmmConfig.devices and in every frame about it. */
#define PUPA_DEVICE_NAME_SIZE 4
static inline void pupa_device_name(char out[PUPA_DEVICE_NAME_SIZE], unsigned index)
{
    out[0] = 'v';
    out[1] = 'd';
    out[2] = (char)('a' + (index < PUPA_MAX_DEVICES ? index : PUPA_MAX_DEVICES));
    out[3] = '\0';
}

#define PUPA_STRLCPY(dst, src) pupa_strlcpy((dst), (src), sizeof(dst))

#endif
