/* tape.h: a fmt_sink that holds what a parser emits until the parser's result
 * is known: commit on success, drop on failure. Parsers therefore emit as they
 * parse, once, and a refused image leaves nothing behind.
 *
 * The tape keeps records in a caller's arena. When a parser emits more than the
 * arena holds (65536 snapshots, 65535 bitmaps with long names), the tape spills:
 * it passes what it holds and everything after it straight through, so memory
 * stays bounded. A failure after a spill leaves a partial tree downstream; the
 * VMM already ignores the tree of an image whose open failed (its Error wins), so
 * the tape only keeps the common case from sending frames that will be ignored. */
#ifndef PUPA_FMT_TAPE_H
#define PUPA_FMT_TAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

struct fmt_tape {
    struct fmt_sink sink;       /* give &tape->sink to the parser (fmt_info.sink) */
    const struct fmt_sink *out; /* where committed records go (may be NULL: discard) */
    uint8_t *arena;
    size_t cap, used;
    bool spilled;
};

void fmt_tape_init(struct fmt_tape *t, const struct fmt_sink *out, void *arena, size_t cap);
/* Replay the held records downstream, in order, and empty the tape. */
void fmt_tape_commit(struct fmt_tape *t);
/* Forget the held records. */
void fmt_tape_drop(struct fmt_tape *t);

#endif
