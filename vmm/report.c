/* report.c: rebuild an image report from guest frames, trusting nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

void report_init(struct report *r)
{
    memset(r, 0, sizeof(*r));
}

static void node_free(struct report_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->key);
    free(n->str);
    free(n);
}

void report_free(struct report *r)
{
    node_free(r->specific);
    for (size_t i = 0; i < r->nfindings; i++) {
        free(r->findings[i].check);
        free(r->findings[i].detail);
    }
    free(r->findings);
    free(r->snapshots);
    free(r->backing_file);
    free(r->backing_format);
    free(r->data_file);
    free(r->error);
    report_init(r);
}

__attribute__((format(printf, 2, 3))) static bool violation(struct report *r, const char *fmt, ...)
{
    if (r->protocol_error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->protocol_error, sizeof(r->protocol_error), fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool add_kid(struct report_node *parent, struct report_node *kid)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct report_node **k = realloc(parent->kids, cap * sizeof(*k));
        if (!k)
            return false;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->nkids++] = kid;
    return true;
}

static bool feed_node(struct report *r, const pupa_InfoNodeMessage *m)
{
    if (r->have_result)
        return violation(r, "format-specific node after the info result");
    if (m->kind == pupa_NodeKind_NODE_END) {
        if (r->depth == 0)
            return violation(r, "format-specific tree: END without an open container");
        r->depth--;
        return true;
    }
    if ((unsigned)m->kind > pupa_NodeKind_NODE_LIST)
        return violation(r, "format-specific tree: unknown node kind %d", (int)m->kind);
    if (++r->nnodes > REPORT_MAX_NODES)
        return violation(r, "format-specific tree: more than %d nodes", REPORT_MAX_NODES);
    r->bytes += sizeof(struct report_node) + sizeof(void *) + strlen(m->key) + strlen(m->str_value);
    if (r->bytes > REPORT_MAX_BYTES)
        return violation(r, "the report grew over %u MiB", REPORT_MAX_BYTES >> 20);

    struct report_node *parent = r->depth > 0 ? r->stack[r->depth - 1] : NULL;
    bool in_list = parent && parent->kind == REPORT_LIST;
    if (!parent && r->specific)
        return violation(r, "format-specific tree: second root");
    if (!parent && m->kind != pupa_NodeKind_NODE_DICT)
        return violation(r, "format-specific tree: root is not a dict");
    if (parent && !in_list && m->key[0] == '\0')
        return violation(r, "format-specific tree: dict member without a key");
    if (parent && !in_list) {
        for (size_t i = 0; i < parent->nkids; i++) {
            if (strcmp(parent->kids[i]->key, m->key) == 0)
                return violation(r, "format-specific tree: duplicate key '%s'", m->key);
        }
    }

    struct report_node *n = calloc(1, sizeof(*n));
    if (!n)
        return violation(r, "out of memory");
    n->kind = (enum report_kind)m->kind;
    n->key = (parent && !in_list) ? xstrdup(m->key) : NULL;
    n->i = m->int_value;
    n->u = m->uint_value;
    n->b = m->bool_value;
    if (n->kind == REPORT_STRING)
        n->str = xstrdup(m->str_value);
    if (parent) {
        if (!add_kid(parent, n)) {
            node_free(n);
            return violation(r, "out of memory");
        }
    } else {
        r->specific = n;
    }
    if (n->kind == REPORT_DICT || n->kind == REPORT_LIST) {
        if (r->depth == REPORT_MAX_DEPTH)
            return violation(r, "format-specific tree deeper than %d", REPORT_MAX_DEPTH);
        r->stack[r->depth++] = n;
    }
    return true;
}

static bool feed_info_result(struct report *r, const pupa_InfoResultMessage *m)
{
    if (r->have_result)
        return violation(r, "second info result");
    if (r->depth != 0)
        return violation(r, "info result inside an open format-specific container");
    if (m->node_count != r->nnodes)
        return violation(r, "info result announces %u nodes, %zu arrived", m->node_count,
                         r->nnodes);
    if (m->snapshot_count != r->nsnapshots)
        return violation(r, "info result announces %u snapshots, %zu arrived", m->snapshot_count,
                         r->nsnapshots);
    if (m->finding_count != r->nfindings)
        return violation(r, "info result announces %u findings, %zu arrived", m->finding_count,
                         r->nfindings);
    if ((m->specific_type[0] != '\0') != (r->specific != NULL))
        return violation(r, "format-specific type and tree disagree");
    if (m->format[0] == '\0')
        return violation(r, "info result without a format");
    r->have_result = true;
    PUPA_STRLCPY(r->format, m->format);
    r->version = m->version;
    r->virtual_size = m->virtual_size;
    r->cluster_size = m->cluster_size;
    r->flags = m->flags;
    if (m->backing_file[0])
        r->backing_file = xstrdup(m->backing_file);
    if (m->backing_format[0])
        r->backing_format = xstrdup(m->backing_format);
    if (m->external_data_file[0])
        r->data_file = xstrdup(m->external_data_file);
    PUPA_STRLCPY(r->specific_type, m->specific_type);
    return true;
}

static bool feed_snapshot(struct report *r, const pupa_SnapshotMessage *m)
{
    if (r->have_result)
        return violation(r, "snapshot after the info result");
    if (r->nsnapshots == REPORT_MAX_SNAPSHOTS)
        return violation(r, "more than %d snapshots", REPORT_MAX_SNAPSHOTS);
    r->bytes += sizeof(*m);
    if (r->bytes > REPORT_MAX_BYTES)
        return violation(r, "the report grew over %u MiB", REPORT_MAX_BYTES >> 20);
    if ((r->nsnapshots & (r->nsnapshots - 1)) == 0) {
        size_t cap = r->nsnapshots ? r->nsnapshots * 2 : 4;
        pupa_SnapshotMessage *s = realloc(r->snapshots, cap * sizeof(*s));
        if (!s)
            return violation(r, "out of memory");
        r->snapshots = s;
    }
    r->snapshots[r->nsnapshots++] = *m;
    return true;
}

static bool feed_finding(struct report *r, const pupa_FindingMessage *m)
{
    if (r->have_result)
        return violation(r, "finding after the info result");
    if (r->nfindings == REPORT_MAX_FINDINGS)
        return violation(r, "more than %d findings", REPORT_MAX_FINDINGS);
    if (m->check[0] == '\0')
        return violation(r, "finding without a check name");
    if ((r->nfindings & (r->nfindings - 1)) == 0) {
        size_t cap = r->nfindings ? r->nfindings * 2 : 4;
        struct report_finding *f = realloc(r->findings, cap * sizeof(*f));
        if (!f)
            return violation(r, "out of memory");
        r->findings = f;
    }
    r->findings[r->nfindings].check = xstrdup(m->check);
    r->findings[r->nfindings].detail = xstrdup(m->detail);
    r->nfindings++;
    return true;
}

static bool feed_error(struct report *r, const pupa_ErrorMessage *m)
{
    if (++r->nerrors > REPORT_MAX_ERRORS)
        return true; /* keep the first ones; a flood is not worth more memory */
    if (!r->error) {
        char buf[4300];
        if (m->message[0])
            snprintf(buf, sizeof(buf), "%s", m->message);
        else
            snprintf(buf, sizeof(buf), "%s failed on %s at sector %llu (status %u)",
                     m->operation[0] ? m->operation : "operation",
                     m->device[0] ? m->device : "device", (unsigned long long)m->sector, m->status);
        r->error = xstrdup(buf);
        r->error_status = m->status;
    }
    return true;
}

