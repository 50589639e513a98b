/* batch.c: worker processes (fork + sandbox + one guest each), the scheduler
 * that keeps N of them busy, and the result printers. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batch.h"
#include "output.h"
#include "pupa/formats.h"
#include "report.h"
#include "sandbox.h"
#include "session.h"
#include "util.h"

/* ---------------------------------------------------------------- channel
 * worker -> parent records: [u8 kind][u32 LE length][payload] */
#define REC_FRAME  'M' /* one guest frame, re-encoded */
#define REC_RESULT 'R' /* struct session_result, last record */
#define REC_MAX                                                                                    \
    (sizeof(struct session_result) > PUPA_FRAME_MAX ? sizeof(struct session_result)                \
                                                    : PUPA_FRAME_MAX)

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE, JOB_PRINTED };

/* A job exists from its start until it is printed: memory follows -j, not the scan. */
struct job {
    size_t idx;         /* in the scan */
    size_t first, nimg; /* images [first, first + nimg) */
    int fds[PUPA_MAX_DEVICES];
    uint64_t sizes[PUPA_MAX_DEVICES], actual[PUPA_MAX_DEVICES];
    enum job_state state;
    pid_t pid;
    int rfd;
    double t_start;
    /* record being received */
    uint8_t hdr[5];
    size_t hdr_have;
    uint8_t *rec;
    size_t rec_len, rec_have;
    /* what came back */
    struct status_job st;
    struct report report;
    struct session_result *result; /* the worker's last record; NULL until it arrives */
    /* rendered when the job finishes, printed in order: a finished job waiting for
     * its turn holds only its text, not its report */
    char *out;
    size_t out_len;
    bool failed;
    bool block;  /* out is a human block: a blank line separates it from the one before */
    char *error; /* the job failed as a whole */
    int term_signal;
    bool killed;
};

static volatile sig_atomic_t interrupted;
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    display_restore_cursor_async();
    if (signal_pipe[1] >= 0) {
        char c = 0;
        ssize_t r = write(signal_pipe[1], &c, 1);
        (void)r;
    }
}

static void write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(3); /* the parent is gone */
        p += n;
        len -= (size_t)n;
    }
}

static void put_record(int fd, uint8_t kind, const void *payload, uint32_t len)
{
    uint8_t hdr[5] = {kind, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                      (uint8_t)(len >> 24)};
    write_all(fd, hdr, sizeof(hdr));
    write_all(fd, payload, len);
}

/* ---------------------------------------------------------------- worker (child) */

/* Records are collected and written once per guest transfer, not per frame. */
#define WORKER_OUT_CAP (64 * 1024)

struct worker_ctx {
    int wfd;
    bool sandbox;
    struct sandbox_limits limits;
    size_t out_len;
    uint8_t out[WORKER_OUT_CAP];
};

static void worker_flush(void *c)
{
    struct worker_ctx *w = c;
    if (w->out_len) {
        write_all(w->wfd, w->out, w->out_len);
        w->out_len = 0;
    }
}

static void worker_forward(void *c, const pupa_GuestMessage *m)
{
    struct worker_ctx *w = c;
    size_t len = 0;
    if (WORKER_OUT_CAP - w->out_len < 5 + PUPA_FRAME_MAX)
        worker_flush(w);
    uint8_t *rec = w->out + w->out_len;
    if (pupa_frame_encode(pupa_GuestMessage_fields, m, rec + 5, PUPA_FRAME_MAX, &len) !=
        PUPA_FRAME_OK)
        return;
    rec[0] = REC_FRAME;
    rec[1] = (uint8_t)len;
    rec[2] = (uint8_t)(len >> 8);
    rec[3] = (uint8_t)(len >> 16);
    rec[4] = (uint8_t)(len >> 24);
    w->out_len += 5 + len;
}

static int worker_before_run(void *c)
{
    struct worker_ctx *w = c;
    return w->sandbox ? sandbox_enter(&w->limits) : 0;
}

static void worker_on_term(int sig)
{
    (void)sig;
    struct vm *vm = vm_running();
    if (vm)
        vm_interrupt(vm);
}

/* Close every inherited descriptor this worker does not need (other
 * workers' pipes, other images). */
