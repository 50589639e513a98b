/* hostile_strings.c: a taken-over guest puts terminal escapes and line breaks in every
 * string it sends: progress frames, errors, the info result, the tree, snapshots,
 * findings, its log. None may reach a terminal; JSON must carry them escaped. */
#include "hostile.h"

static void progress_frames(void)
{
    static pupa_GuestMessage m;
    pupa_msg_init(&m, EVIL, "vda", 0);
    rt_send(&m);
    pupa_msg_init(&m, "probe", EVIL, 0);
    rt_send(&m);
    pupa_msg_capacity(&m, EVIL, 8, 4096);
    rt_send(&m);
    pupa_msg_progress(&m, EVIL, EVIL, 0, 100);
    rt_send(&m);
    pupa_msg_progress(&m, EVIL, EVIL, 100, 100);
    rt_send(&m);
}

static void info_answer(void)
{
    static pupa_GuestMessage m;
    hostile_node(pupa_NodeKind_NODE_DICT, "", "");
    hostile_node(pupa_NodeKind_NODE_STRING, EVIL, EVIL);
    hostile_node(pupa_NodeKind_NODE_LIST, "list", "");
    hostile_node(pupa_NodeKind_NODE_STRING, "", EVIL);
    hostile_node(pupa_NodeKind_NODE_END, "", "");
    hostile_node(pupa_NodeKind_NODE_END, "", "");
    memset(&m, 0, sizeof(m));
    m.level = pupa_Level_INFO;
    m.which_payload = pupa_GuestMessage_snapshot_tag;
    PUPA_STRLCPY(m.payload.snapshot.id, EVIL);
    PUPA_STRLCPY(m.payload.snapshot.name, EVIL);
    rt_send(&m);
    pupa_msg_finding(&m, EVIL, EVIL);
    rt_send(&m);
    pupa_msg_info_result(&m, EVIL, 1 << 20, 0, PUPA_INFO_F_HAS_DIRTY_FLAG);
    pupa_InfoResultMessage *r = &m.payload.info_result;
    r->node_count = 4;
    r->snapshot_count = 1;
    r->finding_count = 1;
    PUPA_STRLCPY(r->specific_type, EVIL);
    PUPA_STRLCPY(r->backing_file, EVIL);
    PUPA_STRLCPY(r->backing_format, EVIL);
    PUPA_STRLCPY(r->external_data_file, EVIL);
    rt_send(&m);
}

int guest_main(const pupa_VmmConfig *cfg)
{
    static pupa_GuestMessage m;
    rt_log("%s", EVIL);
    progress_frames();
    if (hostile_op(cfg, "info")) {
        info_answer();
    } else if (hostile_op(cfg, "read")) {
        static const uint8_t digest[32] = {0x5e};
        pupa_msg_digest(&m, "vda", digest, cfg->devices[0].size_bytes);
        rt_send(&m);
    }
    pupa_msg_error(&m, EVIL, EVIL, 1, 2, EVIL);
    rt_send(&m);
    hostile_complete(hostile_op(cfg, "info") || hostile_op(cfg, "read") ? cfg->operation : EVIL,
                     true);
    return hostile_op(cfg, "info") || hostile_op(cfg, "read") ? PUPA_EXIT_OK : PUPA_EXIT_FAILURE;
}
