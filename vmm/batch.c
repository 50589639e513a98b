/* batch.c: the scheduler (see batch.h): start jobs N at a time, read their channels,
 * stop the ones that make no progress, print results in input order, count. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel.h"
#include "batch.h"
#include "budget.h"
#include "render.h"
#include "sandbox.h"
#include "util.h"
#include "vm.h"

#define STOP_GRACE_S 2.0 /* SIGTERM, then SIGKILL this much later */
#define MAX_POLL     (2 * 256 + 1)

struct batch {
    const struct batch_opts *o;
    size_t per, njobs, window;
    unsigned maxrun;
    struct job **ring; /* job idx lives at ring[idx % window] from start to print */
    size_t next_start, next_print;
    struct job **run_list; /* running jobs, in start order (at most -j) */
    size_t running;
    struct job **done_list; /* --unordered: done, not yet printed */
    size_t ndone;
    uint64_t held; /* result bytes of jobs done and not yet printed */
    struct display display;
    struct status_totals totals;
    size_t blocks;    /* human blocks printed (a blank line goes between two) */
    int out_errno;    /* stdout failed: stop like Ctrl-C */
    pid_t *lingering; /* workers done with their job, still exiting */
    size_t nlingering, cap_lingering;
    double t0, stop_at;
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

static bool stopping(const struct batch *b)
{
    return interrupted || b->out_errno;
}

/* ---------------------------------------------------------------- job start */

static size_t job_outcomes(const struct batch *b, const struct job *j)
{
    return b->o->op->takes_images ? j->nimg : 1;
}

static void on_frame(void *ctx, const pupa_GuestMessage *m, double now)
{
    struct job *j = ctx;
    struct batch *b = j->sched;
    display_frame(&b->display, &j->st, m, now);
}

static struct job *job_new(struct batch *b, size_t idx)
{
    const struct batch_opts *o = b->o;
    struct job *j = xcalloc(1, sizeof(*j));
    j->idx = idx;
    j->first = idx * b->per;
    j->nimg = o->nimages > j->first ? o->nimages - j->first : 0;
    if (j->nimg > b->per)
        j->nimg = b->per;
    for (size_t i = 0; i < j->nimg; i++) {
        j->names[i] = o->images[j->first + i];
        j->images[i].fd = -1;
        j->dev[i] = -1;
    }
    err_init(&j->err);
    j->sched = b;
    j->worker.pid = -1;
    j->worker.channel_fd = j->worker.diag_fd = -1;
    b->ring[idx % b->window] = j;
    return j;
}

static void job_label(const struct batch *b, const struct job *j, char *out, size_t cap)
{
    const char *first = j->nimg ? j->names[0] : b->o->operation;
    if (j->nimg > 1)
        snprintf(out, cap, "%s (+%zu)", first, j->nimg - 1);
    else
        snprintf(out, cap, "%s", first);
}

/* Open the job's images. An image that does not open gets its outcome now and stays
 * out of the guest (run's --disk: the whole run fails). Returns whether a guest has
 * anything to do. */
static bool open_images(struct batch *b, struct job *j)
{
    bool per_image = b->o->op->takes_images;
    for (size_t i = 0; i < j->nimg; i++) {
        struct pupa_error e;
        err_init(&e);
        if (image_open(&j->images[i], j->names[i], b->o->format, &e) == 0)
            j->dev[i] = (int)j->ndev++;
        else if (per_image)
            j->out[i] = (struct outcome){true, e.cls, xstrdup(e.msg), false, 0};
        else
            (void)err_set(&j->err, e.cls, "%s", e.msg);
    }
    return per_image ? j->ndev > 0 : j->err.cls == ERRC_NONE;
}

static void close_images(struct job *j)
{
    for (size_t i = 0; i < j->nimg; i++)
        image_close(&j->images[i]);
}

/* The disks in device order (images that did not open are left out). */
static void guest_disks(const struct job *j, struct image *disks)
{
    for (size_t i = 0; i < j->nimg; i++)
        if (j->dev[i] >= 0)
            disks[j->dev[i]] = j->images[i];
}

static uint32_t progress_percent(const struct batch_opts *o)
{
    if (o->op != &op_read && o->op != &op_run)
        return 0;
    return o->progress == DISPLAY_TTY || o->progress == DISPLAY_JSON ? 1
           : o->progress == DISPLAY_PLAIN                            ? 10
                                                                     : 0;
}

static int fork_worker(struct batch *b, struct job *j, struct pupa_error *err)
{
    const struct batch_opts *o = b->o;
    struct image disks[PUPA_MAX_DEVICES];
    guest_disks(j, disks);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return err_set(err, ERRC_RESOURCES, "cannot map memory: %s", strerror(errno));
    j->activity = page;
    struct worker_spec spec = {
        .accel = o->accel,
        .ram_size = o->ram_size,
        .elf = o->elf,
        .elf_len = o->elf_len,
        .operation = o->operation,
        .format = o->format,
        .filename = o->op == &op_info ? j->names[0] : NULL,
        .sha256 = o->sha256,
        .progress_percent = progress_percent(o),
        .sector_size = o->sector_size,
        .images = disks,
        .nimages = j->ndev,
        .guest_log = o->guest_log != NULL,
        .verbose = o->verbose,
        .sandbox = o->sandbox,
        .activity = j->activity,
    };
    int rc = worker_start(&spec, &j->worker, err);
    /* later workers must not see this one's page */
    (void)madvise(page, 4096, MADV_DONTFORK);
    if (rc == 0)
        (void)fcntl(j->worker.diag_fd, F_SETFL, O_NONBLOCK);
    return rc;
}

static void job_conclude(struct batch *b, struct job *j);

static void job_start(struct batch *b, size_t idx)
{
    struct job *j = job_new(b, idx);
    char label[256];
    double now = now_s();
    job_label(b, j, label, sizeof(label));
    status_job_init(&j->st, label, b->o->operation, now);
    j->st.no_result = !b->o->op->builds_result;
    j->t_start = j->t_active = now;
    j->phase = JOB_RUNNING;
    if (!open_images(b, j)) {
        close_images(j);
        job_conclude(b, j); /* nothing to boot a guest for */
        return;
    }
    if (fork_worker(b, j, &j->err) != 0) {
        close_images(j);
        job_conclude(b, j);
        return;
    }
    close_images(j); /* the worker has them */
    j->intake = intake_new(&j->st, on_frame, j);
    channel_reader_init(&j->channel);
    b->run_list[b->running++] = j;
    display_job_start(&b->display, &j->st, b->o->accel->name, now);
}

/* ---------------------------------------------------------------- job end */

static void linger(struct batch *b, pid_t pid)
{
    if (b->nlingering == b->cap_lingering) {
        b->cap_lingering = b->cap_lingering ? 2 * b->cap_lingering : 64;
        b->lingering = xrealloc(b->lingering, b->cap_lingering * sizeof(*b->lingering));
    }
    b->lingering[b->nlingering++] = pid;
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

static void diag_bytes(struct batch *b, struct job *j, const char *p, size_t n);

/* The worker's last diagnostics: whatever is left in its stderr pipe. */
static void drain_diag(struct batch *b, struct job *j)
{
    char buf[4096];
    ssize_t got;
    while (j->worker.diag_fd >= 0 && (got = read(j->worker.diag_fd, buf, sizeof(buf))) > 0)
        diag_bytes(b, j, buf, (size_t)got);
    if (j->diag_len)
        diag_bytes(b, j, "\n", 1);
}

/* Why a worker that sent no result ended. */
static void worker_gone(struct job *j, int status)
{
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (sig == SIGSYS)
        (void)err_set(&j->err, ERRC_GUEST_FAILURE,
                      "worker stopped by its sandbox (forbidden system call)");
    else if (sig)
        (void)err_set(&j->err, ERRC_GUEST_FAILURE, "worker died (%s)", strsignal(sig));
    else
        (void)err_set(&j->err, ERRC_GUEST_FAILURE, "worker exited without a result");
}

/* The job's worker is done: its result arrived, its pipe closed, or its channel broke.
 * A worker that delivered its result is not waited for (tearing down its VM takes
 * milliseconds nobody needs to wait for); it is reaped later. */
static void job_reap(struct batch *b, struct job *j)
{
    drain_diag(b, j);
    close(j->worker.channel_fd);
    if (j->worker.diag_fd >= 0)
        close(j->worker.diag_fd);
    j->worker.channel_fd = j->worker.diag_fd = -1;
    if (!j->have_res || j->err.cls != ERRC_NONE)
        kill(j->worker.pid, SIGKILL); /* a broken channel: nothing it says counts any more */
    int status = 0;
    pid_t got;
    do {
        got = waitpid(j->worker.pid, &status, j->have_res ? WNOHANG : 0);
    } while (got < 0 && errno == EINTR);
    if (got == 0)
        linger(b, j->worker.pid);
    else if (!j->have_res && got > 0)
        worker_gone(j, status);
    /* a guest that exited in the middle of a frame broke the protocol (err says so) */
    if (j->have_res && j->res.state == VM_EXITED && intake_end(j->intake, &j->err) != 0)
        j->st.result.broken = true;
    size_t k = 0;
    while (b->run_list[k] != j)
        k++;
    memmove(b->run_list + k, b->run_list + k + 1, (b->running - k - 1) * sizeof(*b->run_list));
    b->running--;
    munmap((void *)j->activity, 4096);
    j->activity = NULL;
    job_conclude(b, j);
}

/* Outcomes decided, counted; everything but what printing needs is freed. */
static void job_conclude(struct batch *b, struct job *j)
{
    const struct batch_opts *o = b->o;
    double now = now_s();
    o->op->conclude(j, o);
    size_t n = job_outcomes(b, j);
    for (size_t i = 0; i < n; i++)
        status_totals_add(&b->totals, &j->out[i]);
    status_job_end(&j->st, j->out, n, now);
    if (o->stats && j->have_res) {
        display_clear(&b->display);
        render_stats(stderr, j, o);
    }
    if (j->st.suppressed) {
        char *note = xasprintf("%s: %u more lines suppressed", j->st.label, j->st.suppressed);
        display_note(&b->display, &j->st, note, now);
        free(note);
    }
    intake_free(j->intake);
    j->intake = NULL;
    j->held = j->st.result.bytes;
    b->held += j->held;
    j->phase = JOB_DONE;
    if (o->unordered)
        b->done_list[b->ndone++] = j;
}

/* ---------------------------------------------------------------- printing */

static void job_free(struct job *j)
{
    for (size_t k = 0; k < PUPA_MAX_DEVICES; k++)
        free(j->out[k].error);
    status_job_free(&j->st);
    free(j);
}

static void write_stdout(struct batch *b, const char *s, size_t n)
{
    if (b->out_errno || n == 0)
        return;
    errno = 0;
    if (fwrite(s, 1, n, stdout) != n || fflush(stdout) != 0)
        b->out_errno = errno ? errno : EIO;
}

/* Write a done job's results (in its turn) and its error lines, then let it go. */
static void job_print(struct batch *b, struct job *j)
{
    const struct batch_opts *o = b->o;
    for (size_t i = 0; i < job_outcomes(b, j); i++) {
        if (j->out[i].cls != ERRC_NONE)
            display_note(&b->display, &j->st, j->out[i].error, now_s());
        struct strbuf out;
        sb_init(&out);
        if (render_is_block(j, i, o) && b->blocks++ > 0)
            sb_puts(&out, "\n");
        o->op->render(&out, j, i, o);
        if (out.len) {
            display_clear(&b->display);
            write_stdout(b, out.s, out.len);
        }
        sb_free(&out);
    }
    b->held -= j->held;
    j->phase = JOB_PRINTED;
    if (b->njobs == 1)
        return; /* a single job's final bar is drawn at the end */
    b->ring[j->idx % b->window] = NULL;
    job_free(j);
}

static void flush_results(struct batch *b)
{
    if (b->o->unordered) {
        for (size_t i = 0; i < b->ndone; i++)
            job_print(b, b->done_list[i]);
        b->ndone = 0;
    }
    /* in order: the head of the line first; with --unordered they are printed already */
    while (b->next_print < b->next_start) {
        struct job *j = b->ring[b->next_print % b->window];
        if (j && j->phase == JOB_DONE)
            job_print(b, j);
        else if (j && j->phase == JOB_RUNNING)
            break;
        b->next_print++;
    }
}

/* ---------------------------------------------------------------- the channel */

static int channel_bytes(void *ctx, enum channel_kind kind, const uint8_t *data, size_t n);
static void channel_result(void *ctx, const struct channel_result *r);
static const struct channel_ops channel_ops = {channel_bytes, channel_result};

/* The guest's log, copied where --guest-log says (capped; cleaned for a terminal). */
static void guest_log(struct batch *b, struct job *j, const uint8_t *data, size_t n)
{
    FILE *f = b->o->guest_log;
    if (!f || j->log_bytes >= BUDGET_LOG_BYTES)
        return;
    if (n > BUDGET_LOG_BYTES - j->log_bytes)
        n = (size_t)(BUDGET_LOG_BYTES - j->log_bytes);
    j->log_bytes += n;
    if (isatty(fileno(f))) {
        char *text = xmalloc(n + 1);
        memcpy(text, data, n);
        text[n] = '\0';
        sanitize_for_tty_keep_newline(text);
        fputs(text, f);
        free(text);
    } else {
        fwrite(data, 1, n, f);
    }
    if (j->log_bytes >= BUDGET_LOG_BYTES)
        fputs("\n[pupa: guest log capped]\n", f);
    fflush(f);
}

static int channel_bytes(void *ctx, enum channel_kind kind, const uint8_t *data, size_t n)
{
    struct job *j = ctx;
    if (kind == CHANNEL_LOG) {
        guest_log(j->sched, j, data, n);
        return 0;
    }
    return intake_com1(j->intake, data, n, now_s(), &j->err);
}

static void channel_result(void *ctx, const struct channel_result *r)
{
    struct job *j = ctx;
    j->res = *r;
    j->have_res = true;
}

/* Bytes from a worker's channel. */
static void job_input(struct batch *b, struct job *j)
{
    static uint8_t buf[65536];
    ssize_t got = read(j->worker.channel_fd, buf, sizeof(buf));
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (got > 0) {
        j->t_active = now_s();
        if (channel_feed(&j->channel, buf, (size_t)got, &channel_ops, j, &j->err) != 0 ||
            j->have_res)
            job_reap(b, j);
        return;
    }
    if (channel_end(&j->channel, &j->err) != 0)
        j->have_res = false; /* cut short: whatever came is not a result */
    job_reap(b, j);
}

/* ---------------------------------------------------------------- diagnostics */

/* One line the worker wrote to its stderr: named, cleaned, within the job's budget. */
static void diag_line(struct batch *b, struct job *j, const char *line)
{
    if (!status_line_allowed(&j->st, BUDGET_STDERR_LINES))
        return;
    if (strncmp(line, "pupa: ", 6) == 0)
        line += 6; /* the worker's own prefix: the note gets one, with the image's name */
    char *note = xasprintf("%s: %s", j->st.label, line);
    display_note(&b->display, &j->st, note, now_s());
    free(note);
}

static void diag_bytes(struct batch *b, struct job *j, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool end = p[i] == '\n';
        if (!end)
            j->diag[j->diag_len++] = p[i];
        if (end || j->diag_len == BUDGET_DIAG_LINE_BYTES - 1) {
            j->diag[j->diag_len] = '\0';
            if (j->diag_len)
                diag_line(b, j, j->diag);
            j->diag_len = 0;
        }
    }
}

static void job_diag(struct batch *b, struct job *j)
{
    char buf[4096];
    ssize_t got = read(j->worker.diag_fd, buf, sizeof(buf));
    if (got > 0) {
        j->t_active = now_s();
        diag_bytes(b, j, buf, (size_t)got);
    } else if (got == 0) { /* closed: poll would report it ready in every round */
        close(j->worker.diag_fd);
        j->worker.diag_fd = -1;
    }
}

/* ---------------------------------------------------------------- time */

/* --timeout: a worker whose guest sent nothing and whose devices did nothing for that
 * long is stopped (SIGTERM, then SIGKILL). A guest that progresses runs on. */
static void check_activity(struct batch *b, struct job *j, double now)
{
    double limit = b->o->timeout_s;
    uint64_t seen = j->activity ? *j->activity : 0;
    if (seen != j->activity_seen) {
        j->activity_seen = seen;
        j->t_active = now;
    }
    if (limit > 0 && !j->stopping && now - j->t_active > limit) {
        (void)err_set(&j->err, ERRC_TIMEOUT,
                      "no progress for %g s: the guest sent nothing and read nothing (the limit "
                      "is --timeout=%g; 0 turns it off)",
                      limit, limit);
        kill(j->worker.pid, SIGTERM);
        j->stopping = true;
        j->t_stop = now;
    } else if (j->stopping && now - j->t_stop > STOP_GRACE_S) {
        kill(j->worker.pid, SIGKILL);
    }
}

static void check_time(struct batch *b, double now)
{
    for (size_t i = 0; i < b->running; i++)
        check_activity(b, b->run_list[i], now);
    if (!stopping(b))
        return;
    if (b->stop_at == 0) {
        b->stop_at = now;
        for (size_t i = 0; i < b->running; i++)
            kill(b->run_list[i]->worker.pid, SIGTERM);
    } else if (now - b->stop_at > STOP_GRACE_S) {
        for (size_t i = 0; i < b->running; i++)
            kill(b->run_list[i]->worker.pid, SIGKILL);
    }
}

/* ---------------------------------------------------------------- the loop */

/* May another guest start now? Not while stopping, over -j, past the window of
 * unprinted jobs, or while finished results waiting for their turn hold too much. */
static bool may_start(const struct batch *b)
{
    /* the ring slot of the next job is free once the job a window before it is printed */
    return !stopping(b) && b->running < b->maxrun && b->next_start < b->njobs &&
           !b->ring[b->next_start % b->window] && b->held <= BUDGET_HELD_BYTES;
}

/* Wait for the channels, the workers' stderr pipes, a signal or the next tick. Each
 * round reads every stderr pipe before any channel: a worker writes its diagnostics
 * before what follows them on its channel, and they are shown in that order. */
static void poll_once(struct batch *b)
{
    struct pollfd pfd[MAX_POLL];
    size_t nrun = b->running;
    struct job *owner[MAX_POLL / 2];
    nfds_t n = 0;
    pfd[n++] = (struct pollfd){signal_pipe[0], POLLIN, 0};
    for (size_t i = 0; i < nrun; i++)
        pfd[n++] = (struct pollfd){b->run_list[i]->worker.diag_fd, POLLIN, 0};
    for (size_t i = 0; i < nrun; i++) {
        owner[i] = b->run_list[i];
        pfd[n++] = (struct pollfd){b->run_list[i]->worker.channel_fd, POLLIN, 0};
    }
    int rc = poll(pfd, n, b->display.mode == DISPLAY_TTY ? 67 : 500);
    if (rc < 0 && errno != EINTR)
        die("poll: %s", strerror(errno));
    if (rc <= 0)
        return;
    if (pfd[0].revents & POLLIN) {
        char drain[64];
        while (read(signal_pipe[0], drain, sizeof(drain)) > 0)
            ;
    }
    const short ready = POLLIN | POLLHUP | POLLERR;
    for (size_t i = 0; i < nrun; i++) {
        if (pfd[1 + i].revents & ready)
            job_diag(b, owner[i]);
    }
    /* a job reaped by an earlier channel of this round has left the running phase */
    for (size_t i = 0; i < nrun; i++) {
        if ((pfd[1 + nrun + i].revents & ready) && owner[i]->phase == JOB_RUNNING)
            job_input(b, owner[i]);
    }
}

static void tick(struct batch *b, double now, bool force)
{
    struct status_job *list[64];
    size_t n = 0;
    for (size_t i = 0; i < b->running && n < 64; i++)
        list[n++] = &b->run_list[i]->st;
    display_tick(&b->display, list, n, b->o->lines ? &b->totals : NULL, now, force);
}

static void run_loop(struct batch *b)
{
    for (;;) {
        while (may_start(b))
            job_start(b, b->next_start++);
        flush_results(b);
        if (b->running == 0 && (stopping(b) || b->next_start == b->njobs))
            break;
        if (may_start(b))
            continue; /* printing made room: start more before waiting */
        poll_once(b);
        double now = now_s();
        check_time(b, now);
        reap_lingering(b, false);
        tick(b, now, false);
    }
    flush_results(b);
}

/* ---------------------------------------------------------------- set-up, end */

static int prepare(struct batch *b)
{
    const struct batch_opts *o = b->o;
    /* set-up every worker shares, done once here: the seccomp filter, KVM's CPUID
     * table, the emulator library */
    if (o->sandbox && sandbox_prepare() != 0)
        return -1;
    struct pupa_error e;
    err_init(&e);
    if (accel_prepare(o->accel, &e) != 0) {
        pupa_err("%s", e.msg);
        return -1;
    }
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        die("cannot create a pipe: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int exit_code(const struct batch *b)
{
    int code = b->totals.failed ? 1 : 0;
    if (b->out_errno && b->out_errno != EPIPE)
        pupa_err("error writing the results to standard output: %s", strerror(b->out_errno));
    if (b->out_errno)
        code = 1; /* results were lost: never 0 */
    if (code == 0 && b->o->require_safe && b->totals.unsafe > 0)
        code = 3;
    if (interrupted)
        code = 130;
    return code;
}

static void finish(struct batch *b)
{
    const struct batch_opts *o = b->o;
    if (stopping(b))
        reap_lingering(b, true); /* after Ctrl-C nothing may be left behind */
    /* a single job keeps its final bar on screen; a batch keeps the overall line */
    struct status_job *last = b->njobs == 1 && b->ring[0] ? &b->ring[0]->st : NULL;
    display_close(&b->display, last ? &last : NULL, last ? 1 : 0, o->lines ? &b->totals : NULL,
                  now_s());
    b->totals.not_started = b->totals.total - b->totals.done;
    if (o->summary)
        render_summary(stderr, &b->totals, now_s() - b->t0, interrupted);
}

static void cleanup(struct batch *b)
{
    for (size_t i = 0; i < b->window; i++) {
        if (b->ring[i])
            job_free(b->ring[i]);
    }
    free(b->ring);
    free(b->run_list);
    free(b->done_list);
    free(b->lingering);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
}

int batch_run(const struct batch_opts *o)
{
    struct batch b;
    memset(&b, 0, sizeof(b));
    b.o = o;
    b.t0 = now_s();
    b.per = o->op->one_per_guest || o->per_guest == 0 ? 1 : o->per_guest;
    if (b.per > PUPA_MAX_DEVICES)
        b.per = PUPA_MAX_DEVICES;
    /* one job per `per` images; commands without images run one guest */
    b.njobs = o->op->takes_images ? (o->nimages + b.per - 1) / b.per : 1;
    b.maxrun = o->jobs ? o->jobs : 1;
    b.window = BUDGET_WINDOW(b.maxrun);
    b.totals.total = o->op->takes_images ? o->nimages : 1;
    if (prepare(&b) != 0)
        return 1;
    b.ring = xcalloc(b.window, sizeof(*b.ring));
    b.run_list = xcalloc(b.maxrun, sizeof(*b.run_list));
    b.done_list = xcalloc(b.window, sizeof(*b.done_list));
    display_init(&b.display, o->progress, stderr, b.t0);
    run_loop(&b);
    finish(&b);
    int code = exit_code(&b);
    bool broken_pipe = b.out_errno == EPIPE;
    cleanup(&b);
    if (broken_pipe) { /* like coreutils: a reader that went away ends us quietly */
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    return code;
}