static void worker_close_fds(const struct job *j, int wfd, FILE *log)
{
    int keep[PUPA_MAX_DEVICES + 2], n = 0;
    keep[n++] = wfd;
    if (log && fileno(log) > 2)
        keep[n++] = fileno(log);
    for (size_t i = 0; i < j->nimg; i++)
        keep[n++] = j->fds[i];
    /* close the gaps between the kept descriptors, in ascending order */
    for (int a = 1; a < n; a++)
        for (int k = a; k > 0 && keep[k - 1] > keep[k]; k--) {
            int t = keep[k];
            keep[k] = keep[k - 1];
            keep[k - 1] = t;
        }
    unsigned from = 3;
    for (int i = 0; i < n; i++) {
        if ((unsigned)keep[i] > from)
            close_range(from, (unsigned)keep[i] - 1, 0);
        if ((unsigned)keep[i] + 1 > from)
            from = (unsigned)keep[i] + 1;
    }
    close_range(from, ~0u, 0);
}

static void worker_main(const struct batch_opts *o, struct job *j, int wfd)
{
    signal(SIGINT, SIG_IGN); /* the parent decides; it sends SIGTERM */
    signal(SIGPIPE, SIG_DFL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = worker_on_term;
    sigaction(SIGTERM, &sa, NULL);
    worker_close_fds(j, wfd, o->guest_log);

    static pupa_VmmConfig cfg;
    static struct session_disk disks[PUPA_MAX_DEVICES];
    memset(&cfg, 0, sizeof(cfg));
    PUPA_STRLCPY(cfg.operation, o->operation);
    cfg.devices_count = (pb_size_t)j->nimg;
    for (size_t i = 0; i < j->nimg; i++) {
        snprintf(cfg.devices[i].name, sizeof(cfg.devices[i].name), "vd%c", (char)('a' + i));
        cfg.devices[i].sector_size = o->sector_size;
        cfg.devices[i].size_bytes = j->sizes[i];
        disks[i] =
            (struct session_disk){o->images[j->first + i], j->fds[i], j->sizes[i], o->sector_size};
    }
    if (o->op == BATCH_INFO) {
        PUPA_STRLCPY(cfg.filename, o->images[j->first]);
        if (o->format)
            PUPA_STRLCPY(cfg.format, o->format);
    }
    cfg.sha256 = o->sha256;
    if (o->op == BATCH_READ || o->op == BATCH_RUN)
        cfg.progress_percent = o->progress == DISPLAY_TTY || o->progress == DISPLAY_JSON ? 1
                               : o->progress == DISPLAY_PLAIN                            ? 10
                                                                                         : 0;

    static struct worker_ctx w;
    w.wfd = wfd;
    w.sandbox = o->sandbox;
    /* the worker writes no file, except a guest log the user asked for */
    w.limits = (struct sandbox_limits){
        .accel = o->accel,
        .ram_size = o->ram_size,
        .file_size = o->guest_log && o->guest_log != stderr ? SESSION_LOG_STREAM_CAP + 64 : 0,
    };
    struct session_opts so = {
        .accel = o->accel,
        .ram_size = o->ram_size,
        .timeout_s = o->timeout_s,
        .elf = o->elf,
        .elf_len = o->elf_len,
        .config = &cfg,
        .disks = disks,
        .ndisks = (int)j->nimg,
        .on_message = worker_forward,
        .ctx = &w,
        .guest_log = o->guest_log,
        .verbose = o->verbose,
        .before_run = worker_before_run,
        .on_batch_end = worker_flush,
        .no_teardown = true,
    };
    static struct session_result r;
    session_run(&so, &r);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        r.peak_rss_kib = (uint64_t)ru.ru_maxrss;
    worker_flush(&w);
    put_record(wfd, REC_RESULT, &r, sizeof(r));
    _exit(0);
}

/* ---------------------------------------------------------------- parent */

struct batch {
    const struct batch_opts *o;
    struct job **jobs; /* NULL before a job starts and after it is printed */
    size_t njobs, next_start, next_print, running, per;
    size_t done_images, failed, unsafe, inspected, blocks;
    struct display display;
    struct display_overall overall;
    int exit_code;
    double t0;
    pid_t lingering[512]; /* workers done with their job, still exiting */
    size_t nlingering;
    int out_errno; /* stdout failed (a full disk, a closed pipe): stop like Ctrl-C */
    /* The loop touches only these, never all jobs: a scan of 100000 images must not cost
     * 100000 steps per finished guest. */
    struct job **run_list;  /* running jobs, in job order (at most -j) */
    struct job **done_list; /* done, not yet printed (--unordered) */
    size_t ndone;
};

static struct job *job_new(struct batch *b, size_t idx)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->idx = idx;
    if (b->o->nimages) { /* commands without images run one guest */
        j->first = idx * b->per;
        j->nimg = b->o->nimages - j->first < b->per ? b->o->nimages - j->first : b->per;
    }
    b->jobs[idx] = j;
    return j;
}

