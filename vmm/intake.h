/* intake.h: the parent's one entry point for what a guest says. The COM1 bytes a
 * worker forwards are decoded here, once, frame by frame; each frame is checked
 * against the protocol and the budgets and applied to the job's status model, then
 * shown to the display. Nothing else in the parent decodes guest data. */
#ifndef PUPA_INTAKE_H
#define PUPA_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pupa/protocol.h"
#include "status.h"

/* Called for every frame once the status model took it (for the display). */
typedef void (*intake_frame_fn)(void *ctx, const pupa_GuestMessage *m, double now);

struct intake {
    pupa_reader reader;
    pupa_GuestMessage msg;
    struct status_job *st;
    intake_frame_fn on_frame;
    void *ctx;
    uint64_t bytes; /* against BUDGET_FRAME_BYTES */
    struct pupa_error *err;
    double now;
    int failed; /* sticky */
};

struct intake *intake_new(struct status_job *st, intake_frame_fn on_frame, void *ctx);
void intake_free(struct intake *in);
/* Bytes of COM1, in chunks of any size. -1 (err set) once the stream broke the
 * protocol or a budget; the job has failed and its guest should be stopped. */
PUPA_MUST_CHECK int intake_com1(struct intake *in, const uint8_t *data, size_t n, double now,
                                struct pupa_error *err);
/* The guest's run is over: -1 (err set) when it stopped in the middle of a frame. */
PUPA_MUST_CHECK int intake_end(struct intake *in, struct pupa_error *err);

#endif
