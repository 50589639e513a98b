/* report.c: rebuild an image report from guest frames, trusting nothing (see report.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "pupa/findings.h"
#include "pupa/formats.h"
#include "report.h"
#include "util.h"

/* What one allocation costs beyond its bytes (malloc's header and rounding). */
#define ALLOC_OVERHEAD 32

_Static_assert(sizeof(((struct report *)0)->stack) / sizeof(void *) == BUDGET_DEPTH,
               "the tree stack holds BUDGET_DEPTH levels");

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
    free(r->warning);
    free(r->keys.slots);
    for (size_t i = 0; i < r->nlayers; i++) {
        free(r->layers[i].backing_file);
        free(r->layers[i].backing_format);
        free(r->layers[i].data_file);
    }
    free(r->extents);
    bool block = r->block;
    report_init(r);
    r->block = block;
}

__attribute__((format(printf, 4, 5))) static int violation(struct report *r, struct pupa_error *err,
                                                           enum pupa_errc cls, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    r->broken = true;
    if (cls == ERRC_RESULT_TOO_LARGE)
        return err_set(err, cls, "guest result exceeds its budget: %s", why);
    return err_set(err, cls, "guest protocol error: %s", why);
}

/* Count bytes held against the budget. */
static int hold(struct report *r, struct pupa_error *err, size_t bytes)
{
    r->bytes += bytes + ALLOC_OVERHEAD;
    if (r->bytes > BUDGET_RESULT_BYTES)
        return violation(r, err, ERRC_RESULT_TOO_LARGE, "it holds more than %llu MiB",
                         BUDGET_RESULT_BYTES >> 20);
    return 0;
}

/* ---------------------------------------------------------------- dict keys */

static uint32_t key_hash(const struct report_node *dict, const char *key)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)dict; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

static struct report_keyslot *key_slot(struct report_keyset *ks, const struct report_node *dict,
                                       const char *key, uint32_t h)
{
    size_t mask = ks->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct report_keyslot *s = &ks->slots[i];
        if (!s->dict || (s->hash == h && s->dict == dict && strcmp(s->member->key, key) == 0))
            return s;
    }
}

static void keyset_grow(struct report_keyset *ks)
{
    struct report_keyset old = *ks;
    ks->cap = old.cap ? old.cap * 2 : 64;
    ks->slots = xcalloc(ks->cap, sizeof(*ks->slots));
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].dict)
            *key_slot(ks, old.slots[i].dict, old.slots[i].member->key, old.slots[i].hash) =
                old.slots[i];
    }
    free(old.slots);
}

/* true when dict already has a member named key */
static bool key_seen(struct report_keyset *ks, const struct report_node *dict, const char *key)
{
    if (ks->cap == 0)
        return false;
    return key_slot(ks, dict, key, key_hash(dict, key))->dict != NULL;
}

static void key_add(struct report_keyset *ks, const struct report_node *dict,
                    const struct report_node *member)
{
    if (2 * (ks->used + 1) > ks->cap)
        keyset_grow(ks);
    uint32_t h = key_hash(dict, member->key);
    *key_slot(ks, dict, member->key, h) = (struct report_keyslot){dict, member, h};
    ks->used++;
}

/* ---------------------------------------------------------------- tree */

static void add_kid(struct report_node *parent, struct report_node *kid)
{
    if (parent->nkids == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 8;
        parent->kids = xrealloc(parent->kids, parent->cap * sizeof(*parent->kids));
    }
    parent->kids[parent->nkids++] = kid;
}

/* Where the next node goes: its parent's rules (root, keys, dict size). */
static int check_place(struct report *r, struct pupa_error *err, const pupa_InfoNodeMessage *m,
                       const struct report_node *parent)
{
    if (!parent && r->specific)
        return violation(r, err, ERRC_GUEST_FAILURE, "format-specific tree: second root");
    if (!parent && m->kind != pupa_NodeKind_NODE_DICT)
        return violation(r, err, ERRC_GUEST_FAILURE, "format-specific tree: root is not a dict");
    if (!parent || parent->kind == REPORT_LIST)
        return 0;
    if (m->key[0] == '\0')
        return violation(r, err, ERRC_GUEST_FAILURE,
                         "format-specific tree: dict member without a key");
    if (parent->nkids >= BUDGET_KEYS_PER_DICT)
        return violation(r, err, ERRC_RESULT_TOO_LARGE, "a dict has more than %d keys",
                         BUDGET_KEYS_PER_DICT);
    if (key_seen(&r->keys, parent, m->key))
        return violation(r, err, ERRC_GUEST_FAILURE, "format-specific tree: duplicate key '%s'",
                         m->key);
    return 0;
}

