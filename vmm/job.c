/* job.c: one job's life in the parent (see job.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel.h"
#include "batch.h"
#include "budget.h"
#include "job.h"
#include "render.h"
#include "util.h"
#include "vm.h"

#define ACTIVITY_PAGE 4096

/* ---------------------------------------------------------------- start */

struct job *job_new(const struct job_env *env, size_t idx, size_t per)
{
    const struct batch_opts *o = env->o;
    struct job *j = xcalloc(1, sizeof(*j));
    j->env = env;
    j->idx = idx;
    j->first = idx * per;
    j->nimg = o->nimages > j->first ? o->nimages - j->first : 0;
    if (j->nimg > per)
        j->nimg = per;
    for (size_t i = 0; i < j->nimg; i++) {
        j->names[i] = o->images[j->first + i];
        j->images[i].fd = -1;
        j->dev[i] = -1;
    }
    err_init(&j->err);
    j->worker.pid = -1;
    j->worker.channel_fd = j->worker.diag_fd = -1;
    char label[256];
    const char *first = j->nimg ? j->names[0] : o->operation;
    if (j->nimg > 1)
        snprintf(label, sizeof(label), "%s (+%zu)", first, j->nimg - 1);
    else
        snprintf(label, sizeof(label), "%s", first);
    double now = now_s();
    status_job_init(&j->st, label, o->operation, now);
    j->st.no_result = !o->op->builds_result;
    j->st.result.block = o->op->block;
    j->t_start = j->t_active = now;
    j->phase = JOB_RUNNING;
    return j;
}

void job_free(struct job *j)
{
    for (size_t k = 0; k < PUPA_MAX_DEVICES; k++)
        free(j->out[k].error);
    intake_free(j->intake);
    status_job_free(&j->st);
    free(j);
}

size_t job_outcomes(const struct job *j)
{
    const struct op_def *op = j->env->o->op;
    if (op->group > 1)
        return 1;
    return op->takes_images ? j->nimg : 1;
}

/* A block operation's disks, in the guest's order: each image, then the backing files
 * the command line gave for it (opened like images, never a file an image names).
 * false with the outcome set when one does not open or they are too many. */
static bool open_block_disks(struct job *j)
{
    const struct batch_opts *o = j->env->o;
    struct outcome *out = &j->out[0];
    for (size_t k = 0; k < j->nimg && k < 2; k++) {
        if (j->dev[k] < 0)
            return false;
        size_t need = 1 + o->nbacking[k];
        if (j->ndisks + need > PUPA_MAX_DEVICES) {
            *out = (struct outcome){true,
                                    ERRC_UNSUPPORTED,
                                    xasprintf("%s: more than %d disks with its backing files",
                                              j->names[k], PUPA_MAX_DEVICES),
                                    false,
                                    0,
                                    2};
            return false;
        }
        j->disk[j->ndisks] = j->images[k];
        j->images[k].fd = -1; /* the disk list owns it now */
        j->disk_info[j->ndisks++] =
            (struct worker_disk){(uint32_t)k, 0, k ? o->format2 : o->format, j->names[k]};
        for (size_t b = 0; b < o->nbacking[k]; b++) {
            struct pupa_error e;
            err_init(&e);
            if (image_open(&j->disk[j->ndisks], o->backing[k][b], NULL, &e) != 0) {
                *out = (struct outcome){true, e.cls, xstrdup(e.msg), false, 0, 2};
                return false;
            }
            j->disk_info[j->ndisks++] =
                (struct worker_disk){(uint32_t)k, (uint32_t)(b + 1), NULL, o->backing[k][b]};
        }
    }
    return true;
}

/* Open the job's images. An image that does not open gets its outcome now and stays
 * out of the guest (run's --disk: the whole run fails). Returns whether a guest has
 * anything to do. */
