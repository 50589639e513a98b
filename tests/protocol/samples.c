/* samples.c: sample messages of every guest.proto kind for the protocol tests (see samples.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samples.h"

const unsigned sample_ndev[SAMPLE_NDEV_COUNT] = {0, 1, 16};

/* UTF-8 pieces, spelled out so the source stays ASCII */
#define E_ACUTE "\xc3\xa9"         /* U+00E9, 2 bytes */
#define EURO    "\xe2\x82\xac"     /* U+20AC, 3 bytes */
#define GRIN    "\xf0\x9f\x98\x80" /* U+1F600, 4 bytes */

/* SHA-256 of the empty string */
static const uint8_t sha256_empty[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

static void die_sample(const char *what)
{
    fprintf(stderr, "samples: %s\n", what);
    abort();
}

const char *sample_kind_name(int kind)
{
    static const char *const names[SK_COUNT] = {
        "none",     "init",        "capacity",      "progress",  "error",
        "complete", "info_result", "digest",        "info_node", "snapshot",
        "finding",  "map_extents", "compare_result"};
    return kind >= 0 && kind < SK_COUNT ? names[kind] : "?";
}

const char *sample_variant_name(int variant)
{
    static const char *const names[SV_COUNT] = {"empty", "typical", "max"};
    return variant >= 0 && variant < SV_COUNT ? names[variant] : "?";
}

void sample_fill(char *dst, size_t n, unsigned salt)
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++)
        dst[i] = alnum[(i + salt) % 62];
    dst[n] = '\0';
}

/* Fill a whole char array (sizeof(arr) - 1 characters). */
#define FILL(arr, salt) sample_fill((arr), sizeof(arr) - 1, (salt))

/* 4096 bytes of UTF-8 that needs JSON escaping: 273 x 15-byte unit + "z". */
static void fill_escapes(char *dst, size_t cap)
{
    static const char unit[] = "a\"\\\n\t\x01" E_ACUTE EURO GRIN;
    size_t u = sizeof(unit) - 1, n = 0;
    if (u != 15 || cap != 4097)
        die_sample("fill_escapes: unexpected sizes");
    for (int i = 0; i < 273; i++, n += u)
        memcpy(dst + n, unit, u);
    dst[n++] = 'z';
    dst[n] = '\0';
}

/* 4096 bytes of 4-byte UTF-8 sequences. */
static void fill_grins(char *dst, size_t cap)
{
    if (cap != 4097)
        die_sample("fill_grins: unexpected size");
    for (size_t i = 0; i < 1024; i++)
        memcpy(dst + 4 * i, GRIN, 4);
    dst[4096] = '\0';
}

static void check(bool ok, const char *what)
{
    if (!ok)
        die_sample(what);
}