static int feed_node(struct report *r, const pupa_InfoNodeMessage *m, struct pupa_error *err)
{
    if (r->have_result)
        return violation(r, err, ERRC_GUEST_FAILURE, "format-specific node after the info result");
    if (m->kind == pupa_NodeKind_NODE_END) {
        if (r->depth == 0)
            return violation(r, err, ERRC_GUEST_FAILURE,
                             "format-specific tree: END without an open container");
        r->depth--;
        return 0;
    }
    if ((unsigned)m->kind > pupa_NodeKind_NODE_LIST)
        return violation(r, err, ERRC_GUEST_FAILURE, "format-specific tree: unknown node kind %d",
                         (int)m->kind);
    if (++r->nnodes > BUDGET_NODES)
        return violation(r, err, ERRC_RESULT_TOO_LARGE, "more than %d format-specific nodes",
                         BUDGET_NODES);
    struct report_node *parent = r->depth > 0 ? r->stack[r->depth - 1] : NULL;
    bool member = parent && parent->kind == REPORT_DICT;
    bool container = m->kind == pupa_NodeKind_NODE_DICT || m->kind == pupa_NodeKind_NODE_LIST;
    if (check_place(r, err, m, parent) != 0 ||
        hold(r, err,
             sizeof(struct report_node) + 2 * sizeof(void *) + (member ? strlen(m->key) + 1 : 0) +
                 (m->kind == pupa_NodeKind_NODE_STRING ? strlen(m->str_value) + 1 : 0)) != 0)
        return -1;
    if (container && r->depth == BUDGET_DEPTH)
        return violation(r, err, ERRC_RESULT_TOO_LARGE, "format-specific tree deeper than %d",
                         BUDGET_DEPTH);

    struct report_node *n = xcalloc(1, sizeof(*n));
    n->kind = (enum report_kind)m->kind;
    n->key = member ? xstrdup(m->key) : NULL;
    n->i = m->int_value;
    n->u = m->uint_value;
    n->b = m->bool_value;
    if (n->kind == REPORT_STRING)
        n->str = xstrdup(m->str_value);
    if (parent) {
        add_kid(parent, n);
        if (member)
            key_add(&r->keys, parent, n);
    } else {
        r->specific = n;
    }
    if (container)
        r->stack[r->depth++] = n;
    return 0;
}

/* ---------------------------------------------------------------- result */

static int check_counts(struct report *r, const pupa_InfoResultMessage *m, struct pupa_error *err)
{
    if (r->have_result)
        return violation(r, err, ERRC_GUEST_FAILURE, "second info result");
    if (r->depth != 0)
        return violation(r, err, ERRC_GUEST_FAILURE,
                         "info result inside an open format-specific container");
    if (m->node_count != r->nnodes)
        return violation(r, err, ERRC_GUEST_FAILURE, "info result announces %u nodes, %zu arrived",
                         m->node_count, r->nnodes);
    if (m->snapshot_count != r->nsnapshots)
        return violation(r, err, ERRC_GUEST_FAILURE,
                         "info result announces %u snapshots, %zu arrived", m->snapshot_count,
                         r->nsnapshots);
    if (m->finding_count != r->nfindings)
        return violation(r, err, ERRC_GUEST_FAILURE,
                         "info result announces %u findings, %zu arrived", m->finding_count,
                         r->nfindings);
    if ((m->specific_type[0] != '\0') != (r->specific != NULL))
        return violation(r, err, ERRC_GUEST_FAILURE, "format-specific type and tree disagree");
    if (m->format[0] == '\0')
        return violation(r, err, ERRC_GUEST_FAILURE, "info result without a format");
    return 0;
}

static int feed_info_result(struct report *r, const pupa_InfoResultMessage *m,
                            struct pupa_error *err)
{
    if (check_counts(r, m, err) != 0 || hold(r, err,
                                             strlen(m->backing_file) + strlen(m->backing_format) +
                                                 strlen(m->external_data_file)) != 0)
        return -1;
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
    r->guest_findings = r->nfindings;
    return 0;
}