static void job_render(struct batch *b, struct job *j);

static void job_done(struct batch *b, struct job *j)
{
    j->state = JOB_DONE;
    job_render(b, j);
    b->done_list[b->ndone++] = j;
}

/* --format rules qemu-img applies before reading a byte: an unknown driver
 * fails (even for a missing file), and the protocol drivers asked for as a
 * format want their file type (file: regular file; host_device: block device).
 * mode 0: the file is not open yet (only the name is checked). */
static int check_format(const char *format, const char *path, mode_t mode, char **error)
{
    if (!format)
        return 0;
    if (!pupa_format_known(format)) {
        *error = xasprintf("Could not open '%s': Unknown driver '%s'", path, format);
        return -1;
    }
    if (mode && strcmp(format, "file") == 0 && !S_ISREG(mode)) {
        *error = xasprintf("Could not open '%s': 'file' driver requires '%s' to be a regular file",
                           path, path);
        return -1;
    }
    if (mode && strcmp(format, "host_device") == 0 && !S_ISBLK(mode)) {
        *error = xasprintf("Could not open '%s': 'host_device' driver requires '%s' to be either "
                           "a character or block device",
                           path, path);
        return -1;
    }
    return 0;
}

/* Open one image read-only without ever blocking (FIFOs, devices): only
 * regular files and block devices are accepted, and what --format demands. */
