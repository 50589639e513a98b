/* output.c: qemu-img compatible human and JSON output of an image report. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "pupa/path.h"
#include "util.h"

/* ------------------------------------------------------------ qemu's QDict order */

/* qemu stores QDict entries in 512 hash buckets (tdb_hash) and inserts at the
 * head of a bucket; iteration walks buckets in order. Its JSON and its
 * "Format specific information" both come out in that order. */
#define QDICT_BUCKET_MAX 512

static unsigned tdb_hash(const char *name)
{
    unsigned value = 0x238F13AFu * (unsigned)strlen(name);
    for (unsigned i = 0; name[i]; i++)
        value = value + ((unsigned)(unsigned char)name[i] << (i * 5 % 24));
    return 1103515243u * value + 12345u;
}

struct qkey {
    unsigned bucket;
    size_t index;
};

static int qkey_cmp(const void *a, const void *b)
{
    const struct qkey *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    /* later insertions sit at the head of the bucket */
    return x->index > y->index ? -1 : (x->index < y->index ? 1 : 0);
}

void qdict_order(const char *const *keys, size_t n, size_t *order)
{
    struct qkey *k = xcalloc(n, sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        k[i].bucket = tdb_hash(keys[i]) % QDICT_BUCKET_MAX;
        k[i].index = i;
    }
    qsort(k, n, sizeof(*k), qkey_cmp);
    for (size_t i = 0; i < n; i++)
        order[i] = k[i].index;
    free(k);
}

static size_t *node_order(const struct report_node *n)
{
    size_t *order = xcalloc(n->nkids, sizeof(*order));
    if (n->kind == REPORT_DICT) {
        const char **keys = xcalloc(n->nkids, sizeof(*keys));
        for (size_t i = 0; i < n->nkids; i++)
            keys[i] = n->kids[i]->key;
        qdict_order(keys, n->nkids, order);
        free(keys);
    } else {
        for (size_t i = 0; i < n->nkids; i++)
            order[i] = i;
    }
    return order;
}

/* ------------------------------------------------------------ sizes */

void output_size_str(char *buf, size_t cap, uint64_t val)
{
    static const char *const suffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int i;

    frexp((double)val / (1000.0 / 1024.0), &i);
    i = (i - 1) / 10;
    if (i < 0)
        i = 0;
    if (i > 6)
        i = 6;
    uint64_t div = 1ull << (i * 10);
    snprintf(buf, cap, "%0.3g %sB", (double)val / (double)div, suffixes[i]);
}

/* ------------------------------------------------------------ human */

struct human {
    struct strbuf *out;
    bool tty;
};

static void human_str(struct human *h, const char *s)
{
    if (!h->tty) {
        sb_puts(h->out, s);
        return;
    }
    size_t cap = strlen(s) + 1;
    char *clean = xmalloc(cap);
    sanitize_for_tty(clean, cap, s);
    sb_puts(h->out, clean);
    free(clean);
}

static void human_node(struct human *h, int indent, const struct report_node *n);

static void human_scalar(struct human *h, const struct report_node *n)
{
    switch (n->kind) {
    case REPORT_STRING:
        human_str(h, n->str);
        break;
    case REPORT_INT:
        sb_printf(h->out, "%lld", (long long)n->i);
        break;
    case REPORT_UINT:
        sb_printf(h->out, "%llu", (unsigned long long)n->u);
        break;
    case REPORT_BOOL:
        sb_puts(h->out, n->b ? "true" : "false");
        break;
    default:
        break;
    }
}

/* qemu's dump_qdict()/dump_qlist(): "key: value", containers on their own lines,
 * dashes in keys shown as spaces, list members as "[i]:". */
static void human_container(struct human *h, int indent, const struct report_node *n)
{
    size_t *order = node_order(n);
    for (size_t j = 0; j < n->nkids; j++) {
        const struct report_node *kid = n->kids[order[j]];
        bool composite = kid->kind == REPORT_DICT || kid->kind == REPORT_LIST;
        sb_printf(h->out, "%*s", indent * 4, "");
        if (n->kind == REPORT_DICT) {
            char *key = xstrdup(kid->key);
            for (char *p = key; *p; p++)
                if (*p == '-')
                    *p = ' ';
            human_str(h, key);
            free(key);
        } else {
            sb_printf(h->out, "[%zu]", order[j]);
        }
        sb_puts(h->out, composite ? ":\n" : ": ");
        human_node(h, indent + 1, kid);
        if (!composite)
            sb_puts(h->out, "\n");
    }
    free(order);
}

static void human_node(struct human *h, int indent, const struct report_node *n)
{
    if (n->kind == REPORT_DICT || n->kind == REPORT_LIST)
        human_container(h, indent, n);
    else
        human_scalar(h, n);
}

