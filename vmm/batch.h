/* batch.h: the scheduler. Every command that boots a guest runs here, one image or
 * a million: jobs (one throwaway guest each, in a worker process) are started N at
 * a time, fed by their channels, stopped when they make no progress, and printed in
 * input order through the operation's printers. */
#ifndef PUPA_BATCH_H
#define PUPA_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "display.h"

struct op_def;

enum batch_output { OUTPUT_HUMAN, OUTPUT_JSON };

/* Everything a run needs, decided by the command line (cli.c). */
struct batch_opts {
    const struct op_def *op;
    const char *operation; /* VmmConfig.operation (run --operation may change it) */
    const struct accel_ops *accel;
    uint64_t ram_size;
    double timeout_s; /* inactivity limit; 0 = none */
    const uint8_t *elf;
    size_t elf_len;
    const char *const *images; /* as the user gave them */
    size_t nimages;
    size_t per_guest; /* images per guest */
    unsigned jobs;    /* guests at once */
    bool unordered;
    const char *format; /* info --format */
    bool require_safe;
    bool backing_chain; /* info --backing-chain: qemu-img's chain layout; refuse to follow */
    bool sha256;
    uint32_t sector_size;
    enum batch_output output;
    bool lines; /* several images were asked for: JSON Lines, blocks, an overall line */
    bool summary;
    enum display_mode progress;
    FILE *guest_log;
    bool verbose;
    bool sandbox;
    bool stats; /* one line of numbers per guest on stderr */
    /* block operations (map, compare, read --virtual) */
    const char *const *backing[2];     /* --backing / --backing2: each image's backing files, */
    size_t nbacking[2];                /* nearest first (the same for every image of a list) */
    const char *format2;               /* compare -F: the second image's format */
    uint64_t start_offset, max_length; /* map --start-offset, --max-length */
    bool has_max_length;
    bool strict, quiet; /* compare -s, -q */
};

/* Runs everything; returns pupa's exit status (0, 1, 3 or 130). A reader of stdout
 * that went away ends pupa like coreutils: quietly, by SIGPIPE. */
int batch_run(const struct batch_opts *o);

#endif
