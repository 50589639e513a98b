/* compare.c: qemu-img compare's loop (img_compare) over the block layer. */
#include <string.h>

#include "compare.h"

struct cmp {
    struct blk_node *img[2];
    uint8_t *buf[2];
    compare_send_fn send;
    void *ctx;
    const char *device;
    uint64_t step, next_report, total;
    pupa_GuestMessage msg;
};

static bool finish(struct cmp *c, pupa_CompareOutcome outcome, uint64_t offset, uint32_t image,
                   bool size_mismatch, const char *reason)
{
    pupa_GuestMessage *m = &c->msg;
    if (reason && c->img[image]->warning[0]) { /* qemu prints it before failing */
        pupa_msg_error(m, "compare", c->device, offset / 512, 0, c->img[image]->warning);
        c->send(c->ctx, m);
    }
    m->level = pupa_Level_INFO;
    m->which_payload = pupa_GuestMessage_compare_result_tag;
    pupa_CompareResultMessage *r = &m->payload.compare_result;
    memset(r, 0, sizeof(*r));
    r->outcome = outcome;
    r->offset = offset;
    r->image = image;
    r->size_mismatch = size_mismatch;
    PUPA_STRLCPY(r->reason, reason);
    c->send(c->ctx, m);
    return outcome != pupa_CompareOutcome_COMPARE_ALLOCATION_FAILED &&
           outcome != pupa_CompareOutcome_COMPARE_READ_ERROR;
}

static void progress(struct cmp *c, uint64_t done)
{
    if (!c->step || (done < c->next_report && done < c->total))
        return;
    c->next_report = done + c->step;
    pupa_GuestMessage m;
    pupa_msg_progress(&m, "compare", c->device, done, c->total);
    c->send(c->ctx, &m);
}

/* compare_buffers(): 1 with *pnum 0 when the first sector differs, else 0 with
 * *pnum the bytes of equal sectors from the start. */
