/* hostile_virtio.c: test guest that posts malformed virtio-blk requests
 * (descriptors outside RAM, overflowing, looping chains, writes to the
 * read-only disk, bad sizes) and checks that each fails alone with the right
 * status while the device keeps working. Reports each case as an Init frame
 * (stage = case name, address = status seen) and Complete(success). */
#include <string.h>

#include "rt.h"
#include "virtio_blk.h"

#define S_OK     0
#define S_IOERR  1
#define S_UNSUPP 2
#define NONE     0xff /* no status written (no valid status descriptor) */

static struct vblk dev;
static struct vblk_hdr hdr __attribute__((aligned(16)));
static uint8_t status;
static uint8_t data[8192] __attribute__((aligned(4096)));

/* Post the chain starting at descriptor 0, kick, wait for it to come back. */
static uint8_t post(void)
{
    status = NONE;
    dev.avail[2 + dev.avail_idx % VBLK_QSIZE] = 0;
    dev.avail_idx++;
    vblk_kick(&dev);
    volatile uint16_t *used_idx = (volatile uint16_t *)(dev.used + 2);
    while (*used_idx == dev.used_seen)
        __asm__ volatile("pause");
    dev.used_seen++;
    return status;
}

static void chain3(uint32_t type, uint64_t sector, uint64_t data_addr, uint32_t data_len,
                   uint16_t data_flags)
{
    hdr = (struct vblk_hdr){type, 0, sector};
    dev.desc[0] = (struct vring_desc){(uint64_t)(uintptr_t)&hdr, 16, 1, 1};
    dev.desc[1] = (struct vring_desc){data_addr, data_len, (uint16_t)(1 | data_flags), 2};
    dev.desc[2] = (struct vring_desc){(uint64_t)(uintptr_t)&status, 1, 2, 0};
}

static bool check(const char *name, uint8_t got, uint8_t want)
{
    pupa_GuestMessage m;
    pupa_msg_init(&m, name, got == want ? "ok" : "WRONG", got);
    rt_send(&m);
    return got == want;
}

int guest_main(const pupa_VmmConfig *cfg)
{
    bool ok = true;
    uint64_t buf = (uint64_t)(uintptr_t)data;
    if (cfg->devices_count < 1 || !vblk_init(&dev, 0, &cfg->devices[0], "hostile"))
        return PUPA_EXIT_FAILURE;

    chain3(0, 0, buf, 512, 2);
    ok &= check("valid-read", post(), S_OK);
    chain3(0, 0, rt_ram_top + 4096, 512, 2);
    ok &= check("data-outside-ram", post(), S_IOERR);
    chain3(0, 0, 0xfffffffffffff000ull, 0x2000, 2);
    ok &= check("data-overflowing", post(), S_IOERR);
    chain3(0, 0, buf, 512, 0);
    ok &= check("data-not-writable", post(), S_IOERR);
    chain3(1, 0, buf, 512, 0);
    ok &= check("write-to-readonly", post(), S_IOERR);
    chain3(4, 0, buf, 0, 0);
    ok &= check("flush-unsupported", post(), S_UNSUPP);
    chain3(0, 0, buf, 100, 2);
    ok &= check("length-not-512-multiple", post(), S_IOERR);
    chain3(0, dev.capacity, buf, 512, 2);
    ok &= check("read-past-end", post(), S_IOERR);
    chain3(0, UINT64_MAX, buf, 512, 2);
    ok &= check("sector-overflow", post(), S_IOERR);
    chain3(0, 0, buf, 512, 2);
    dev.desc[0].len = 8;
    ok &= check("short-header", post(), S_IOERR);
    /* a loop: 0 -> 1 -> 0; no status descriptor is ever reached */
    chain3(0, 0, buf, 512, 2);
    dev.desc[1].next = 0;
    ok &= check("looping-chain", post(), NONE);
    /* next index beyond the queue */
    chain3(0, 0, buf, 512, 2);
    dev.desc[1].next = 60000;
    ok &= check("next-out-of-range", post(), NONE);
    /* status descriptor outside RAM: nothing can be written back */
    chain3(0, 0, buf, 512, 2);
    dev.desc[2].addr = rt_ram_top + 4096;
    ok &= check("status-outside-ram", post(), NONE);
    chain3(8, 0, buf, 20, 2);
    ok &= check("get-id", post(), S_OK);
    ok &= check("get-id-value", (uint8_t)(memcmp(data, "pupa-vda", 8) == 0 ? 0 : 1), 0);
    /* after all that, the device still serves reads */
    chain3(0, 0, buf, 4096, 2);
    ok &= check("valid-read-after", post(), S_OK);

    pupa_GuestMessage m;
    pupa_msg_complete(&m, "hostile", dev.requests, ok);
    rt_send(&m);
    return ok ? PUPA_EXIT_OK : PUPA_EXIT_FAILURE;
}