static void guest_typical(pupa_GuestMessage *m, int kind)
{
    switch (kind) {
    case SK_NONE:
        m->level = pupa_Level_INFO;
        break;
    case SK_INIT:
        check(pupa_msg_init(m, "boot", "vda", 0x100000), "init");
        break;
    case SK_CAPACITY:
        check(pupa_msg_capacity(m, "vdb", 2097152, 1073741824), "capacity");
        break;
    case SK_PROGRESS:
        check(pupa_msg_progress(m, "read", "vda", 512, 2048), "progress");
        break;
    case SK_ERROR:
        check(pupa_msg_error(m, "read", "vda", 77, 5,
                             "I/O error: \"sector\" 77\tfailed\n\\ " E_ACUTE EURO GRIN),
              "error");
        break;
    case SK_COMPLETE:
        check(pupa_msg_complete(m, "info", 3, true), "complete");
        break;
    case SK_INFO_RESULT: {
        check(pupa_msg_info_result(m, "qcow2", 10737418240ull, 65536,
                                   PUPA_INFO_F_BACKING | PUPA_INFO_F_SNAPSHOTS),
              "info_result");
        pupa_InfoResultMessage *i = &m->payload.info_result;
        i->version = 3;
        i->actual_size = 200704;
        strcpy(i->backing_file, "base image " E_ACUTE EURO GRIN ".qcow2");
        strcpy(i->device, "vda");
        strcpy(i->backing_format, "raw");
        strcpy(i->specific_type, "qcow2");
        i->snapshot_count = 2;
        i->node_count = 12;
        i->finding_count = 1;
        break;
    }
    case SK_DIGEST:
        check(pupa_msg_digest(m, "vda", sha256_empty, 1048576), "digest");
        break;
    case SK_INFO_NODE: {
        m->level = pupa_Level_INFO;
        m->which_payload = pupa_GuestMessage_info_node_tag;
        pupa_InfoNodeMessage *n = &m->payload.info_node;
        n->kind = pupa_NodeKind_NODE_INT;
        strcpy(n->key, "cluster-offset");
        strcpy(n->str_value, "x");
        n->int_value = -42;
        n->uint_value = 7;
        n->bool_value = true;
        break;
    }
    case SK_SNAPSHOT: {
        m->level = pupa_Level_INFO;
        m->which_payload = pupa_GuestMessage_snapshot_tag;
        pupa_SnapshotMessage *s = &m->payload.snapshot;
        strcpy(s->id, "1");
        strcpy(s->name, "before upgrade");
        s->date_sec = 1700000000;
        s->date_nsec = 123456789;
        s->vm_clock_nsec = 5000000000ull;
        break;
    }
    case SK_FINDING:
        check(pupa_msg_finding(m, "backing-file",
                               "backing file \"../../etc/passwd\" escapes\x01 the image directory"),
              "finding");
        break;
    case SK_MAP_EXTENTS: {
        m->level = pupa_Level_INFO;
        m->which_payload = pupa_GuestMessage_map_extents_tag;
        pupa_MapExtentsMessage *x = &m->payload.map_extents;
        x->extents_count = 2;
        x->extents[0] = (pupa_MapExtent){0, 65536, 0, true, false, true, true, 327680};
        x->extents[1] = (pupa_MapExtent){65536, 1048576, 1, false, true, false, false, 0};
        x->last = true;
        break;
    }
    case SK_COMPARE_RESULT: {
        m->level = pupa_Level_INFO;
        m->which_payload = pupa_GuestMessage_compare_result_tag;
        pupa_CompareResultMessage *r = &m->payload.compare_result;
        r->outcome = pupa_CompareOutcome_COMPARE_CONTENT_MISMATCH;
        r->offset = 1536;
        r->image = 1;
        r->size_mismatch = true;
        break;
    }
    default:
        die_sample("unknown kind");
    }
}

