/* virtio_blk.c: read-only block device: IN and GET_ID served with preadv,
 * everything else refused; every descriptor checked before use. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "util.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"

/* Complaints about a misbehaving guest are capped per device. */
#define BLK_MAX_COMPLAINTS 8

struct virtio_blk {
    struct virtio_mmio transport;
    int index;
    int fd;
    uint64_t size;     /* exact bytes */
    uint64_t capacity; /* 512-byte sectors, last partial one padded */
    uint32_t sector_size;
    struct virtio_blk_stats stats;
    int complaints;
};

__attribute__((format(printf, 2, 3))) static void complain(struct virtio_blk *b, const char *fmt,
                                                           ...)
{
    if (++b->complaints > BLK_MAX_COMPLAINTS)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vm_warn(b->transport.vm, "virtio-blk vd%c: %s%s", 'a' + b->index, msg,
            b->complaints == BLK_MAX_COMPLAINTS ? " (further complaints suppressed)" : "");
}

static void blk_read_config(void *dev, uint32_t offset, uint8_t *data, uint32_t len)
{
    struct virtio_blk *b = dev;
    uint8_t cfg[24];
    uint32_t size_max = PUPA_BLK_SIZE_MAX, seg_max = PUPA_BLK_SEG_MAX;
    memset(cfg, 0, sizeof(cfg));
    memcpy(cfg + 0, &b->capacity, 8);
    memcpy(cfg + 8, &size_max, 4);
    memcpy(cfg + 12, &seg_max, 4);
    memcpy(cfg + 20, &b->sector_size, 4);
    memcpy(data, cfg + offset, len); /* the transport checked offset+len <= config_len */
}

static void blk_reset(void *dev)
{
    (void)dev;
}

/* Read [off, off+len) of the image into the segments; past the end of the
 * file (inside the last padded sector) reads as zeros. */
