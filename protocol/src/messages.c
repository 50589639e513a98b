/* messages.c: build each GuestMessage kind with its Level, copy strings safely. */
#include <string.h>

#include "pupa/protocol.h"

bool pupa_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t i = 0;

    if (cap == 0)
        return src == NULL || src[0] == '\0';
    if (src) {
        for (; i + 1 < cap && src[i] != '\0'; i++)
            dst[i] = src[i];
    }
    dst[i] = '\0';
    return src == NULL || src[i] == '\0';
}

uint32_t pupa_percent(uint64_t current, uint64_t total)
{
    if (total == 0 || current >= total)
        return 100;
    /* exact floor(current * 100 / total), < 100 here; 128 bits cannot overflow */
    return (uint32_t)((unsigned __int128)current * 100 / total);
}

/* Only the member being set is cleared: a GuestMessage is 12 KiB (its largest
 * member), most members are tiny, and only the active one is encoded. */
static void msg_reset(pupa_GuestMessage *m, pupa_Level level, pb_size_t which, size_t member)
{
    m->level = level;
    m->which_payload = which;
    memset(&m->payload, 0, member);
}

bool pupa_msg_init(pupa_GuestMessage *m, const char *stage, const char *device, uint64_t address)
{
    msg_reset(m, pupa_Level_INFO, pupa_GuestMessage_init_tag, sizeof(m->payload.init));
    m->payload.init.address = address;
    bool ok = PUPA_STRLCPY(m->payload.init.stage, stage);
    return PUPA_STRLCPY(m->payload.init.device, device) && ok;
}

bool pupa_msg_capacity(pupa_GuestMessage *m, const char *device, uint64_t sectors, uint64_t bytes)
{
    msg_reset(m, pupa_Level_INFO, pupa_GuestMessage_capacity_tag, sizeof(m->payload.capacity));
    m->payload.capacity.sectors = sectors;
    m->payload.capacity.bytes = bytes;
    return PUPA_STRLCPY(m->payload.capacity.device, device);
}

bool pupa_msg_progress(pupa_GuestMessage *m, const char *operation, const char *device,
                       uint64_t current, uint64_t total)
{
    msg_reset(m, pupa_Level_PROGRESS, pupa_GuestMessage_progress_tag, sizeof(m->payload.progress));
    pupa_ProgressMessage *p = &m->payload.progress;
    p->current = current;
    p->total = total;
    p->percent = pupa_percent(current, total);
    bool ok = PUPA_STRLCPY(p->operation, operation);
    return PUPA_STRLCPY(p->device, device) && ok;
}

bool pupa_msg_error(pupa_GuestMessage *m, const char *operation, const char *device,
                    uint64_t sector, uint32_t status, const char *message)
{
    msg_reset(m, pupa_Level_ERROR, pupa_GuestMessage_error_tag, sizeof(m->payload.error));
    pupa_ErrorMessage *e = &m->payload.error;
    e->sector = sector;
    e->status = status;
    bool ok = PUPA_STRLCPY(e->operation, operation);
    ok = PUPA_STRLCPY(e->device, device) && ok;
    return PUPA_STRLCPY(e->message, message) && ok;
}

bool pupa_msg_complete(pupa_GuestMessage *m, const char *operation, uint64_t count, bool success)
{
    msg_reset(m, pupa_Level_COMPLETE, pupa_GuestMessage_complete_tag, sizeof(m->payload.complete));
    m->payload.complete.count = count;
    m->payload.complete.success = success;
    return PUPA_STRLCPY(m->payload.complete.operation, operation);
}

bool pupa_msg_info_result(pupa_GuestMessage *m, const char *format, uint64_t virtual_size,
                          uint32_t cluster_size, uint32_t flags)
{
    msg_reset(m, pupa_Level_INFO, pupa_GuestMessage_info_result_tag,
              sizeof(m->payload.info_result));
    pupa_InfoResultMessage *i = &m->payload.info_result;
    i->virtual_size = virtual_size;
    i->cluster_size = cluster_size;
    i->flags = flags;
    return PUPA_STRLCPY(i->format, format);
}

bool pupa_msg_digest(pupa_GuestMessage *m, const char *device, const uint8_t sha256[32],
                     uint64_t bytes)
{
    msg_reset(m, pupa_Level_INFO, pupa_GuestMessage_digest_tag, sizeof(m->payload.digest));
    pupa_DigestMessage *d = &m->payload.digest;
    if (sha256) {
        memcpy(d->sha256.bytes, sha256, 32);
        d->sha256.size = 32;
    }
    d->bytes = bytes;
    return PUPA_STRLCPY(d->device, device);
}

bool pupa_msg_finding(pupa_GuestMessage *m, const char *check, const char *detail)
{
    msg_reset(m, pupa_Level_INFO, pupa_GuestMessage_finding_tag, sizeof(m->payload.finding));
    bool ok = PUPA_STRLCPY(m->payload.finding.check, check);
    return PUPA_STRLCPY(m->payload.finding.detail, detail) && ok;
}

const char *pupa_level_name(pupa_Level level)
{
    static const char *const names[] = {"DEBUG", "INFO", "PROGRESS", "ERROR", "COMPLETE"};
    if ((unsigned)level < sizeof(names) / sizeof(names[0]))
        return names[level];
    return NULL;
}

const char *pupa_node_kind_name(pupa_NodeKind kind)
{
    static const char *const names[] = {"NODE_STRING", "NODE_INT",  "NODE_UINT", "NODE_BOOL",
                                        "NODE_DICT",   "NODE_LIST", "NODE_END"};
    if ((unsigned)kind < sizeof(names) / sizeof(names[0]))
        return names[kind];
    return NULL;
}

const char *pupa_compare_outcome_name(pupa_CompareOutcome outcome)
{
    static const char *const names[] = {"COMPARE_IDENTICAL",         "COMPARE_CONTENT_MISMATCH",
                                        "COMPARE_STRICT_SIZE",       "COMPARE_STRICT_STATUS",
                                        "COMPARE_ALLOCATION_FAILED", "COMPARE_READ_ERROR"};
    if ((unsigned)outcome < sizeof(names) / sizeof(names[0]))
        return names[outcome];
    return NULL;
}

const char *pupa_error_print_name(pupa_ErrorPrint print)
{
    static const char *const names[] = {"ERROR_PRINT_DEFAULT", "ERROR_PRINT_OPEN",
                                        "ERROR_PRINT_WHOLE_LINE"};
    if ((unsigned)print < sizeof(names) / sizeof(names[0]))
        return names[print];
    return NULL;
}
