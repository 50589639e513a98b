/* hostile.h: helpers for the test guests that behave like a guest an image took over:
 * frames built by hand, with whatever strings, counts and order the attack needs. */
#ifndef PUPA_TEST_HOSTILE_H
#define PUPA_TEST_HOSTILE_H

#include <string.h>

#include "rt.h"

/* Terminal escapes a taken-over guest would like to reach a terminal: a window title
 * (OSC ... BEL), clear screen (CSI 2J), a C1 CSI (U+009B in UTF-8 and as a raw byte),
 * a carriage return and a line break that could forge a line. */
#define EVIL                                                                                       \
    "\x1b]0;pwned\x07\x1b[2J\xc2\x9b"                                                              \
    "31m\x9b"                                                                                      \
    "1m\r\nforged: line"

static inline void hostile_node(pupa_NodeKind kind, const char *key, const char *str)
{
    static pupa_GuestMessage m;
    memset(&m, 0, sizeof(m));
    m.level = pupa_Level_INFO;
    m.which_payload = pupa_GuestMessage_info_node_tag;
    m.payload.info_node.kind = kind;
    PUPA_STRLCPY(m.payload.info_node.key, key);
    PUPA_STRLCPY(m.payload.info_node.str_value, str);
    rt_send(&m);
}

/* An info result announcing what was sent before it; strings may be NULL. */
static inline void hostile_result(const char *format, uint32_t nodes, uint32_t snapshots,
                                  uint32_t findings, const char *specific_type, const char *backing,
                                  const char *data_file, uint32_t flags)
{
    static pupa_GuestMessage m;
    pupa_msg_info_result(&m, format, 1 << 20, 65536, flags);
    pupa_InfoResultMessage *r = &m.payload.info_result;
    r->node_count = nodes;
    r->snapshot_count = snapshots;
    r->finding_count = findings;
    PUPA_STRLCPY(r->specific_type, specific_type ? specific_type : "");
    PUPA_STRLCPY(r->backing_file, backing ? backing : "");
    PUPA_STRLCPY(r->external_data_file, data_file ? data_file : "");
    rt_send(&m);
}

static inline void hostile_complete(const char *operation, bool success)
{
    static pupa_GuestMessage m;
    pupa_msg_complete(&m, operation, 1, success);
    rt_send(&m);
}

static inline bool hostile_op(const pupa_VmmConfig *cfg, const char *name)
{
    return strcmp(cfg->operation, name) == 0;
}

#endif
