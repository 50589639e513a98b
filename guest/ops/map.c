/* map.c: qemu-img map's loop (get_block_status, entry_mergeable) over the block layer. */
#include <string.h>

#include "map.h"

struct map_out {
    map_send_fn send;
    void *ctx;
    const char *device;
    pupa_GuestMessage msg; /* large: keep it off the stack */
};

static void flush(struct map_out *o, bool last)
{
    pupa_GuestMessage *m = &o->msg;
    m->level = pupa_Level_INFO;
    m->which_payload = pupa_GuestMessage_map_extents_tag;
    m->payload.map_extents.last = last;
    o->send(o->ctx, m);
    m->payload.map_extents.extents_count = 0;
}

static void put(struct map_out *o, const pupa_MapExtent *e, bool last)
{
    pupa_MapExtentsMessage *x = &o->msg.payload.map_extents;
    x->extents[x->extents_count++] = *e;
    if (last || x->extents_count == sizeof(x->extents) / sizeof(x->extents[0]))
        flush(o, last);
}

/* qemu-img's get_block_status(): the first layer, from the top, that has a
 * status other than "unallocated here", and how deep it is. */
static int get_block_status(struct blk_node *top, uint64_t off, uint64_t bytes, pupa_MapExtent *e,
                            char *error, char *warning)
{
    struct blk_node *n = top;
    struct blk_extent st;
    uint32_t depth = 0, ret;

    for (;;) {
        if (blk_status(n, off, bytes, &st) != 0) {
            memcpy(error, n->error, FMT_ERROR_MAX);
            memcpy(warning, n->warning, FMT_ERROR_MAX);
            return -1;
        }
        if (st.len == 0) { /* cannot happen below a layer that has the offset */
            memcpy(error, "Input/output error", sizeof("Input/output error"));
            return -1;
        }
        bytes = st.len;
        ret = st.flags;
        if (ret & (BLK_ZERO | BLK_DATA))
            break;
        n = n->backing;
        if (!n) {
            ret = 0;
            break;
        }
        depth++;
    }
    memset(e, 0, sizeof(*e));
    e->start = off;
    e->length = bytes;
    e->data = ret & BLK_DATA;
    e->zero = ret & BLK_ZERO;
    e->has_offset = ret & BLK_OFFSET_VALID;
    e->offset = e->has_offset ? st.offset : 0;
    e->depth = depth;
    e->present = ret & BLK_ALLOCATED;
    return 0;
}

/* entry_mergeable(): the layer (depth) names the file, so equal depths with
 * offsets mean equal file names. */
static bool mergeable(const pupa_MapExtent *c, const pupa_MapExtent *n)
{
    if (c->length == 0)
        return false;
    if (c->zero != n->zero || c->data != n->data || c->depth != n->depth ||
        c->present != n->present || c->has_offset != n->has_offset)
        return false;
    return !c->has_offset || c->offset + c->length == n->offset;
}

static void progress(struct map_out *o, uint64_t done, uint64_t total)
{
    pupa_GuestMessage m;
    pupa_msg_progress(&m, "map", o->device, done, total);
    o->send(o->ctx, &m);
}

bool map_run(struct blk_node *top, uint64_t start, uint64_t max_length, const char *device,
             uint32_t percent, map_send_fn send, void *ctx)
{
    static struct map_out o;
    static char error[FMT_ERROR_MAX], warning[FMT_ERROR_MAX];
    pupa_MapExtent curr, next;
    uint64_t length = top->size;

    memset(&o.msg, 0, sizeof(o.msg));
    o.send = send;
    o.ctx = ctx;
    o.device = device;
    if (max_length != UINT64_MAX && fmt_sat_add(start, max_length) < length)
        length = fmt_sat_add(start, max_length);
    memset(&curr, 0, sizeof(curr));
    curr.start = start;
    uint64_t span = length > start ? length - start : 0, step = 0, next_report = 0;
    if (percent && span) {
        step = span / 100 * percent;
        if (step == 0)
            step = 1;
    }

    while (curr.start + curr.length < length) {
        uint64_t off = curr.start + curr.length;
        if (get_block_status(top, off, length - off, &next, error, warning) != 0) {
            if (o.msg.payload.map_extents.extents_count)
                flush(&o, false);
            if (warning[0]) { /* what qemu prints before the error (qcow2 corruption) */
                pupa_msg_error(&o.msg, "map", device, off / 512, 0, warning);
                send(ctx, &o.msg);
            }
            pupa_msg_error(&o.msg, "map", device, off / 512, 0, error);
            send(ctx, &o.msg);
            return false;
        }
        if (mergeable(&curr, &next)) {
            curr.length += next.length;
        } else {
            if (curr.length > 0)
                put(&o, &curr, false);
            curr = next;
        }
        if (step && off - start >= next_report) {
            progress(&o, off - start, span);
            next_report = off - start + step;
        }
    }
    put(&o, &curr, true);
    if (step)
        progress(&o, span, span);
    return true;
}
