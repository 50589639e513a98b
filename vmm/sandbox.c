/* sandbox.c: the worker's confinement: no terminal, rlimits, and a seccomp
 * allow-list written out as a BPF program (docs/security.md explains each
 * entry). */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define PUPA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PUPA_SANITIZED 1
#endif
#endif

/* ---------------------------------------------------------------- the filter
 * Each rule compares the system call number (and for a few calls one
 * argument) and returns at once; anything no rule allows kills the worker.
 * Arguments are compared on their low 32 bits, which is all the kernel reads
 * of the ones compared here (ioctl's command and tgkill's pid are 32-bit
 * ints; of mmap's and mprotect's prot only the low bits mean anything). */

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RETURN(v)   BPF_STMT(BPF_RET | BPF_K, (v))
#define KILL        RETURN(SECCOMP_RET_KILL_PROCESS)

/* `call` is allowed */
#define ALLOW(call) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 1), RETURN(SECCOMP_RET_ALLOW)
/* `call` fails with errno `e` (for library code that merely tries) */
#define REFUSE(call, e)                                                                            \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 1), RETURN(SECCOMP_RET_ERRNO | (e))
/* `call` is allowed when its argument `n` equals `v` */
#define ALLOW_IF(call, n, v)                                                                       \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 4), LOAD(args[n]),                              \
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (v), 0, 1), RETURN(SECCOMP_RET_ALLOW), LOAD(nr)
/* `call` fails with errno `e` when its argument `n` equals `v` */
#define REFUSE_IF(call, n, v, e)                                                                   \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 4), LOAD(args[n]),                              \
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (v), 0, 1), RETURN(SECCOMP_RET_ERRNO | (e)), LOAD(nr)
/* `call` is allowed when its argument `n` has none of `bits` */
#define ALLOW_UNLESS(call, n, bits)                                                                \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (call), 0, 4), LOAD(args[n]),                              \
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (bits), 1, 0), RETURN(SECCOMP_RET_ALLOW), LOAD(nr)

/* Replaced by the worker's own pid when the filter is loaded. */
#define OWN_PID 0x7fff5eedu

/* x86-64 system calls only (not the i386 or x32 entry points), then the number. */
static const struct sock_filter head[] = {
    LOAD(arch),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    KILL,
    LOAD(nr),
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u /* __X32_SYSCALL_BIT */, 0, 1),
    KILL,
};

/* The KVM run loop, first: it is the one call made per exit. */
static const struct sock_filter kvm_rules[] = {
    ALLOW_IF(__NR_ioctl, 1, KVM_RUN),      /* run the vCPU until the next exit */
    ALLOW_IF(__NR_ioctl, 1, KVM_GET_REGS), /* rip for the message of an internal error */
};

static const struct sock_filter common_rules[] = {
    ALLOW(__NR_preadv),                        /* virtio-blk reads the open images */
    ALLOW(__NR_pread64),                       /* the same, one buffer */
    ALLOW(__NR_write),                         /* records to the pipe, warnings on fd 2 */
    ALLOW_UNLESS(__NR_mmap, 2, PROT_EXEC),     /* malloc; never new code */
    ALLOW_UNLESS(__NR_mprotect, 2, PROT_EXEC), /* malloc; never new code */
    ALLOW(__NR_munmap),                        /* free, teardown */
    ALLOW(__NR_madvise),                       /* free, a thread's exit */
    ALLOW(__NR_brk),                           /* malloc */
    ALLOW(__NR_futex),                         /* the emulator's watchdog thread */
    ALLOW(__NR_rt_sigaction),                  /* the run's timeout signal */
    ALLOW(__NR_rt_sigprocmask),                /* the same; the watchdog's exit */
    ALLOW(__NR_rt_sigreturn),                  /* the end of a signal handler */
    ALLOW(__NR_restart_syscall),               /* a wait a signal interrupted */
    ALLOW(__NR_timer_create),                  /* the run's timeout, to this thread */
    ALLOW(__NR_timer_settime),                 /* the same */
    ALLOW(__NR_timer_delete),                  /* the same */
    ALLOW(__NR_gettid),                        /* the same */
    ALLOW(__NR_getpid),                        /* raise(), abort() */
    ALLOW_IF(__NR_tgkill, 0, OWN_PID),         /* raise(), abort(): itself only */
    ALLOW(__NR_clock_gettime),                 /* when the vDSO asks the kernel */
    ALLOW(__NR_getrusage),                     /* its peak RSS for --stats */
    ALLOW(__NR_fstat),                         /* a descriptor's metadata only */
    ALLOW(__NR_close),                         /* teardown after a failed run */
    ALLOW(__NR_exit),                          /* the watchdog thread's end */
    ALLOW(__NR_exit_group),                    /* the worker's end */
    /* no file system; library code that merely tries (locale, dlopen, a
     * symbolizer) fails politely. newfstatat is glibc's fstat(), but with a
     * path seccomp cannot read, so it is refused as a whole (fstat is not). */
    REFUSE(__NR_openat, EACCES),
    REFUSE(__NR_open, EACCES),
    REFUSE(__NR_newfstatat, EACCES),
    REFUSE(__NR_statx, EACCES),
};

