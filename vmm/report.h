/* report.h: what the guest said about one image, rebuilt from its frames. */
#ifndef PUPA_REPORT_H
#define PUPA_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pupa/protocol.h"

/* Limits on what a (possibly hostile) guest can make the VMM hold. */
#define REPORT_MAX_NODES     400000      /* qcow2 allows 65535 bitmaps of 6 nodes each */
#define REPORT_MAX_BYTES     (64u << 20) /* everything a report may hold */
#define REPORT_MAX_DEPTH     16
#define REPORT_MAX_SNAPSHOTS 70000
#define REPORT_MAX_FINDINGS  256
#define REPORT_MAX_ERRORS    64

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

struct report {
    /* InfoResult */
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
    /* read */
    struct report_digest digests[PUPA_MAX_DEVICES];
    size_t ndigests;
    /* Complete / Error */
    bool complete;
    bool success;
    uint64_t count;
    char *error;           /* first ErrorMessage text (or formatted fields), NULL = none */
    uint32_t error_status; /* its status (info: PUPA_INFO_ERROR_*) */
    size_t nerrors;
    /* set when the guest broke the rules (out of order, over a limit, ...) */
    char protocol_error[160];

    /* tree building state */
    struct report_node *stack[REPORT_MAX_DEPTH];
    int depth;
    size_t nnodes;
    size_t bytes; /* held for this report, against REPORT_MAX_BYTES */
};

void report_init(struct report *r);
void report_free(struct report *r);
/* Take one guest message. Returns false (and sets protocol_error) when the
 * guest broke the protocol; the report must then not be trusted. */
bool report_feed(struct report *r, const pupa_GuestMessage *m);
/* After the guest exited: false (protocol_error set) when the frames do not
 * add up to one consistent info result. */
bool report_check_info(struct report *r);

#endif
