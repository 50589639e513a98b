/* errno.h: error numbers the guest uses (no global errno). */
#ifndef PUPA_GUEST_ERRNO_H
#define PUPA_GUEST_ERRNO_H

#define EIO     5
#define ENOMEM  12
#define EINVAL  22
#define ENOSPC  28
#define ERANGE  34
#define ENOTSUP 95

#endif