static int feed_snapshot(struct report *r, const pupa_SnapshotMessage *m, struct pupa_error *err)
{
    if (r->have_result)
        return violation(r, err, ERRC_GUEST_FAILURE, "snapshot after the info result");
    if (r->nsnapshots == BUDGET_SNAPSHOTS)
        return violation(r, err, ERRC_RESULT_TOO_LARGE, "more than %d snapshots", BUDGET_SNAPSHOTS);
    if (hold(r, err, sizeof(*m)) != 0)
        return -1;
    if ((r->nsnapshots & (r->nsnapshots - 1)) == 0) {
        size_t cap = r->nsnapshots ? r->nsnapshots * 2 : 4;
        r->snapshots = xrealloc(r->snapshots, cap * sizeof(*r->snapshots));
    }
    r->snapshots[r->nsnapshots++] = *m;
    return 0;
}

static void add_finding(struct report *r, const char *check, const char *detail)
{
    if ((r->nfindings & (r->nfindings - 1)) == 0) {
        size_t cap = r->nfindings ? r->nfindings * 2 : 4;
        r->findings = xrealloc(r->findings, cap * sizeof(*r->findings));
    }
    r->findings[r->nfindings].check = xstrdup(check);
    r->findings[r->nfindings].detail = xstrdup(detail);
    r->nfindings++;
}

static int feed_finding(struct report *r, const pupa_FindingMessage *m, struct pupa_error *err)
{
    if (r->have_result && !r->block) /* block operations: layer after layer */
        return violation(r, err, ERRC_GUEST_FAILURE, "finding after the info result");
    if (r->nfindings == BUDGET_FINDINGS)
        return violation(r, err, ERRC_RESULT_TOO_LARGE, "more than %d findings", BUDGET_FINDINGS);
    if (m->check[0] == '\0')
        return violation(r, err, ERRC_GUEST_FAILURE, "finding without a check name");
    if (hold(r, err, strlen(m->check) + strlen(m->detail) + 2) != 0)
        return -1;
    add_finding(r, m->check, m->detail);
    return 0;
}

/* The first error is the one that explains the failure; later ones are only counted. */
static void feed_error(struct report *r, const pupa_ErrorMessage *m)
{
    if (r->nerrors++ > 0)
        return;
    if (m->message[0])
        r->error = xstrdup(m->message);
    else
        r->error = xasprintf("%s failed on %s at sector %llu (status %u)",
                             m->operation[0] ? m->operation : "operation",
                             m->device[0] ? m->device : "device", (unsigned long long)m->sector,
                             m->status);
    r->error_print = m->print;
}

static int feed_digest(struct report *r, const pupa_DigestMessage *m, struct pupa_error *err)
{
    if (m->sha256.size != 32)
        return violation(r, err, ERRC_GUEST_FAILURE, "digest of %u bytes",
                         (unsigned)m->sha256.size);
    if (r->ndigests == PUPA_MAX_DEVICES)
        return violation(r, err, ERRC_GUEST_FAILURE, "more digests than devices");
    struct report_digest *d = &r->digests[r->ndigests++];
    PUPA_STRLCPY(d->device, m->device);
    memcpy(d->sha256, m->sha256.bytes, 32);
    d->bytes = m->bytes;
    return 0;
}

/* ---------------------------------------------------------------- block operations */

static char *dup_or_null(const char *s)
{
    return s[0] ? xstrdup(s) : NULL;
}

/* One layer's InfoResult: no tree, no snapshots, each device once. */
static int feed_layer(struct report *r, const pupa_InfoResultMessage *m, struct pupa_error *err)
{
    if (m->node_count || m->snapshot_count || m->specific_type[0])
        return violation(r, err, ERRC_GUEST_FAILURE, "a layer's result with a tree");
    if (m->format[0] == '\0')
        return violation(r, err, ERRC_GUEST_FAILURE, "info result without a format");
    if (r->nlayers == PUPA_MAX_DEVICES)
        return violation(r, err, ERRC_GUEST_FAILURE, "more layers than disks");
    for (size_t i = 0; i < r->nlayers; i++) {
        if (strcmp(r->layers[i].device, m->device) == 0)
            return violation(r, err, ERRC_GUEST_FAILURE, "two results for one disk");
    }
    if (hold(r, err,
             strlen(m->backing_file) + strlen(m->backing_format) + strlen(m->external_data_file)) !=
        0)
        return -1;
    struct report_layer *l = &r->layers[r->nlayers++];
    PUPA_STRLCPY(l->device, m->device);
    PUPA_STRLCPY(l->format, m->format);
    l->virtual_size = m->virtual_size;
    l->flags = m->flags;
    l->backing_file = dup_or_null(m->backing_file);
    l->backing_format = dup_or_null(m->backing_format);
    l->data_file = dup_or_null(m->external_data_file);
    if (r->nlayers == 1) { /* the image itself: the fields the verdict reads */
        r->have_result = true;
        PUPA_STRLCPY(r->format, m->format);
        r->virtual_size = m->virtual_size;
        r->cluster_size = m->cluster_size;
        r->flags = m->flags;
    }
    return 0;
}

