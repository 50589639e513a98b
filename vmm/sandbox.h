/* sandbox.h: the seccomp filter a worker enters once its VM exists: from then
 * on it can compute, read its already-open image, run the vCPU and write to
 * its pipe, but not open, create or execute anything. */
#ifndef PUPA_SANDBOX_H
#define PUPA_SANDBOX_H

#include <stdbool.h>

/* Compile the filter once, in the parent, before workers are forked (so each
 * worker only loads it). 0, or -1 with a message on stderr. */
int sandbox_prepare(void);
/* Enter the filter (compiling it first if sandbox_prepare() was not called).
 * Returns 0, or -1 with a message on stderr. Does nothing (returns 0) in
 * sanitizer builds, whose runtime needs more of the kernel. */
int sandbox_enter(void);
bool sandbox_supported(void);

#endif