static bool feed_digest(struct report *r, const pupa_DigestMessage *m)
{
    if (m->sha256.size != 32)
        return violation(r, "digest of %u bytes", (unsigned)m->sha256.size);
    if (r->ndigests == PUPA_MAX_DEVICES)
        return violation(r, "more digests than devices");
    struct report_digest *d = &r->digests[r->ndigests++];
    PUPA_STRLCPY(d->device, m->device);
    memcpy(d->sha256, m->sha256.bytes, 32);
    d->bytes = m->bytes;
    return true;
}

bool report_feed(struct report *r, const pupa_GuestMessage *m)
{
    if (r->protocol_error[0])
        return false;
    if (r->complete)
        return violation(r, "frame after the complete message");
    switch (m->which_payload) {
    case pupa_GuestMessage_info_node_tag:
        return feed_node(r, &m->payload.info_node);
    case pupa_GuestMessage_snapshot_tag:
        return feed_snapshot(r, &m->payload.snapshot);
    case pupa_GuestMessage_finding_tag:
        return feed_finding(r, &m->payload.finding);
    case pupa_GuestMessage_info_result_tag:
        return feed_info_result(r, &m->payload.info_result);
    case pupa_GuestMessage_error_tag:
        return feed_error(r, &m->payload.error);
    case pupa_GuestMessage_digest_tag:
        return feed_digest(r, &m->payload.digest);
    case pupa_GuestMessage_complete_tag:
        r->complete = true;
        r->success = m->payload.complete.success;
        r->count = m->payload.complete.count;
        return true;
    default:
        return true; /* init, capacity, progress: for the status display */
    }
}

bool report_check_info(struct report *r)
{
    if (r->protocol_error[0])
        return false;
    if (!r->complete)
        return violation(r, "guest stopped without a complete message");
    if (r->success && !r->have_result)
        return violation(r, "guest reported success without an info result");
    return true;
}