#ifdef PUPA_SANITIZED
/* What ASan and UBSan call once the worker runs (allocator, thread exit, a
 * report: it tries /proc/self/maps and the binary, refused above, so frames
 * stay unsymbolised, and asks whether fd 2 is a terminal, told it is not). */
static const struct sock_filter sanitizer_rules[] = {
    ALLOW(__NR_sigaltstack),                  /* a thread's exit frees its signal stack */
    ALLOW(__NR_sched_yield),                  /* the allocator's spin locks */
    REFUSE_IF(__NR_ioctl, 1, TCGETS, ENOTTY), /* isatty(2) before a report */
    REFUSE(__NR_readlink, EACCES),            /* a report names the binary */
    REFUSE(__NR_pipe2, EACCES),               /* UBSan probes memory before a dump */
};
#endif

static const struct sock_filter tail[] = {KILL};

#define N(a)       (sizeof(a) / sizeof((a)[0]))
#define FILTER_MAX (N(head) + N(kvm_rules) + N(common_rules) + N(tail) + SANITIZER_RULES)
#ifdef PUPA_SANITIZED
#define SANITIZER_RULES N(sanitizer_rules)
#else
#define SANITIZER_RULES 0
#endif

static size_t append(struct sock_filter *prog, size_t at, const struct sock_filter *rules, size_t n)
{
    memcpy(prog + at, rules, n * sizeof(*rules));
    return at + n;
}

