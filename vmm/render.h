/* render.h: the operations and what each prints. An operation decides each image's
 * outcome when its job ends (conclude) and prints it in its turn (render): qemu-img's
 * shapes for info, sha256sum's for read, one line for run and selftest, a JSON error
 * object for an image that failed. Adding a command (map, compare, convert) is one
 * more struct op_def here and its two functions. */
#ifndef PUPA_RENDER_H
#define PUPA_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "job.h"
#include "json.h"

struct op_def {
    const char *name;   /* VmmConfig.operation */
    bool takes_images;  /* info, read: the command line names images */
    bool one_per_guest; /* info: an image per guest whatever --per-guest says */
    bool builds_result; /* the guest's frames build a result (run: they are only shown) */
    bool block;         /* map, compare, read --virtual: images with backing chains */
    size_t group;       /* images one result is about: compare's pairs; 0 means 1 */
    bool own_exit;      /* the exit status is the outcomes' (compare: qemu-img's 0..4) */
    /* Decide every image's outcome: the job is over and everything it will ever
     * receive has arrived. Images whose outcome is already set (did not open) keep it. */
    void (*conclude)(struct job *j, const struct batch_opts *o);
    /* Print image i's result on out (stdout); nothing for an error that JSON does not
     * carry (the error line itself goes to stderr). */
    void (*render)(struct strbuf *out, const struct job *j, size_t i, const struct batch_opts *o);
};

extern const struct op_def op_info, op_read, op_run, op_selftest;
extern const struct op_def op_map, op_compare, op_read_virtual; /* render_blk.c */

/* Shared by the printers (render.c, render_blk.c). */
void render_fail(struct outcome *o, enum pupa_errc cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void render_succeed(struct outcome *o, bool unsafe, uint64_t bytes);
/* The guest's run failed as a whole: image name's outcome says why (false: it ran to
 * its end, whatever its answer). */
bool render_run_failed(struct job *j, struct outcome *o, const char *name, bool answered);

/* Is image i's printed result over BUDGET_OUTPUT_BYTES? (Sized, not written.) */
bool render_too_large(const struct job *j, size_t i, const struct batch_opts *o);
/* Does image i's output start a human block (a blank line before it, after another)? */
bool render_is_block(const struct job *j, size_t i, const struct batch_opts *o);

/* --require-safe: "NAME: UNSAFE (check, check...)" for an image inspected as unsafe
 * (the checks once each, in the order found). The caller frees it. */
char *render_unsafe_note(const struct job *j, size_t i);
/* --stats: one line per guest (names sanitized), on stderr. */
void render_stats(FILE *f, const struct job *j, const struct batch_opts *o);
/* The summary line after a batch, on stderr. */
void render_summary(FILE *f, const struct status_totals *t, double elapsed, bool interrupted);
/* read's line: "DIGEST  NAME" as sha256sum prints it, or "NAME: BYTES WHAT" without a
 * digest; control characters replaced on a terminal. */
void render_read_line(struct strbuf *out, const char *name, const char *digest, uint64_t bytes,
                      const char *what);
/* JSON's error object: {"filename", "error", "error-class", "retryable"}. */
void render_json_error(struct strbuf *out, const char *name, const struct outcome *o);
/* A file name as sha256sum prints it: "\" before the digest and \\, \n, \r escaped
 * when the name holds any of them. Returns whether it did. */
bool render_sha256sum_name(struct strbuf *out, const char *name);

#endif
