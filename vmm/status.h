/* status.h: what the guests said so far, per job and device: the model the
 * display renders (init stage, capacity, progress with rate and ETA, errors,
 * completion). */
#ifndef PUPA_STATUS_H
#define PUPA_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pupa/protocol.h"

struct status_dev {
    char name[33];
    char stage[33];
    uint64_t bytes;          /* capacity */
    uint64_t current, total; /* progress */
    uint32_t percent;
    double rate;            /* bytes per second, smoothed */
    double eta;             /* seconds, < 0 unknown */
    double t_first, t_last; /* first and last progress */
    uint64_t c_last;
    bool done;
};

struct status_job {
    char label[256]; /* the image (or images) this guest works on */
    char operation[33];
    char format[33]; /* info: from the result */
    int ndev;
    struct status_dev dev[PUPA_MAX_DEVICES];
    double t_start, t_end;
    bool running, finished, failed, unsafe;
    uint64_t nerrors;
    char last_error[256];
    uint64_t frames;
};

void status_job_init(struct status_job *j, const char *label, const char *operation, double now);
/* Update from one guest frame; returns true when something visible changed. */
bool status_job_frame(struct status_job *j, const pupa_GuestMessage *m, double now);
/* Overall progress of a job, 0..1 (unknown: 0). */
double status_job_fraction(const struct status_job *j);

/* Human-friendly formatting helpers. */
void status_fmt_bytes(char *buf, size_t cap, double bytes); /* "12.3 MiB" */
void status_fmt_eta(char *buf, size_t cap, double seconds); /* "1m05s", "--" */

#endif
