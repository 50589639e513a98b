/* test_sandbox.c: the worker sandbox entered for real (sandbox_enter, the
 * production code) in a forked child, which then tries what a compromised
 * worker would: each forbidden call must fail (EACCES) or kill it (SIGSYS),
 * on the KVM backend's configuration and on the emulator's. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "testutil.h"
#include "vmm/sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#define RAM        (32ull << 20)
#define KILLED     (-SIGSYS) /* the outcome of a call the filter kills */
#define NO_OUTCOME (-1000)

static const struct accel_ops *const backends[] = {&accel_kvm_ops, &accel_emu_ops};

/* Enter the sandbox configured for `accel` and return what `attempt` did
 * there: 0 (it succeeded), an errno, or KILLED. `stdout_fd` >= 0 becomes the
 * child's fd 1 before it enters (as the user's stdout would be). */
static int in_sandbox(const struct accel_ops *accel, int (*attempt)(void *), void *arg,
                      int stdout_fd)
{
    ck_assert_int_eq(sandbox_prepare(), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (stdout_fd >= 0)
            dup2(stdout_fd, 1);
        struct sandbox_limits l = {.accel = accel, .ram_size = RAM, .file_size = 0};
        if (sandbox_enter(&l) != 0)
            _exit(200);
        _exit(attempt(arg) & 0xff);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        return -WTERMSIG(status);
    ck_assert(WIFEXITED(status));
    ck_assert_int_ne(WEXITSTATUS(status), 200); /* sandbox_enter failed */
    return WEXITSTATUS(status);
}

static int result(long rc)
{
    return rc < 0 ? errno : 0;
}

/* ---------------------------------------------------------------- attempts */

static int try_tiocsti(void *arg)
{
    char c = 'x';
    return result(ioctl(*(int *)arg, TIOCSTI, &c));
}

static int try_write_stdout(void *arg)
{
    (void)arg;
    return write(1, "forged\n", 7) == 7 ? 0 : errno;
}

static int try_fork(void *arg)
{
    (void)arg;
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    return result(p);
}

static int try_clone3(void *arg)
{
    (void)arg;
    struct clone_args ca = {.exit_signal = SIGCHLD};
    long p = syscall(__NR_clone3, &ca, sizeof(ca));
    if (p == 0)
        _exit(0);
    return result(p);
}

/* arg: the parent's pid, taken before the fork (getppid is not allowed) */
static int try_tgkill_parent(void *arg)
{
    pid_t parent = *(pid_t *)arg;
    return result(syscall(__NR_tgkill, parent, parent, SIGUSR1));
}

static int try_kill_parent(void *arg)
{
    return result(kill(*(pid_t *)arg, SIGUSR1));
}

static int try_tgkill_self(void *arg)
{
    (void)arg;
    return result(syscall(__NR_tgkill, getpid(), gettid(), 0));
}

static int try_open(void *arg)
{
    (void)arg;
    return result(open("/etc/hostname", O_RDONLY));
}

static int try_openat(void *arg)
{
    (void)arg;
    return result(openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY));
}

static int try_stat_path(void *arg)
{
    (void)arg;
    struct stat st;
    return result(stat("/etc/passwd", &st));
}

/* the form of glibc's fstat(), with a path seccomp cannot see */
static int try_fstatat_empty_path_flag(void *arg)
{
    (void)arg;
    struct stat st;
    return result(fstatat(2, "/etc/passwd", &st, AT_EMPTY_PATH));
}

static int try_statx(void *arg)
{
    (void)arg;
    struct statx sx;
    return result(statx(AT_FDCWD, "/", 0, STATX_BASIC_STATS, &sx));
}

static int try_fstat_fd(void *arg)
{
    (void)arg;
    struct stat st;
    return result(syscall(__NR_fstat, 2, &st));
}

static int try_exec_mapping(void *arg)
{
    (void)arg;
    return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED
               ? errno
               : 0;
}

static int try_mprotect_exec(void *arg)
{
    (void)arg;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 100;
    return result(mprotect(p, 4096, PROT_READ | PROT_EXEC));
}

static int try_data_mapping(void *arg)
{
    (void)arg;
    void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return errno;
    memset(p, 1, 1 << 20);
    return result(munmap(p, 1 << 20));
}

