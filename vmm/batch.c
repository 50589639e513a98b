/* batch.c: the scheduler (see batch.h): start jobs N at a time, wait on their
 * channels, stop the ones that make no progress, print results in input order, count.
 * What a single job does in the parent is job.c's. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel.h"
#include "batch.h"
#include "budget.h"
#include "render.h"
#include "sandbox.h"
#include "util.h"

#define STOP_GRACE_S 2.0 /* SIGTERM, then SIGKILL this much later */
#define MAX_RUNNING  256 /* -j's largest value (cli.c) */

struct batch {
    const struct batch_opts *o;
    struct job_env env;
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

/* ---------------------------------------------------------------- job ends */

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

/* The job is over: decide and count its outcomes; it waits for its turn to print. */
static void job_done(struct batch *b, struct job *j)
{
    job_conclude(j);
    for (size_t i = 0; i < job_outcomes(j); i++)
        status_totals_add(&b->totals, &j->out[i]);
    b->held += j->held;
    if (b->o->unordered)
        b->done_list[b->ndone++] = j;
}

/* A running job's worker is done. */
static void job_ended(struct batch *b, struct job *j)
{
    pid_t still = job_reap(j);
    if (still)
        linger(b, still); /* not waited for: tearing down its VM takes time nobody needs */
    size_t k = 0;
    while (b->run_list[k] != j)
        k++;
    memmove(b->run_list + k, b->run_list + k + 1, (b->running - k - 1) * sizeof(*b->run_list));
    b->running--;
    job_done(b, j);
}

static void start_job(struct batch *b)
{
    size_t idx = b->next_start++;
    struct job *j = job_new(&b->env, idx, b->per);
    b->ring[idx % b->window] = j;
    if (job_launch(j))
        b->run_list[b->running++] = j;
    else
        job_done(b, j); /* nothing to boot a guest for */
}

/* ---------------------------------------------------------------- printing */

static void write_stdout(struct batch *b, const char *s, size_t n)
{
    if (b->out_errno || n == 0)
        return;
    errno = 0;
    if (fwrite(s, 1, n, stdout) != n || fflush(stdout) != 0)
        b->out_errno = errno ? errno : EIO;
}

/* Stderr lines first (errors, --require-safe's verdicts), then the result on stdout. */
static void print_outcome(struct batch *b, struct job *j, size_t i)
{
    const struct batch_opts *o = b->o;
    if (j->out[i].cls != ERRC_NONE)
        display_note(&b->display, &j->st, j->out[i].error, now_s());
    if (o->require_safe && j->out[i].cls == ERRC_NONE && j->out[i].unsafe) {
        char *note = render_unsafe_note(j, i); /* a CI log says which image failed */
        display_note(&b->display, &j->st, note, now_s());
        free(note);
    }
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

/* Print a done job (in its turn) and let it go. */
static void job_print(struct batch *b, struct job *j)
{
    for (size_t i = 0; i < job_outcomes(j); i++)
        print_outcome(b, j, i);
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
    /* in order: the head of the line first (with --unordered: already printed) */
    while (b->next_print < b->next_start) {
        struct job *j = b->ring[b->next_print % b->window];
        if (j && j->phase == JOB_DONE)
            job_print(b, j);
        else if (j && j->phase == JOB_RUNNING)
            break;
        b->next_print++;
    }
}

/* ---------------------------------------------------------------- the loop */

/* May another guest start now? Not while stopping, over -j, past the window of
 * unprinted jobs (its ring slot is free once the job a window before it is printed),
 * or while finished results waiting for their turn hold too much. */
static bool may_start(const struct batch *b)
{
    return !stopping(b) && b->running < b->maxrun && b->next_start < b->njobs &&
           !b->ring[b->next_start % b->window] && b->held <= BUDGET_HELD_BYTES;
}

/* Wait for the channels, the workers' stderr pipes, a signal or the next tick. Each
 * round reads every stderr pipe before any channel: a worker writes its diagnostics
 * before what follows them on its channel, and they are shown in that order. */
static void poll_once(struct batch *b)
{
    struct pollfd pfd[1 + 2 * MAX_RUNNING];
    struct job *owner[MAX_RUNNING];
    size_t nrun = b->running;
    nfds_t n = 0;
    pfd[n++] = (struct pollfd){signal_pipe[0], POLLIN, 0};
    for (size_t i = 0; i < nrun; i++) {
        owner[i] = b->run_list[i];
        pfd[n++] = (struct pollfd){owner[i]->worker.diag_fd, POLLIN, 0};
    }
    for (size_t i = 0; i < nrun; i++)
        pfd[n++] = (struct pollfd){owner[i]->worker.channel_fd, POLLIN, 0};
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
            job_read_diag(owner[i]);
    }
    for (size_t i = 0; i < nrun; i++) {
        if ((pfd[1 + nrun + i].revents & ready) && job_read_channel(owner[i]))
            job_ended(b, owner[i]);
    }
}

static void check_time(struct batch *b, double now)
{
    for (size_t i = 0; i < b->running; i++)
        job_check_activity(b->run_list[i], now, STOP_GRACE_S);
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

static void tick(struct batch *b, double now)
{
    struct status_job *list[64];
    size_t n = 0;
    for (size_t i = 0; i < b->running && n < 64; i++)
        list[n++] = &b->run_list[i]->st;
    display_tick(&b->display, list, n, b->o->lines ? &b->totals : NULL, now, false);
}

static void run_loop(struct batch *b)
{
    for (;;) {
        while (may_start(b))
            start_job(b);
        flush_results(b);
        if (b->running == 0 && (stopping(b) || b->next_start == b->njobs))
            break;
        if (may_start(b))
            continue; /* printing made room: start more before waiting */
        poll_once(b);
        double now = now_s();
        check_time(b, now);
        reap_lingering(b, false);
        tick(b, now);
    }
    flush_results(b);
}

/* ---------------------------------------------------------------- set-up, end */

static int prepare(struct batch *b)
{
    const struct batch_opts *o = b->o;
    /* set-up every worker shares, done once here: the sandbox's checks, KVM's CPUID
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
    /* compare: qemu-img's statuses, the worst pair's */
    int code = b->o->op->own_exit ? b->totals.max_status : b->totals.failed ? 1 : 0;
    if (b->out_errno && b->out_errno != EPIPE)
        pupa_err("error writing the results to standard output: %s", strerror(b->out_errno));
    if (b->out_errno)
        code = 1; /* results were lost: never 0 */
    if (code == 0 && b->o->require_safe && b->totals.unsafe > 0)
        code = b->o->op->own_exit ? 2 : 3;
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
    b.env = (struct job_env){o, &b.display};
    b.t0 = now_s();
    b.per = o->op->one_per_guest || o->per_guest == 0 ? 1 : o->per_guest;
    if (o->op->group > 1)
        b.per = o->op->group; /* compare: a pair per guest */
    if (b.per > PUPA_MAX_DEVICES)
        b.per = PUPA_MAX_DEVICES;
    /* one job per `per` images; commands without images run one guest */
    b.njobs = o->op->takes_images ? (o->nimages + b.per - 1) / b.per : 1;
    b.maxrun = o->jobs ? (o->jobs < MAX_RUNNING ? o->jobs : MAX_RUNNING) : 1;
    b.window = BUDGET_WINDOW(b.maxrun);
    b.totals.total = o->op->takes_images ? o->nimages / (o->op->group ? o->op->group : 1) : 1;
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