static int blk_read(struct virtio_blk *b, uint64_t off, struct virtq_seg *segs, int nsegs,
                    uint64_t len)
{
    struct iovec iov[VIRTQ_MAX_SEGS];
    uint64_t file_part = off < b->size ? b->size - off : 0;
    if (file_part > len)
        file_part = len;
    int n = 0;
    uint64_t left = file_part;
    for (int i = 0; i < nsegs && left > 0; i++) {
        uint64_t take = segs[i].len < left ? segs[i].len : left;
        iov[n].iov_base = segs[i].host;
        iov[n].iov_len = take;
        n++;
        left -= take;
    }
    uint64_t done = 0;
    int first = 0;
    while (done < file_part) {
        ssize_t r = preadv(b->fd, iov + first, n - first, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            errno = 0; /* the file shrank under us */
        if (r <= 0)
            return -1;
        done += (uint64_t)r;
        /* advance the iovecs past what was read */
        while (first < n && (uint64_t)r >= iov[first].iov_len) {
            r -= (ssize_t)iov[first].iov_len;
            first++;
        }
        if (first < n) {
            iov[first].iov_base = (uint8_t *)iov[first].iov_base + r;
            iov[first].iov_len -= (size_t)r;
        }
    }
    /* zero the tail past EOF */
    uint64_t pos = 0;
    for (int i = 0; i < nsegs; i++) {
        uint64_t s0 = pos, s1 = pos + segs[i].len;
        if (s1 > file_part) {
            uint64_t z0 = s0 > file_part ? s0 : file_part;
            memset(segs[i].host + (z0 - s0), 0, s1 - z0);
        }
        pos = s1;
    }
    return 0;
}

/* Handle one request chain; returns the bytes written into guest buffers. */
static uint32_t blk_request(struct virtio_blk *b, struct virtq_chain *c)
{
    struct virtq_seg *status_seg = NULL;
    if (c->nsegs >= 1 && c->segs[c->nsegs - 1].write && c->segs[c->nsegs - 1].len == 1 &&
        c->segs[c->nsegs - 1].host)
        status_seg = &c->segs[c->nsegs - 1];
    uint8_t status = VIRTIO_BLK_S_IOERR;
    uint32_t written = 0;

    b->stats.requests++;
    if (c->error) {
        complain(b, "bad request: %s", c->error);
        goto done;
    }
    if (c->nsegs < 2 || !status_seg) {
        complain(b, "bad request: no 1-byte device-writable status descriptor at the end");
        goto done;
    }
    struct virtq_seg *hdr = &c->segs[0];
    if (hdr->write || hdr->len != 16) {
        complain(b, "bad request: header descriptor must be 16 device-readable bytes");
        goto done;
    }
    uint32_t type;
    uint64_t sector;
    memcpy(&type, hdr->host, 4);
    memcpy(&sector, hdr->host + 8, 8);
    struct virtq_seg *data = &c->segs[1];
    int ndata = c->nsegs - 2;

    switch (type) {
    case VIRTIO_BLK_T_IN: {
        uint64_t len = 0;
        for (int i = 0; i < ndata; i++) {
            if (!data[i].write) {
                complain(b, "bad read: data descriptor %d is not device-writable", i);
                goto done;
            }
            len += data[i].len;
        }
        if (len % 512) {
            complain(b, "bad read: %llu bytes is not a multiple of 512", (unsigned long long)len);
            goto done;
        }
        if (sector > b->capacity || len / 512 > b->capacity - sector) {
            complain(b, "read past the end: sector %llu + %llu", (unsigned long long)sector,
                     (unsigned long long)(len / 512));
            goto done;
        }
        if (blk_read(b, sector * 512, data, ndata, len) != 0) {
            complain(b, "read of sector %llu failed: %s", (unsigned long long)sector,
                     errno ? strerror(errno) : "file shorter than expected");
            goto done;
        }
        b->stats.bytes_read += len;
        written = (uint32_t)len;
        status = VIRTIO_BLK_S_OK;
        break;
    }
    case VIRTIO_BLK_T_GET_ID:
        if (ndata != 1 || !data[0].write || data[0].len < VIRTIO_BLK_ID_BYTES) {
            complain(b, "bad GET_ID request");
            goto done;
        }
        memset(data[0].host, 0, VIRTIO_BLK_ID_BYTES);
        snprintf((char *)data[0].host, VIRTIO_BLK_ID_BYTES, "pupa-vd%c", 'a' + b->index);
        written = VIRTIO_BLK_ID_BYTES;
        status = VIRTIO_BLK_S_OK;
        break;
    case VIRTIO_BLK_T_OUT:
        complain(b, "write refused: the disk is read-only");
        status = VIRTIO_BLK_S_IOERR;
        break;
    default:
        complain(b, "request type %u not supported", type);
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
done:
    if (status != VIRTIO_BLK_S_OK)
        b->stats.errors++;
    if (status_seg) {
        status_seg->host[0] = status;
        written++;
    }
    return written;
}

static void blk_notify(void *dev, struct virtio_mmio *t, uint32_t q)
{
    struct virtio_blk *b = dev;
    struct virtq_chain c;
    b->stats.notifies++;
    while (virtq_pop(t, q, &c)) {
        uint32_t written = blk_request(b, &c);
        virtq_push(t, q, c.head, written);
    }
}

static const struct virtio_dev_ops blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_RO) |
                (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
                (1ull << VIRTIO_BLK_F_SIZE_MAX),
    .num_queues = 1,
    .config_len = 24,
    .read_config = blk_read_config,
    .notify = blk_notify,
    .reset = blk_reset,
};

struct virtio_blk *virtio_blk_create(struct vm *vm, int index, int fd, uint64_t size,
                                     uint32_t sector_size)
{
    struct virtio_blk *b = xcalloc(1, sizeof(*b));
    b->index = index;
    b->fd = fd;
    b->size = size;
    /* the last partial logical sector is padded with zeros */
    uint64_t padded = (size + sector_size - 1) / sector_size * sector_size;
    b->capacity = padded / 512;
    b->sector_size = sector_size;
    virtio_mmio_init(&b->transport, vm, index, &blk_ops, b);
    return b;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
    free(b);
}

void virtio_blk_stats(const struct virtio_blk *b, struct virtio_blk_stats *st)
{
    *st = b->stats;
    st->notifies = b->transport.notifies;
}
