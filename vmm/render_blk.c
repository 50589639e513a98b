/* render_blk.c: the block operations' outcomes and printed results: map (qemu-img
 * map's output, byte for byte), compare (qemu-img compare's lines and exit
 * statuses) and read --virtual (sha256sum lines of the virtual disk). The guest's
 * answer is checked here before anything is printed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "map_print.h"
#include "output.h"
#include "render.h"
#include "util.h"

/* The message a guest sends when --require-safe stopped it before the contents. */
#define UNSAFE_STOP "--require-safe stops before its contents"

/* ---------------------------------------------------------------- shared */

/* The file behind the guest's disk `device` ("vdb"): an image or a backing file. */
static const char *disk_file(const struct job *j, const char *device)
{
    for (size_t i = 0; i < j->ndisks; i++) {
        char name[PUPA_DEVICE_NAME_SIZE];
        pupa_device_name(name, (unsigned)i);
        if (strcmp(name, device) == 0)
            return j->disk_info[i].filename;
    }
    return j->names[0];
}

enum answer { ANSWER_DECIDED, ANSWER_UNSAFE_STOP, ANSWER_FAILED, ANSWER_OK };

/* What a block operation's guest answered: the outcome is decided (the run or the
 * frames failed, an image did not open), it stopped for --require-safe on an image
 * it showed unsafe, it failed while working (r->error), or it finished. */
static enum answer block_answer(struct job *j, struct outcome *out, const struct batch_opts *o)
{
    struct report *r = &j->st.result;
    const char *name = j->names[0];
    struct pupa_error e;
    err_init(&e);
    if (out->decided || render_run_failed(j, out, name, r->complete))
        return ANSWER_DECIDED;
    if (report_check_block(r, j->ndisks, &e) != 0) {
        render_fail(out, e.cls, "%s: %s", name, e.msg);
        return ANSWER_DECIDED;
    }
    report_derive_findings(r, name); /* a guest can add findings, never remove one */
    if (r->success)
        return ANSWER_OK;
    const char *file = disk_file(j, r->error_device), *why = r->error ? r->error : "failed";
    if (r->error_print == pupa_ErrorPrint_ERROR_PRINT_WHOLE_LINE) {
        render_fail(out, ERRC_REFUSED, "%s", why);
    } else if (r->error_print == pupa_ErrorPrint_ERROR_PRINT_OPEN) {
        (void)err_could_not_open(&e, ERRC_REFUSED, file, "%s", why);
        render_fail(out, e.cls, "%s", e.msg);
    } else if (strstr(why, UNSAFE_STOP)) {
        if (!o->require_safe || r->nfindings == 0)
            render_fail(out, ERRC_GUEST_FAILURE, "%s: the guest stopped for no finding", name);
        else
            render_succeed(out, true, 0);
        return out->cls == ERRC_NONE ? ANSWER_UNSAFE_STOP : ANSWER_DECIDED;
    } else {
        return ANSWER_FAILED;
    }
    out->status = 2; /* compare: qemu-img's "could not open" */
    return ANSWER_DECIDED;
}

static bool tty_out(void)
{
    return isatty(STDOUT_FILENO);
}

/* ---------------------------------------------------------------- map */

static size_t map_files(const struct job *j, const char **files)
{
    size_t n = 0;
    for (size_t i = 0; i < j->ndisks; i++)
        if (j->disk_info[i].image == 0)
            files[n++] = j->disk_info[i].filename;
    return n;
}

/* qemu-img map's range: --start-offset to the disk's end or --max-length. */
static void map_range(const struct report *r, const struct batch_opts *o, uint64_t *start,
                      uint64_t *end)
{
    *start = o->start_offset;
    *end = r->virtual_size;
    if (o->has_max_length && o->start_offset + o->max_length < *end &&
        o->start_offset <= UINT64_MAX - o->max_length)
        *end = o->start_offset + o->max_length;
}

/* qemu-img map's output from the entries; the status of the first entry that broke
 * the rules or stopped the human output. */
