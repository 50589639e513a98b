/* error.h: the host's one error convention. A fallible function returns 0 or -1
 * (PUPA_MUST_CHECK) and fills a caller's struct pupa_error: a class from a small
 * set and one line of text. The first error wins; later ones are dropped, so the
 * line names the root cause. The class decides JSON's "error-class" and
 * "retryable" and, for usage errors, exit status 2 instead of 1. */
#ifndef PUPA_ERROR_H
#define PUPA_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#include "pupa/protocol.h" /* PUPA_MUST_CHECK */

enum pupa_errc {
    ERRC_NONE = 0,
    ERRC_NOT_FOUND,        /* the path does not exist */
    ERRC_NOT_A_FILE,       /* a directory, FIFO, socket, character device, wrong file type */
    ERRC_PERMISSION,       /* the host refused access */
    ERRC_IO,               /* the host could not read it (EIO, ...) */
    ERRC_REFUSED,          /* the image's format refuses it (what qemu-img refuses) */
    ERRC_UNSUPPORTED,      /* something pupa deliberately does not do (follow a backing file) */
    ERRC_TIMEOUT,          /* the guest made no progress for --timeout seconds */
    ERRC_GUEST_FAILURE,    /* the guest or its worker crashed, broke the protocol, died */
    ERRC_RESULT_TOO_LARGE, /* the result is over its budget */
    ERRC_INTERRUPTED,      /* Ctrl-C, SIGTERM, or the results could not be written */
    ERRC_RESOURCES,        /* the host ran short (fork, pipe, memory map) */
    ERRC_USAGE,            /* the command line is wrong: exit 2 */
};

#define PUPA_ERROR_MAX 8448 /* a path (4096) and a guest's message (4096) fit */

struct pupa_error {
    enum pupa_errc cls;
    char msg[PUPA_ERROR_MAX];
};

void err_init(struct pupa_error *e);
/* Record an error unless one is recorded already; always returns -1. */
int err_set(struct pupa_error *e, enum pupa_errc cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The class of a failed system call's errno (ENOENT: not-found, EACCES: permission...). */
enum pupa_errc errc_from_errno(int e);
/* JSON's "error-class": "not-found", "guest-failure", ... */
const char *errc_name(enum pupa_errc c);
/* Whether the same command may succeed if run again unchanged (JSON's "retryable"). */
bool errc_retryable(enum pupa_errc c);

#endif
