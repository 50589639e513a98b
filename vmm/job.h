/* job.h: one guest's work as the parent sees it: the images it was given, what the
 * guest said about them (the status model), how its run ended, and each image's
 * outcome. The scheduler (batch.c) fills it; the printers (render.c) read it. */
#ifndef PUPA_JOB_H
#define PUPA_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"
#include "error.h"
#include "image_open.h"
#include "intake.h"
#include "status.h"
#include "worker.h"

enum job_phase { JOB_RUNNING, JOB_DONE, JOB_PRINTED };

struct job {
    size_t idx;         /* in the scan */
    size_t first, nimg; /* images [first, first + nimg) of the scan */
    const char *names[PUPA_MAX_DEVICES];
    struct image images[PUPA_MAX_DEVICES];
    int dev[PUPA_MAX_DEVICES]; /* image i is the guest's disk dev[i]; -1: it did not open */
    size_t ndev;               /* disks the guest was given */
    enum job_phase phase;
    struct status_job st; /* progress rows and the guest's result */
    struct outcome out[PUPA_MAX_DEVICES];
    struct pupa_error err; /* the job failed as a whole: its first cause */
    struct channel_result res;
    bool have_res; /* the worker's result record arrived */
    uint64_t held; /* bytes of result kept until printed */

    /* while running */
    void *sched; /* the scheduler that owns the job */
    struct worker worker;
    struct channel_reader channel;
    struct intake *intake;       /* frames -> status; freed when the job ends */
    volatile uint64_t *activity; /* shared with the worker (device progress) */
    uint64_t activity_seen;
    double t_start, t_active; /* started; last sign of progress */
    double t_stop;            /* when it was told to stop for --timeout */
    bool stopping;            /* SIGTERM sent for --timeout */
    bool timed_out;
    char diag[512]; /* a partial diagnostic line from the worker */
    size_t diag_len;
    uint64_t log_bytes; /* --guest-log bytes copied */
};

#endif