static void guest_max(pupa_GuestMessage *m, int kind)
{
    m->level = pupa_Level_COMPLETE;
    switch (kind) {
    case SK_NONE:
        break;
    case SK_INIT: {
        m->which_payload = pupa_GuestMessage_init_tag;
        pupa_InitMessage *p = &m->payload.init;
        FILL(p->stage, pupa_InitMessage_stage_tag);
        FILL(p->device, pupa_InitMessage_device_tag);
        p->address = UINT64_MAX;
        break;
    }
    case SK_CAPACITY: {
        m->which_payload = pupa_GuestMessage_capacity_tag;
        pupa_CapacityMessage *p = &m->payload.capacity;
        FILL(p->device, pupa_CapacityMessage_device_tag);
        p->sectors = UINT64_MAX;
        p->bytes = UINT64_MAX;
        break;
    }
    case SK_PROGRESS: {
        m->which_payload = pupa_GuestMessage_progress_tag;
        pupa_ProgressMessage *p = &m->payload.progress;
        FILL(p->operation, pupa_ProgressMessage_operation_tag);
        p->current = UINT64_MAX;
        p->total = UINT64_MAX;
        p->percent = UINT32_MAX;
        FILL(p->device, pupa_ProgressMessage_device_tag);
        break;
    }
    case SK_ERROR: {
        m->which_payload = pupa_GuestMessage_error_tag;
        pupa_ErrorMessage *p = &m->payload.error;
        FILL(p->operation, pupa_ErrorMessage_operation_tag);
        FILL(p->device, pupa_ErrorMessage_device_tag);
        p->sector = UINT64_MAX;
        p->status = UINT32_MAX;
        fill_grins(p->message, sizeof(p->message));
        p->print = pupa_ErrorPrint_ERROR_PRINT_WHOLE_LINE; /* the highest value */
        break;
    }
    case SK_COMPLETE: {
        m->which_payload = pupa_GuestMessage_complete_tag;
        pupa_CompleteMessage *p = &m->payload.complete;
        FILL(p->operation, pupa_CompleteMessage_operation_tag);
        p->count = UINT64_MAX;
        p->success = true;
        break;
    }
    case SK_INFO_RESULT: {
        m->which_payload = pupa_GuestMessage_info_result_tag;
        pupa_InfoResultMessage *p = &m->payload.info_result;
        FILL(p->format, pupa_InfoResultMessage_format_tag);
        p->version = UINT32_MAX;
        p->virtual_size = UINT64_MAX;
        p->actual_size = UINT64_MAX;
        p->cluster_size = UINT32_MAX;
        p->flags = UINT32_MAX;
        FILL(p->backing_file, pupa_InfoResultMessage_backing_file_tag);
        FILL(p->external_data_file, pupa_InfoResultMessage_external_data_file_tag);
        FILL(p->device, pupa_InfoResultMessage_device_tag);
        FILL(p->backing_format, pupa_InfoResultMessage_backing_format_tag);
        FILL(p->specific_type, pupa_InfoResultMessage_specific_type_tag);
        p->snapshot_count = UINT32_MAX;
        p->node_count = UINT32_MAX;
        p->finding_count = UINT32_MAX;
        break;
    }
    case SK_DIGEST: {
        m->which_payload = pupa_GuestMessage_digest_tag;
        pupa_DigestMessage *p = &m->payload.digest;
        FILL(p->device, pupa_DigestMessage_device_tag);
        p->sha256.size = sizeof(p->sha256.bytes);
        for (size_t i = 0; i < sizeof(p->sha256.bytes); i++)
            p->sha256.bytes[i] = (uint8_t)((i * 37 + pupa_DigestMessage_sha256_tag) & 0xff);
        p->bytes = UINT64_MAX;
        break;
    }
    case SK_INFO_NODE: {
        m->which_payload = pupa_GuestMessage_info_node_tag;
        pupa_InfoNodeMessage *p = &m->payload.info_node;
        p->kind = pupa_NodeKind_NODE_END; /* the highest value */
        FILL(p->key, pupa_InfoNodeMessage_key_tag);
        FILL(p->str_value, pupa_InfoNodeMessage_str_value_tag);
        p->int_value = INT64_MIN;
        p->uint_value = UINT64_MAX;
        p->bool_value = true;
        break;
    }
    case SK_SNAPSHOT: {
        m->which_payload = pupa_GuestMessage_snapshot_tag;
        pupa_SnapshotMessage *p = &m->payload.snapshot;
        FILL(p->id, pupa_SnapshotMessage_id_tag);
        FILL(p->name, pupa_SnapshotMessage_name_tag);
        p->vm_state_size = UINT64_MAX;
        p->date_sec = INT64_MIN;
        p->date_nsec = UINT32_MAX;
        p->vm_clock_nsec = UINT64_MAX;
        p->icount = UINT64_MAX;
        p->has_icount = true;
        break;
    }
    case SK_FINDING: {
        m->which_payload = pupa_GuestMessage_finding_tag;
        pupa_FindingMessage *p = &m->payload.finding;
        FILL(p->check, pupa_FindingMessage_check_tag);
        fill_escapes(p->detail, sizeof(p->detail));
        break;
    }
    case SK_MAP_EXTENTS: {
        m->which_payload = pupa_GuestMessage_map_extents_tag;
        pupa_MapExtentsMessage *p = &m->payload.map_extents;
        p->extents_count = sizeof(p->extents) / sizeof(p->extents[0]);
        for (pb_size_t i = 0; i < p->extents_count; i++)
            p->extents[i] = (pupa_MapExtent){UINT64_MAX, UINT64_MAX, UINT32_MAX, true,
                                             true,       true,       true,       UINT64_MAX};
        p->last = true;
        break;
    }
    case SK_COMPARE_RESULT: {
        m->which_payload = pupa_GuestMessage_compare_result_tag;
        pupa_CompareResultMessage *p = &m->payload.compare_result;
        p->outcome = pupa_CompareOutcome_COMPARE_READ_ERROR; /* the highest value */
        p->offset = UINT64_MAX;
        p->image = UINT32_MAX;
        p->size_mismatch = true;
        FILL(p->reason, pupa_CompareResultMessage_reason_tag);
        break;
    }
    default:
        die_sample("unknown kind");
    }
}

