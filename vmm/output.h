/* output.h: print an image report the way qemu-img info does, plus pupa's safety verdict. */
#ifndef PUPA_OUTPUT_H
#define PUPA_OUTPUT_H

#include <stdbool.h>

#include "json.h"
#include "report.h"

/* qemu's size_to_str(): "1 GiB", "196 KiB", "1.21 MiB", "0 B". */
void output_size_str(char *buf, size_t cap, uint64_t val);

/* Human output: byte for byte qemu-img info, then the safety block.
 * tty: replace control characters in image-controlled strings. */
void output_info_human(struct strbuf *out, const struct report *r, const char *filename, bool tty);

/* JSON: the keys and values of qemu-img info --output=json (and its order),
 * plus "safety". pretty: qemu's 4-space layout; otherwise one compact line. */
void output_info_json(struct strbuf *out, const struct report *r, const char *filename,
                      bool pretty);
/* qemu-img info --backing-chain --output=json for an image without a backing
 * file: the same object as the one element of an array. */
void output_info_json_chain(struct strbuf *out, const struct report *r, const char *filename,
                            bool pretty);

/* pupa's "safety" member: {"safe": bool, "findings": [{"check", "detail"}]}. */
void output_safety_json(struct json_writer *w, const struct report *r);

/* The qemu QDict iteration order for n keys: fills order[] with indexes. */
void qdict_order(const char *const *keys, size_t n, size_t *order);

#endif