static int feed_extents(struct report *r, const pupa_MapExtentsMessage *m, struct pupa_error *err)
{
    if (r->extents_last)
        return violation(r, err, ERRC_GUEST_FAILURE, "map entries after the last one");
    if (m->extents_count == 0)
        return violation(r, err, ERRC_GUEST_FAILURE, "an empty map frame");
    if (hold(r, err, m->extents_count * sizeof(pupa_MapExtent)) != 0)
        return -1;
    if (r->cap_extents - r->nextents < m->extents_count) {
        r->cap_extents = r->cap_extents ? 2 * r->cap_extents : 1024;
        r->extents = xrealloc(r->extents, r->cap_extents * sizeof(*r->extents));
    }
    memcpy(r->extents + r->nextents, m->extents, m->extents_count * sizeof(*r->extents));
    r->nextents += m->extents_count;
    r->extents_last = m->last;
    return 0;
}

static int feed_block(struct report *r, const pupa_GuestMessage *m, struct pupa_error *err)
{
    switch (m->which_payload) {
    case pupa_GuestMessage_finding_tag:
        return feed_finding(r, &m->payload.finding, err);
    case pupa_GuestMessage_info_result_tag:
        return feed_layer(r, &m->payload.info_result, err);
    case pupa_GuestMessage_map_extents_tag:
        return feed_extents(r, &m->payload.map_extents, err);
    case pupa_GuestMessage_compare_result_tag:
        if (r->have_compare)
            return violation(r, err, ERRC_GUEST_FAILURE, "second compare result");
        r->have_compare = true;
        r->compare = m->payload.compare_result;
        return 0;
    case pupa_GuestMessage_error_tag:
        /* the last one is the cause; one before it is what qemu prints first */
        if (r->nerrors++ > 0) {
            free(r->warning);
            r->warning = r->error;
            r->error = NULL;
        }
        r->error =
            xstrdup(m->payload.error.message[0] ? m->payload.error.message : "operation failed");
        r->error_print = m->payload.error.print;
        PUPA_STRLCPY(r->error_device, m->payload.error.device);
        return 0;
    case pupa_GuestMessage_digest_tag:
        return feed_digest(r, &m->payload.digest, err);
    case pupa_GuestMessage_complete_tag:
        r->complete = true;
        r->success = m->payload.complete.success;
        r->count = m->payload.complete.count;
        return 0;
    case pupa_GuestMessage_info_node_tag:
    case pupa_GuestMessage_snapshot_tag:
        return violation(r, err, ERRC_GUEST_FAILURE, "an info tree in a block operation");
    default:
        return 0; /* init, capacity, progress: for the status display */
    }
}

int report_check_block(struct report *r, size_t nlayers, struct pupa_error *err)
{
    if (r->broken)
        return -1;
    if (!r->complete)
        return violation(r, err, ERRC_GUEST_FAILURE, "guest stopped without a complete message");
    if (r->success && r->nlayers != nlayers)
        return violation(r, err, ERRC_GUEST_FAILURE, "%zu layer results for %zu disks", r->nlayers,
                         nlayers);
    return 0;
}

/* ---------------------------------------------------------------- dispatch */

int report_feed(struct report *r, const pupa_GuestMessage *m, struct pupa_error *err)
{
    if (r->broken)
        return -1;
    if (r->complete)
        return violation(r, err, ERRC_GUEST_FAILURE, "frame after the complete message");
    if (r->block)
        return feed_block(r, m, err);
    switch (m->which_payload) {
    case pupa_GuestMessage_info_node_tag:
        return feed_node(r, &m->payload.info_node, err);
    case pupa_GuestMessage_snapshot_tag:
        return feed_snapshot(r, &m->payload.snapshot, err);
    case pupa_GuestMessage_finding_tag:
        return feed_finding(r, &m->payload.finding, err);
    case pupa_GuestMessage_info_result_tag:
        return feed_info_result(r, &m->payload.info_result, err);
    case pupa_GuestMessage_error_tag:
        feed_error(r, &m->payload.error);
        return 0;
    case pupa_GuestMessage_digest_tag:
        return feed_digest(r, &m->payload.digest, err);
    case pupa_GuestMessage_complete_tag:
        r->complete = true;
        r->success = m->payload.complete.success;
        r->count = m->payload.complete.count;
        return 0;
    default:
        return 0; /* init, capacity, progress: for the status display */
    }
}

