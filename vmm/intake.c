/* intake.c: guest frames into the status model, decoded once (see intake.h). */
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "intake.h"
#include "util.h"

struct intake *intake_new(struct status_job *st, intake_frame_fn on_frame, void *ctx)
{
    struct intake *in = xcalloc(1, sizeof(*in));
    pupa_reader_init(&in->reader, pupa_GuestMessage_fields, &in->msg);
    in->st = st;
    in->on_frame = on_frame;
    in->ctx = ctx;
    return in;
}

void intake_free(struct intake *in)
{
    free(in);
}

/* Strings of frames that only the display shows are cleaned here, once. Strings that
 * reach a result stay exact (on a pipe qemu-img prints them exactly) and are cleaned
 * by the one rule (sanitize_for_tty) wherever they reach a terminal. */
static void clean_display_strings(pupa_GuestMessage *m)
{
#define CLEAN(field) sanitize_for_tty((field), sizeof(field), (field))
    switch (m->which_payload) {
    case pupa_GuestMessage_init_tag:
        CLEAN(m->payload.init.stage);
        CLEAN(m->payload.init.device);
        break;
    case pupa_GuestMessage_capacity_tag:
        CLEAN(m->payload.capacity.device);
        break;
    case pupa_GuestMessage_progress_tag:
        CLEAN(m->payload.progress.operation);
        CLEAN(m->payload.progress.device);
        break;
    case pupa_GuestMessage_complete_tag:
        CLEAN(m->payload.complete.operation);
        break;
    default:
        break;
    }
#undef CLEAN
}

static void on_frame(void *ctx, const void *msg)
{
    struct intake *in = ctx;
    if (in->failed)
        return;
    pupa_GuestMessage *m = (pupa_GuestMessage *)msg; /* the reader's own buffer */
    clean_display_strings(m);
    if (status_feed(in->st, m, in->now, in->err) != 0) {
        in->failed = 1;
        return;
    }
    if (in->on_frame)
        in->on_frame(in->ctx, m, in->now);
}

int intake_com1(struct intake *in, const uint8_t *data, size_t n, double now,
                struct pupa_error *err)
{
    if (in->failed)
        return -1;
    in->bytes += n;
    if (in->bytes > BUDGET_FRAME_BYTES) {
        in->failed = 1;
        return err_set(err, ERRC_RESULT_TOO_LARGE, "guest sent more than %llu MiB of frames",
                       BUDGET_FRAME_BYTES >> 20);
    }
    in->err = err;
    in->now = now;
    pupa_frame_status st = pupa_reader_feed(&in->reader, data, n, on_frame, in);
    if (in->failed)
        return -1;
    if (st != PUPA_FRAME_OK) {
        in->failed = 1;
        const char *detail = in->reader.error_detail;
        return err_set(err, ERRC_GUEST_FAILURE,
                       "protocol error at byte %llu of the guest's frame stream: %s%s%s",
                       (unsigned long long)in->reader.error_offset,
                       pupa_frame_status_str(in->reader.error), detail ? ": " : "",
                       detail ? detail : "");
    }
    return 0;
}

int intake_end(struct intake *in, struct pupa_error *err)
{
    if (in->failed)
        return -1;
    if (pupa_reader_partial(&in->reader))
        return err_set(err, ERRC_GUEST_FAILURE,
                       "protocol error: the guest stopped in the middle of a frame");
    return 0;
}