static const pb_size_t kind_tag[SK_COUNT] = {
    0,
    pupa_GuestMessage_init_tag,
    pupa_GuestMessage_capacity_tag,
    pupa_GuestMessage_progress_tag,
    pupa_GuestMessage_error_tag,
    pupa_GuestMessage_complete_tag,
    pupa_GuestMessage_info_result_tag,
    pupa_GuestMessage_digest_tag,
    pupa_GuestMessage_info_node_tag,
    pupa_GuestMessage_snapshot_tag,
    pupa_GuestMessage_finding_tag,
    pupa_GuestMessage_map_extents_tag,
    pupa_GuestMessage_compare_result_tag,
};

void sample_guest(pupa_GuestMessage *m, int kind, int variant)
{
    if (kind < 0 || kind >= SK_COUNT)
        die_sample("unknown kind");
    memset(m, 0, sizeof(*m));
    switch (variant) {
    case SV_EMPTY:
        m->level = pupa_Level_DEBUG;
        m->which_payload = kind_tag[kind];
        break;
    case SV_TYPICAL:
        guest_typical(m, kind);
        break;
    case SV_MAX:
        guest_max(m, kind);
        break;
    default:
        die_sample("unknown variant");
    }
    if (m->which_payload != kind_tag[kind])
        die_sample("sample has the wrong payload member");
}

void sample_config(pupa_VmmConfig *c, unsigned ndevices, int variant)
{
    static const char *const typical_op[3] = {"selftest", "info", "read"};
    if (ndevices > PUPA_MAX_DEVICES || ndevices > sizeof(c->devices) / sizeof(c->devices[0]))
        die_sample("too many devices");
    memset(c, 0, sizeof(*c));
    c->devices_count = (pb_size_t)ndevices;
    switch (variant) {
    case SV_EMPTY:
        break; /* ndevices all-default devices */
    case SV_TYPICAL:
        for (unsigned i = 0; i < ndevices; i++) {
            snprintf(c->devices[i].name, sizeof(c->devices[i].name), "vd%c", 'a' + (char)i);
            c->devices[i].sector_size = 512u << (i % 4);
            c->devices[i].size_bytes = 1000000ull + i * 1048576ull;
            c->devices[i].allocated_bytes = 4096ull * i;
            c->devices[i].layer = i;
            strcpy(c->devices[i].format, i == 0 ? "qcow2" : "");
            snprintf(c->devices[i].filename, sizeof(c->devices[i].filename), "disk-%u.img", i);
        }
        c->start_offset = 65536;
        c->max_length = 1048576;
        c->has_max_length = true;
        c->strict = ndevices == 16;
        c->require_safe = true;
        c->virtual_disk = ndevices == 16;
        c->progress_percent = 5;
        strcpy(c->operation, typical_op[ndevices == 0 ? 0 : ndevices == 1 ? 1 : 2]);
        strcpy(c->format, ndevices == 1 ? "qcow2" : "");
        c->sha256 = ndevices == 16;
        strcpy(c->filename, "/srv/images/disk 1 " E_ACUTE ".qcow2");
        break;
    case SV_MAX:
        for (unsigned i = 0; i < ndevices; i++) {
            FILL(c->devices[i].name, pupa_DeviceConfig_name_tag + i);
            c->devices[i].sector_size = UINT32_MAX;
            c->devices[i].size_bytes = UINT64_MAX;
            c->devices[i].allocated_bytes = UINT64_MAX;
            c->devices[i].image = UINT32_MAX;
            c->devices[i].layer = UINT32_MAX;
            FILL(c->devices[i].format, pupa_DeviceConfig_format_tag + i);
            FILL(c->devices[i].filename, pupa_DeviceConfig_filename_tag + i);
        }
        c->start_offset = UINT64_MAX;
        c->max_length = UINT64_MAX;
        c->has_max_length = true;
        c->strict = true;
        c->require_safe = true;
        c->virtual_disk = true;
        c->progress_percent = UINT32_MAX;
        FILL(c->operation, pupa_VmmConfig_operation_tag);
        FILL(c->format, pupa_VmmConfig_format_tag);
        c->sha256 = true;
        FILL(c->filename, pupa_VmmConfig_filename_tag);
        break;
    default:
        die_sample("unknown variant");
    }
}

