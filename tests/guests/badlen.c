/* badlen.c: test guest that sends a frame whose length prefix is over the
 * limit; the VMM must stop it with a protocol error. */
#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    static const uint8_t frame[4] = {0xff, 0xff, 0x08, 0x01};
    /* plain string I/O on purpose: it must work too */
    outsb(PUPA_PORT_COM1, frame, sizeof(frame));
    for (;;)
        __asm__ volatile("pause"); /* the VMM stops us; the test times out otherwise */
}
