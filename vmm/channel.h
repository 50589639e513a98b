/* channel.h: the pipe from a worker to the parent, both ends. A worker may be
 * compromised, so the parent decodes every byte of it here and nowhere else:
 * records are [u8 kind][u32 LE length][payload], checked as they arrive, and the
 * first malformed one breaks the channel for good (the job fails, the parent
 * stops reading and closes the pipe). */
#ifndef PUPA_CHANNEL_H
#define PUPA_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum channel_kind {
    CHANNEL_COM1 = 'C',   /* bytes the guest wrote to COM1, as it wrote them */
    CHANNEL_LOG = 'L',    /* bytes the guest wrote to COM2 (only with --guest-log) */
    CHANNEL_RESULT = 'R', /* struct channel_result: the last record */
};

#define CHANNEL_HEADER      5u
#define CHANNEL_MAX_PAYLOAD (1u << 20) /* one bulk transfer (PUPA_BULK_MAX) fits one record */

/* How the guest's run ended, as the worker saw it. Numbers only, plus one line of
 * text that the parent sanitizes: nothing in it is trusted. */
struct channel_result {
    uint32_t state;      /* enum vm_state */
    int32_t exit_status; /* what the guest wrote to PUPA_PORT_EXIT */
    uint64_t exits, posted, bytes_read, blk_requests, blk_notifies, blk_errors;
    uint64_t setup_ns, run_ns; /* VM creation + load, and boot to exit */
    uint64_t peak_rss_kib;     /* of the worker */
    char error[640];           /* why the guest failed; "" when it exited 0 */
};

/* ---------------------------------------------------------------- worker side */

/* Write one record (payloads over CHANNEL_MAX_PAYLOAD go as several records of the
 * same kind). 0, or a negative errno when the parent is gone. */
PUPA_MUST_CHECK int channel_put(int fd, enum channel_kind kind, const void *payload, size_t len);

/* ---------------------------------------------------------------- parent side */

struct channel_ops {
    /* COM1 or LOG payload bytes, in order, in chunks of any size. Non-zero breaks
     * the channel (the callback has recorded why). */
    int (*bytes)(void *ctx, enum channel_kind kind, const uint8_t *data, size_t len);
    /* The result record, validated: state in range, error NUL-terminated and free of
     * control characters. */
    void (*result)(void *ctx, const struct channel_result *r);
};

struct channel_reader {
    uint8_t hdr[CHANNEL_HEADER];
    size_t hdr_have;
    uint8_t kind;
    uint32_t len, have; /* of the current record's payload */
    struct channel_result res;
    bool got_result;
    bool broken;     /* sticky: nothing more is read */
    uint64_t offset; /* bytes taken so far, for error messages */
};

void channel_reader_init(struct channel_reader *r);
/* Take bytes from a worker's pipe. 0 when all were taken; -1 when the channel is
 * (or already was) broken, with the first reason in err. */
PUPA_MUST_CHECK int channel_feed(struct channel_reader *r, const uint8_t *data, size_t n,
                                 const struct channel_ops *ops, void *ctx, struct pupa_error *err);
/* The pipe closed: -1 (err set) when it closed in the middle of a record. */
PUPA_MUST_CHECK int channel_end(struct channel_reader *r, struct pupa_error *err);

#endif
