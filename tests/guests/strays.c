/* strays.c: test guest that touches memory and ports where there is no
 * device: the VMM logs each and carries on; the guest then exits 0. */
#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    volatile uint32_t *hole = (volatile uint32_t *)(uintptr_t)0xe0000000u;
    uint32_t v = *hole; /* unassigned: reads as all ones */
    *hole = 0x1234;
    outb(0x80, 1);
    uint8_t p = inb(0x1234);
    volatile uint32_t *past = (volatile uint32_t *)(uintptr_t)(PUPA_MMIO_END + 0x1000);
    uint32_t w = *past;
    pupa_GuestMessage m;
    /* report what the holes read as, so the test can check it */
    pupa_msg_init(&m, "strays", "", ((uint64_t)v << 32) | ((uint64_t)p << 24) | (w & 0xffffff));
    rt_send(&m);
    pupa_msg_complete(&m, "strays", 4, v == 0xffffffffu && w == 0xffffffffu);
    rt_send(&m);
    return PUPA_EXIT_OK;
}
