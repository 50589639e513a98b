/* warnflood.c: test guest that makes the VMM complain as fast as it can: a
 * queue with a bad size made ready over and over on the first virtio device,
 * and writes to a port where there is no device. The VMM must print a
 * bounded number of lines, then say how many it suppressed. */
#include "rt.h"

#define QUEUE_SEL   0x030
#define QUEUE_NUM   0x038
#define QUEUE_READY 0x044
#define ROUNDS      5000

static void reg(uint32_t offset, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(PUPA_MMIO_BASE + offset) = v;
}

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    reg(QUEUE_SEL, 0);
    reg(QUEUE_NUM, 3); /* not a power of two: every QUEUE_READY is rejected */
    for (int i = 0; i < ROUNDS; i++) {
        reg(QUEUE_READY, 1);
        outb(0x80, (uint8_t)i); /* no device there */
    }
    pupa_GuestMessage m;
    pupa_msg_complete(&m, "warnflood", ROUNDS, true);
    rt_send(&m);
    return PUPA_EXIT_OK;
}
