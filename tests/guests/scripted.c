/* scripted.c: test guest that sends one frame of every message type, in a
 * known order, then exits 0. The e2e test checks each arrived intact. */
#include <string.h>

#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    pupa_GuestMessage m;
    static const uint8_t digest[32] = {0xde, 0xad, 0xbe, 0xef};

    pupa_msg_init(&m, "scripted", "vda", 0x1234);
    rt_send(&m);
    pupa_msg_capacity(&m, "vda", 8, 4096);
    rt_send(&m);
    pupa_msg_progress(&m, "scripted", "vda", 50, 200);
    rt_send(&m);
    pupa_msg_error(&m, "scripted", "vda", 7, 1, "a scripted error");
    rt_send(&m);
    pupa_msg_info_result(&m, "raw", 4096, 0, 0);
    rt_send(&m);
    pupa_msg_digest(&m, "vda", digest, 4096);
    rt_send(&m);
    pupa_msg_finding(&m, "scripted-check", "a scripted finding");
    rt_send(&m);
    memset(&m, 0, sizeof(m));
    m.level = pupa_Level_INFO;
    m.which_payload = pupa_GuestMessage_info_node_tag;
    m.payload.info_node.kind = pupa_NodeKind_NODE_DICT;
    rt_send(&m);
    memset(&m, 0, sizeof(m));
    m.level = pupa_Level_INFO;
    m.which_payload = pupa_GuestMessage_snapshot_tag;
    strcpy(m.payload.snapshot.id, "1");
    strcpy(m.payload.snapshot.name, "snap");
    rt_send(&m);
    /* the config made it: echo the operation and the device count */
    pupa_msg_complete(&m, cfg->operation, cfg->devices_count, true);
    rt_send(&m);
    return PUPA_EXIT_OK;
}