/* ------------------------------------------------------------ comparison */

static char diff_path[160];

static const char *differs(const char *prefix, const char *field)
{
    snprintf(diff_path, sizeof(diff_path), "%s%s", prefix, field);
    return diff_path;
}

static bool str_differs(const char *want, const char *got, size_t cap)
{
    /* got must be terminated inside its array before it can be compared */
    return strnlen(got, cap) >= cap || strcmp(want, got) != 0;
}

#define CMP_STR(prefix, want, got, field)                                                          \
    do {                                                                                           \
        if (str_differs((want)->field, (got)->field, sizeof((got)->field)))                        \
            return differs(prefix, #field);                                                        \
    } while (0)
#define CMP_NUM(prefix, want, got, field)                                                          \
    do {                                                                                           \
        if ((want)->field != (got)->field)                                                         \
            return differs(prefix, #field);                                                        \
    } while (0)

const char *sample_guest_diff(const pupa_GuestMessage *want, const pupa_GuestMessage *got)
{
    CMP_NUM("", want, got, level);
    CMP_NUM("", want, got, which_payload);
    switch (want->which_payload) {
    case 0:
        return NULL;
    case pupa_GuestMessage_init_tag: {
        const pupa_InitMessage *a = &want->payload.init, *b = &got->payload.init;
        CMP_STR("payload.init.", a, b, stage);
        CMP_STR("payload.init.", a, b, device);
        CMP_NUM("payload.init.", a, b, address);
        return NULL;
    }
    case pupa_GuestMessage_capacity_tag: {
        const pupa_CapacityMessage *a = &want->payload.capacity, *b = &got->payload.capacity;
        CMP_STR("payload.capacity.", a, b, device);
        CMP_NUM("payload.capacity.", a, b, sectors);
        CMP_NUM("payload.capacity.", a, b, bytes);
        return NULL;
    }
    case pupa_GuestMessage_progress_tag: {
        const pupa_ProgressMessage *a = &want->payload.progress, *b = &got->payload.progress;
        CMP_STR("payload.progress.", a, b, operation);
        CMP_NUM("payload.progress.", a, b, current);
        CMP_NUM("payload.progress.", a, b, total);
        CMP_NUM("payload.progress.", a, b, percent);
        CMP_STR("payload.progress.", a, b, device);
        return NULL;
    }
    case pupa_GuestMessage_error_tag: {
        const pupa_ErrorMessage *a = &want->payload.error, *b = &got->payload.error;
        CMP_STR("payload.error.", a, b, operation);
        CMP_STR("payload.error.", a, b, device);
        CMP_NUM("payload.error.", a, b, sector);
        CMP_NUM("payload.error.", a, b, status);
        CMP_STR("payload.error.", a, b, message);
        CMP_NUM("payload.error.", a, b, print);
        return NULL;
    }
    case pupa_GuestMessage_complete_tag: {
        const pupa_CompleteMessage *a = &want->payload.complete, *b = &got->payload.complete;
        CMP_STR("payload.complete.", a, b, operation);
        CMP_NUM("payload.complete.", a, b, count);
        CMP_NUM("payload.complete.", a, b, success);
        return NULL;
    }
    case pupa_GuestMessage_info_result_tag: {
        const pupa_InfoResultMessage *a = &want->payload.info_result,
                                     *b = &got->payload.info_result;
        CMP_STR("payload.info_result.", a, b, format);
        CMP_NUM("payload.info_result.", a, b, version);
        CMP_NUM("payload.info_result.", a, b, virtual_size);
        CMP_NUM("payload.info_result.", a, b, actual_size);
        CMP_NUM("payload.info_result.", a, b, cluster_size);
        CMP_NUM("payload.info_result.", a, b, flags);
        CMP_STR("payload.info_result.", a, b, backing_file);
        CMP_STR("payload.info_result.", a, b, external_data_file);
        CMP_STR("payload.info_result.", a, b, device);
        CMP_STR("payload.info_result.", a, b, backing_format);
        CMP_STR("payload.info_result.", a, b, specific_type);
        CMP_NUM("payload.info_result.", a, b, snapshot_count);
        CMP_NUM("payload.info_result.", a, b, node_count);
        CMP_NUM("payload.info_result.", a, b, finding_count);
        return NULL;
    }
    case pupa_GuestMessage_digest_tag: {
        const pupa_DigestMessage *a = &want->payload.digest, *b = &got->payload.digest;
        CMP_STR("payload.digest.", a, b, device);
        CMP_NUM("payload.digest.", a, b, sha256.size);
        if (b->sha256.size > sizeof(b->sha256.bytes) ||
            memcmp(a->sha256.bytes, b->sha256.bytes, a->sha256.size) != 0)
            return differs("payload.digest.", "sha256.bytes");
        CMP_NUM("payload.digest.", a, b, bytes);
        return NULL;
    }
    case pupa_GuestMessage_info_node_tag: {
        const pupa_InfoNodeMessage *a = &want->payload.info_node, *b = &got->payload.info_node;
        CMP_NUM("payload.info_node.", a, b, kind);
        CMP_STR("payload.info_node.", a, b, key);
        CMP_STR("payload.info_node.", a, b, str_value);
        CMP_NUM("payload.info_node.", a, b, int_value);
        CMP_NUM("payload.info_node.", a, b, uint_value);
        CMP_NUM("payload.info_node.", a, b, bool_value);
        return NULL;
    }
    case pupa_GuestMessage_snapshot_tag: {
        const pupa_SnapshotMessage *a = &want->payload.snapshot, *b = &got->payload.snapshot;
        CMP_STR("payload.snapshot.", a, b, id);
        CMP_STR("payload.snapshot.", a, b, name);
        CMP_NUM("payload.snapshot.", a, b, vm_state_size);
        CMP_NUM("payload.snapshot.", a, b, date_sec);
        CMP_NUM("payload.snapshot.", a, b, date_nsec);
        CMP_NUM("payload.snapshot.", a, b, vm_clock_nsec);
        CMP_NUM("payload.snapshot.", a, b, icount);
        CMP_NUM("payload.snapshot.", a, b, has_icount);
        return NULL;
    }
    case pupa_GuestMessage_finding_tag: {
        const pupa_FindingMessage *a = &want->payload.finding, *b = &got->payload.finding;
        CMP_STR("payload.finding.", a, b, check);
        CMP_STR("payload.finding.", a, b, detail);
        return NULL;
    }
    case pupa_GuestMessage_map_extents_tag: {
        const pupa_MapExtentsMessage *a = &want->payload.map_extents,
                                     *b = &got->payload.map_extents;
        CMP_NUM("payload.map_extents.", a, b, extents_count);
        CMP_NUM("payload.map_extents.", a, b, last);
        for (pb_size_t i = 0; i < a->extents_count; i++) {
            const pupa_MapExtent *x = &a->extents[i], *y = &b->extents[i];
            CMP_NUM("payload.map_extents.extents[].", x, y, start);
            CMP_NUM("payload.map_extents.extents[].", x, y, length);
            CMP_NUM("payload.map_extents.extents[].", x, y, depth);
            CMP_NUM("payload.map_extents.extents[].", x, y, present);
            CMP_NUM("payload.map_extents.extents[].", x, y, zero);
            CMP_NUM("payload.map_extents.extents[].", x, y, data);
            CMP_NUM("payload.map_extents.extents[].", x, y, has_offset);
            CMP_NUM("payload.map_extents.extents[].", x, y, offset);
        }
        return NULL;
    }
    case pupa_GuestMessage_compare_result_tag: {
        const pupa_CompareResultMessage *a = &want->payload.compare_result,
                                        *b = &got->payload.compare_result;
        CMP_NUM("payload.compare_result.", a, b, outcome);
        CMP_NUM("payload.compare_result.", a, b, offset);
        CMP_NUM("payload.compare_result.", a, b, image);
        CMP_NUM("payload.compare_result.", a, b, size_mismatch);
        CMP_STR("payload.compare_result.", a, b, reason);
        return NULL;
    }
    default:
        return differs("", "which_payload (unknown member)");
    }
}

const char *sample_config_diff(const pupa_VmmConfig *want, const pupa_VmmConfig *got)
{
    CMP_NUM("", want, got, devices_count);
    for (pb_size_t i = 0; i < want->devices_count; i++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "devices[%u].", (unsigned)i);
        const pupa_DeviceConfig *a = &want->devices[i], *b = &got->devices[i];
        CMP_STR(prefix, a, b, name);
        CMP_NUM(prefix, a, b, sector_size);
        CMP_NUM(prefix, a, b, size_bytes);
        CMP_NUM(prefix, a, b, allocated_bytes);
        CMP_NUM(prefix, a, b, image);
        CMP_NUM(prefix, a, b, layer);
        CMP_STR(prefix, a, b, format);
        CMP_STR(prefix, a, b, filename);
    }
    CMP_NUM("", want, got, progress_percent);
    CMP_STR("", want, got, operation);
    CMP_STR("", want, got, format);
    CMP_NUM("", want, got, sha256);
    CMP_STR("", want, got, filename);
    CMP_NUM("", want, got, start_offset);
    CMP_NUM("", want, got, max_length);
    CMP_NUM("", want, got, has_max_length);
    CMP_NUM("", want, got, strict);
    CMP_NUM("", want, got, require_safe);
    CMP_NUM("", want, got, virtual_disk);
    return NULL;
}

/* ------------------------------------------------------------ streams */

size_t sample_encode(const pb_msgdesc_t *fields, const void *msg, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    pupa_frame_status st = pupa_frame_encode(fields, msg, buf, cap, &n);
    if (st != PUPA_FRAME_OK) {
        fprintf(stderr, "samples: encode failed: %s\n", pupa_frame_status_str(st));
        abort();
    }
    return n;
}

uint8_t *sample_guest_stream(size_t *len, pupa_GuestMessage **msgs, size_t *count)
{
    static const int order[SV_COUNT] = {SV_MAX, SV_EMPTY, SV_TYPICAL};
    size_t n = (size_t)SK_COUNT * SV_COUNT, cap = n * PUPA_FRAME_MAX, off = 0;
    uint8_t *buf = malloc(cap);
    pupa_GuestMessage *m = calloc(n, sizeof(*m));
    if (!buf || !m)
        die_sample("out of memory");
    for (int k = 0, i = 0; k < SK_COUNT; k++) {
        for (int v = 0; v < SV_COUNT; v++, i++) {
            sample_guest(&m[i], k, order[v]);
            off += sample_encode(pupa_GuestMessage_fields, &m[i], buf + off, cap - off);
        }
    }
    *len = off;
    *msgs = m;
    *count = n;
    return buf;
}

uint8_t *sample_config_stream(size_t *len, pupa_VmmConfig **cfgs, size_t *count)
{
    static const int order[SV_COUNT] = {SV_MAX, SV_EMPTY, SV_TYPICAL};
    size_t n = (size_t)SAMPLE_NDEV_COUNT * SV_COUNT, cap = n * PUPA_FRAME_MAX, off = 0;
    uint8_t *buf = malloc(cap);
    pupa_VmmConfig *c = calloc(n, sizeof(*c));
    if (!buf || !c)
        die_sample("out of memory");
    for (int d = 0, i = 0; d < SAMPLE_NDEV_COUNT; d++) {
        for (int v = 0; v < SV_COUNT; v++, i++) {
            sample_config(&c[i], sample_ndev[d], order[v]);
            off += sample_encode(pupa_VmmConfig_fields, &c[i], buf + off, cap - off);
        }
    }
    *len = off;
    *cfgs = c;
    *count = n;
    return buf;
}
