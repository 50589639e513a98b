/* selftest.c: prove the guest booted, decoded VmmConfig and can talk. */
#include <string.h>

#include "ops.h"
#include "rt.h"

int op_selftest(const pupa_VmmConfig *cfg)
{
    pupa_GuestMessage m;
    uint32_t r[4];

    pupa_msg_init(&m, "boot", "", PUPA_GUEST_LOAD_ADDR);
    rt_send(&m);
    pupa_msg_init(&m, "config", "", cfg->devices_count);
    rt_send(&m);
    cpuid(1, 0, r);
    /* SSE must be usable: nanopb's runtime needs it */
    pupa_msg_init(&m, (r[3] & (1u << 25)) ? "sse" : "no-sse", "", r[3]);
    rt_send(&m);
    pupa_msg_complete(&m, cfg->operation, cfg->devices_count, true);
    rt_send(&m);
    return PUPA_EXIT_OK;
}
