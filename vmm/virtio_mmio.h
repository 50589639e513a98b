/* virtio_mmio.h: virtio-mmio transport (version 2) and split-virtqueue access.
 * The transport alone decodes register offsets; devices see an ops table. */
#ifndef PUPA_VIRTIO_MMIO_H
#define PUPA_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "pupa/virtio.h"
#include "vm.h"

struct virtq {
    uint32_t num; /* 0 until the driver sets it */
    bool ready;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    uint16_t last_avail;
    uint16_t used_idx;
};

/* One segment of a descriptor chain, already checked against guest RAM. */
struct virtq_seg {
    uint8_t *host; /* vm_gpa() of the segment; NULL when it is not all guest RAM */
    uint32_t len;
    bool write; /* device-writable */
};

#define VIRTQ_MAX_SEGS (PUPA_BLK_SEG_MAX + 2)

struct virtq_chain {
    uint16_t head;
    int nsegs;
    struct virtq_seg segs[VIRTQ_MAX_SEGS];
    const char *error; /* non-NULL: the chain is malformed; segments with host == NULL are
                        * outside RAM, and the walk stopped early on loops or bad indexes */
};

struct virtio_mmio;

struct virtio_dev_ops {
    uint32_t device_id;
    uint64_t features;
    uint32_t num_queues;
    /* read device config space at offset (bounds already checked against config_len) */
    uint32_t config_len;
    void (*read_config)(void *dev, uint32_t offset, uint8_t *data, uint32_t len);
    /* the driver notified queue q */
    void (*notify)(void *dev, struct virtio_mmio *t, uint32_t q);
    void (*reset)(void *dev);
};

#define VIRTIO_MAX_QUEUES 2

struct virtio_mmio {
    struct vm *vm;
    const struct virtio_dev_ops *ops;
    void *dev;
    uint32_t status;
    uint32_t dev_features_sel, drv_features_sel;
    uint64_t driver_features;
    uint32_t queue_sel;
    uint32_t interrupt_status;
    uint32_t config_generation;
    struct virtq queues[VIRTIO_MAX_QUEUES];
    uint64_t notifies;
};

/* Register the transport at PUPA_MMIO_BASE + index * PUPA_MMIO_STRIDE. */
void virtio_mmio_init(struct virtio_mmio *t, struct vm *vm, int index,
                      const struct virtio_dev_ops *ops, void *dev);

/* Next available chain of queue q: true with *chain filled (maybe with
 * chain->error set), false when the driver has posted nothing new. */
bool virtq_pop(struct virtio_mmio *t, uint32_t q, struct virtq_chain *chain);
/* Return chain head to the driver with len bytes written. */
void virtq_push(struct virtio_mmio *t, uint32_t q, uint16_t head, uint32_t len);

#endif