static void human_snapshot(struct human *h, const pupa_SnapshotMessage *sn)
{
    char date[128] = "", clock[128], icount[64] = "", size[64];
    struct tm tm;
    time_t t = (time_t)sn->date_sec;
    if (localtime_r(&t, &tm))
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    uint64_t secs = sn->vm_clock_nsec / 1000000000ull;
    snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d", (int)(secs / 3600),
             (int)((secs / 60) % 60), (int)(secs % 60),
             (int)((sn->vm_clock_nsec / 1000000ull) % 1000));
    output_size_str(size, sizeof(size), sn->vm_state_size);
    if (sn->has_icount)
        snprintf(icount, sizeof(icount), "%lld", (long long)sn->icount);
    char *id = xasprintf("%-9s", sn->id);
    char *name = xasprintf("%-16s", sn->name);
    human_str(h, id);
    sb_puts(h->out, " ");
    human_str(h, name);
    sb_printf(h->out, " %8s%20s%13s%11s\n", size, date, clock, icount);
    free(id);
    free(name);
}

static void full_backing(char *dst, size_t cap, const char *filename, const char *backing)
{
    if (!pupa_path_combine(dst, cap, filename, backing))
        snprintf(dst, cap, "%s", backing);
}

void output_info_human(struct strbuf *out, const struct report *r, const char *filename, bool tty)
{
    struct human h = {out, tty};
    char vsize[64], dsize[64];

    output_size_str(vsize, sizeof(vsize), r->virtual_size);
    output_size_str(dsize, sizeof(dsize), r->actual_size);
    sb_puts(out, "image: ");
    human_str(&h, filename);
    sb_puts(out, "\nfile format: ");
    human_str(&h, r->format);
    sb_printf(out, "\nvirtual size: %s (%llu bytes)\ndisk size: %s\n", vsize,
              (unsigned long long)r->virtual_size, dsize);
    if (r->flags & PUPA_INFO_F_ENCRYPTED)
        sb_puts(out, "encrypted: yes\n");
    if (r->cluster_size)
        sb_printf(out, "cluster_size: %u\n", r->cluster_size);
    if ((r->flags & PUPA_INFO_F_HAS_DIRTY_FLAG) && (r->flags & PUPA_INFO_F_DIRTY))
        sb_puts(out, "cleanly shut down: no\n");
    if (r->backing_file) {
        char full[PUPA_PATH_MAX * 2];
        full_backing(full, sizeof(full), filename, r->backing_file);
        sb_puts(out, "backing file: ");
        human_str(&h, r->backing_file);
        if (strcmp(full, r->backing_file) != 0) {
            sb_puts(out, " (actual path: ");
            human_str(&h, full);
            sb_puts(out, ")");
        }
        sb_puts(out, "\n");
        if (r->backing_format) {
            sb_puts(out, "backing file format: ");
            human_str(&h, r->backing_format);
            sb_puts(out, "\n");
        }
    }
    if (r->nsnapshots) {
        sb_printf(out, "Snapshot list:\n%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE",
                  "DATE", "VM CLOCK", "ICOUNT");
        for (size_t i = 0; i < r->nsnapshots; i++)
            human_snapshot(&h, &r->snapshots[i]);
    }
    if (r->specific) {
        sb_puts(out, "Format specific information:\n");
        human_container(&h, 1, r->specific);
    }
    /* pupa's own block: always one line per finding, whatever the image's strings
     * hold (a name with a newline must not be able to forge a line here) */
    struct human block = {out, true};
    sb_printf(out, "safety: %s\n", r->nfindings ? "UNSAFE" : "safe");
    for (size_t i = 0; i < r->nfindings; i++) {
        sb_puts(out, "    ");
        human_str(&block, r->findings[i].check);
        sb_puts(out, ": ");
        human_str(&block, r->findings[i].detail);
        sb_puts(out, "\n");
    }
}

/* ------------------------------------------------------------ JSON */

static void json_node(struct json_writer *w, const char *key, const struct report_node *n)
{
    switch (n->kind) {
    case REPORT_STRING:
        json_str(w, key, n->str);
        return;
    case REPORT_INT:
        json_int(w, key, n->i);
        return;
    case REPORT_UINT:
        json_uint(w, key, n->u);
        return;
    case REPORT_BOOL:
        json_bool(w, key, n->b);
        return;
    case REPORT_DICT:
    case REPORT_LIST: {
        bool dict = n->kind == REPORT_DICT;
        if (dict)
            json_begin_object(w, key);
        else
            json_begin_array(w, key);
        size_t *order = node_order(n);
        for (size_t j = 0; j < n->nkids; j++)
            json_node(w, n->kids[order[j]]->key, n->kids[order[j]]);
        free(order);
        if (dict)
            json_end_object(w);
        else
            json_end_array(w);
        return;
    }
    }
}

/* Top-level and snapshot members: emitted through a table so they can be
 * put in qemu's QDict order. */
enum jkind { J_STR, J_INT, J_UINT, J_BOOL, J_SNAPSHOTS, J_SPECIFIC };
struct jmember {
    const char *key;
    enum jkind kind;
    const char *s;
    int64_t i;
    uint64_t u;
    bool b;
};

static void json_members(struct json_writer *w, const struct report *r, const struct jmember *m,
                         size_t n);

