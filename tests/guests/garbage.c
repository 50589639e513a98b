/* garbage.c: test guest that sends a frame whose payload is not protobuf. */
#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    /* a valid GuestMessage, then 6 bytes that are not one (field 15, wire type 7) */
    pupa_GuestMessage m;
    pupa_msg_init(&m, "before-garbage", "", 0);
    rt_send_now(&m);
    static const uint8_t frame[8] = {6, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff};
    rt_send_raw(frame, sizeof(frame));
    for (;;)
        __asm__ volatile("pause");
}
