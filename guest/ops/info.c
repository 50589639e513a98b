/* info.c: the "info" operation shared by the guest and the host tests. */
#include <stdio.h>
#include <string.h>

#include "../formats/tape.h"
#include "info.h"
#include "pupa/findings.h"

struct info_ctx {
    info_send_fn send;
    void *send_ctx;
    const char *device;
    uint32_t nodes, findings;
    pupa_GuestMessage msg; /* large (strings of 4 KiB): keep it off the stack */
};

static void sink_node(void *c, enum fmt_node_kind kind, const char *key, const char *str, int64_t i,
                      uint64_t u, bool b)
{
    struct info_ctx *ctx = c;
    pupa_GuestMessage *m = &ctx->msg;
    m->level = pupa_Level_INFO;
    m->which_payload = pupa_GuestMessage_info_node_tag;
    pupa_InfoNodeMessage *n = &m->payload.info_node;
    n->kind = (pupa_NodeKind)kind;
    PUPA_STRLCPY(n->key, key);
    PUPA_STRLCPY(n->str_value, str);
    n->int_value = i;
    n->uint_value = u;
    n->bool_value = b;
    if (kind != FMT_NODE_END)
        ctx->nodes++;
    ctx->send(ctx->send_ctx, m);
}

static void sink_snapshot(void *c, const struct fmt_snapshot *sn)
{
    struct info_ctx *ctx = c;
    pupa_GuestMessage *m = &ctx->msg;
    m->level = pupa_Level_INFO;
    m->which_payload = pupa_GuestMessage_snapshot_tag;
    pupa_SnapshotMessage *s = &m->payload.snapshot;
    PUPA_STRLCPY(s->id, sn->id);
    PUPA_STRLCPY(s->name, sn->name);
    s->vm_state_size = sn->vm_state_size;
    s->date_sec = sn->date_sec;
    s->date_nsec = sn->date_nsec;
    s->vm_clock_nsec = sn->vm_clock_nsec;
    s->icount = sn->icount;
    s->has_icount = sn->has_icount;
    ctx->send(ctx->send_ctx, m);
}

static void sink_finding(void *c, const char *check, const char *detail)
{
    struct info_ctx *ctx = c;
    pupa_msg_finding(&ctx->msg, check, detail);
    ctx->findings++;
    ctx->send(ctx->send_ctx, &ctx->msg);
}

const struct fmt_driver *info_probe(const uint8_t *buf, uint64_t size, const char *filename)
{
    const struct fmt_driver *best = fmt_find("raw");
    int best_score = 0;

    /* qemu-img: an empty file is raw without probing */
    if (size == 0)
        return best;
    for (size_t i = 0; fmt_drivers[i]; i++) {
        if (!fmt_drivers[i]->probe)
            continue;
        int score = fmt_drivers[i]->probe(buf, FMT_PROBE_SIZE, filename);
        if (score > best_score) {
            best_score = score;
            best = fmt_drivers[i];
        }
    }
    return best;
}

/* Signatures of other things an image can be at the same time. */
static void check_polyglot(struct fmt_info *info, const struct fmt_io *io, const uint8_t *probe,
                           const struct fmt_driver *chosen)
{
    for (size_t i = 0; fmt_drivers[i]; i++) {
        const struct fmt_driver *d = fmt_drivers[i];
        if (d == chosen || !d->probe)
            continue;
        if (d->probe(probe, FMT_PROBE_SIZE, io->filename) >= 100)
            fmt_finding(info, "polyglot", "the image is %s but also carries a %s signature",
                        chosen->name, d->name);
    }
    if (chosen->whole_disk)
        return; /* a raw disk may hold a partition table or a file system */

    uint8_t sig[8];
    if (io->size >= 0x8006 && io->read(io->ctx, 0x8001, sig, 5) == 0 &&
        memcmp(sig, "CD001", 5) == 0)
        fmt_finding(info, "polyglot", "the %s image is also an ISO 9660 file system", chosen->name);
    if (io->size >= 520 && io->read(io->ctx, 512, sig, 8) == 0 && memcmp(sig, "EFI PART", 8) == 0)
        fmt_finding(info, "polyglot", "the %s image also carries a GPT partition table",
                    chosen->name);
    if (probe[510] == 0x55 && probe[511] == 0xaa)
        fmt_finding(info, "polyglot", "the %s image also carries an MBR boot signature",
                    chosen->name);
}

