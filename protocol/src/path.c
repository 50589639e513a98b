/* path.c: qemu's path arithmetic for names an image mentions (no file is touched). */
#include <string.h>

#include "pupa/path.h"

/* qemu's path_has_protocol(): "name:" before any '/' means a protocol prefix. */
static bool path_has_protocol(const char *path)
{
    const char *p = strchr(path, ':');
    const char *slash = strchr(path, '/');
    return p != NULL && (slash == NULL || p < slash);
}

bool pupa_path_combine(char *dst, size_t cap, const char *base, const char *name)
{
    size_t prefix = 0;

    if (cap == 0)
        return false;
    if (name[0] == '/' || path_has_protocol(name)) {
        prefix = 0;
    } else {
        /* keep base up to and including its last '/', or its protocol prefix */
        const char *p = strchr(base, ':');
        const char *slash = strrchr(base, '/');
        if (p && (!slash || p < strchr(base, '/')))
            p++;
        else
            p = base;
        if (slash && slash + 1 > p)
            p = slash + 1;
        prefix = (size_t)(p - base);
    }
    size_t nlen = strlen(name);
    if (prefix >= cap || nlen >= cap - prefix) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, base, prefix);
    memcpy(dst + prefix, name, nlen + 1);
    return true;
}
