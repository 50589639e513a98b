/* worker.h: the child side of a job. A forked worker builds one throwaway VM over
 * images the parent opened, confines itself, runs the guest and reports on its
 * channel: the guest's COM1 bytes as they came, its log when asked, then one
 * result record. Its stderr is a pipe the parent reads (never the terminal). */
#ifndef PUPA_WORKER_H
#define PUPA_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "image_open.h"

struct accel_ops;

/* A block operation's disk: which image it belongs to and its place in that image's
 * chain (VmmConfig's DeviceConfig.image/layer/format/filename). */
struct worker_disk {
    uint32_t image, layer;
    const char *format;   /* -f / -F for a chain's first disk, else NULL */
    const char *filename; /* as the user gave it */
};

/* Everything a worker needs, decided by the parent before the fork. */
struct worker_spec {
    const struct accel_ops *accel;
    uint64_t ram_size;
    const uint8_t *elf; /* the guest to boot */
    size_t elf_len;
    const char *operation;     /* VmmConfig.operation */
    const char *format;        /* info --format, or NULL */
    const char *filename;      /* info: the image's name as the user gave it, or NULL */
    bool sha256;               /* read --sha256 */
    uint32_t progress_percent; /* VmmConfig.progress_percent */
    uint32_t sector_size;
    const struct image *images; /* opened by the parent; the worker inherits them */
    size_t nimages;
    const struct worker_disk *disks;   /* block operations: one per image, else NULL */
    uint64_t start_offset, max_length; /* map */
    bool has_max_length, strict, require_safe, virtual_disk;
    bool guest_log; /* forward COM2 on the channel */
    bool verbose;
    bool sandbox;
    volatile uint64_t *activity; /* shared with the parent: bumped on device progress */
};

struct worker {
    pid_t pid;
    int channel_fd; /* records (channel.h) */
    int diag_fd;    /* the worker's stderr: lines of text from the VMM */
};

/* Fork a worker for spec. 0 with w filled (the parent keeps the read ends), or -1
 * with err set. The child never returns. */
PUPA_MUST_CHECK int worker_start(const struct worker_spec *spec, struct worker *w,
                                 struct pupa_error *err);

/* Bytes of the guest's log (COM2) a worker forwards at most. */
#define WORKER_LOG_CAP (16u * 1024 * 1024)

#endif
