/* samples.h: sample messages of every guest.proto kind (empty/typical/max) for the protocol tests.
 */
#ifndef PUPA_TEST_SAMPLES_H
#define PUPA_TEST_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pupa/protocol.h"

/* GuestMessage payload kinds; SK_NONE is a GuestMessage without a payload.
 * tests/protocol/pupa_samples.py builds the same samples independently, in
 * the same order: keep both in step. */
enum sample_kind {
    SK_NONE,
    SK_INIT,
    SK_CAPACITY,
    SK_PROGRESS,
    SK_ERROR,
    SK_COMPLETE,
    SK_INFO_RESULT,
    SK_DIGEST,
    SK_INFO_NODE,
    SK_SNAPSHOT,
    SK_FINDING,
    SK_MAP_EXTENTS,
    SK_COMPARE_RESULT,
    SK_COUNT
};

/* EMPTY: every field at its default (the payload member still selected);
 * TYPICAL: realistic values, strings with quotes, control characters and
 * multi-byte UTF-8, built with the pupa_msg_* helpers where one exists;
 * MAX: every string at its guest.options maximum, every integer at its
 * widest value (UINT*_MAX, INT64_MIN), bools true, the highest enum value. */
enum sample_variant { SV_EMPTY, SV_TYPICAL, SV_MAX, SV_COUNT };

/* Device counts the VmmConfig samples use. */
#define SAMPLE_NDEV_COUNT 3
extern const unsigned sample_ndev[SAMPLE_NDEV_COUNT]; /* 0, 1, 16 */

const char *sample_kind_name(int kind);
const char *sample_variant_name(int variant);

/* Fill *m / *c (every byte is written first, so no stale data survives). */
void sample_guest(pupa_GuestMessage *m, int kind, int variant);
void sample_config(pupa_VmmConfig *c, unsigned ndevices, int variant);

/* n characters of the max-length pattern, then a NUL: "ABC...xyz0..9" from
 * position salt (salt is the field number, plus the index in a repeated field). */
void sample_fill(char *dst, size_t n, unsigned salt);

/* Field-by-field comparison. NULL when equal, else the path of the first
 * field that differs ("payload.info_result.backing_file"), in a static buffer. */
const char *sample_guest_diff(const pupa_GuestMessage *want, const pupa_GuestMessage *got);
const char *sample_config_diff(const pupa_VmmConfig *want, const pupa_VmmConfig *got);

/* Encode with pupa_frame_encode into buf[0..cap); returns the frame length
 * (aborts on failure: samples always encode). */
size_t sample_encode(const pb_msgdesc_t *fields, const void *msg, uint8_t *buf, size_t cap);

/* All guest samples as one frame stream, in the order kind-major, variants
 * MAX, EMPTY, TYPICAL (so an all-default frame follows a full one). *count
 * receives the number of frames; the stream and the messages are malloc'd. */
uint8_t *sample_guest_stream(size_t *len, pupa_GuestMessage **msgs, size_t *count);
uint8_t *sample_config_stream(size_t *len, pupa_VmmConfig **cfgs, size_t *count);

#endif