/* The program for this worker: its backend's rules, its own pid. */
static size_t build_filter(struct sock_filter *prog, const struct accel_ops *accel)
{
    size_t n = append(prog, 0, head, N(head));
    if (accel == &accel_kvm_ops)
        n = append(prog, n, kvm_rules, N(kvm_rules));
    n = append(prog, n, common_rules, N(common_rules));
#ifdef PUPA_SANITIZED
    n = append(prog, n, sanitizer_rules, N(sanitizer_rules));
#endif
    n = append(prog, n, tail, N(tail));
    uint32_t pid = (uint32_t)getpid();
    for (size_t i = 0; i < n; i++)
        if (prog[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && prog[i].k == OWN_PID)
            prog[i].k = pid;
    return n;
}

/* ---------------------------------------------------------------- limits */

/* What a run may still map once the worker is confined, on top of what it
 * has mapped by then (guest RAM, the engine, what the parent had at fork).
 * Measured growth after entry: none on either backend (pupa read --sha256 of
 * 100 MiB with 32 MiB and 1 GiB of guest RAM); the room is for malloc on
 * error paths and, on the emulator, for Unicorn's TLBs, which grow with the
 * guest's working set. */
#define RUN_HEADROOM_KVM (64ull * 1024 * 1024)
#define RUN_HEADROOM_EMU (256ull * 1024 * 1024)

#ifndef PUPA_SANITIZED
/* Bytes mapped now (first field of /proc/self/statm, in pages), 0 if unknown. */
static uint64_t mapped_now(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long pages = 0;
    long psz = sysconf(_SC_PAGESIZE);
    if (sscanf(buf, "%llu", &pages) != 1 || psz <= 0)
        return 0;
    return (uint64_t)pages * (uint64_t)psz;
}
#endif

/* The address space the worker may use (RLIMIT_AS), or 0 when not bounded
 * (sanitizer builds, whose shadow memory alone is terabytes). */
static uint64_t address_space(const struct sandbox_limits *l)
{
#ifdef PUPA_SANITIZED
    (void)l;
    return 0;
#else
    /* without /proc: guest RAM and the measured rest (with 32 MiB of RAM a
     * worker maps 36 MiB on KVM, 1088 MiB with Unicorn's 1 GiB code buffer) */
    uint64_t now = mapped_now();
    if (now == 0)
        now = l->ram_size + (l->accel == &accel_emu_ops ? 1152ull : 64ull) * 1024 * 1024;
    return now + (l->accel == &accel_emu_ops ? RUN_HEADROOM_EMU : RUN_HEADROOM_KVM);
#endif
}

static int limit(int resource, uint64_t v, const char *name)
{
    struct rlimit r = {(rlim_t)v, (rlim_t)v};
    if (setrlimit(resource, &r) != 0) {
        pupa_err("sandbox: cannot set %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

static int set_limits(const struct sandbox_limits *l)
{
    uint64_t as = address_space(l);
    /* a write past file_size fails with EFBIG instead of killing the worker */
    signal(SIGXFSZ, SIG_IGN);
    if (limit(RLIMIT_NPROC, 0, "RLIMIT_NPROC") || limit(RLIMIT_CORE, 0, "RLIMIT_CORE") ||
        limit(RLIMIT_FSIZE, l->file_size, "RLIMIT_FSIZE"))
        return -1;
    return as ? limit(RLIMIT_AS, as, "RLIMIT_AS") : 0;
}

/* ---------------------------------------------------------------- entry */

static pid_t parent_pid;

int sandbox_prepare(void)
{
    if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
        pupa_err("sandbox: this kernel cannot confine workers (seccomp: %s); --no-sandbox "
                 "runs them unconfined",
                 strerror(errno));
        return -1;
    }
    parent_pid = getpid();
    return 0;
}

/* fds 0 and 1 lead nowhere: no terminal to read or inject into, no stdout. */
static int detach_stdio(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        close(0);
        close(1);
        return 0;
    }
    int rc = (fd == 0 || dup2(fd, 0) == 0) && (fd == 1 || dup2(fd, 1) == 1) ? 0 : -1;
    if (fd > 1)
        close(fd);
    if (rc != 0)
        pupa_err("sandbox: cannot detach stdin/stdout: %s", strerror(errno));
    return rc;
}

static int load_filter(const struct accel_ops *accel)
{
    static struct sock_filter prog[FILTER_MAX];
    struct sock_fprog fprog = {(unsigned short)build_filter(prog, accel), prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        pupa_err("sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
    /* TSYNC: the emulator's watchdog thread, started earlier, is confined too */
    long rc = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog);
    if (rc != 0) {
        pupa_err("sandbox: cannot install the seccomp filter: %s",
                 rc > 0 ? "a thread could not be synchronised" : strerror(errno));
        return -1;
    }
    return 0;
}

int sandbox_enter(const struct sandbox_limits *l)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || (parent_pid && getppid() != parent_pid)) {
        pupa_err("sandbox: the parent is gone");
        return -1;
    }
    /* with READ_IMPLIES_EXEC every readable mapping would also be executable */
    int pers = personality(0xffffffff);
    if (pers != -1 && (pers & READ_IMPLIES_EXEC))
        personality((unsigned long)pers & ~(unsigned long)READ_IMPLIES_EXEC);
    if (detach_stdio() != 0 || set_limits(l) != 0)
        return -1;
    return load_filter(l->accel);
}