static enum map_print_status print_map(struct strbuf *out, const struct job *j, bool json, bool tty,
                                       char *why, size_t cap)
{
    const struct report *r = &j->st.result;
    const char *files[PUPA_MAX_DEVICES];
    size_t nfiles = map_files(j, files);
    uint64_t start, end;
    struct map_print p;
    map_range(r, j->env->o, &start, &end);
    map_print_init(&p, out, json, tty, files, nfiles, start, end);
    for (size_t i = 0; i < r->nextents; i++) {
        bool last = r->extents_last && i + 1 == r->nextents;
        enum map_print_status st = map_print_entry(&p, out, &r->extents[i], last);
        if (st != MAP_PRINT_OK) {
            snprintf(why, cap, "%s", p.error);
            return st;
        }
    }
    if (r->success && !p.finished) {
        snprintf(why, cap, "the map ends before its last entry");
        return MAP_PRINT_VIOLATION;
    }
    return MAP_PRINT_OK;
}

static void conclude_map(struct job *j, const struct batch_opts *o)
{
    struct outcome *out = &j->out[0];
    const char *name = j->names[0];
    const struct report *r = &j->st.result;
    enum answer a = block_answer(j, out, o);
    if (a == ANSWER_DECIDED || a == ANSWER_UNSAFE_STOP)
        return;
    char why[256] = "";
    struct strbuf count;
    sb_init_counting(&count);
    enum map_print_status st =
        print_map(&count, j, o->output == OUTPUT_JSON, false, why, sizeof(why));
    if (st == MAP_PRINT_VIOLATION) {
        render_fail(out, ERRC_GUEST_FAILURE, "%s: guest protocol error: %s", name, why);
    } else if (a == ANSWER_FAILED) {
        render_fail(out, ERRC_IO, "%s: Could not read file metadata: %s%s%s%s", name, r->error,
                    r->warning ? " (" : "", r->warning ? r->warning : "", r->warning ? ")" : "");
    } else if (st == MAP_PRINT_UNMAPPABLE) {
        render_fail(out, ERRC_UNSUPPORTED,
                    "%s: File contains external, encrypted or compressed clusters.", name);
    } else if (render_too_large(j, 0, o)) {
        render_fail(out, ERRC_RESULT_TOO_LARGE, "%s: guest result exceeds %llu MiB", name,
                    BUDGET_OUTPUT_BYTES >> 20);
    } else {
        render_succeed(out, r->nfindings > 0, j->images[0].size);
    }
}

/* A list of images in JSON: one line per image, {"filename", "map": [...], "safety"}. */
static void map_json_line(struct strbuf *out, const struct job *j)
{
    const struct report *r = &j->st.result;
    struct json_writer w;
    json_init(&w, out, false);
    json_begin_object(&w, NULL);
    json_str(&w, "filename", j->names[0]);
    json_begin_array(&w, "map");
    for (size_t i = 0; i < r->nextents; i++) {
        const pupa_MapExtent *e = &r->extents[i];
        json_begin_object(&w, NULL);
        json_uint(&w, "start", e->start);
        json_uint(&w, "length", e->length);
        json_uint(&w, "depth", e->depth);
        json_bool(&w, "present", e->present);
        json_bool(&w, "zero", e->zero);
        json_bool(&w, "data", e->data);
        if (e->has_offset)
            json_uint(&w, "offset", e->offset);
        json_end_object(&w);
    }
    json_end_array(&w);
    output_safety_json(&w, r);
    json_end_object(&w);
    sb_puts(out, "\n");
}

static void render_map(struct strbuf *out, const struct job *j, size_t i,
                       const struct batch_opts *o)
{
    const struct outcome *oc = &j->out[i];
    const struct report *r = &j->st.result;
    char why[256];
    if (o->output == OUTPUT_JSON && o->lines) {
        if (oc->cls != ERRC_NONE)
            render_json_error(out, j->names[0], oc);
        else if (!oc->unsafe || !o->require_safe)
            map_json_line(out, j);
        return;
    }
    /* qemu-img prints what it mapped before it failed: the header, the entries */
    bool printable = oc->cls == ERRC_NONE || oc->cls == ERRC_IO || oc->cls == ERRC_UNSUPPORTED;
    if (!printable || !r->have_result || (oc->unsafe && o->require_safe))
        return;
    (void)print_map(out, j, o->output == OUTPUT_JSON, tty_out(), why, sizeof(why));
}

const struct op_def op_map = {"map", true, true, true, true, 0, false, conclude_map, render_map};

/* ---------------------------------------------------------------- read --virtual */

