/* map_print.h: qemu-img map's output (human and JSON, byte for byte) from the
 * guest's MapExtents frames, which are checked on the way: every entry must
 * continue where the last one ended, inside the mapped range, from a layer that
 * exists. */
#ifndef PUPA_MAP_PRINT_H
#define PUPA_MAP_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "pupa/protocol.h"

enum map_print_status {
    MAP_PRINT_OK = 0,
    MAP_PRINT_UNMAPPABLE, /* human output: "File contains external, encrypted or compressed
                             clusters." (qemu-img's error; exit 1) */
    MAP_PRINT_VIOLATION,  /* the frames break the rules: p->error says how */
};

struct map_print {
    bool json, tty;
    const char *const *files; /* the File column per depth (the image, then its backing files) */
    size_t nfiles;
    uint64_t next, end; /* where the next entry starts; the end of the mapped range */
    size_t entries;
    bool finished; /* the last entry arrived */
    char error[160];
};

/* Start the output (the human header or "["): start and end as qemu-img map
 * computes them (--start-offset; the disk size, or start + --max-length). */
void map_print_init(struct map_print *p, struct strbuf *out, bool json, bool tty,
                    const char *const *files, size_t nfiles, uint64_t start, uint64_t end);
/* One MapExtents frame. */
enum map_print_status map_print_frame(struct map_print *p, struct strbuf *out,
                                      const pupa_MapExtentsMessage *m);
/* One entry (last: the entry qemu-img prints last). */
enum map_print_status map_print_entry(struct map_print *p, struct strbuf *out,
                                      const pupa_MapExtent *e, bool last);

#endif
