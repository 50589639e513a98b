/* flood.c: test guest that writes 64 MiB of text to its log (COM2), then
 * exits 0: the VMM must keep only a bounded amount. */
#include <string.h>

#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    static char line[4096];
    memset(line, 'x', sizeof(line));
    line[sizeof(line) - 1] = '\n';
    for (int i = 0; i < 64 * 256; i++)
        rt_log_raw(line, sizeof(line));
    pupa_GuestMessage m;
    pupa_msg_complete(&m, "flood", 64 * 256, true);
    rt_send(&m);
    return PUPA_EXIT_OK;
}