static void conclude_read_virtual(struct job *j, const struct batch_opts *o)
{
    struct outcome *out = &j->out[0];
    const struct report *r = &j->st.result;
    const char *name = j->names[0];
    enum answer a = block_answer(j, out, o);
    if (a == ANSWER_DECIDED || a == ANSWER_UNSAFE_STOP)
        return;
    if (a == ANSWER_FAILED) {
        render_fail(out, ERRC_IO, "%s: error while reading: %s%s%s%s", name, r->error,
                    r->warning ? " (" : "", r->warning ? r->warning : "", r->warning ? ")" : "");
        return;
    }
    char dev[PUPA_DEVICE_NAME_SIZE];
    pupa_device_name(dev, 0);
    const struct report_digest *d = NULL;
    for (size_t k = 0; k < r->ndigests; k++)
        if (strcmp(r->digests[k].device, dev) == 0)
            d = &r->digests[k];
    if (o->sha256 && (!d || d->bytes != r->virtual_size))
        render_fail(out, ERRC_GUEST_FAILURE, "%s: guest protocol error: no digest of the disk",
                    name);
    else if (r->count != r->virtual_size)
        render_fail(out, ERRC_GUEST_FAILURE, "%s: guest protocol error: %llu of %llu bytes read",
                    name, (unsigned long long)r->count, (unsigned long long)r->virtual_size);
    else
        render_succeed(out, r->nfindings > 0, r->virtual_size);
}

static void render_read_virtual(struct strbuf *out, const struct job *j, size_t i,
                                const struct batch_opts *o)
{
    const struct outcome *oc = &j->out[i];
    const struct report *r = &j->st.result;
    const char *name = j->names[0];
    if (oc->cls != ERRC_NONE) {
        if (o->output == OUTPUT_JSON)
            render_json_error(out, name, oc);
        return;
    }
    if (oc->unsafe && o->require_safe)
        return;
    char digest[65] = "";
    for (size_t k = 0; o->sha256 && k < r->ndigests; k++)
        if (strcmp(r->digests[k].device, "vda") == 0)
            for (int b = 0; b < 32; b++)
                snprintf(digest + 2 * b, 3, "%02x", r->digests[k].sha256[b]);
    if (o->output == OUTPUT_JSON) {
        struct json_writer w;
        json_init(&w, out, false);
        json_begin_object(&w, NULL);
        json_str(&w, "filename", name);
        json_uint(&w, "bytes", r->virtual_size);
        if (digest[0])
            json_str(&w, "sha256", digest);
        json_bool(&w, "virtual", true);
        output_safety_json(&w, r);
        json_end_object(&w);
        sb_puts(out, "\n");
        return;
    }
    render_read_line(out, name, digest[0] ? digest : NULL, r->virtual_size,
                     "virtual bytes read");
}

const struct op_def op_read_virtual = {
    "read", true, true, true, true, 0, false, conclude_read_virtual, render_read_virtual};

/* ---------------------------------------------------------------- compare */

static void conclude_compare(struct job *j, const struct batch_opts *o)
{
    struct outcome *out = &j->out[0];
    struct report *r = &j->st.result;
    const char *a = j->names[0], *b = j->nimg > 1 ? j->names[1] : "";
    if (out->decided) {
        out->status = 2;
        return;
    }
    enum answer ans = block_answer(j, out, o);
    if (ans == ANSWER_UNSAFE_STOP) {
        out->status = 2; /* refused like an image that does not open */
        return;
    }
    if (ans == ANSWER_DECIDED) {
        if (out->status == 0)
            out->status = out->cls == ERRC_INTERRUPTED ? 130 : 2;
        return;
    }
    if (!r->have_compare) { /* a failure is a result too: which image, how */
        render_fail(out, ERRC_GUEST_FAILURE, "%s %s: guest protocol error: no compare result", a,
                    b);
        out->status = 2;
        return;
    }
    const pupa_CompareResultMessage *c = &r->compare;
    const char *which = c->image ? b : a, *w = r->warning;
    switch (c->outcome) {
    case pupa_CompareOutcome_COMPARE_IDENTICAL:
        render_succeed(out, r->nfindings > 0, 0);
        break;
    case pupa_CompareOutcome_COMPARE_CONTENT_MISMATCH:
    case pupa_CompareOutcome_COMPARE_STRICT_SIZE:
    case pupa_CompareOutcome_COMPARE_STRICT_STATUS:
        render_succeed(out, r->nfindings > 0, 0);
        out->status = 1;
        break;
    case pupa_CompareOutcome_COMPARE_ALLOCATION_FAILED:
        render_fail(out, ERRC_IO, "Sector allocation test failed for %s%s%s%s", which,
                    w ? " (" : "", w ? w : "", w ? ")" : "");
        out->status = 3;
        break;
    case pupa_CompareOutcome_COMPARE_READ_ERROR:
        render_fail(out, ERRC_IO, "Error while reading offset %llu of %s: %s%s%s%s",
                    (unsigned long long)c->offset, which, c->reason, w ? " (" : "", w ? w : "",
                    w ? ")" : "");
        out->status = 4;
        break;
    default:
        render_fail(out, ERRC_GUEST_FAILURE, "%s %s: guest protocol error: compare outcome %d", a,
                    b, (int)c->outcome);
        out->status = 2;
    }
}

