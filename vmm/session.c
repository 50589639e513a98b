/* session.c: run one throwaway guest and collect what it says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serial.h"
#include "session.h"
#include "util.h"
#include "virtio_blk.h"

const struct accel_ops *session_pick_accel(const char *name, char *err, size_t errlen)
{
    if (!name || strcmp(name, "auto") == 0)
        return accel_kvm_available() ? &accel_kvm_ops : &accel_emu_ops;
    if (strcmp(name, "kvm") == 0) {
        if (!accel_kvm_available()) {
            snprintf(err, errlen, "kvm: /dev/kvm is not usable here (%s); try --accel=emu",
                     access("/dev/kvm", F_OK) == 0 ? "no permission or wrong API" : "absent");
            return NULL;
        }
        return &accel_kvm_ops;
    }
    if (strcmp(name, "emu") == 0)
        return &accel_emu_ops;
    snprintf(err, errlen, "unknown accelerator '%s' (auto, kvm or emu)", name);
    return NULL;
}

struct session_state {
    struct vm vm;
    const struct session_opts *o;
    struct session_result *r;
    pupa_reader reader;
    pupa_GuestMessage msg;
    /* COM2: the last SESSION_LOG_TAIL bytes, and an optional capped stream */
    char log_ring[SESSION_LOG_TAIL];
    size_t log_len;
    uint64_t log_streamed;
};

static void on_frame(void *ctx, const void *msg)
{
    struct session_state *s = ctx;
    s->r->frames++;
    if (s->o->on_message)
        s->o->on_message(s->o->ctx, msg);
}

static void com1_tx(void *ctx, const uint8_t *data, size_t len)
{
    struct session_state *s = ctx;
    pupa_frame_status st = pupa_reader_feed(&s->reader, data, len, on_frame, s);
    if (s->o->on_batch_end)
        s->o->on_batch_end(s->o->ctx);
    if (st != PUPA_FRAME_OK) {
        vm_fail(&s->vm, "protocol error at byte %llu of the guest's frame stream: %s%s%s",
                (unsigned long long)s->reader.error_offset, pupa_frame_status_str(s->reader.error),
                s->reader.error_detail ? ": " : "",
                s->reader.error_detail ? s->reader.error_detail : "");
    }
}

static void com2_tx(void *ctx, const uint8_t *data, size_t len)
{
    struct session_state *s = ctx;
    FILE *f = s->o->guest_log;
    if (f && s->log_streamed < SESSION_LOG_STREAM_CAP) {
        size_t n = len;
        if (n > SESSION_LOG_STREAM_CAP - s->log_streamed)
            n = (size_t)(SESSION_LOG_STREAM_CAP - s->log_streamed);
        fwrite(data, 1, n, f);
        s->log_streamed += n;
        if (s->log_streamed >= SESSION_LOG_STREAM_CAP)
            fputs("\n[pupa: guest log capped]\n", f);
        fflush(f);
    }
    /* keep the tail in a fixed buffer whatever the guest sends */
    if (len >= SESSION_LOG_TAIL - 1) {
        memcpy(s->log_ring, data + len - (SESSION_LOG_TAIL - 1), SESSION_LOG_TAIL - 1);
        s->log_len = SESSION_LOG_TAIL - 1;
        return;
    }
    if (s->log_len + len > SESSION_LOG_TAIL - 1) {
        size_t drop = s->log_len + len - (SESSION_LOG_TAIL - 1);
        memmove(s->log_ring, s->log_ring + drop, s->log_len - drop);
        s->log_len -= drop;
    }
    memcpy(s->log_ring + s->log_len, data, len);
    s->log_len += len;
}

