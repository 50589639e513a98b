/* findings.h: safety checks whose evidence is in the fields of an info result, and
 * their wording. The guest reports them; the VMM derives them again from the same
 * fields and adds any the guest left out, so a guest can add findings but never
 * remove one its own fields imply. */
#ifndef PUPA_FINDINGS_H
#define PUPA_FINDINGS_H

#include <stdbool.h>

#define PUPA_CHECK_BACKING_FILE    "backing-file"
#define PUPA_CHECK_DATA_FILE       "data-file"
#define PUPA_CHECK_EXTERNAL_EXTENT "external-extent"
#define PUPA_CHECK_CORRUPT         "corrupt"
#define PUPA_CHECK_ENCRYPTED       "encrypted"
#define PUPA_CHECK_CONTROL_CHARS   "control-characters"
#define PUPA_CHECK_UNKNOWN_FORMAT  "unknown-format"

/* detail texts; %s is the file name */
#define PUPA_DETAIL_BACKING_FILE "the image names a backing file ('%s'); qemu would open it"
#define PUPA_DETAIL_DATA_FILE    "the image names an external data file ('%s'); qemu would open it"
#define PUPA_DETAIL_CORRUPT      "the image is marked corrupt"
#define PUPA_DETAIL_ENCRYPTED    "the contents are encrypted and cannot be inspected"
#define PUPA_DETAIL_CONTROL_CHARS                                                                  \
    "a file name in the image holds control characters (line breaks, escape sequences): its "      \
    "text output could mislead a reader or a terminal"

/* C0 controls and DEL: what could break a line or start an escape sequence. */
static inline bool pupa_has_control_chars(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

#endif
