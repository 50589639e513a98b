/* spin.c: test guest that never exits; the VMM's timeout must stop it. */
#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    pupa_GuestMessage m;
    pupa_msg_init(&m, "spinning", "", 0);
    rt_send_now(&m);
    for (volatile uint64_t i = 0;; i++)
        ;
}
