/* sandbox.c: seccomp allowlist for workers (libseccomp). */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

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

int sandbox_enter(void)
{
#ifdef PUPA_SANDBOX_OFF
    return 0;
#else
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
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) {
        pupa_err("sandbox: cannot install the seccomp filter: %s", strerror(-rc));
        return -1;
    }
    return 0;
#endif
}