static bool open_images(struct job *j)
{
    const struct batch_opts *o = j->env->o;
    bool per_image = o->op->takes_images, pair = o->op->group > 1;
    for (size_t i = 0; i < j->nimg; i++) {
        struct pupa_error e;
        err_init(&e);
        const char *format = pair && i == 1 ? o->format2 : o->format;
        if (image_open(&j->images[i], j->names[i], format, &e) == 0)
            j->dev[i] = (int)j->ndev++;
        else if (pair) /* the pair's one outcome: qemu-img compare's status 2 */
            j->out[0] = j->out[0].decided
                            ? j->out[0]
                            : (struct outcome){true, e.cls, xstrdup(e.msg), false, 0, 2};
        else if (per_image)
            j->out[i] = (struct outcome){true, e.cls, xstrdup(e.msg), false, 0, 0};
        else
            (void)err_set(&j->err, e.cls, "%s", e.msg);
    }
    if (o->op->block)
        return !j->out[0].decided && open_block_disks(j);
    return per_image ? j->ndev > 0 : j->err.cls == ERRC_NONE;
}

static void close_images(struct job *j)
{
    for (size_t i = 0; i < j->nimg; i++)
        image_close(&j->images[i]);
    for (size_t i = 0; i < j->ndisks; i++)
        image_close(&j->disk[i]);
}

static uint32_t progress_percent(const struct batch_opts *o)
{
    /* a block operation can compute for long without reading (a map of many small
     * clusters): its progress frames are what --timeout sees of it */
    if (o->op->block && o->progress != DISPLAY_TTY && o->progress != DISPLAY_JSON)
        return o->progress == DISPLAY_PLAIN ? 10 : 1;
    if (o->op != &op_read && o->op != &op_run && !o->op->block)
        return 0;
    return o->progress == DISPLAY_TTY || o->progress == DISPLAY_JSON ? 1
           : o->progress == DISPLAY_PLAIN                            ? 10
                                                                     : 0;
}

static void on_frame(void *ctx, const pupa_GuestMessage *m, double now)
{
    struct job *j = ctx;
    display_frame(j->env->display, &j->st, m, now);
}

static int fork_worker(struct job *j, struct pupa_error *err)
{
    const struct batch_opts *o = j->env->o;
    struct image disks[PUPA_MAX_DEVICES]; /* in device order: images that opened */
    for (size_t i = 0; i < j->nimg; i++)
        if (j->dev[i] >= 0)
            disks[j->dev[i]] = j->images[i];
    void *page =
        mmap(NULL, ACTIVITY_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return err_set(err, ERRC_RESOURCES, "cannot map memory: %s", strerror(errno));
    j->activity = page;
    bool block = o->op->block;
    struct worker_spec spec = {
        .accel = o->accel,
        .ram_size = o->ram_size,
        .elf = o->elf,
        .elf_len = o->elf_len,
        .operation = o->operation,
        .format = o->format,
        .filename = o->op == &op_info || block ? j->names[0] : NULL,
        .sha256 = o->sha256,
        .progress_percent = progress_percent(o),
        .sector_size = o->sector_size,
        .images = block ? j->disk : disks,
        .nimages = block ? j->ndisks : j->ndev,
        .disks = block ? j->disk_info : NULL,
        .start_offset = o->start_offset,
        .max_length = o->max_length,
        .has_max_length = o->has_max_length,
        .strict = o->strict,
        .require_safe = o->require_safe,
        .virtual_disk = o->op == &op_read_virtual,
        .guest_log = o->guest_log != NULL,
        .verbose = o->verbose,
        .sandbox = o->sandbox,
        .activity = j->activity,
    };
    int rc = worker_start(&spec, &j->worker, err);
    /* workers forked later must not see this one's page */
    (void)madvise(page, ACTIVITY_PAGE, MADV_DONTFORK);
    if (rc == 0)
        (void)fcntl(j->worker.diag_fd, F_SETFL, O_NONBLOCK);
    return rc;
}

bool job_launch(struct job *j)
{
    bool ok = open_images(j) && fork_worker(j, &j->err) == 0;
    close_images(j); /* the worker has them */
    if (!ok)
        return false;
    j->intake = intake_new(&j->st, on_frame, j);
    channel_reader_init(&j->channel);
    display_job_start(j->env->display, &j->st, j->env->o->accel->name, j->t_start);
    return true;
}

/* ---------------------------------------------------------------- the channel */

/* The guest's log, copied where --guest-log says (capped; cleaned for a terminal). */
static void guest_log(struct job *j, const uint8_t *data, size_t n)
{
    FILE *f = j->env->o->guest_log;
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
        guest_log(j, data, n);
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

static const struct channel_ops channel_ops = {channel_bytes, channel_result};

bool job_read_channel(struct job *j)
{
    static uint8_t buf[65536];
    ssize_t got = read(j->worker.channel_fd, buf, sizeof(buf));
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return false;
    if (got > 0) {
        j->t_active = now_s();
        return channel_feed(&j->channel, buf, (size_t)got, &channel_ops, j, &j->err) != 0 ||
               j->have_res;
    }
    if (channel_end(&j->channel, &j->err) != 0)
        j->have_res = false; /* cut short: whatever came is not a result */
    return true;
}

/* ---------------------------------------------------------------- diagnostics */

/* One line the worker wrote to its stderr: named, cleaned, within the job's budget. */
static void diag_line(struct job *j, const char *line)
{
    if (!status_line_allowed(&j->st, BUDGET_STDERR_LINES))
        return;
    if (strncmp(line, "pupa: ", 6) == 0)
        line += 6; /* the worker's own prefix: the note gets one, with the image's name */
    char *note = xasprintf("%s: %s", j->st.label, line);
    display_note(j->env->display, &j->st, note, now_s());
    free(note);
}

static void diag_bytes(struct job *j, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool end = p[i] == '\n';
        if (!end)
            j->diag[j->diag_len++] = p[i];
        if (end || j->diag_len == BUDGET_DIAG_LINE_BYTES - 1) {
            j->diag[j->diag_len] = '\0';
            if (j->diag_len)
                diag_line(j, j->diag);
            j->diag_len = 0;
        }
    }
}

void job_read_diag(struct job *j)
{
    char buf[4096];
    ssize_t got = read(j->worker.diag_fd, buf, sizeof(buf));
    if (got > 0) {
        j->t_active = now_s();
        diag_bytes(j, buf, (size_t)got);
    } else if (got == 0) { /* closed: poll would report it ready in every round */
        close(j->worker.diag_fd);
        j->worker.diag_fd = -1;
    }
}

/* ---------------------------------------------------------------- time */

void job_check_activity(struct job *j, double now, double grace)
{
    double limit = j->env->o->timeout_s;
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
    } else if (j->stopping && now - j->t_stop > grace) {
        kill(j->worker.pid, SIGKILL);
    }
}