/* more address space than guest RAM and the run's headroom */
static int try_huge_mapping(void *arg)
{
    (void)arg;
    void *p = mmap(NULL, 8ull << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? errno : 0;
}

static int try_socket(void *arg)
{
    (void)arg;
    return result(socket(AF_UNIX, SOCK_STREAM, 0));
}

static int try_execve(void *arg)
{
    (void)arg;
    char *argv[] = {(char *)"/bin/true", NULL};
    return result(execve("/bin/true", argv, NULL));
}

static int try_kvm_run(void *arg)
{
    (void)arg;
    return result(ioctl(0, KVM_RUN, 0));
}

static int try_other_ioctl(void *arg)
{
    (void)arg;
    int n;
    return result(ioctl(2, FIONREAD, &n));
}

/* the i386 entry point from a 64-bit process: getpid through int $0x80 */
static int try_int80(void *arg)
{
    (void)arg;
    long rc = 20;
    __asm__ volatile("int $0x80" : "+a"(rc) : : "memory");
    return rc > 0 ? 0 : (int)-rc;
}

static int try_prctl(void *arg)
{
    (void)arg;
    return result(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
}

/* ---------------------------------------------------------------- tests */

/* every backend: `attempt` has outcome `want` */
static void expect_everywhere(int (*attempt)(void *), void *arg, int want, const char *what)
{
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        int got = in_sandbox(backends[i], attempt, arg, -1);
        ck_assert_msg(got == want, "%s on %s: outcome %d, want %d (%d is SIGSYS)", what,
                      backends[i]->name, got, want, KILLED);
    }
}

START_TEST(no_keystroke_injection)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_NONBLOCK);
    ck_assert_int_ge(slave, 0);
    expect_everywhere(try_tiocsti, &slave, KILLED, "TIOCSTI on a pty");
    char c;
    ck_assert_int_eq(read(slave, &c, 1), -1); /* nothing was queued as input */
    ck_assert_int_eq(errno, EAGAIN);
    close(slave);
    close(master);
}
END_TEST

START_TEST(stdout_leads_nowhere)
{
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        ck_assert_int_eq(in_sandbox(backends[i], try_write_stdout, NULL, p[1]), 0);
        close(p[1]);
        char buf[16];
        ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 0); /* the write went to /dev/null */
        close(p[0]);
    }
}
END_TEST

START_TEST(no_children)
{
    expect_everywhere(try_fork, NULL, KILLED, "fork");
    expect_everywhere(try_clone3, NULL, KILLED, "clone3");
}
END_TEST

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

START_TEST(signals_only_to_itself)
{
    signal(SIGUSR1, on_usr1);
    pid_t self = getpid();
    expect_everywhere(try_tgkill_parent, &self, KILLED, "tgkill to the parent");
    expect_everywhere(try_kill_parent, &self, KILLED, "kill to the parent");
    ck_assert_int_eq(got_usr1, 0);
    expect_everywhere(try_tgkill_self, NULL, 0, "tgkill to itself");
}
END_TEST

START_TEST(no_file_system)
{
    expect_everywhere(try_open, NULL, EACCES, "open");
    expect_everywhere(try_openat, NULL, EACCES, "openat");
    expect_everywhere(try_stat_path, NULL, EACCES, "stat of a path");
    expect_everywhere(try_fstatat_empty_path_flag, NULL, EACCES, "fstatat(AT_EMPTY_PATH)");
    expect_everywhere(try_statx, NULL, EACCES, "statx");
    expect_everywhere(try_fstat_fd, NULL, 0, "fstat of a descriptor");
    expect_everywhere(try_execve, NULL, KILLED, "execve");
}
END_TEST

START_TEST(no_new_code)
{
    expect_everywhere(try_exec_mapping, NULL, KILLED, "mmap(PROT_EXEC)");
    expect_everywhere(try_mprotect_exec, NULL, KILLED, "mprotect(PROT_EXEC)");
    expect_everywhere(try_data_mapping, NULL, 0, "mmap(PROT_READ|PROT_WRITE)");
}
END_TEST

START_TEST(no_sockets_no_other_entry_points)
{
    expect_everywhere(try_socket, NULL, KILLED, "socket");
    expect_everywhere(try_int80, NULL, KILLED, "int $0x80");
    expect_everywhere(try_prctl, NULL, KILLED, "prctl");
}
END_TEST

START_TEST(ioctl_only_the_run_loop)
{
    /* KVM_RUN passes the filter on KVM (fd 0 is /dev/null: the kernel says ENOTTY) */
    ck_assert_int_eq(in_sandbox(&accel_kvm_ops, try_kvm_run, NULL, -1), ENOTTY);
    ck_assert_int_eq(in_sandbox(&accel_emu_ops, try_kvm_run, NULL, -1), KILLED);
    expect_everywhere(try_other_ioctl, NULL, KILLED, "FIONREAD");
}
END_TEST

START_TEST(address_space_bounded)
{
    if (SANITIZED) {
        fprintf(stderr, "test_sandbox: NOTE: sanitizer build: RLIMIT_AS is not applied "
                        "(ASan's shadow memory); the rest of the sandbox is\n");
        return;
    }
    expect_everywhere(try_huge_mapping, NULL, ENOMEM, "an 8 GiB mapping");
}
END_TEST

#if SANITIZED
/* arg: 0, hidden from the compiler so that only the runtime checks see it */
static int try_heap_overflow(void *arg)
{
    volatile char *p = malloc(8 + (size_t) * (int *)arg);
    p[8 + *(int *)arg] = 1;
    return 0;
}

static int try_signed_overflow(void *arg)
{
    volatile int big = 0x7fffffff;
    return big + 1 + *(int *)arg;
}