int report_check_info(struct report *r, struct pupa_error *err)
{
    if (r->broken)
        return -1;
    if (!r->complete)
        return violation(r, err, ERRC_GUEST_FAILURE, "guest stopped without a complete message");
    if (r->success && !r->have_result)
        return violation(r, err, ERRC_GUEST_FAILURE,
                         "guest reported success without an info result");
    return 0;
}

/* ---------------------------------------------------------------- derived findings */

static bool has_finding(const struct report *r, const char *check)
{
    for (size_t i = 0; i < r->nfindings; i++) {
        if (strcmp(r->findings[i].check, check) == 0)
            return true;
    }
    return false;
}

/* Add a finding the fields imply unless the guest reported that check already. */
#define DERIVE(r, check, ...)                                                                      \
    do {                                                                                           \
        if (!has_finding((r), (check))) {                                                          \
            char *detail_ = xasprintf(__VA_ARGS__);                                                \
            add_finding((r), (check), detail_);                                                    \
            free(detail_);                                                                         \
        }                                                                                          \
    } while (0)

static const struct report_node *member(const struct report_node *dict, const char *key)
{
    if (!dict || dict->kind != REPORT_DICT)
        return NULL;
    for (size_t i = 0; i < dict->nkids; i++) {
        if (strcmp(dict->kids[i]->key, key) == 0)
            return dict->kids[i];
    }
    return NULL;
}

/* A vmdk whose extent list names a file other than the image itself. */
static const char *external_extent(const struct report *r, const char *filename)
{
    if (strcmp(r->specific_type, "vmdk") != 0)
        return NULL;
    const struct report_node *extents = member(r->specific, "extents");
    for (size_t i = 0; extents && extents->kind == REPORT_LIST && i < extents->nkids; i++) {
        const struct report_node *name = member(extents->kids[i], "filename");
        if (name && name->kind == REPORT_STRING && strcmp(name->str, filename) != 0)
            return name->str;
    }
    return NULL;
}

/* The findings one image's (or layer's) fields imply. */
static void derive_fields(struct report *r, const char *backing_file, const char *backing_format,
                          const char *data_file, const char *extent, uint32_t flags,
                          const char *format)
{
    if (backing_file)
        DERIVE(r, PUPA_CHECK_BACKING_FILE, PUPA_DETAIL_BACKING_FILE, backing_file);
    if (data_file)
        DERIVE(r, PUPA_CHECK_DATA_FILE, PUPA_DETAIL_DATA_FILE, data_file);
    if (extent)
        DERIVE(r, PUPA_CHECK_EXTERNAL_EXTENT,
               "the descriptor names extent file '%s'; qemu would open it, pupa did not", extent);
    if (flags & PUPA_INFO_F_CORRUPT)
        DERIVE(r, PUPA_CHECK_CORRUPT, "%s", PUPA_DETAIL_CORRUPT);
    if (flags & PUPA_INFO_F_ENCRYPTED)
        DERIVE(r, PUPA_CHECK_ENCRYPTED, "%s", PUPA_DETAIL_ENCRYPTED);
    if ((backing_file && pupa_has_control_chars(backing_file)) ||
        (backing_format && pupa_has_control_chars(backing_format)) ||
        (data_file && pupa_has_control_chars(data_file)))
        DERIVE(r, PUPA_CHECK_CONTROL_CHARS, "%s", PUPA_DETAIL_CONTROL_CHARS);
    if (!pupa_format_known(format))
        DERIVE(r, PUPA_CHECK_UNKNOWN_FORMAT,
               "the guest reported format '%s', which is not one qemu-img 7.2 knows", format);
}

void report_derive_findings(struct report *r, const char *filename)
{
    if (r->block) { /* every layer of every chain */
        for (size_t i = 0; i < r->nlayers; i++) {
            const struct report_layer *l = &r->layers[i];
            derive_fields(r, l->backing_file, l->backing_format, l->data_file, NULL, l->flags,
                          l->format);
        }
        return;
    }
    if (!r->have_result)
        return;
    derive_fields(r, r->backing_file, r->backing_format, r->data_file,
                  external_extent(r, filename), r->flags, r->format);
}
