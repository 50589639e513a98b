/* job.h: one guest's work as the parent sees it: the images it was given, what the
 * guest said about them (the status model), how its run ended, and each image's
 * outcome; and its life in the parent (job.c): open the images, fork the worker, read
 * its channel and its stderr, stop it when it makes no progress, reap it, conclude.
 * The scheduler (batch.c) decides when; the printers (render.c) read the result. */
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

struct batch_opts;
struct display;

enum job_phase { JOB_RUNNING, JOB_DONE, JOB_PRINTED };

/* What every job of a run shares. */
struct job_env {
    const struct batch_opts *o;
    struct display *display;
};

struct job {
    size_t idx;         /* in the scan */
    size_t first, nimg; /* images [first, first + nimg) of the scan */
    const char *names[PUPA_MAX_DEVICES];
    struct image images[PUPA_MAX_DEVICES];
    int dev[PUPA_MAX_DEVICES]; /* image i is the guest's disk dev[i]; -1: it did not open */
    size_t ndev;               /* disks the guest was given */
    /* block operations: every disk in the guest's order (each image, then its backing
     * files), its file and its place */
    struct image disk[PUPA_MAX_DEVICES];
    struct worker_disk disk_info[PUPA_MAX_DEVICES];
    size_t ndisks;
    enum job_phase phase;
    struct status_job st; /* progress rows and the guest's result */
    struct outcome out[PUPA_MAX_DEVICES];
    struct pupa_error err; /* the job failed as a whole: its first cause */
    struct channel_result res;
    bool have_res; /* the worker's result record arrived */
    uint64_t held; /* bytes of result kept until printed */

    /* while running */
    const struct job_env *env;
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

/* A job for images [idx * per, idx * per + per) of the run (one guest for commands
 * without images). */
struct job *job_new(const struct job_env *env, size_t idx, size_t per);
void job_free(struct job *j);
/* Open the images and fork the worker. false: nothing runs (no image opened, or the
 * worker could not start): the job is over and has to be concluded. */
bool job_launch(struct job *j);
/* The outcomes count: one per image (per pair for compare), or one for a command
 * without images. */
size_t job_outcomes(const struct job *j);

/* Bytes are waiting on the worker's channel / stderr. job_read_channel returns true
 * when the worker is done (its result came, its pipe closed, its channel broke). */
bool job_read_channel(struct job *j);
void job_read_diag(struct job *j);
/* --timeout: stop a worker that made no progress for that long (SIGTERM, then SIGKILL
 * after grace seconds). */
void job_check_activity(struct job *j, double now, double grace);
/* The worker is done: drain its stderr, close its pipes, collect its exit when it
 * sent no result. Returns the pid of a worker still exiting (to reap later), or 0. */
pid_t job_reap(struct job *j);
/* Decide the outcomes (the operation's conclude), print --stats and the count of
 * suppressed lines. */
void job_conclude(struct job *j);

#endif
