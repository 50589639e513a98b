/* hostile_frames.c: a taken-over guest streams valid frames without end (as fast as the
 * bulk port moves them): the parent stops it at its frame budget instead of reading
 * forever. The frames are large error frames, so the test spends its time on the bytes
 * the budget counts, not on decoding many tiny frames. */
#include "hostile.h"

#define CHUNK (1u << 20)

int guest_main(const pupa_VmmConfig *cfg)
{
    static uint8_t buf[CHUNK] __attribute__((aligned(4096)));
    static pupa_GuestMessage m;
    static char text[4097];
    size_t used = 0, len = 0;
    memset(text, 'e', 4096);
    pupa_msg_error(&m, cfg->operation, "vda", 1, 1, text);
    while (pupa_frame_encode(pupa_GuestMessage_fields, &m, buf + used, CHUNK - used, &len) ==
           PUPA_FRAME_OK)
        used += len;
    for (;;)
        rt_send_raw(buf, used);
}
