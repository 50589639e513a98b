/* testutil.h: helpers shared by the Check unit tests. */
#ifndef PUPA_TESTUTIL_H
#define PUPA_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "guest/formats/format.h"

/* A scratch directory for this test run (created on first use). */
const char *test_tmpdir(void);

/* Run a shell command; returns its exit status (-1 when it could not run). */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when qemu-img is installed (tests that need it skip otherwise). */
int test_have_qemu_img(void);

/* An in-memory image for parser tests: fmt_io over a byte buffer. */
struct mem_image {
    const uint8_t *data;
    size_t len;
};
struct fmt_io mem_image_io(struct mem_image *m, const char *filename);

/* A file-backed fmt_io (pread, zeros past EOF). Close with file_io_close. */
struct fmt_io file_io_open(const char *path);
void file_io_close(struct fmt_io *io);

/* Run a driver (or probing when name is NULL) and collect its output as the
 * VMM would print it: *human / *json (malloc'd; free them). Returns 0 on
 * success or -1 with *error set (malloc'd). */
int test_info(const struct fmt_io *io, const char *format, char **human, char **json, char **error);

/* Run a Check suite: 1 when a test failed, else 0 -- or 77 (CTest's "skipped") after
 * printing "SKIP: <skipped>" when skipped is not NULL (some tests could not run). Inline:
 * pupa-hostinfo links testutil.c without Check. */
static inline int test_run_suite_or_skip(Suite *s, const char *skipped)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed)
        return 1;
    if (skipped) {
        fprintf(stderr, "SKIP: %s\n", skipped);
        return 77;
    }
    return 0;
}

static inline int test_run_suite(Suite *s)
{
    return test_run_suite_or_skip(s, NULL);
}

#endif
