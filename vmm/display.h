/* display.h: progress on stderr: live bars on a terminal, plain milestone
 * lines, JSON lines, or nothing. Results never go here (they go to stdout). */
#ifndef PUPA_DISPLAY_H
#define PUPA_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "status.h"

enum display_mode { DISPLAY_NONE, DISPLAY_PLAIN, DISPLAY_JSON, DISPLAY_TTY };

struct display {
    enum display_mode mode;
    FILE *out;
    int fd;
    bool color;
    double t0;
    double min_interval; /* seconds between redraws */
    double last_draw;
    bool dirty;
    int drawn; /* bar lines currently on the terminal */
    bool cursor_hidden;
    uint64_t redraws;
};

/* Parse "auto|tty|plain|json|none"; auto = tty when out is a terminal that can
 * move the cursor (TERM not "dumb"), plain otherwise. false on a bad name. */
bool display_parse_mode(const char *name, FILE *out, enum display_mode *mode);

void display_init(struct display *d, enum display_mode mode, FILE *out, double now);
/* Job j booted its guest on `backend` (plain mode says so: which backend ran). */
void display_job_start(struct display *d, const struct status_job *j, const char *backend,
                       double now);
/* One guest frame of job j arrived (after status_feed). Lines it prints count against
 * the job's stderr budget. */
void display_frame(struct display *d, struct status_job *j, const pupa_GuestMessage *m, double now);
/* A line of text about job j (an error, a note), above the bars on a tty. */
void display_note(struct display *d, const struct status_job *j, const char *text, double now);
/* Redraw bars if something changed and the rate limit allows (tty only). all: the
 * batch's counts for the overall line, or NULL for none. */
void display_tick(struct display *d, struct status_job *const *jobs, size_t njobs,
                  const struct status_totals *all, double now, bool force);
/* Final state: last redraw, cursor back. Safe to call twice. */
void display_close(struct display *d, struct status_job *const *jobs, size_t njobs,
                   const struct status_totals *all, double now);

/* Erase the bars (tty) before something else is written to the terminal;
 * they come back on the next tick. */
void display_clear(struct display *d);

/* For signal handlers: show the cursor again if a display hid it. */
void display_restore_cursor_async(void);

#endif
