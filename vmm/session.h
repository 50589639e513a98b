/* session.h: run one throwaway guest: config in, frames out, result back. */
#ifndef PUPA_SESSION_H
#define PUPA_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pupa/protocol.h"
#include "vm.h"

#define SESSION_LOG_TAIL       8192
#define SESSION_LOG_STREAM_CAP (16u * 1024 * 1024)

struct session_disk {
    const char *path;     /* as the user gave it */
    int fd;               /* opened read-only by the caller */
    uint64_t size;        /* exact byte length */
    uint32_t sector_size; /* 512, 1024, 2048 or 4096 */
};

struct session_opts {
    const struct accel_ops *accel;
    uint64_t ram_size;
    double timeout_s;
    const uint8_t *elf;
    size_t elf_len;
    pupa_VmmConfig *config;     /* sent on COM1 before the guest starts */
    struct session_disk *disks; /* in VmmConfig.devices order */
    int ndisks;
    /* every guest frame, in order */
    void (*on_message)(void *ctx, const pupa_GuestMessage *m);
    void *ctx;
    FILE *guest_log; /* stream COM2 here (capped), or NULL */
    bool verbose;
    /* called once the VM exists and the guest is loaded, before it runs
     * (the worker enters its sandbox here); non-zero aborts the run */
    int (*before_run)(void *ctx);
    /* called after each batch of frames the guest sent in one transfer */
    void (*on_batch_end)(void *ctx);
    /* leave the VM for process exit to tear down (a worker exits right after) */
    bool no_teardown;
};

struct session_result {
    enum vm_state state;
    int exit_status;
    char error[640]; /* one line: why the guest failed; "" when it exited 0 */
    uint64_t exits;
    uint64_t posted; /* device writes that reached the VMM without an exit */
    uint64_t frames;
    uint64_t bytes_read; /* by the virtio-blk devices */
    uint64_t blk_requests, blk_notifies, blk_errors;
    double setup_s, run_s; /* VM creation + load, and boot to exit */
    uint64_t peak_rss_kib; /* of the process that ran the guest (filled by the worker) */
    char log_tail[SESSION_LOG_TAIL];
};

/* Runs the guest to the end. Returns 0 when it exited with status 0. */
int session_run(const struct session_opts *o, struct session_result *r);

/* Pick a backend by name ("auto", "kvm", "emu"); NULL + message if unusable. */
const struct accel_ops *session_pick_accel(const char *name, char *err, size_t errlen);

/* The guest embedded in this binary. */
extern const uint8_t pupa_guest_elf[];
extern const uint8_t pupa_guest_elf_end[];

#endif