static int open_image(const char *path, const char *format, int *fd_out, uint64_t *size,
                      uint64_t *actual, char **error)
{
    if (check_format(format, path, 0, error))
        return -1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        if (e == ENXIO && stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            *error = xasprintf("Could not open '%s': is a socket, not a regular file or block "
                               "device",
                               path);
        else
            *error = xasprintf("Could not open '%s': %s", path, strerror(e));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        *error = xasprintf("Could not open '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    const char *kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                                              : NULL;
    if (kind || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        *error = xasprintf("Could not open '%s': is %s, not a regular file or block device", path,
                           kind ? kind : "not a regular file");
        close(fd);
        return -1;
    }
    if (check_format(format, path, st.st_mode, error)) {
        close(fd);
        return -1;
    }
    if (S_ISBLK(st.st_mode)) {
        uint64_t bytes = 0;
        if (ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
            *error = xasprintf("Could not open '%s': %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        *size = bytes;
    } else {
        *size = (uint64_t)st.st_size;
    }
    /* probe readability now: a clear error here beats an I/O error in the guest */
    uint8_t b;
    if (*size > 0 && pread(fd, &b, 1, 0) < 0) {
        *error = xasprintf("Could not open '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *actual = (uint64_t)st.st_blocks * 512;
    *fd_out = fd;
    return 0;
}

static void job_close_fds(struct job *j)
{
    for (size_t i = 0; i < j->nimg; i++) {
        if (j->fds[i] >= 0)
            close(j->fds[i]);
        j->fds[i] = -1;
    }
}

static const char *job_label(const struct batch *b, const struct job *j)
{
    return b->o->nimages ? b->o->images[j->first] : b->o->operation;
}

static void job_start(struct batch *b, struct job *j)
{
    const struct batch_opts *o = b->o;
    double now = now_s();
    char label[256];
    if (j->nimg > 1)
        snprintf(label, sizeof(label), "%s (+%zu)", job_label(b, j), j->nimg - 1);
    else
        snprintf(label, sizeof(label), "%s", job_label(b, j));
    status_job_init(&j->st, label, o->operation, now);
    report_init(&j->report);
    j->t_start = now;
    for (size_t i = 0; i < j->nimg; i++)
        j->fds[i] = -1;
    for (size_t i = 0; i < j->nimg; i++) {
        char *err = NULL;
        const char *path = o->images[j->first + i];
        if (open_image(path, o->format, &j->fds[i], &j->sizes[i], &j->actual[i], &err)) {
            j->error = err;
            job_close_fds(j);
            job_done(b, j);
            return;
        }
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        j->error = xasprintf("cannot create a pipe: %s", strerror(errno));
        job_close_fds(j);
        job_done(b, j);
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        j->error = xasprintf("cannot start a worker: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        job_close_fds(j);
        job_done(b, j);
        return;
    }
    if (pid == 0) {
        close(p[0]);
        worker_main(o, j, p[1]);
    }
    close(p[1]);
    job_close_fds(j); /* the worker has them */
    j->pid = pid;
    j->rfd = p[0];
    j->rec = xmalloc(REC_MAX);
    j->state = JOB_RUNNING;
    b->run_list[b->running++] = j;
    display_job_start(&b->display, &j->st, o->accel->name, now);
}

static void job_message(struct batch *b, struct job *j, const pupa_GuestMessage *m)
{
    double now = now_s();
    status_job_frame(&j->st, m, now);
    display_frame(&b->display, &j->st, m, now);
    report_feed(&j->report, m);
}

static void job_record(struct batch *b, struct job *j, uint8_t kind)
{
    if (kind == REC_FRAME) {
        static pupa_GuestMessage m;
        size_t used;
        if (pupa_frame_decode(pupa_GuestMessage_fields, &m, j->rec, j->rec_len, &used, NULL) ==
            PUPA_FRAME_OK)
            job_message(b, j, &m);
    } else if (kind == REC_RESULT && j->rec_len == sizeof(*j->result) && !j->result) {
        j->result = xmalloc(sizeof(*j->result));
        memcpy(j->result, j->rec, sizeof(*j->result));
        j->result->error[sizeof(j->result->error) - 1] = '\0';
        j->result->log_tail[sizeof(j->result->log_tail) - 1] = '\0';
    }
}

/* Consume bytes from a worker's pipe; false on a malformed record. */
static bool job_input(struct batch *b, struct job *j, const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (j->hdr_have < 5) {
            size_t take = 5 - j->hdr_have < n ? 5 - j->hdr_have : n;
            memcpy(j->hdr + j->hdr_have, p, take);
            j->hdr_have += take;
            p += take;
            n -= take;
            if (j->hdr_have < 5)
                break;
            j->rec_len = (size_t)j->hdr[1] | ((size_t)j->hdr[2] << 8) | ((size_t)j->hdr[3] << 16) |
                         ((size_t)j->hdr[4] << 24);
            j->rec_have = 0;
            if (j->rec_len > REC_MAX)
                return false;
        }
        size_t take = j->rec_len - j->rec_have < n ? j->rec_len - j->rec_have : n;
        memcpy(j->rec + j->rec_have, p, take);
        j->rec_have += take;
        p += take;
        n -= take;
        if (j->rec_have == j->rec_len) {
            job_record(b, j, j->hdr[0]);
            j->hdr_have = 0;
        }
    }
    return true;
}

/* The job is over: its result record arrived, or its pipe closed. A worker
 * that delivered its result is not waited for: tearing down its VM takes
 * milliseconds that nobody needs to wait for; it is reaped later. */
static void job_reap(struct batch *b, struct job *j)
{
    int status = 0;
    close(j->rfd);
    j->rfd = -1;
    pid_t got;
    do {
        got = waitpid(j->pid, &status, j->result ? WNOHANG : 0);
    } while (got < 0 && errno == EINTR);
    if (got == 0 && b->nlingering < sizeof(b->lingering) / sizeof(b->lingering[0]))
        b->lingering[b->nlingering++] = j->pid;
    free(j->rec);
    j->rec = NULL;
    size_t k = 0;
    while (b->run_list[k] != j)
        k++;
    memmove(b->run_list + k, b->run_list + k + 1, (b->running - k - 1) * sizeof(*b->run_list));
    b->running--;
    j->st.running = false;
    j->st.finished = true;
    j->st.t_end = now_s();
    if (got > 0 && WIFSIGNALED(status))
        j->term_signal = WTERMSIG(status);
    if (!j->result) {
        if (j->killed)
            j->error = xasprintf("worker killed after the timeout");
        else if (j->term_signal == SIGSYS)
            j->error = xasprintf("worker stopped by its sandbox (forbidden system call)");
        else if (j->term_signal)
            j->error = xasprintf("worker died (%s)", strsignal(j->term_signal));
        else
            j->error = xasprintf("worker exited without a result");
    }
    job_done(b, j); /* renders: after everything above is known */
}

/* Collect workers that finished their job but were still exiting. */
static void reap_lingering(struct batch *b, bool wait)
{
    size_t kept = 0;
    for (size_t i = 0; i < b->nlingering; i++) {
        pid_t got;
        do {
            got = waitpid(b->lingering[i], NULL, wait ? 0 : WNOHANG);
        } while (got < 0 && errno == EINTR);
        if (got == 0)
            b->lingering[kept++] = b->lingering[i];
    }
    b->nlingering = kept;
}

/* ---------------------------------------------------------------- results */

/* what an image that could not be inspected gives in JSON Lines */
static void json_error_line(struct strbuf *out, const char *name, const char *err)
{
    struct json_writer w;
    json_init(&w, out, false);
    json_begin_object(&w, NULL);
    json_str(&w, "filename", name);
    json_str(&w, "error", err);
    json_end_object(&w);
    sb_puts(out, "\n");
}

static const struct session_result no_result; /* for jobs that never started a guest */

static void print_info(struct batch *b, struct job *j, const struct session_result *res,
                       struct strbuf *out, bool *failed)
{
    const struct batch_opts *o = b->o;
    const char *name = o->images[j->first];
    struct report *r = &j->report;
    char *err = NULL;

    if (j->error)
        err = xstrdup(j->error);
    else if (res->state != VM_EXITED && res->state != VM_STOPPED && !(r->complete && !r->success))
        err = xasprintf("%s: %s", name, res->error);
    else if (res->state == VM_STOPPED && !r->complete)
        err = xasprintf("%s: interrupted", name); /* stopped after a complete answer: keep it */
    else if (!report_check_info(r))
        err = xasprintf("%s: guest protocol error: %s", name, r->protocol_error);
    else if (!r->success && r->error && r->error_status == PUPA_INFO_ERROR_WHOLE)
        err = xstrdup(r->error);
    else if (!r->success)
        err = xasprintf("Could not open '%s': %s", name, r->error ? r->error : "unknown error");
    else if (o->backing_chain && r->backing_file)
        err = xasprintf("Could not open '%s': --backing-chain: pupa does not follow the "
                        "backing file an image names (plain 'pupa info' shows it)",
                        name);
    if (err) {
        *failed = true;
        if (o->output == OUTPUT_JSON && o->lines)
            json_error_line(out, name, err);
        display_note(&b->display, &j->st, err, now_s());
        free(err);
        return;
    }
    r->actual_size = j->actual[0];
    b->inspected++;
    if (r->nfindings)
        b->unsafe++;
    if (o->output == OUTPUT_JSON) {
        if (o->backing_chain)
            output_info_json_chain(out, r, name, !o->lines);
        else
            output_info_json(out, r, name, !o->lines);
        sb_puts(out, "\n");
    } else {
        j->block = true; /* separated from the previous block when printed, in order */
        output_info_human(out, r, name, isatty(STDOUT_FILENO));
    }
}

static const struct report_digest *find_digest(const struct report *r, const char *dev)
{
    for (size_t i = 0; i < r->ndigests; i++) {
        if (strcmp(r->digests[i].device, dev) == 0)
            return &r->digests[i];
    }
    return NULL;
}

static void print_read(struct batch *b, struct job *j, const struct session_result *res,
                       struct strbuf *out, bool *failed)
{
    const struct batch_opts *o = b->o;
    struct report *r = &j->report;
    bool guest_ok = !j->error && res->state == VM_EXITED;
    for (size_t i = 0; i < j->nimg; i++) {
        const char *name = o->images[j->first + i];
        char dev[8];
        snprintf(dev, sizeof(dev), "vd%c", (char)('a' + i));
        const struct report_digest *d = find_digest(r, dev);
        char *err = NULL;
        if (j->error)
            err = xstrdup(j->error);
        else if (!guest_ok)
            err = xasprintf("%s: %s", name, res->error);
        else if (o->sha256 && !d)
            err = xasprintf("%s: read failed%s%s", name, r->error ? ": " : "",
                            r->error ? r->error : "");
        else if (!o->sha256 && !r->success)
            err = xasprintf("%s: read failed%s%s", name, r->error ? ": " : "",
                            r->error ? r->error : "");
        if (err) {
            *failed = true;
            if (o->output == OUTPUT_JSON)
                json_error_line(out, name, err);
            display_note(&b->display, &j->st, err, now_s());
            free(err);
            continue;
        }
        b->inspected++;
        char hex[65] = "";
        if (d)
            for (int k = 0; k < 32; k++)
                snprintf(hex + 2 * k, 3, "%02x", d->sha256[k]);
        if (o->output == OUTPUT_JSON) {
            struct json_writer w;
            json_init(&w, out, false);
            json_begin_object(&w, NULL);
            json_str(&w, "filename", name);
            json_uint(&w, "bytes", j->sizes[i]);
            if (d)
                json_str(&w, "sha256", hex);
            json_end_object(&w);
            sb_puts(out, "\n");
        } else if (d) {
            sb_printf(out, "%s  %s\n", hex, name);
        } else {
            sb_printf(out, "%s: %llu bytes read\n", name, (unsigned long long)j->sizes[i]);
        }
    }
}

static void print_run(struct batch *b, struct job *j, const struct session_result *r,
                      struct strbuf *out, bool *failed)
{
    const struct batch_opts *o = b->o;
    if (j->error || r->state != VM_EXITED || r->exit_status != 0) {
        *failed = true;
        display_note(&b->display, &j->st,
                     j->error      ? j->error
                     : r->error[0] ? r->error
                                   : "guest failed",
                     now_s());
        if (o->op == BATCH_SELFTEST)
            return;
    }
    if (o->op == BATCH_SELFTEST) {
        if (!j->report.complete || !j->report.success) {
            *failed = true;
            display_note(&b->display, &j->st, "selftest: the guest did not confirm its config",
                         now_s());
            return;
        }
        sb_printf(out,
                  "pupa selftest: backend %s, boot to exit %.2f ms (VM set-up %.2f ms), %llu "
                  "exits, %llu frames: OK\n",
                  o->accel->name, r->run_s * 1e3, r->setup_s * 1e3, (unsigned long long)r->exits,
                  (unsigned long long)r->frames);
        return;
    }
    if (!j->error && r->state == VM_EXITED)
        sb_printf(out,
                  "guest exited with status %d: %llu exits, %llu frames, %.2f ms (backend %s)\n",
                  r->exit_status, (unsigned long long)r->exits, (unsigned long long)r->frames,
                  r->run_s * 1e3, o->accel->name);
}

static void print_stats(struct batch *b, const struct job *j)
{
    const struct session_result *r = j->result;
    if (!r)
        return;
    display_clear(&b->display);
    fprintf(stderr,
            "pupa: stats: %s: backend %s, set-up %.3f ms, run %.3f ms, %llu exits, %llu frames, "
            "%llu bytes read, %llu requests, %llu notifies, %llu posted writes, worker peak RSS "
            "%llu KiB\n",
            j->st.label, b->o->accel->name, r->setup_s * 1e3, r->run_s * 1e3,
            (unsigned long long)r->exits, (unsigned long long)r->frames,
            (unsigned long long)r->bytes_read, (unsigned long long)r->blk_requests,
            (unsigned long long)r->blk_notifies, (unsigned long long)r->posted,
            (unsigned long long)r->peak_rss_kib);
}

/* The job is over: render its result text and count it, then drop everything
 * else it held. Called once, when the job finishes. */
static void job_render(struct batch *b, struct job *j)
{
    struct strbuf out;
    bool failed = false;
    const struct session_result *res = j->result ? j->result : &no_result;
    sb_init(&out);
    if (b->o->stats)
        print_stats(b, j);
    switch (b->o->op) {
    case BATCH_INFO:
        print_info(b, j, res, &out, &failed);
        break;
    case BATCH_READ:
        print_read(b, j, res, &out, &failed);
        break;
    default:
        print_run(b, j, res, &out, &failed);
        break;
    }
    if (failed)
        b->failed++;
    if (failed && b->exit_code == 0)
        b->exit_code = 1;
    j->failed = failed;
    j->st.failed = failed;
    /* findings that arrived before an image failed (interrupt, timeout) are no verdict */
    j->st.unsafe = !failed && j->report.nfindings > 0;
    b->overall.done += j->nimg;
    if (failed)
        b->overall.failed++;
    if (j->st.unsafe)
        b->overall.unsafe++;
    j->out = out.s;
    j->out_len = out.len;
    report_free(&j->report);
    free(j->result);
    j->result = NULL;
    free(j->error);
    j->error = NULL;
}

/* Write a rendered job to stdout (in its turn) and let it go. */
static void job_print(struct batch *b, struct job *j)
{
    if (j->out_len && !b->out_errno) {
        display_clear(&b->display);
        errno = 0;
        if (j->block && b->blocks++ > 0)
            fputc('\n', stdout);
        if (fwrite(j->out, 1, j->out_len, stdout) != j->out_len || fflush(stdout) != 0)
            b->out_errno = errno ? errno : EIO;
    }
    free(j->out);
    j->out = NULL;
    j->state = JOB_PRINTED;
    if (b->njobs > 1) { /* a single job's final bar is drawn at the end */
        b->jobs[j->idx] = NULL;
        free(j);
    }
}

/* ---------------------------------------------------------------- loop */

static void running_jobs(struct batch *b, struct status_job **list, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < b->running && *n < 64; i++)
        list[(*n)++] = &b->run_list[i]->st;
}

static void flush_results(struct batch *b)
{
    if (b->o->unordered) {
        for (size_t i = 0; i < b->ndone; i++)
            job_print(b, b->done_list[i]);
        b->ndone = 0;
        return;
    }
    b->ndone = 0; /* in order: printed below, as the jobs come */
    while (b->next_print < b->njobs && b->jobs[b->next_print] &&
           b->jobs[b->next_print]->state == JOB_DONE)
        job_print(b, b->jobs[b->next_print++]);
}

static void stop_all(struct batch *b, int sig)
{
    for (size_t i = 0; i < b->running; i++)
        kill(b->run_list[i]->pid, sig);
}

int batch_run(const struct batch_opts *o)
{
    struct batch b;
    memset(&b, 0, sizeof(b));
    b.o = o;
    b.t0 = now_s();
    b.per = o->per_guest ? o->per_guest : 1;
    if (b.per > PUPA_MAX_DEVICES)
        b.per = PUPA_MAX_DEVICES;

    /* jobs: one per `per` images; commands without images run one guest */
    b.njobs = o->nimages ? (o->nimages + b.per - 1) / b.per : 1;
    unsigned jobs = o->jobs ? o->jobs : 1;
    /* set-up every worker shares, done once here: the seccomp filter, KVM's CPUID
     * table (on failure each worker asks KVM itself) or the emulator library */
    if (o->sandbox && sandbox_prepare() != 0)
        return 1;
    if (o->accel == &accel_kvm_ops)
        accel_kvm_prepare();
    if (o->accel == &accel_emu_ops) {
        /* load the emulator once here; every worker inherits it */
        char err[256];
        if (accel_emu_preload(err, sizeof(err)) != 0) {
            pupa_err("%s", err);
            return 1;
        }
    }
    b.jobs = xcalloc(b.njobs, sizeof(*b.jobs));
    b.run_list = xcalloc(jobs, sizeof(*b.run_list));
    b.done_list = xcalloc(b.njobs, sizeof(*b.done_list));
    display_init(&b.display, o->progress, stderr, b.t0);
    b.overall.total = o->nimages ? o->nimages : 1;
    b.overall.show = o->lines;

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        die("cannot create a pipe: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    double stop_deadline = 0;
    for (;;) {
        while (!interrupted && !b.out_errno && b.running < jobs && b.next_start < b.njobs)
            job_start(&b, job_new(&b, b.next_start++));
        flush_results(&b);
        if (b.running == 0 && (interrupted || b.out_errno || b.next_start == b.njobs))
            break;

        struct pollfd pfd[257];
        struct job *owner[257];
        nfds_t n = 0;
        pfd[n].fd = signal_pipe[0];
        pfd[n].events = POLLIN;
        owner[n++] = NULL;
        for (size_t i = 0; i < b.running && n < 257; i++) {
            struct job *j = b.run_list[i];
            pfd[n].fd = j->rfd;
            pfd[n].events = POLLIN;
            owner[n++] = j;
        }
        int timeout_ms = b.display.mode == DISPLAY_TTY ? 67 : 500;
        int rc = poll(pfd, n, timeout_ms);
        if (rc < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (rc > 0 && (pfd[0].revents & POLLIN)) {
            char drain[64];
            while (read(signal_pipe[0], drain, sizeof(drain)) > 0)
                ;
        }
        for (nfds_t i = 1; rc > 0 && i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct job *j = owner[i];
            uint8_t buf[65536];
            ssize_t got = read(j->rfd, buf, sizeof(buf));
            if (got > 0) {
                if (!job_input(&b, j, buf, (size_t)got))
                    kill(j->pid, SIGKILL); /* a malformed record: the worker is broken */
                else if (j->result)
                    job_reap(&b, j);
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                job_reap(&b, j);
            }
        }
        double now = now_s();
        /* a worker stuck in host code gets killed well after the guest timeout */
        for (size_t i = 0; i < b.running; i++) {
            struct job *j = b.run_list[i];
            if (j->state == JOB_RUNNING && o->timeout_s > 0 && !j->killed &&
                now - j->t_start > o->timeout_s + 10) {
                kill(j->pid, SIGKILL);
                j->killed = true;
            }
        }
        if (interrupted || b.out_errno) {
            if (stop_deadline == 0) {
                stop_all(&b, SIGTERM);
                stop_deadline = now + 2;
            } else if (now > stop_deadline) {
                stop_all(&b, SIGKILL);
            }
        }
        reap_lingering(&b, false);
        struct status_job *list[64];
        size_t nlist;
        running_jobs(&b, list, &nlist);
        display_tick(&b.display, list, nlist, &b.overall, now, false);
    }
    flush_results(&b);
    if (interrupted || b.out_errno)
        reap_lingering(&b, true); /* after Ctrl-C nothing may be left behind */
    /* a single job keeps its final bar on screen; a batch keeps the overall line */
    struct status_job *last = b.njobs == 1 && b.jobs[0] ? &b.jobs[0]->st : NULL;
    display_close(&b.display, last ? &last : NULL, last ? 1 : 0, &b.overall, now_s());

    double elapsed = now_s() - b.t0;
    if (o->summary)
        fprintf(stderr,
                "pupa: %zu inspected, %zu failed, %zu unsafe, %.2f s elapsed, %.1f images/s%s\n",
                b.inspected, b.failed, b.overall.unsafe, elapsed,
                elapsed > 0 ? (double)b.inspected / elapsed : 0.0,
                interrupted ? " (interrupted)" : "");
    int code = b.exit_code;
    if (b.out_errno) {
        /* results were lost: never 0; a reader that went away (| head) needs no message */
        if (b.out_errno != EPIPE)
            pupa_err("error writing the results to standard output: %s", strerror(b.out_errno));
        code = 1;
    }
    if (code == 0 && o->require_safe && b.overall.unsafe > 0)
        code = 3;
    if (interrupted)
        code = 130;
    for (size_t i = 0; i < b.njobs; i++) {
        if (b.jobs[i]) {
            free(b.jobs[i]->error);
            free(b.jobs[i]);
        }
    }
    free(b.jobs);
    free(b.run_list);
    free(b.done_list);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
    return code;
}
