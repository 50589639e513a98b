/* path.h: qemu's path arithmetic for file names an image mentions, shared by the
 * guest's parsers (vmdk extents) and the VMM's output (full-backing-filename).
 * Pure string work: no file is ever touched. */
#ifndef PUPA_PATH_H
#define PUPA_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* Longest file name a frame carries, with its NUL (guest.options' max_size). */
#define PUPA_PATH_MAX 4097

/* qemu's path_combine(): name relative to the directory of base (a name that is
 * absolute or has a protocol prefix stays as it is). false, with dst empty, when
 * the result does not fit dst[0..cap). */
bool pupa_path_combine(char *dst, size_t cap, const char *base, const char *name);

#endif