static bool first_difference(const uint8_t *a, const uint8_t *b, uint64_t bytes, uint64_t *at)
{
    uint64_t i = bytes < 512 ? bytes : 512;
    bool res = memcmp(a, b, (size_t)i) != 0;
    while (i < bytes) {
        uint64_t len = bytes - i < 512 ? bytes - i : 512;
        if ((memcmp(a + i, b + i, (size_t)len) != 0) != res)
            break;
        i += len;
    }
    *at = res ? 0 : i;
    return res || i != bytes;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* find_nonzero(): the first sector (of 512 bytes, then the tail) with a nonzero byte. */
static bool first_nonzero(const uint8_t *p, uint64_t n, uint64_t *at)
{
    uint64_t end = n / 512 * 512, i;
    for (i = 0; i < end; i += 512) {
        if (!all_zero(p + i, 512)) {
            *at = i;
            return true;
        }
    }
    if (i < n && !all_zero(p + i, n - end)) {
        *at = i;
        return true;
    }
    return false;
}

/* check_empty_sectors(): 0 zeros, 1 mismatch (finished), -1 read error (finished). */
static int check_empty(struct cmp *c, uint32_t k, uint64_t offset, uint64_t chunk, bool *ok,
                       bool size_mismatch)
{
    uint64_t at;
    if (blk_read(c->img[k], offset, c->buf[0], (size_t)chunk) != 0) {
        *ok = finish(c, pupa_CompareOutcome_COMPARE_READ_ERROR, offset, k, size_mismatch,
                     c->img[k]->error);
        return -1;
    }
    if (first_nonzero(c->buf[0], chunk, &at)) {
        *ok = finish(c, pupa_CompareOutcome_COMPARE_CONTENT_MISMATCH, offset + at, k, size_mismatch,
                     NULL);
        return 1;
    }
    return 0;
}

/* One step of the main loop: 1 when the comparison finished (*ok its result). */
static int compare_step(struct cmp *c, uint64_t offset, const uint64_t total[2], bool strict,
                        uint64_t *chunk, bool *ok)
{
    struct blk_extent st[2];
    int depth;
    for (uint32_t k = 0; k < 2; k++) {
        if (blk_status_above(c->img[k], offset, total[k] - offset, &st[k], &depth) != 0 ||
            st[k].len == 0) {
            *ok = finish(c, pupa_CompareOutcome_COMPARE_ALLOCATION_FAILED, offset, k, false,
                         c->img[k]->error);
            return 1;
        }
    }
    bool alloc0 = st[0].flags & BLK_ALLOCATED, alloc1 = st[1].flags & BLK_ALLOCATED;
    *chunk = st[0].len < st[1].len ? st[0].len : st[1].len;
    if (strict && (st[0].flags & BLK_QEMU_FLAGS) != (st[1].flags & BLK_QEMU_FLAGS)) {
        *ok = finish(c, pupa_CompareOutcome_COMPARE_STRICT_STATUS, offset, 0, false, NULL);
        return 1;
    }
    if ((st[0].flags & BLK_ZERO) && (st[1].flags & BLK_ZERO))
        return 0;
    if (*chunk > COMPARE_BUF)
        *chunk = COMPARE_BUF;
    if (alloc0 != alloc1) /* the allocated one must read as zeros */
        return check_empty(c, alloc0 ? 0 : 1, offset, *chunk, ok, false) != 0;
    if (!alloc0)
        return 0;
    for (uint32_t k = 0; k < 2; k++) {
        if (blk_read(c->img[k], offset, c->buf[k], (size_t)*chunk) != 0) {
            *ok = finish(c, pupa_CompareOutcome_COMPARE_READ_ERROR, offset, k, false,
                         c->img[k]->error);
            return 1;
        }
    }
    uint64_t at;
    if (first_difference(c->buf[0], c->buf[1], *chunk, &at)) {
        *ok = finish(c, pupa_CompareOutcome_COMPARE_CONTENT_MISMATCH, offset + at, 0, false, NULL);
        return 1;
    }
    return 0;
}

bool compare_run(struct blk_node *a, struct blk_node *b, bool strict, uint8_t *buf1, uint8_t *buf2,
                 const char *device, uint32_t percent, compare_send_fn send, void *ctx)
{
    static struct cmp c;
    uint64_t total[2] = {a->size, b->size};
    uint64_t common = total[0] < total[1] ? total[0] : total[1];
    uint64_t base = total[0] > total[1] ? total[0] : total[1];
    uint64_t offset = 0, chunk;
    bool ok = true;

    memset(&c, 0, sizeof(c));
    c = (struct cmp){{a, b}, {buf1, buf2}, send, ctx, device, 0, 0, base, {0}};
    if (percent && base) {
        c.step = base / 100 * percent;
        if (c.step == 0)
            c.step = 1;
    }
    if (strict && total[0] != total[1])
        return finish(&c, pupa_CompareOutcome_COMPARE_STRICT_SIZE, 0, 0, false, NULL);
    progress(&c, 0);
    while (offset < common) {
        if (compare_step(&c, offset, total, strict, &chunk, &ok))
            return ok;
        offset += chunk;
        progress(&c, offset);
    }
    bool mismatch = total[0] != total[1];
    uint32_t over = total[0] > total[1] ? 0 : 1;
    while (mismatch && offset < base) {
        struct blk_extent st;
        int depth;
        if (blk_status_above(c.img[over], offset, base - offset, &st, &depth) != 0 || st.len == 0)
            return finish(&c, pupa_CompareOutcome_COMPARE_ALLOCATION_FAILED, offset, over, true,
                          c.img[over]->error);
        chunk = st.len;
        if ((st.flags & BLK_ALLOCATED) && !(st.flags & BLK_ZERO)) {
            if (chunk > COMPARE_BUF)
                chunk = COMPARE_BUF;
            if (check_empty(&c, over, offset, chunk, &ok, true) != 0)
                return ok;
        }
        offset += chunk;
        progress(&c, offset);
    }
    return finish(&c, pupa_CompareOutcome_COMPARE_IDENTICAL, 0, 0, mismatch, NULL);
}