static void json_snapshots(struct json_writer *w, const struct report *r)
{
    json_begin_array(w, "snapshots");
    for (size_t i = 0; i < r->nsnapshots; i++) {
        const pupa_SnapshotMessage *sn = &r->snapshots[i];
        struct jmember m[8] = {
            {"id", J_STR, sn->id, 0, 0, false},
            {"name", J_STR, sn->name, 0, 0, false},
            {"vm-state-size", J_INT, NULL, (int64_t)sn->vm_state_size, 0, false},
            {"date-sec", J_INT, NULL, sn->date_sec, 0, false},
            {"date-nsec", J_INT, NULL, sn->date_nsec, 0, false},
            {"vm-clock-sec", J_INT, NULL, (int64_t)(sn->vm_clock_nsec / 1000000000ull), 0, false},
            {"vm-clock-nsec", J_INT, NULL, (int64_t)(sn->vm_clock_nsec % 1000000000ull), 0, false},
            {"icount", J_INT, NULL, (int64_t)sn->icount, 0, false},
        };
        json_begin_object(w, NULL);
        json_members(w, r, m, sn->has_icount ? 8 : 7);
        json_end_object(w);
    }
    json_end_array(w);
}

void output_safety_json(struct json_writer *w, const struct report *r)
{
    json_begin_object(w, "safety");
    json_bool(w, "safe", r->nfindings == 0);
    json_begin_array(w, "findings");
    for (size_t i = 0; i < r->nfindings; i++) {
        json_begin_object(w, NULL);
        json_str(w, "check", r->findings[i].check);
        json_str(w, "detail", r->findings[i].detail);
        json_end_object(w);
    }
    json_end_array(w);
    json_end_object(w);
}

static void json_members(struct json_writer *w, const struct report *r, const struct jmember *m,
                         size_t n)
{
    const char *keys[32];
    size_t order[32];
    for (size_t i = 0; i < n; i++)
        keys[i] = m[i].key;
    qdict_order(keys, n, order);
    for (size_t j = 0; j < n; j++) {
        const struct jmember *e = &m[order[j]];
        switch (e->kind) {
        case J_STR:
            json_str(w, e->key, e->s);
            break;
        case J_INT:
            json_int(w, e->key, e->i);
            break;
        case J_UINT:
            json_uint(w, e->key, e->u);
            break;
        case J_BOOL:
            json_bool(w, e->key, e->b);
            break;
        case J_SNAPSHOTS:
            json_snapshots(w, r);
            break;
        case J_SPECIFIC:
            json_begin_object(w, e->key);
            json_str(w, "type", r->specific_type);
            json_node(w, "data", r->specific);
            json_end_object(w);
            break;
        }
    }
}

static void info_json_object(struct json_writer *w, const struct report *r, const char *filename)
{
    struct jmember m[16];
    size_t n = 0;
    char full[PUPA_PATH_MAX * 2];

#define ADD(...)                                                                                   \
    m[n++] = (struct jmember)                                                                      \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }
    if (r->nsnapshots)
        ADD("snapshots", J_SNAPSHOTS, NULL, 0, 0, false);
    ADD("virtual-size", J_UINT, NULL, 0, r->virtual_size, false);
    ADD("filename", J_STR, filename, 0, 0, false);
    if (r->cluster_size)
        ADD("cluster-size", J_UINT, NULL, 0, r->cluster_size, false);
    ADD("format", J_STR, r->format, 0, 0, false);
    ADD("actual-size", J_UINT, NULL, 0, r->actual_size, false);
    if (r->flags & PUPA_INFO_F_ENCRYPTED)
        ADD("encrypted", J_BOOL, NULL, 0, 0, true);
    if (r->specific)
        ADD("format-specific", J_SPECIFIC, NULL, 0, 0, false);
    if (r->backing_file) {
        full_backing(full, sizeof(full), filename, r->backing_file);
        if (r->backing_format)
            ADD("backing-filename-format", J_STR, r->backing_format, 0, 0, false);
        ADD("full-backing-filename", J_STR, full, 0, 0, false);
        ADD("backing-filename", J_STR, r->backing_file, 0, 0, false);
    }
    if (r->flags & PUPA_INFO_F_HAS_DIRTY_FLAG)
        ADD("dirty-flag", J_BOOL, NULL, 0, 0, (r->flags & PUPA_INFO_F_DIRTY) != 0);
#undef ADD

    json_begin_object(w, NULL);
    json_members(w, r, m, n);
    output_safety_json(w, r); /* pupa's addition, after everything qemu-img prints */
    json_end_object(w);
}

void output_info_json(struct strbuf *out, const struct report *r, const char *filename, bool pretty)
{
    struct json_writer w;
    json_init(&w, out, pretty);
    info_json_object(&w, r, filename);
}

void output_info_json_chain(struct strbuf *out, const struct report *r, const char *filename,
                            bool pretty)
{
    struct json_writer w;
    json_init(&w, out, pretty);
    json_begin_array(&w, NULL);
    info_json_object(&w, r, filename);
    json_end_array(&w);
}