/* ---------------------------------------------------------------- end */

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

/* The worker's last diagnostics: whatever is left in its stderr pipe. */
static void drain_diag(struct job *j)
{
    char buf[4096];
    ssize_t got;
    while (j->worker.diag_fd >= 0 && (got = read(j->worker.diag_fd, buf, sizeof(buf))) > 0)
        diag_bytes(j, buf, (size_t)got);
    if (j->diag_len)
        diag_bytes(j, "\n", 1);
}

pid_t job_reap(struct job *j)
{
    drain_diag(j);
    close(j->worker.channel_fd);
    if (j->worker.diag_fd >= 0)
        close(j->worker.diag_fd);
    j->worker.channel_fd = j->worker.diag_fd = -1;
    /* a broken channel: nothing the worker says counts any more (killed before it is
     * waited for, so the pid cannot have been reused) */
    if (!j->have_res || j->err.cls != ERRC_NONE)
        kill(j->worker.pid, SIGKILL);
    int status = 0;
    pid_t got;
    do {
        got = waitpid(j->worker.pid, &status, j->have_res ? WNOHANG : 0);
    } while (got < 0 && errno == EINTR);
    if (!j->have_res && got > 0)
        worker_gone(j, status);
    /* a guest that exited in the middle of a frame broke the protocol (err says so) */
    if (j->have_res && j->res.state == VM_EXITED && intake_end(j->intake, &j->err) != 0)
        j->st.result.broken = true;
    munmap((void *)j->activity, ACTIVITY_PAGE);
    j->activity = NULL;
    return got == 0 ? j->worker.pid : 0;
}

void job_conclude(struct job *j)
{
    const struct batch_opts *o = j->env->o;
    double now = now_s();
    o->op->conclude(j, o);
    status_job_end(&j->st, j->out, job_outcomes(j), now);
    if (o->stats && j->have_res) {
        display_clear(j->env->display);
        render_stats(stderr, j, o);
    }
    if (j->st.suppressed) {
        char *note = xasprintf("%s: %u more lines suppressed", j->st.label, j->st.suppressed);
        display_note(j->env->display, &j->st, note, now);
        free(note);
    }
    intake_free(j->intake);
    j->intake = NULL;
    j->held = j->st.result.bytes;
    j->phase = JOB_DONE;
}
