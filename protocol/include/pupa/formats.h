/* formats.h: the format names pupa's guest knows, the values VmmConfig.format
 * may carry (qemu-img's -f). The guest builds its driver table from this list
 * (guest/formats/drivers.c, in qemu 7.2's probing order); the VMM checks a
 * --format name against it before it opens or boots anything, so an unknown
 * driver fails like qemu-img's, even for a file that does not exist.
 *
 * file and host_device are qemu's protocol drivers asked for as a format: the
 * image read as raw bytes under that name, never probed. The VMM enforces
 * their file-type rules (file: a regular file; host_device: a block device). */
#ifndef PUPA_FORMATS_H
#define PUPA_FORMATS_H

#include <stdbool.h>
#include <string.h>

#define PUPA_FORMATS(X)                                                                            \
    X(qed)                                                                                         \
    X(parallels)                                                                                   \
    X(vdi)                                                                                         \
    X(qcow2)                                                                                       \
    X(qcow)                                                                                        \
    X(vmdk)                                                                                        \
    X(vpc)                                                                                         \
    X(vhdx)                                                                                        \
    X(luks)                                                                                        \
    X(bochs)                                                                                       \
    X(dmg)                                                                                         \
    X(cloop)                                                                                       \
    X(raw)                                                                                         \
    X(file)                                                                                        \
    X(host_device)

static inline bool pupa_format_known(const char *name)
{
#define PUPA_FORMAT_NAME_(n) #n,
    static const char *const names[] = {PUPA_FORMATS(PUPA_FORMAT_NAME_)};
#undef PUPA_FORMAT_NAME_
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(names[i], name) == 0)
            return true;
    }
    return false;
}

/* The file type a --format name requires before anything is read: qemu's protocol
 * drivers asked for as a format (file: a regular file; host_device: a block
 * device); every image format takes either. */
enum pupa_format_file { PUPA_FORMAT_ANY_FILE, PUPA_FORMAT_REGULAR_FILE, PUPA_FORMAT_BLOCK_DEVICE };

static inline enum pupa_format_file pupa_format_file_rule(const char *name)
{
    if (strcmp(name, "file") == 0)
        return PUPA_FORMAT_REGULAR_FILE;
    if (strcmp(name, "host_device") == 0)
        return PUPA_FORMAT_BLOCK_DEVICE;
    return PUPA_FORMAT_ANY_FILE;
}

#endif
