/* status.h: the parent's one model of what its guests said. Every frame a guest sends
 * is applied here once (status_feed); the live display reads the progress rows, the
 * result printers read the result (a struct report) and each image's outcome, and the
 * summary and the overall line read the batch totals. */
#ifndef PUPA_STATUS_H
#define PUPA_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pupa/protocol.h"
#include "report.h"

/* One disk's progress row. Strings are sanitized when they are stored. */
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

/* What became of one image, decided once when its job ends. */
struct outcome {
    bool decided;
    enum pupa_errc cls; /* ERRC_NONE: inspected */
    char *error;        /* the error line (names as given: printers sanitize them) */
    bool unsafe;        /* inspected, with findings */
    uint64_t bytes;     /* read: bytes of the image */
    int status;         /* ops with their own exit status (compare: qemu-img's 0..4) */
};

/* One guest's job: the images it works on, as the display and the printers see it. */
struct status_job {
    char label[256];    /* the image (or images) this guest works on, as given */
    char operation[33]; /* VmmConfig.operation */
    char format[33];    /* info: from the result, sanitized */
    int ndev;
    struct status_dev dev[PUPA_MAX_DEVICES];
    double t_start, t_end;
    bool running, finished, failed, unsafe; /* failed/unsafe: from the outcomes, at the end */
    uint64_t nerrors;
    char last_error[256]; /* the last error frame, sanitized */
    uint64_t frames;
    uint32_t lines, suppressed; /* stderr lines this job caused, against its budget */
    bool no_result;             /* run: frames are only shown, no answer is built */
    struct report result;       /* the guest's answer, checked as it arrives */
};

/* Batch counts: the overall line, the summary and the exit status read these. */
struct status_totals {
    size_t total;       /* images asked for */
    size_t done;        /* images whose job ended */
    size_t inspected;   /* ... successfully */
    size_t failed;      /* ... with an error */
    size_t unsafe;      /* inspected with findings */
    size_t not_started; /* never started (interrupt, closed output) */
    uint64_t bytes;     /* read: bytes of the inspected images */
    int max_status;     /* the largest outcome status (ops with their own exit status) */
};

void status_job_init(struct status_job *j, const char *label, const char *operation, double now);
void status_job_free(struct status_job *j);
/* Apply one (decoded, intact) guest frame. 0, or -1 with err set when the frame breaks
 * the protocol or a budget: the job has failed and its guest should be stopped. */
PUPA_MUST_CHECK int status_feed(struct status_job *j, const pupa_GuestMessage *m, double now,
                                struct pupa_error *err);
/* The job ended at `now` with these outcomes (one per image). */
void status_job_end(struct status_job *j, const struct outcome *o, size_t n, double now);
/* Count one image's outcome into the totals. */
void status_totals_add(struct status_totals *t, const struct outcome *o);
/* Overall progress of a job, 0..1 (unknown: 0). */
double status_job_fraction(const struct status_job *j);
/* May this job print one more line on stderr? Counts the line, or the suppression. */
bool status_line_allowed(struct status_job *j, uint32_t budget);

/* Human-friendly formatting helpers. */
void status_fmt_bytes(char *buf, size_t cap, double bytes); /* "12.3 MiB" */
void status_fmt_eta(char *buf, size_t cap, double seconds); /* "1m05s", "--" */

#endif
