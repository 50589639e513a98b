/* virtio_mmio.c: virtio-mmio v2 transport and split virtqueues, every guest
 * address checked through vm_gpa() before use. */
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "virtio_mmio.h"

#define PUPA_VIRTIO_VENDOR 0x41505550u /* "PUPA" */

static void transport_reset(struct virtio_mmio *t)
{
    t->status = 0;
    t->driver_features = 0;
    t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
    t->interrupt_status = 0;
    memset(t->queues, 0, sizeof(t->queues));
    if (t->ops->reset)
        t->ops->reset(t->dev);
}

static struct virtq *selected(struct virtio_mmio *t)
{
    return t->queue_sel < t->ops->num_queues ? &t->queues[t->queue_sel] : NULL;
}

/* The rings must lie in RAM, aligned as the spec requires. */
static bool queue_valid(struct virtio_mmio *t, struct virtq *q)
{
    uint64_t n = q->num;
    if (n == 0 || n > PUPA_VIRTQ_MAX || (n & (n - 1)))
        return false;
    if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
        return false;
    return vm_gpa(t->vm, q->desc_gpa, 16 * n) && vm_gpa(t->vm, q->avail_gpa, 6 + 2 * n) &&
           vm_gpa(t->vm, q->used_gpa, 6 + 8 * n);
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t reg)
{
    struct virtq *q = selected(t);
    switch (reg) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return 2;
    case VIRTIO_MMIO_DEVICE_ID:
        return t->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return PUPA_VIRTIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return t->dev_features_sel < 2 ? (uint32_t)(t->ops->features >> (32 * t->dev_features_sel))
                                       : 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return q ? PUPA_VIRTQ_MAX : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        return q ? q->ready : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return t->interrupt_status;
    case VIRTIO_MMIO_STATUS:
        return t->status;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return t->config_generation;
    default:
        return 0;
    }
}

static void set_addr(uint64_t *addr, bool high, uint32_t v)
{
    if (high)
        *addr = (*addr & 0xffffffffull) | ((uint64_t)v << 32);
    else
        *addr = (*addr & ~0xffffffffull) | v;
}