/* Run `attempt` confined with fd 2 on a pipe: its outcome and what it printed. */
static int confined_stderr(const struct accel_ops *accel, int (*attempt)(void *), char *out,
                           size_t cap)
{
    int p[2], zero = 0;
    ck_assert_int_eq(pipe(p), 0);
    int saved = dup(2);
    dup2(p[1], 2);
    int got = in_sandbox(accel, attempt, &zero, -1);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(p[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(p[0]);
    return got;
}

/* A sanitizer report from a confined worker reaches its stderr whole, and the
 * worker ends by the sanitizer's exit code, not by the filter. */
START_TEST(sanitizer_reports_survive)
{
    static char report[65536];
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        int got = confined_stderr(backends[i], try_heap_overflow, report, sizeof(report));
        ck_assert_msg(got == 1, "ASan: outcome %d on %s: %s", got, backends[i]->name, report);
        ck_assert_msg(strstr(report, "AddressSanitizer: heap-buffer-overflow") &&
                          strstr(report, "SUMMARY: AddressSanitizer"),
                      "%s", report);
        got = confined_stderr(backends[i], try_signed_overflow, report, sizeof(report));
        ck_assert_msg(got == 1, "UBSan: outcome %d on %s: %s", got, backends[i]->name, report);
        ck_assert_msg(strstr(report, "signed integer overflow"), "%s", report);
    }
}
END_TEST
#endif

/* Wait until `pid` runs under a seccomp filter (or is gone). */
static bool wait_confined(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    for (;;) {
        FILE *f = fopen(path, "r");
        if (!f)
            return false;
        bool confined = false, zombie = false;
        while (fgets(line, sizeof(line), f)) {
            confined |= strncmp(line, "Seccomp:\t2", 10) == 0;
            zombie |= strncmp(line, "State:\tZ", 8) == 0;
        }
        fclose(f);
        if (confined || zombie)
            return confined;
        usleep(1000);
    }
}

static void block_forever(void)
{
    static int word;
    for (;;)
        syscall(__NR_futex, &word, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0);
}

/* A confined worker that waits: its limits and descriptors, seen from outside. */
START_TEST(limits_and_stdio_from_outside)
{
    ck_assert_int_eq(sandbox_prepare(), 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct sandbox_limits l = {.accel = &accel_kvm_ops, .ram_size = RAM};
        if (sandbox_enter(&l) == 0)
            block_forever();
        _exit(200);
    }
    ck_assert(wait_confined(pid));
    char path[64], line[256], link[64];
    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int seen = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Max processes ", 14) == 0 || strncmp(line, "Max file size ", 14) == 0 ||
            strncmp(line, "Max core file size ", 19) == 0) {
            unsigned long long soft = ~0ull, hard = ~0ull;
            ck_assert_int_eq(sscanf(line + 26, "%llu %llu", &soft, &hard), 2);
            ck_assert_msg(soft == 0 && hard == 0, "%s", line);
            seen++;
        }
        if (strncmp(line, "Max address space ", 18) == 0 && !SANITIZED) {
            unsigned long long soft = 0;
            ck_assert_int_eq(sscanf(line + 26, "%llu", &soft), 1);
            ck_assert_msg(soft >= RAM && soft < RAM + (1ull << 30), "%s", line);
            seen++;
        }
    }
    fclose(f);
    ck_assert_int_eq(seen, SANITIZED ? 3 : 4);
    for (int fd = 0; fd < 2; fd++) {
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        ck_assert_int_gt(n, 0);
        link[n] = '\0';
        ck_assert_str_eq(link, "/dev/null");
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
END_TEST

/* A worker whose parent dies is killed (PR_SET_PDEATHSIG): the test adopts
 * the orphan as a subreaper and sees how it ended. */
START_TEST(dies_with_its_parent)
{
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t mid = fork();
    if (mid == 0) {
        if (sandbox_prepare() != 0)
            _exit(1);
        pid_t w = fork();
        if (w == 0) {
            struct sandbox_limits l = {.accel = &accel_emu_ops, .ram_size = RAM};
            if (sandbox_enter(&l) == 0)
                block_forever();
            _exit(200);
        }
        if (w < 0 || !wait_confined(w) || write(p[1], &w, sizeof(w)) != sizeof(w))
            _exit(1);
        _exit(0); /* the worker's parent is gone */
    }
    close(p[1]);
    pid_t worker = 0;
    ck_assert_int_eq(read(p[0], &worker, sizeof(worker)), sizeof(worker));
    close(p[0]);
    int status;
    ck_assert_int_eq(waitpid(mid, &status, 0), mid);
    ck_assert_int_eq(waitpid(worker, &status, 0), worker);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(WTERMSIG(status), SIGKILL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("sandbox");
    tcase_add_test(tc, no_keystroke_injection);
    tcase_add_test(tc, stdout_leads_nowhere);
    tcase_add_test(tc, no_children);
    tcase_add_test(tc, signals_only_to_itself);
    tcase_add_test(tc, no_file_system);
    tcase_add_test(tc, no_new_code);
    tcase_add_test(tc, no_sockets_no_other_entry_points);
    tcase_add_test(tc, ioctl_only_the_run_loop);
    tcase_add_test(tc, address_space_bounded);
    tcase_add_test(tc, limits_and_stdio_from_outside);
    tcase_add_test(tc, dies_with_its_parent);
#if SANITIZED
    tcase_add_test(tc, sanitizer_reports_survive);
#endif
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
