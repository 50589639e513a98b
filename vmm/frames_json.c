/* frames_json.c: JSON for every guest.proto message, one writer per message. */
#include <stdio.h>

#include "frames_json.h"

static void hex(struct json_writer *w, const char *key, const uint8_t *b, size_t n)
{
    char s[2 * 64 + 1];
    size_t i;
    for (i = 0; i < n && i < 64; i++)
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    s[2 * i] = '\0';
    json_str(w, key, s);
}

static void level(struct json_writer *w, pupa_Level l)
{
    const char *name = pupa_level_name(l);
    if (name)
        json_str(w, "level", name);
    else
        json_int(w, "level", (int64_t)l);
}

void frames_json_guest(struct json_writer *w, const pupa_GuestMessage *m)
{
    level(w, m->level);
    switch (m->which_payload) {
    case pupa_GuestMessage_init_tag: {
        const pupa_InitMessage *p = &m->payload.init;
        json_begin_object(w, "init");
        json_str(w, "stage", p->stage);
        json_str(w, "device", p->device);
        json_uint(w, "address", p->address);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_capacity_tag: {
        const pupa_CapacityMessage *p = &m->payload.capacity;
        json_begin_object(w, "capacity");
        json_str(w, "device", p->device);
        json_uint(w, "sectors", p->sectors);
        json_uint(w, "bytes", p->bytes);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_progress_tag: {
        const pupa_ProgressMessage *p = &m->payload.progress;
        json_begin_object(w, "progress");
        json_str(w, "operation", p->operation);
        json_uint(w, "current", p->current);
        json_uint(w, "total", p->total);
        json_uint(w, "percent", p->percent);
        json_str(w, "device", p->device);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_error_tag: {
        const pupa_ErrorMessage *p = &m->payload.error;
        json_begin_object(w, "error");
        json_str(w, "operation", p->operation);
        json_str(w, "device", p->device);
        json_uint(w, "sector", p->sector);
        json_uint(w, "status", p->status);
        json_str(w, "message", p->message);
        const char *print = pupa_error_print_name(p->print);
        if (print)
            json_str(w, "print", print);
        else
            json_int(w, "print", (int64_t)p->print);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_complete_tag: {
        const pupa_CompleteMessage *p = &m->payload.complete;
        json_begin_object(w, "complete");
        json_str(w, "operation", p->operation);
        json_uint(w, "count", p->count);
        json_bool(w, "success", p->success);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_info_result_tag: {
        const pupa_InfoResultMessage *p = &m->payload.info_result;
        json_begin_object(w, "info_result");
        json_str(w, "format", p->format);
        json_uint(w, "version", p->version);
        json_uint(w, "virtual_size", p->virtual_size);
        json_uint(w, "actual_size", p->actual_size);
        json_uint(w, "cluster_size", p->cluster_size);
        json_uint(w, "flags", p->flags);
        json_str(w, "backing_file", p->backing_file);
        json_str(w, "external_data_file", p->external_data_file);
        json_str(w, "device", p->device);
        json_str(w, "backing_format", p->backing_format);
        json_str(w, "specific_type", p->specific_type);
        json_uint(w, "snapshot_count", p->snapshot_count);
        json_uint(w, "node_count", p->node_count);
        json_uint(w, "finding_count", p->finding_count);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_digest_tag: {
        const pupa_DigestMessage *p = &m->payload.digest;
        json_begin_object(w, "digest");
        json_str(w, "device", p->device);
        hex(w, "sha256", p->sha256.bytes, p->sha256.size);
        json_uint(w, "bytes", p->bytes);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_info_node_tag: {
        const pupa_InfoNodeMessage *p = &m->payload.info_node;
        const char *kind = pupa_node_kind_name(p->kind);
        json_begin_object(w, "info_node");
        if (kind)
            json_str(w, "kind", kind);
        else
            json_int(w, "kind", (int64_t)p->kind);
        json_str(w, "key", p->key);
        json_str(w, "str_value", p->str_value);
        json_int(w, "int_value", p->int_value);
        json_uint(w, "uint_value", p->uint_value);
        json_bool(w, "bool_value", p->bool_value);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_snapshot_tag: {
        const pupa_SnapshotMessage *p = &m->payload.snapshot;
        json_begin_object(w, "snapshot");
        json_str(w, "id", p->id);
        json_str(w, "name", p->name);
        json_uint(w, "vm_state_size", p->vm_state_size);
        json_int(w, "date_sec", p->date_sec);
        json_uint(w, "date_nsec", p->date_nsec);
        json_uint(w, "vm_clock_nsec", p->vm_clock_nsec);
        json_uint(w, "icount", p->icount);
        json_bool(w, "has_icount", p->has_icount);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_finding_tag: {
        const pupa_FindingMessage *p = &m->payload.finding;
        json_begin_object(w, "finding");
        json_str(w, "check", p->check);
        json_str(w, "detail", p->detail);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_map_extents_tag: {
        const pupa_MapExtentsMessage *p = &m->payload.map_extents;
        json_begin_object(w, "map_extents");
        json_begin_array(w, "extents");
        for (pb_size_t i = 0; i < p->extents_count; i++) {
            const pupa_MapExtent *e = &p->extents[i];
            json_begin_object(w, NULL);
            json_uint(w, "start", e->start);
            json_uint(w, "length", e->length);
            json_uint(w, "depth", e->depth);
            json_bool(w, "present", e->present);
            json_bool(w, "zero", e->zero);
            json_bool(w, "data", e->data);
            json_bool(w, "has_offset", e->has_offset);
            json_uint(w, "offset", e->offset);
            json_end_object(w);
        }
        json_end_array(w);
        json_bool(w, "last", p->last);
        json_end_object(w);
        break;
    }
    case pupa_GuestMessage_compare_result_tag: {
        const pupa_CompareResultMessage *p = &m->payload.compare_result;
        const char *name = pupa_compare_outcome_name(p->outcome);
        json_begin_object(w, "compare_result");
        if (name)
            json_str(w, "outcome", name);
        else
            json_int(w, "outcome", (int64_t)p->outcome);
        json_uint(w, "offset", p->offset);
        json_uint(w, "image", p->image);
        json_bool(w, "size_mismatch", p->size_mismatch);
        json_str(w, "reason", p->reason);
        json_end_object(w);
        break;
    }
    default:
        break; /* no payload */
    }
}

void frames_json_config(struct json_writer *w, const pupa_VmmConfig *c)
{
    json_begin_array(w, "devices");
    for (pb_size_t i = 0; i < c->devices_count; i++) {
        json_begin_object(w, NULL);
        json_str(w, "name", c->devices[i].name);
        json_uint(w, "sector_size", c->devices[i].sector_size);
        json_uint(w, "size_bytes", c->devices[i].size_bytes);
        json_uint(w, "allocated_bytes", c->devices[i].allocated_bytes);
        json_uint(w, "image", c->devices[i].image);
        json_uint(w, "layer", c->devices[i].layer);
        json_str(w, "format", c->devices[i].format);
        json_str(w, "filename", c->devices[i].filename);
        json_end_object(w);
    }
    json_end_array(w);
    json_uint(w, "progress_percent", c->progress_percent);
    json_str(w, "operation", c->operation);
    json_str(w, "format", c->format);
    json_bool(w, "sha256", c->sha256);
    json_str(w, "filename", c->filename);
    json_uint(w, "start_offset", c->start_offset);
    json_uint(w, "max_length", c->max_length);
    json_bool(w, "has_max_length", c->has_max_length);
    json_bool(w, "strict", c->strict);
    json_bool(w, "require_safe", c->require_safe);
    json_bool(w, "virtual_disk", c->virtual_disk);
}