static void reg_write(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
    struct virtq *q = selected(t);
    switch (reg) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->dev_features_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        t->drv_features_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (t->drv_features_sel < 2 && !(t->status & VIRTIO_STATUS_FEATURES_OK)) {
            int shift = 32 * (int)t->drv_features_sel;
            t->driver_features = (t->driver_features & ~(0xffffffffull << shift)) |
                                 (((uint64_t)v << shift) & t->ops->features);
        }
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        t->queue_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
        if (q && !q->ready)
            q->num = v;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        if (!q)
            break;
        if (v == 1 && !queue_valid(t, q)) {
            vm_warn(t->vm, "virtio: queue %u rejected (bad size or rings outside guest RAM)",
                    t->queue_sel);
            t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
            break;
        }
        q->ready = v == 1;
        q->last_avail = q->used_idx = 0;
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        t->notifies++;
        if (v < t->ops->num_queues && t->queues[v].ready &&
            !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
            t->ops->notify(t->dev, t, v);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        t->interrupt_status &= ~v;
        break;
    case VIRTIO_MMIO_STATUS:
        if (v == 0) {
            transport_reset(t);
        } else {
            if ((v & VIRTIO_STATUS_FEATURES_OK) &&
                !(t->driver_features & (1ull << VIRTIO_F_VERSION_1)))
                v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK; /* legacy drivers are refused */
            t->status = v | (t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
        }
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        if (q && !q->ready)
            set_addr(&q->desc_gpa, reg == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        if (q && !q->ready)
            set_addr(&q->avail_gpa, reg == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        if (q && !q->ready)
            set_addr(&q->used_gpa, reg == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
        break;
    default:
        break;
    }
}

static void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
                           bool is_write)
{
    struct virtio_mmio *t = opaque;

    if (offset >= VIRTIO_MMIO_CONFIG) {
        uint64_t off = offset - VIRTIO_MMIO_CONFIG;
        if (is_write) /* virtio-blk's config is read-only for us */
            return;
        if (off < t->ops->config_len && len <= t->ops->config_len - off)
            t->ops->read_config(t->dev, (uint32_t)off, data, len);
        else
            memset(data, 0, len);
        return;
    }
    /* registers are 32 bits wide and aligned */
    if (len != 4 || (offset & 3)) {
        if (!is_write)
            memset(data, 0, len);
        return;
    }
    if (is_write) {
        uint32_t v;
        memcpy(&v, data, 4);
        reg_write(t, offset, v);
    } else {
        uint32_t v = reg_read(t, offset);
        memcpy(data, &v, 4);
    }
}

void virtio_mmio_init(struct virtio_mmio *t, struct vm *vm, int index,
                      const struct virtio_dev_ops *ops, void *dev)
{
    memset(t, 0, sizeof(*t));
    t->vm = vm;
    t->ops = ops;
    t->dev = dev;
    /* Writes only latch values (feature words, queue addresses, status) until the
     * guest reads a register back or rings QueueNotify, the one write that starts
     * work: the rest may be posted (on KVM: no exit per register write). */
    struct vm_mmio_dev d = {
        .base = PUPA_MMIO_BASE + (uint64_t)index * PUPA_MMIO_STRIDE,
        .len = PUPA_MMIO_STRIDE,
        .opaque = t,
        .io = virtio_mmio_io,
        .posted_writes = true,
        .doorbell = VIRTIO_MMIO_QUEUE_NOTIFY,
    };
    vm_add_mmio(vm, &d);
}

/* ---------------------------------------------------------------- virtqueues */

static uint16_t load16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

bool virtq_pop(struct virtio_mmio *t, uint32_t qi, struct virtq_chain *c)
{
    struct virtq *q = &t->queues[qi];
    /* queue_valid() checked the rings when the queue became ready */
    const uint8_t *avail = vm_gpa(t->vm, q->avail_gpa, 6 + 2ull * q->num);
    const uint8_t *desc = vm_gpa(t->vm, q->desc_gpa, 16ull * q->num);
    if (!avail || !desc)
        return false;
    uint16_t avail_idx = __atomic_load_n((const uint16_t *)(avail + 2), __ATOMIC_ACQUIRE);
    if (avail_idx == q->last_avail)
        return false;
    if ((uint16_t)(avail_idx - q->last_avail) > q->num) {
        /* the driver claims more new buffers than the ring holds */
        c->head = 0;
        c->nsegs = 0;
        c->error = "available index runs ahead of the ring";
        q->last_avail = avail_idx;
        return true;
    }
    uint16_t head = load16(avail + 4 + 2 * (q->last_avail % q->num));
    q->last_avail++;

    c->head = head;
    c->nsegs = 0;
    c->error = NULL;
    if (head >= q->num) {
        c->error = "descriptor index out of range";
        return true;
    }
    uint16_t i = head;
    for (uint32_t walked = 0;; walked++) {
        if (walked >= q->num) {
            c->error = "descriptor chain loops";
            return true;
        }
        const uint8_t *d = desc + 16ull * i;
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
        memcpy(&addr, d, 8);
        memcpy(&len, d + 8, 4);
        memcpy(&flags, d + 12, 2);
        memcpy(&next, d + 14, 2);
        if (c->nsegs == VIRTQ_MAX_SEGS) {
            c->error = "descriptor chain longer than the device accepts";
            return true;
        }
        /* a bad descriptor poisons the request but the walk goes on, so the
         * status byte at the end can still report the failure */
        uint8_t *host = vm_gpa(t->vm, addr, len);
        if (flags & VIRTQ_DESC_F_INDIRECT) {
            host = NULL;
            if (!c->error)
                c->error = "indirect descriptors were not negotiated";
        } else if (!host && !c->error) {
            c->error = "descriptor points outside guest RAM";
        }
        c->segs[c->nsegs++] = (struct virtq_seg){host, len, (flags & VIRTQ_DESC_F_WRITE) != 0};
        if (!(flags & VIRTQ_DESC_F_NEXT))
            return true;
        if (next >= q->num) {
            c->error = "descriptor index out of range";
            return true;
        }
        i = next;
    }
}

void virtq_push(struct virtio_mmio *t, uint32_t qi, uint16_t head, uint32_t len)
{
    struct virtq *q = &t->queues[qi];
    uint8_t *used = vm_gpa(t->vm, q->used_gpa, 6 + 8ull * q->num);
    if (!used)
        return;
    uint8_t *elem = used + 4 + 8ull * (q->used_idx % q->num);
    uint32_t id = head;
    memcpy(elem, &id, 4);
    memcpy(elem + 4, &len, 4);
    q->used_idx++;
    __atomic_store_n((uint16_t *)(used + 2), q->used_idx, __ATOMIC_RELEASE);
    t->interrupt_status |= 1; /* polled by our guest; kept for completeness */
    vm_touch(t->vm);          /* a completed request is progress for the inactivity limit */
}
