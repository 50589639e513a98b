/* fmt_testlib.h: helpers of the per-format Check tests (test_fmt_<format>.c). */
#ifndef PUPA_FMT_TESTLIB_H
#define PUPA_FMT_TESTLIB_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testutil.h"

/* ------------------------------------------------------------ files */

/* The whole file, NUL-terminated (the test fails when it cannot be read); *len gets its
 * size when len is not NULL. Free the result. */
char *slurp(const char *path, size_t *len);
uint8_t *load(const char *path, size_t *len); /* slurp as bytes */

/* Write a file (the test fails when it cannot). */
void spit(const char *path, const void *data, size_t len);

/* A file in the scratch directory (the last four results stay valid). */
const char *tmp_path(const char *name);

/* A committed sample (images/samples/, built by images/make-samples). */
const char *sample(const char *name);

/* ------------------------------------------------------------ byte layout */

void put16le(uint8_t *p, uint16_t v);
void put32le(uint8_t *p, uint32_t v);
void put64le(uint8_t *p, uint64_t v);
void put32be(uint8_t *p, uint32_t v);
void put64be(uint8_t *p, uint64_t v);

/* A header field to overwrite (width 1, 2, 4 or 8 bytes at offset) and the reason the
 * patched image is refused with; a "%s" in the reason stands for the image's path. */
struct field_case {
    size_t offset;
    int width;
    uint64_t value;
    const char *reason;
};
enum byte_order { FIELD_LE, FIELD_BE };

/* Writes c->value into image at c->offset, c->width bytes in this byte order. */
void put_field(uint8_t *image, const struct field_case *c, enum byte_order order);

/* ------------------------------------------------------------ running the parsers */

/* Run the parsers the way pupa info does (forced format, or probing when format is NULL)
 * on a file / on bytes in memory named name: test_info() (the file must open). */
int run_file(const char *path, const char *format, char **human, char **json, char **err);
int run_mem(const uint8_t *data, size_t len, const char *name, const char *format, char **human,
            char **json, char **err);

/* The image opens; returns the human output (caller frees). */
char *expect_ok(const uint8_t *data, size_t len, const char *name, const char *format);

/* The image is refused with exactly this reason. */
void expect_fail(const uint8_t *data, size_t len, const char *name, const char *format,
                 const char *reason);

/* Cuts pupa's human output at its "safety:" block; returns human. */
char *without_safety(char *human);

/* The human output lists this safety finding ("    <check>: ..."). */
bool has_finding(const char *human, const char *check);

/* Never crash: every step-byte cut of the first `upto` bytes opens (with output) or fails
 * with a non-empty reason. */
void truncation_loop(const uint8_t *data, size_t len, const char *name, const char *format,
                     size_t upto, size_t step);

/* Deterministic byte flips in the first `area` bytes, `rounds` times from generator state
 * `seed` (each test keeps its own, so it keeps its inputs): no crash, no hang, and a reason
 * for every refusal. */
void mutation_loop(const uint8_t *data, size_t len, const char *name, const char *format,
                   size_t area, int rounds, uint32_t seed);

/* A zero-filled 64 KiB copy of an image of len <= 64 KiB bytes (caller frees). */
uint8_t *copy_64k(const uint8_t *image, size_t len);

/* What every parser test runs on a 64 KiB image: every sector cut, probed and
 * forced to `format`, then 3000 flips (generator state 2024) in its first
 * `area` bytes. */
void robustness_64k(const uint8_t *image, const char *name, const char *format, size_t area);

/* ------------------------------------------------------------ against qemu-img */

/* For each {options, size}: `qemu-img create -f format OPTIONS tmp/cI.EXT SIZE`; pupa
 * must print what qemu-img prints, probed (and call the image safe) and with -f format. */
void created_like_qemu(const char *format, const char *ext, const char *const (*opts)[2], size_t n);

/* pupa prints what qemu-img prints for this file: human text byte for byte (minus pupa's
 * "safety:" block and both "disk size" lines: the parsers alone do not measure it) and JSON
 * as parsed objects (minus "safety" and "actual-size", which both must have). Returns pupa's
 * human output with its safety block (caller frees). */
char *same_as_qemu(const char *path, const char *format);

/* Only the JSON, after running drop_py (python statements over q and t, the two objects)
 * on it: for multi-file images, whose extents the parsers do not open. Returns pupa's human
 * output (caller frees). */
char *same_json_as_qemu(const char *path, const char *format, const char *drop_py);

/* qemu-img refuses the file with "Could not open '<path>': <reason>", and pupa refuses it
 * with the same reason. */
void refused_like_qemu(const char *path, const char *format, const char *reason);

/* For each case: a copy of the image with that field patched, written as r<i>.<ext> in the
 * scratch directory, is refused by qemu-img and pupa alike (refused_like_qemu). */
void refusals_like_qemu(const uint8_t *image, size_t len, const struct field_case *cases,
                        size_t ncases, enum byte_order order, const char *ext, const char *format);

/* ------------------------------------------------------------ block layer against qemu-img */

/* What pupa's block layer says about path (its backing files given nearest first) and what
 * qemu-img says, compared: `qemu-img map` human and JSON (stdout byte for byte, the exit
 * status) and `qemu-img convert -O raw` (both fail, or the bytes have the same SHA-256).
 * Returns pupa's JSON map (caller frees). */
char *blk_same_as_qemu(const char *path, const char *const *backing, size_t nbacking);

/* Run the suite: 1 when a test failed, else 77 (skipped) when qemu-img is missing and only
 * the crafted-image tests ran, else 0. */
int run_suite(Suite *s, bool have_qemu);

#endif