static void check_common(struct fmt_info *info)
{
    if (info->backing_file[0])
        fmt_finding(info, PUPA_CHECK_BACKING_FILE, PUPA_DETAIL_BACKING_FILE, info->backing_file);
    if (info->data_file[0])
        fmt_finding(info, PUPA_CHECK_DATA_FILE, PUPA_DETAIL_DATA_FILE, info->data_file);
    if (info->flags & PUPA_INFO_F_CORRUPT)
        fmt_finding(info, PUPA_CHECK_CORRUPT, PUPA_DETAIL_CORRUPT);
    if (info->flags & PUPA_INFO_F_ENCRYPTED)
        fmt_finding(info, PUPA_CHECK_ENCRYPTED, PUPA_DETAIL_ENCRYPTED);
    if (pupa_has_control_chars(info->backing_file) ||
        pupa_has_control_chars(info->backing_format) || pupa_has_control_chars(info->data_file))
        fmt_finding(info, PUPA_CHECK_CONTROL_CHARS, PUPA_DETAIL_CONTROL_CHARS);
}

void info_result_msg(pupa_GuestMessage *m, const struct fmt_info *info, const char *device,
                     uint32_t nodes, uint32_t snapshots, uint32_t findings)
{
    pupa_msg_info_result(m, info->format, info->virtual_size, info->cluster_size, info->flags);
    pupa_InfoResultMessage *r = &m->payload.info_result;
    r->version = info->version;
    PUPA_STRLCPY(r->backing_file, info->backing_file);
    PUPA_STRLCPY(r->backing_format, info->backing_format);
    PUPA_STRLCPY(r->external_data_file, info->data_file);
    PUPA_STRLCPY(r->device, device);
    PUPA_STRLCPY(r->specific_type, nodes ? info->specific_type : "");
    r->snapshot_count = snapshots;
    r->node_count = nodes;
    r->finding_count = findings;
    if (info->backing_file[0])
        r->flags |= PUPA_INFO_F_BACKING;
    if (info->data_file[0])
        r->flags |= PUPA_INFO_F_DATA_FILE;
    if (info->snapshot_count)
        r->flags |= PUPA_INFO_F_SNAPSHOTS;
}

void info_add_findings(struct fmt_info *info, const struct fmt_io *io, const struct fmt_driver *drv)
{
    static uint8_t probe[FMT_PROBE_SIZE];
    if (io->read(io->ctx, 0, probe, sizeof(probe)) != 0)
        return; /* the open just read these bytes: it cannot fail now */
    check_polyglot(info, io, probe, drv);
    check_common(info);
}

static bool fail(struct info_ctx *ctx, const char *message, bool whole)
{
    pupa_msg_error(&ctx->msg, "info", ctx->device, 0, 0, message);
    ctx->msg.payload.error.print =
        whole ? pupa_ErrorPrint_ERROR_PRINT_WHOLE_LINE : pupa_ErrorPrint_ERROR_PRINT_OPEN;
    ctx->send(ctx->send_ctx, &ctx->msg);
    pupa_msg_complete(&ctx->msg, "info", 0, false);
    ctx->send(ctx->send_ctx, &ctx->msg);
    return false;
}

/* Too large for a small stack; one inspection runs at a time. */
static struct info_ctx g_ctx;
static struct fmt_info g_info;
/* What a parser emits waits here until its result is known (tape.h). */
static struct fmt_tape g_tape;
static uint8_t g_tape_arena[256 * 1024] __attribute__((aligned(8)));

bool info_run(const struct fmt_io *io, const char *forced_format, const char *device,
              info_send_fn send, void *send_ctx)
{
    struct info_ctx *ctx = &g_ctx;
    struct fmt_info *info = &g_info;
    static uint8_t probe[FMT_PROBE_SIZE];
    const struct fmt_driver *drv;

    memset(ctx, 0, sizeof(*ctx));
    memset(info, 0, sizeof(*info));
    ctx->send = send;
    ctx->send_ctx = send_ctx;
    ctx->device = device;
    struct fmt_sink sink = {ctx, sink_node, sink_snapshot, sink_finding};
    fmt_tape_init(&g_tape, &sink, g_tape_arena, sizeof(g_tape_arena));
    info->sink = &g_tape.sink;

    if (io->read(io->ctx, 0, probe, sizeof(probe)) != 0)
        return fail(ctx, "Could not read image for determining its format: Input/output error",
                    false);
    if (forced_format && forced_format[0]) {
        drv = fmt_find(forced_format);
        if (!drv) {
            char msg[96];
            snprintf(msg, sizeof(msg), "Unknown driver '%s'", forced_format);
            return fail(ctx, msg, false);
        }
    } else {
        drv = info_probe(probe, io->size, io->filename);
    }

    if (drv->open(io, info) != 0) {
        fmt_tape_drop(&g_tape);
        return fail(ctx, info->error[0] ? info->error : "Could not open image", info->error_whole);
    }
    fmt_tape_commit(&g_tape);
    info->sink = &sink;
    if (info->format[0] == '\0')
        PUPA_STRLCPY(info->format, drv->name);

    check_polyglot(info, io, probe, drv);
    check_common(info);

    pupa_GuestMessage *m = &ctx->msg;
    info_result_msg(m, info, device, ctx->nodes, info->snapshot_count, ctx->findings);
    send(send_ctx, m);
    pupa_msg_complete(m, "info", 1, true);
    send(send_ctx, m);
    return true;
}
