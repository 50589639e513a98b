/* worker.c: one forked worker runs one throwaway guest (see worker.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "channel.h"
#include "sandbox.h"
#include "serial.h"
#include "util.h"
#include "virtio_blk.h"
#include "vm.h"
#include "worker.h"

#define LOG_TAIL 4096 /* the end of the guest's log, for the last line in an error */

struct run {
    const struct worker_spec *spec;
    int wfd;
    struct vm vm;
    struct serial com1, com2;
    struct serial_bulk bulk;
    struct virtio_blk *blk[PUPA_MAX_DEVICES];
    uint64_t log_sent;
    char log_tail[LOG_TAIL];
    size_t log_len;
    struct channel_result res;
};

/* The parent is gone or broke the pipe: nothing is left to report to. */
static void send_or_exit(struct run *r, enum channel_kind kind, const void *data, size_t len)
{
    if (channel_put(r->wfd, kind, data, len) != 0)
        _exit(3);
}

/* COM1: every byte the guest writes goes to the parent as it came; the parent decodes
 * the frames (one decoder, in the process the guest cannot reach). */
static void com1_tx(void *ctx, const uint8_t *data, size_t len)
{
    send_or_exit(ctx, CHANNEL_COM1, data, len);
}

static void keep_tail(struct run *r, const uint8_t *data, size_t len)
{
    if (len >= LOG_TAIL - 1) {
        memcpy(r->log_tail, data + len - (LOG_TAIL - 1), LOG_TAIL - 1);
        r->log_len = LOG_TAIL - 1;
        return;
    }
    if (r->log_len + len > LOG_TAIL - 1) {
        size_t drop = r->log_len + len - (LOG_TAIL - 1);
        memmove(r->log_tail, r->log_tail + drop, r->log_len - drop);
        r->log_len -= drop;
    }
    memcpy(r->log_tail + r->log_len, data, len);
    r->log_len += len;
}

/* COM2, the guest's log: its tail for error messages, and the bytes themselves
 * (capped) when the user asked for them with --guest-log. */
static void com2_tx(void *ctx, const uint8_t *data, size_t len)
{
    struct run *r = ctx;
    keep_tail(r, data, len);
    if (r->spec->guest_log && r->log_sent < WORKER_LOG_CAP) {
        size_t n = len < WORKER_LOG_CAP - r->log_sent ? len : WORKER_LOG_CAP - r->log_sent;
        send_or_exit(r, CHANNEL_LOG, data, n);
        r->log_sent += n;
    }
}

/* The last non-empty line of the guest's log. */
static void last_log_line(struct run *r, char *out, size_t cap)
{
    r->log_tail[r->log_len] = '\0';
    char *end = r->log_tail + r->log_len;
    while (end > r->log_tail && (end[-1] == '\n' || end[-1] == '\r'))
        *--end = '\0';
    char *start = end;
    while (start > r->log_tail && start[-1] != '\n')
        start--;
    snprintf(out, cap, "%s", start);
}

static void describe_outcome(struct run *r)
{
    struct channel_result *res = &r->res;
    char line[256];
    last_log_line(r, line, sizeof(line));
    const char *sep = line[0] ? ": " : "";
    res->error[0] = '\0';
    if (res->state == VM_EXITED && res->exit_status == PUPA_EXIT_BAD_CONFIG)
        snprintf(res->error, sizeof(res->error), "guest could not read its configuration%s%s", sep,
                 line);
    else if (res->state == VM_EXITED && res->exit_status == PUPA_EXIT_PANIC)
        snprintf(res->error, sizeof(res->error), "guest gave up%s%s", sep, line);
    else if (res->state == VM_EXITED && res->exit_status != PUPA_EXIT_OK)
        snprintf(res->error, sizeof(res->error), "guest exited with status %d", res->exit_status);
    else if (res->state == VM_STOPPED)
        snprintf(res->error, sizeof(res->error), "interrupted");
    else if (res->state != VM_EXITED)
        snprintf(res->error, sizeof(res->error), "%s", r->vm.fail[0] ? r->vm.fail : "guest failed");
}

/* VmmConfig: what the guest is asked to do, sent on COM1 before it starts. */
static int encode_config(const struct worker_spec *s, uint8_t *frame, size_t cap, size_t *len)
{
    static pupa_VmmConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    PUPA_STRLCPY(cfg.operation, s->operation);
    if (s->format)
        PUPA_STRLCPY(cfg.format, s->format);
    if (s->filename)
        PUPA_STRLCPY(cfg.filename, s->filename);
    cfg.sha256 = s->sha256;
    cfg.progress_percent = s->progress_percent;
    cfg.devices_count = (pb_size_t)s->nimages;
    for (size_t i = 0; i < s->nimages; i++) {
        pupa_DeviceConfig *d = &cfg.devices[i];
        pupa_device_name(d->name, (unsigned)i);
        d->sector_size = s->sector_size;
        d->size_bytes = s->images[i].size;
        d->allocated_bytes = s->images[i].actual;
        if (s->disks) {
            const struct worker_disk *w = &s->disks[i];
            d->image = w->image;
            d->layer = w->layer;
            if (w->format)
                PUPA_STRLCPY(d->format, w->format);
            size_t n = strlen(w->filename); /* its last bytes: the name's end is what counts */
            PUPA_STRLCPY(d->filename,
                         w->filename +
                             (n < sizeof(d->filename) ? 0 : n - (sizeof(d->filename) - 1)));
        }
    }
    cfg.start_offset = s->start_offset;
    cfg.max_length = s->max_length;
    cfg.has_max_length = s->has_max_length;
    cfg.strict = s->strict;
    cfg.require_safe = s->require_safe;
    cfg.virtual_disk = s->virtual_disk;
    return pupa_frame_encode(pupa_VmmConfig_fields, &cfg, frame, cap, len) == PUPA_FRAME_OK ? 0
                                                                                            : -1;
}

