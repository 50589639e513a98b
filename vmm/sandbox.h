/* sandbox.h: what a worker may still do once its VM exists: run the vCPU,
 * read its already-open images, write to its pipe and to fd 2. No terminal,
 * no files, no children, no signals to others, no new code, bounded memory.
 * The allow-list and why each entry is there: docs/security.md. */
#ifndef PUPA_SANDBOX_H
#define PUPA_SANDBOX_H

#include <stdint.h>

#include "accel.h"

/* What the worker about to be confined runs. */
struct sandbox_limits {
    const struct accel_ops *accel; /* its backend: the run loop's ioctls, its memory */
    uint64_t ram_size;             /* guest RAM: bounds the address space (RLIMIT_AS) */
    uint64_t file_size;            /* largest regular file it may write; 0: none */
};

/* In the parent, before forking workers: checks that the kernel can confine
 * them and remembers the parent, so that a worker whose parent is already
 * gone gives up. 0, or -1 with a message on stderr. */
int sandbox_prepare(void) __attribute__((warn_unused_result));

/* In the worker, right before it runs the vCPU (fd 2 already set up by the
 * caller, every other descriptor it must not keep already closed): fds 0 and
 * 1 become /dev/null, the worker dies with its parent, rlimits (no processes,
 * no core, files and address space bounded), then the seccomp filter, on
 * every thread. Returns 0, or -1 with a message on stderr. */
int sandbox_enter(const struct sandbox_limits *l) __attribute__((warn_unused_result));

#endif
