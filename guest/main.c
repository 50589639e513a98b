/* main.c: the pupa guest: run the operation VmmConfig asks for. */
#include <string.h>

#include "ops/ops.h"
#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    if (strcmp(cfg->operation, "selftest") == 0)
        return op_selftest(cfg);
    if (strcmp(cfg->operation, "read") == 0)
        return cfg->virtual_disk ? op_read_virtual(cfg) : op_read(cfg);
    if (strcmp(cfg->operation, "map") == 0)
        return op_map(cfg);
    if (strcmp(cfg->operation, "compare") == 0)
        return op_compare(cfg);
    if (strcmp(cfg->operation, "info") == 0)
        return op_info(cfg);
    rt_log("guest: unknown operation '%s'", cfg->operation);
    pupa_GuestMessage m;
    pupa_msg_error(&m, cfg->operation, "", 0, 1, "unknown operation");
    rt_send(&m);
    pupa_msg_complete(&m, cfg->operation, 0, false);
    rt_send(&m);
    return PUPA_EXIT_FAILURE;
}
