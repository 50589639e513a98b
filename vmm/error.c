/* error.c: error classes and first-error-wins recording (see error.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

void err_init(struct pupa_error *e)
{
    e->cls = ERRC_NONE;
    e->msg[0] = '\0';
}

int err_set(struct pupa_error *e, enum pupa_errc cls, const char *fmt, ...)
{
    if (e->cls != ERRC_NONE)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->cls = cls == ERRC_NONE ? ERRC_GUEST_FAILURE : cls;
    return -1;
}

enum pupa_errc errc_from_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
        return ERRC_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return ERRC_PERMISSION;
    case EISDIR:
    case ENXIO:
    case ENODEV:
        return ERRC_NOT_A_FILE;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EAGAIN:
        return ERRC_RESOURCES;
    default:
        return ERRC_IO;
    }
}

static const char *const names[] = {
    [ERRC_NONE] = "none",
    [ERRC_NOT_FOUND] = "not-found",
    [ERRC_NOT_A_FILE] = "not-a-file",
    [ERRC_PERMISSION] = "permission",
    [ERRC_IO] = "io-error",
    [ERRC_REFUSED] = "refused",
    [ERRC_UNSUPPORTED] = "unsupported",
    [ERRC_TIMEOUT] = "timeout",
    [ERRC_GUEST_FAILURE] = "guest-failure",
    [ERRC_RESULT_TOO_LARGE] = "result-too-large",
    [ERRC_INTERRUPTED] = "interrupted",
    [ERRC_RESOURCES] = "resources",
    [ERRC_USAGE] = "usage",
};

const char *errc_name(enum pupa_errc c)
{
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "guest-failure";
}

bool errc_retryable(enum pupa_errc c)
{
    /* a slow or busy host, a Ctrl-C, a short read: another run may succeed; an image
     * that is missing, refused or breaks its guest stays so */
    return c == ERRC_TIMEOUT || c == ERRC_INTERRUPTED || c == ERRC_RESOURCES || c == ERRC_IO;
}