/* qemu-img compare's lines (what -q leaves out). */
static void compare_lines(struct strbuf *out, const pupa_CompareResultMessage *c)
{
    if (c->size_mismatch && c->outcome != pupa_CompareOutcome_COMPARE_STRICT_SIZE)
        sb_puts(out, "Warning: Image size mismatch!\n");
    switch (c->outcome) {
    case pupa_CompareOutcome_COMPARE_IDENTICAL:
        sb_puts(out, "Images are identical.\n");
        break;
    case pupa_CompareOutcome_COMPARE_CONTENT_MISMATCH:
        sb_printf(out, "Content mismatch at offset %" PRId64 "!\n", (int64_t)c->offset);
        break;
    case pupa_CompareOutcome_COMPARE_STRICT_SIZE:
        sb_puts(out, "Strict mode: Image size mismatch!\n");
        break;
    case pupa_CompareOutcome_COMPARE_STRICT_STATUS:
        sb_printf(out, "Strict mode: Offset %" PRId64 " block status mismatch!\n",
                  (int64_t)c->offset);
        break;
    default:
        break; /* errors: on stderr */
    }
}

static void render_compare(struct strbuf *out, const struct job *j, size_t i,
                           const struct batch_opts *o)
{
    const struct outcome *oc = &j->out[i];
    const struct report *r = &j->st.result;
    const char *a = j->names[0], *b = j->nimg > 1 ? j->names[1] : "";
    bool printed_result = r->have_compare && !(oc->unsafe && o->require_safe);
    if (o->output == OUTPUT_JSON) {
        if (oc->cls != ERRC_NONE) {
            render_json_error(out, a, oc);
            return;
        }
        struct json_writer w;
        json_init(&w, out, false);
        json_begin_object(&w, NULL);
        json_str(&w, "filename", a);
        json_str(&w, "filename2", b);
        if (printed_result) {
            json_bool(&w, "identical", oc->status == 0);
            struct strbuf msg;
            sb_init(&msg);
            compare_lines(&msg, &r->compare);
            if (msg.len && msg.s[msg.len - 1] == '\n')
                msg.s[--msg.len] = '\0';
            json_str(&w, "message", msg.s ? msg.s : "");
            sb_free(&msg);
        }
        output_safety_json(&w, r);
        json_end_object(&w);
        sb_puts(out, "\n");
        return;
    }
    /* after a size mismatch qemu-img warns before it fails to read */
    bool warned = r->have_compare && r->compare.size_mismatch;
    if (o->quiet || !r->have_compare || (oc->cls != ERRC_NONE && !warned))
        return;
    struct strbuf lines;
    sb_init(&lines);
    if (o->lines)
        sb_printf(&lines, "%s %s: ", a, b);
    if (oc->cls != ERRC_NONE)
        sb_puts(&lines, "Warning: Image size mismatch!\n");
    else if (printed_result)
        compare_lines(&lines, &r->compare);
    if (tty_out() && lines.s)
        sanitize_for_tty_keep_newline(lines.s);
    if (lines.s)
        sb_puts(out, lines.s);
    sb_free(&lines);
}

const struct op_def op_compare = {"compare",        true,          false, true, true, 2, true,
                                  conclude_compare, render_compare};