/* The last non-empty line of the guest log, for error messages. */
static void last_log_line(const struct session_result *r, char *out, size_t cap)
{
    const char *end = r->log_tail + strlen(r->log_tail);
    while (end > r->log_tail && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *start = end;
    while (start > r->log_tail && start[-1] != '\n')
        start--;
    size_t n = (size_t)(end - start);
    if (n >= cap)
        n = cap - 1;
    char raw[SESSION_LOG_TAIL];
    memcpy(raw, start, n);
    raw[n] = '\0';
    sanitize_for_tty(out, cap, raw);
}

static void describe_outcome(struct session_state *s)
{
    struct session_result *r = s->r;
    char line[256];
    last_log_line(r, line, sizeof(line));
    switch (r->state) {
    case VM_EXITED:
        if (r->exit_status == PUPA_EXIT_OK)
            r->error[0] = '\0';
        else if (r->exit_status == PUPA_EXIT_BAD_CONFIG)
            snprintf(r->error, sizeof(r->error), "guest could not read its configuration%s%s",
                     line[0] ? ": " : "", line);
        else if (r->exit_status == PUPA_EXIT_PANIC)
            snprintf(r->error, sizeof(r->error), "guest gave up%s%s", line[0] ? ": " : "", line);
        else
            snprintf(r->error, sizeof(r->error), "guest exited with status %d", r->exit_status);
        break;
    case VM_STOPPED:
        snprintf(r->error, sizeof(r->error), "interrupted");
        break;
    default:
        snprintf(r->error, sizeof(r->error), "%s", s->vm.fail[0] ? s->vm.fail : "guest failed");
        break;
    }
}

int session_run(const struct session_opts *o, struct session_result *r)
{
    struct session_state *s = xcalloc(1, sizeof(*s));
    struct serial com1, com2;
    struct serial_bulk bulk;
    struct virtio_blk *blk[PUPA_MAX_DEVICES] = {0};
    static uint8_t config_frame[PUPA_FRAME_MAX];
    size_t config_len = 0;
    uint64_t t0 = now_ns();
    int rc = -1;

    memset(r, 0, sizeof(*r));
    s->o = o;
    s->r = r;
    pupa_reader_init(&s->reader, pupa_GuestMessage_fields, &s->msg);

    pupa_frame_status st = pupa_frame_encode(pupa_VmmConfig_fields, o->config, config_frame,
                                             sizeof(config_frame), &config_len);
    if (st != PUPA_FRAME_OK) {
        snprintf(r->error, sizeof(r->error), "cannot encode VmmConfig: %s",
                 pupa_frame_status_str(st));
        r->state = VM_FAILED;
        free(s);
        return -1;
    }
    if (vm_create(&s->vm, o->accel, o->ram_size) != 0) {
        snprintf(r->error, sizeof(r->error), "%s", s->vm.fail);
        r->state = VM_FAILED;
        free(s);
        return -1;
    }
    s->vm.verbose = o->verbose;
    serial_init(&com1, "COM1", com1_tx, s);
    serial_init(&com2, "COM2", com2_tx, s);
    serial_set_rx(&com1, config_frame, config_len);
    serial_attach(&com1, &s->vm, PUPA_PORT_COM1);
    serial_attach(&com2, &s->vm, PUPA_PORT_COM2);
    serial_bulk_attach(&bulk, &s->vm, &com1, &com2);
    for (int i = 0; i < o->ndisks && i < PUPA_MAX_DEVICES; i++) {
        blk[i] =
            virtio_blk_create(&s->vm, i, o->disks[i].fd, o->disks[i].size, o->disks[i].sector_size);
    }

    if (vm_load_guest(&s->vm, o->elf, o->elf_len) != 0) {
        snprintf(r->error, sizeof(r->error), "%s", s->vm.fail);
        r->state = VM_FAILED;
        goto out;
    }
    if (o->before_run && o->before_run(o->ctx) != 0) {
        snprintf(r->error, sizeof(r->error), "cannot prepare the worker (sandbox)");
        r->state = VM_FAILED;
        goto out;
    }
    uint64_t t1 = now_ns();
    r->setup_s = (double)(t1 - t0) / 1e9;
    vm_run(&s->vm, o->timeout_s);
    r->run_s = (double)(now_ns() - t1) / 1e9;
    r->state = s->vm.state;
    r->exit_status = s->vm.exit_status;
    r->exits = s->vm.exits;
    r->posted = s->vm.posted;
    memcpy(r->log_tail, s->log_ring, s->log_len);
    r->log_tail[s->log_len] = '\0';
    /* a clean exit in the middle of a frame is still a protocol error */
    if (r->state == VM_EXITED && pupa_reader_partial(&s->reader)) {
        r->state = VM_FAILED;
        snprintf(s->vm.fail, sizeof(s->vm.fail),
                 "protocol error: the guest exited in the middle of a frame");
    }
    for (int i = 0; i < PUPA_MAX_DEVICES; i++) {
        if (!blk[i])
            continue;
        struct virtio_blk_stats bst;
        virtio_blk_stats(blk[i], &bst);
        r->bytes_read += bst.bytes_read;
        r->blk_requests += bst.requests;
        r->blk_notifies += bst.notifies;
        r->blk_errors += bst.errors;
    }
    describe_outcome(s);
    rc = (r->state == VM_EXITED && r->exit_status == 0) ? 0 : -1;
out:
    if (o->no_teardown && rc == 0)
        return rc; /* the process exits now; the kernel frees all of it faster */
    for (int i = 0; i < PUPA_MAX_DEVICES; i++)
        virtio_blk_destroy(blk[i]);
    vm_destroy(&s->vm);
    free(s);
    return rc;
}
