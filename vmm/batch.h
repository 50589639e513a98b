/* batch.h: run jobs (one throwaway guest each) in worker processes, N at a
 * time, show progress, print results in input order. Every pupa command that
 * boots a guest goes through here, single image or thousands. */
#ifndef PUPA_BATCH_H
#define PUPA_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "display.h"
#include "vm.h"

enum batch_op { BATCH_SELFTEST, BATCH_RUN, BATCH_READ, BATCH_INFO };
enum batch_output { OUTPUT_HUMAN, OUTPUT_JSON };

struct batch_opts {
    enum batch_op op;
    const char *operation; /* VmmConfig.operation */
    const struct accel_ops *accel;
    uint64_t ram_size;
    double timeout_s;
    const uint8_t *elf;
    size_t elf_len;
    char **images; /* as the user gave them */
    size_t nimages;
    size_t per_guest; /* images per guest (1 for info) */
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
};

/* Runs everything; returns pupa's exit status (0, 1, 3 or 130). */
int batch_run(const struct batch_opts *o);

#endif
