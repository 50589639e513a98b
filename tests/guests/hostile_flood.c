/* hostile_flood.c: a taken-over guest floods: error frames (each one a line of plain
 * progress), rejected virtio queue set-ups (each one a complaint of the VMM), stray
 * port accesses (logged with --verbose). Every job's stderr stays within its budget. */
#include "hostile.h"

#define FLOOD 5000 /* five times the line budget */

static void queue_flood(void)
{
    /* QueueReady = 1 on a queue of size 0: the transport rejects it and says so */
    volatile uint32_t *regs = (volatile uint32_t *)(uintptr_t)PUPA_MMIO_BASE;
    for (int i = 0; i < FLOOD / 4; i++) {
        regs[0x030 / 4] = 0; /* QueueSel */
        regs[0x038 / 4] = 0; /* QueueNum */
        regs[0x044 / 4] = 1; /* QueueReady */
    }
}

int guest_main(const pupa_VmmConfig *cfg)
{
    static pupa_GuestMessage m;
    for (int i = 0; i < FLOOD; i++) {
        pupa_msg_error(&m, cfg->operation, "vda", (uint64_t)i, 1, "flooding error frame");
        rt_send(&m);
    }
    rt_flush();
    if (cfg->devices_count > 0)
        queue_flood();
    for (int i = 0; i < FLOOD / 4; i++)
        outb(0x80, 1); /* no device there */
    hostile_complete(cfg->operation, false);
    return PUPA_EXIT_FAILURE;
}
