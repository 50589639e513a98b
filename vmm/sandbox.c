/* sandbox.c: seccomp allowlist for workers (libseccomp). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define PUPA_SANDBOX_OFF 1
#endif

bool sandbox_supported(void)
{
#ifdef PUPA_SANDBOX_OFF
    return false;
#else
    return true;
#endif
}

#ifndef PUPA_SANDBOX_OFF
/* The compiled BPF program, shared by every worker forked after preparing it. */
static struct sock_fprog compiled;

static int compile_filter(void)
{
    /* What a worker needs after set-up: KVM_RUN and friends (ioctl), reads of
     * its image, writes to its pipe and log, memory management and the
     * threads and timers Unicorn and the timeout use. No open, no exec, no
     * sockets. Anything else kills the worker. */
    static const int allowed[] = {
        SCMP_SYS(read),           SCMP_SYS(write),
        SCMP_SYS(pread64),        SCMP_SYS(preadv),
        SCMP_SYS(preadv2),        SCMP_SYS(readv),
        SCMP_SYS(writev),         SCMP_SYS(lseek),
        SCMP_SYS(fstat),          SCMP_SYS(newfstatat),
        SCMP_SYS(close),          SCMP_SYS(ioctl),
        SCMP_SYS(mmap),           SCMP_SYS(munmap),
        SCMP_SYS(mprotect),       SCMP_SYS(madvise),
        SCMP_SYS(mremap),         SCMP_SYS(brk),
        SCMP_SYS(futex),          SCMP_SYS(clone),
        SCMP_SYS(clone3),         SCMP_SYS(set_robust_list),
        SCMP_SYS(rseq),           SCMP_SYS(exit),
        SCMP_SYS(exit_group),     SCMP_SYS(rt_sigaction),
        SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
        SCMP_SYS(sigaltstack),    SCMP_SYS(restart_syscall),
        SCMP_SYS(clock_gettime),  SCMP_SYS(clock_nanosleep),
        SCMP_SYS(nanosleep),      SCMP_SYS(gettid),
        SCMP_SYS(getpid),         SCMP_SYS(tgkill),
        SCMP_SYS(timer_create),   SCMP_SYS(timer_settime),
        SCMP_SYS(timer_gettime),  SCMP_SYS(timer_delete),
        SCMP_SYS(sched_yield),    SCMP_SYS(sched_getaffinity),
        SCMP_SYS(getrandom),      SCMP_SYS(membarrier),
        SCMP_SYS(getrusage),
    };
    if (compiled.filter)
        return 0;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx) {
        pupa_err("sandbox: seccomp_init failed");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
    /* opening files fails politely instead of killing: code paths that merely
     * try (locale, dynamic loading) get EACCES */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
    /* export the BPF through a memfd and keep it: loading it is one prctl */
    int fd = rc == 0 ? memfd_create("pupa-seccomp", MFD_CLOEXEC) : -1;
    if (rc == 0 && fd < 0)
        rc = -errno;
    if (rc == 0)
        rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    off_t len = rc == 0 ? lseek(fd, 0, SEEK_END) : -1;
    if (rc == 0 && (len <= 0 || len % (off_t)sizeof(struct sock_filter) ||
                    len / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS))
        rc = -EINVAL;
    if (rc == 0) {
        struct sock_filter *prog = xmalloc((size_t)len);
        if (pread(fd, prog, (size_t)len, 0) != len) {
            free(prog);
            rc = -EIO;
        } else {
            compiled.filter = prog;
            compiled.len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
        }
    }
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        pupa_err("sandbox: cannot build the seccomp filter: %s", strerror(-rc));
        return -1;
    }
    return 0;
}
#endif

int sandbox_prepare(void)
{
#ifdef PUPA_SANDBOX_OFF
    return 0;
#else
    return compile_filter();
#endif
}

int sandbox_enter(void)
{
#ifdef PUPA_SANDBOX_OFF
    return 0;
#else
    if (compile_filter() != 0)
        return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &compiled) != 0) {
        pupa_err("sandbox: cannot install the seccomp filter: %s", strerror(errno));
        return -1;
    }
    return 0;
#endif
}
