/* report.h: what a guest answered about one image, rebuilt from its frames in the
 * parent, checked frame by frame against the protocol and the budgets (budget.h). */
#ifndef PUPA_REPORT_H
#define PUPA_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pupa/protocol.h"

enum report_kind {
    REPORT_STRING = pupa_NodeKind_NODE_STRING,
    REPORT_INT = pupa_NodeKind_NODE_INT,
    REPORT_UINT = pupa_NodeKind_NODE_UINT,
    REPORT_BOOL = pupa_NodeKind_NODE_BOOL,
    REPORT_DICT = pupa_NodeKind_NODE_DICT,
    REPORT_LIST = pupa_NodeKind_NODE_LIST,
};

struct report_node {
    enum report_kind kind;
    char *key; /* NULL inside lists */
    char *str;
    int64_t i;
    uint64_t u;
    bool b;
    struct report_node **kids;
    size_t nkids, cap;
};

struct report_finding {
    char *check;
    char *detail;
};

struct report_digest {
    char device[33];
    uint8_t sha256[32];
    uint64_t bytes;
};

/* Dict members by (dict, key): duplicate keys are found in O(1). */
struct report_keyset {
    struct report_keyslot {
        const struct report_node *dict;
        const struct report_node *member;
        uint32_t hash;
    } * slots;
    size_t cap, used;
};

/* Block operations (map, compare, read --virtual): one InfoResult per disk, each
 * layer of each image's chain. */
struct report_layer {
    char device[33];
    char format[33];
    uint64_t virtual_size;
    uint32_t flags;
    char *backing_file, *backing_format, *data_file; /* NULL = none */
};

struct report {
    /* set by the caller before the first frame: a block operation's frames (several
     * InfoResults, map entries, a compare result) */
    bool block;
    struct report_layer layers[PUPA_MAX_DEVICES];
    size_t nlayers;
    pupa_MapExtent *extents; /* map: the entries, in order */
    size_t nextents, cap_extents;
    bool extents_last; /* the entry qemu-img prints last arrived */
    bool have_compare;
    pupa_CompareResultMessage compare;
    char *warning;         /* block: an Error frame before the cause (qemu's corruption line) */
    char error_device[33]; /* block: the disk the cause is about */

    /* InfoResult (block: the first layer's) */
    bool have_result;
    char format[33];
    uint32_t version;
    uint64_t virtual_size;
    uint64_t actual_size; /* set by the VMM (fstat), never from the guest */
    uint32_t cluster_size;
    uint32_t flags;
    char *backing_file;   /* NULL = none */
    char *backing_format; /* NULL = none */
    char *data_file;      /* NULL = none */
    char specific_type[33];
    struct report_node *specific; /* root DICT, NULL = none */
    pupa_SnapshotMessage *snapshots;
    size_t nsnapshots;
    struct report_finding *findings;
    size_t nfindings;
    size_t guest_findings; /* the first ones came from the guest, the rest from the VMM */
    /* read */
    struct report_digest digests[PUPA_MAX_DEVICES];
    size_t ndigests;
    /* Complete / Error */
    bool complete;
    bool success;
    uint64_t count;
    char *error;                 /* first ErrorMessage text (or formatted fields), NULL = none */
    pupa_ErrorPrint error_print; /* how that text is printed (info) */
    size_t nerrors;

    /* building state */
    struct report_node *stack[16];
    int depth;
    size_t nnodes;
    size_t bytes; /* held for this report, against BUDGET_RESULT_BYTES */
    struct report_keyset keys;
    bool broken; /* a frame broke the protocol or a budget: no more frames are taken */
};

void report_init(struct report *r);
void report_free(struct report *r);
/* Take one guest message. -1 (err set: guest-failure for a protocol violation,
 * result-too-large for a budget) when the guest broke the rules; the report must
 * then not be used, and every further call fails too. */
PUPA_MUST_CHECK int report_feed(struct report *r, const pupa_GuestMessage *m,
                                struct pupa_error *err);
/* After the guest exited: -1 (err set) when the frames do not add up to one
 * consistent info result. */
PUPA_MUST_CHECK int report_check_info(struct report *r, struct pupa_error *err);
/* The same for a block operation: a complete message, an InfoResult for every layer
 * that opened (nlayers of them when the guest succeeded). */
PUPA_MUST_CHECK int report_check_block(struct report *r, size_t nlayers, struct pupa_error *err);
/* Add the findings the result's own fields imply and the guest left out (backing
 * file, data file, external extents, encryption, corruption, control characters, a
 * format pupa does not know). filename: the image as the user named it. */
void report_derive_findings(struct report *r, const char *filename);

#endif
