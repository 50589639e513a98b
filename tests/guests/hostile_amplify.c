/* hostile_amplify.c: a taken-over guest answers info with a result built to be huge
 * once printed: 16 000 strings of 4096 0xff bytes, each byte of which JSON escapes as
 * six (\uFFFD): 393 MB of JSON from a 4 KiB image. With -f qcow2 it sends 70 000 of
 * them, more than the parent may hold at all. Either way: one clear per-image failure,
 * bounded memory. The node frame is encoded once and sent again and again (the
 * emulator would take minutes to encode each). */
#include "hostile.h"

#define PER_CHUNK 250

int guest_main(const pupa_VmmConfig *cfg)
{
    static uint8_t chunk[PER_CHUNK * 4200] __attribute__((aligned(4096)));
    static pupa_GuestMessage m;
    uint32_t rounds = strcmp(cfg->format, "qcow2") == 0 ? 280 : 64;
    memset(&m, 0, sizeof(m));
    m.level = pupa_Level_INFO;
    m.which_payload = pupa_GuestMessage_info_node_tag;
    m.payload.info_node.kind = pupa_NodeKind_NODE_STRING;
    memset(m.payload.info_node.str_value, 0xff, 4096);
    size_t used = 0, len = 0;
    for (int i = 0; i < PER_CHUNK; i++) {
        if (pupa_frame_encode(pupa_GuestMessage_fields, &m, chunk + used, sizeof(chunk) - used,
                              &len) != PUPA_FRAME_OK)
            rt_panic("cannot encode the node frame");
        used += len;
    }
    hostile_node(pupa_NodeKind_NODE_DICT, "", "");
    hostile_node(pupa_NodeKind_NODE_LIST, "l", "");
    for (uint32_t i = 0; i < rounds; i++)
        rt_send_raw(chunk, used);
    hostile_node(pupa_NodeKind_NODE_END, "", "");
    hostile_node(pupa_NodeKind_NODE_END, "", "");
    hostile_result("raw", rounds * PER_CHUNK + 2, 0, 0, "raw", NULL, NULL, 0);
    hostile_complete("info", true);
    return PUPA_EXIT_OK;
}