/* The machine: RAM, UARTs, the bulk port, one virtio-blk device per image, the guest. */
static int build_machine(struct run *r, const uint8_t *config, size_t config_len)
{
    const struct worker_spec *s = r->spec;
    if (vm_create(&r->vm, s->accel, s->ram_size) != 0)
        return -1;
    r->vm.verbose = s->verbose;
    r->vm.activity = s->activity;
    serial_init(&r->com1, "COM1", com1_tx, r);
    serial_init(&r->com2, "COM2", com2_tx, r);
    serial_set_rx(&r->com1, config, config_len);
    serial_attach(&r->com1, &r->vm, PUPA_PORT_COM1);
    serial_attach(&r->com2, &r->vm, PUPA_PORT_COM2);
    serial_bulk_attach(&r->bulk, &r->vm, &r->com1, &r->com2);
    for (size_t i = 0; i < s->nimages && i < PUPA_MAX_DEVICES; i++)
        r->blk[i] =
            virtio_blk_create(&r->vm, (int)i, s->images[i].fd, s->images[i].size, s->sector_size);
    return vm_load_guest(&r->vm, s->elf, s->elf_len);
}

static void collect_stats(struct run *r)
{
    struct channel_result *res = &r->res;
    res->state = r->vm.state;
    res->exit_status = r->vm.exit_status;
    res->exits = r->vm.exits;
    res->posted = r->vm.posted;
    for (int i = 0; i < PUPA_MAX_DEVICES; i++) {
        if (!r->blk[i])
            continue;
        struct virtio_blk_stats bst;
        virtio_blk_stats(r->blk[i], &bst);
        res->bytes_read += bst.bytes_read;
        res->blk_requests += bst.requests;
        res->blk_notifies += bst.notifies;
        res->blk_errors += bst.errors;
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        res->peak_rss_kib = (uint64_t)ru.ru_maxrss;
}

/* Build, confine, run; the result says how it went. The VM is left for process exit
 * to tear down: the kernel frees it faster than we would. */
static void run_guest(struct run *r)
{
    static uint8_t config[PUPA_FRAME_MAX];
    size_t config_len = 0;
    uint64_t t0 = now_ns();
    r->res.state = VM_FAILED;
    if (encode_config(r->spec, config, sizeof(config), &config_len) != 0) {
        snprintf(r->res.error, sizeof(r->res.error), "cannot encode VmmConfig");
        return;
    }
    if (build_machine(r, config, config_len) != 0) {
        snprintf(r->res.error, sizeof(r->res.error), "%s", r->vm.fail);
        return;
    }
    /* the worker writes no file: its log goes to the parent on the channel */
    const struct sandbox_limits limits = {r->spec->accel, r->spec->ram_size, 0};
    if (r->spec->sandbox && sandbox_enter(&limits) != 0) {
        snprintf(r->res.error, sizeof(r->res.error), "cannot prepare the worker (sandbox)");
        return;
    }
    uint64_t t1 = now_ns();
    r->res.setup_ns = t1 - t0;
    /* no deadline here: the parent applies --timeout to the whole worker, by activity */
    (void)vm_run(&r->vm, 0);
    r->res.run_ns = now_ns() - t1;
    collect_stats(r);
    describe_outcome(r);
}

static void on_term(int sig)
{
    (void)sig;
    struct vm *vm = vm_running();
    if (vm)
        vm_interrupt(vm);
}

/* Descriptors: stderr becomes the diagnostics pipe; everything inherited that the
 * worker does not need (other workers' pipes, other images) is closed. */
static void setup_fds(const struct worker_spec *s, int wfd, int diag)
{
    if (dup2(diag, STDERR_FILENO) < 0)
        _exit(4);
    int keep[PUPA_MAX_DEVICES + 1], n = 0;
    keep[n++] = wfd;
    for (size_t i = 0; i < s->nimages && i < PUPA_MAX_DEVICES; i++)
        keep[n++] = s->images[i].fd;
    for (int a = 1; a < n; a++) /* ascending, to close the gaps between them */
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

static void worker_main(const struct worker_spec *s, int wfd, int diag)
{
    signal(SIGINT, SIG_IGN); /* the parent decides; it sends SIGTERM */
    signal(SIGPIPE, SIG_DFL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    setup_fds(s, wfd, diag);

    static struct run r;
    memset(&r, 0, sizeof(r));
    r.spec = s;
    r.wfd = wfd;
    run_guest(&r);
    send_or_exit(&r, CHANNEL_RESULT, &r.res, sizeof(r.res));
    _exit(0);
}

int worker_start(const struct worker_spec *spec, struct worker *w, struct pupa_error *err)
{
    int ch[2], diag[2];
    if (pipe2(ch, O_CLOEXEC) != 0)
        return err_set(err, ERRC_RESOURCES, "cannot create a pipe: %s", strerror(errno));
    if (pipe2(diag, O_CLOEXEC) != 0) {
        close(ch[0]);
        close(ch[1]);
        return err_set(err, ERRC_RESOURCES, "cannot create a pipe: %s", strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(ch[0]);
        close(diag[0]);
        worker_main(spec, ch[1], diag[1]);
    }
    close(ch[1]);
    close(diag[1]);
    if (pid < 0) {
        int e = errno;
        close(ch[0]);
        close(diag[0]);
        return err_set(err, ERRC_RESOURCES, "cannot start a worker: %s", strerror(e));
    }
    w->pid = pid;
    w->channel_fd = ch[0];
    w->diag_fd = diag[0];
    return 0;
}
