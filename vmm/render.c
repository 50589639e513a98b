/* render.c: each operation's outcomes and printed results (see render.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "output.h"
#include "render.h"
#include "util.h"
#include "vm.h"

/* ---------------------------------------------------------------- outcomes */

void render_fail(struct outcome *o, enum pupa_errc cls, const char *fmt, ...)
{
    if (o->decided)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    o->decided = true;
    o->cls = cls;
    o->error = msg ? msg : xstrdup("out of memory");
}

void render_succeed(struct outcome *o, bool unsafe, uint64_t bytes)
{
    if (o->decided)
        return;
    o->decided = true;
    o->cls = ERRC_NONE;
    o->unsafe = unsafe;
    o->bytes = bytes;
}

/* The guest's run failed as a whole: why, as "NAME: cause" (false: it ran to its end,
 * whatever its answer). Interrupted runs say so; a guest that answered in full before
 * it was stopped (info) is judged on its answer. */
bool render_run_failed(struct job *j, struct outcome *o, const char *name, bool answered)
{
    if (j->err.cls != ERRC_NONE) {
        render_fail(o, j->err.cls, "%s: %s", name, j->err.msg);
        return true;
    }
    if (!j->have_res) {
        render_fail(o, ERRC_GUEST_FAILURE, "%s: worker exited without a result", name);
        return true;
    }
    if (j->res.state == VM_EXITED || answered)
        return false;
    render_fail(o, j->res.state == VM_STOPPED ? ERRC_INTERRUPTED : ERRC_GUEST_FAILURE, "%s: %s",
                name, j->res.error);
    return true;
}

/* ---------------------------------------------------------------- info */

static void conclude_info(struct job *j, const struct batch_opts *o)
{
    const char *name = j->names[0];
    struct outcome *out = &j->out[0];
    struct report *r = &j->st.result;
    struct pupa_error e;
    err_init(&e);
    if (out->decided || render_run_failed(j, out, name, r->complete))
        return;
    if (report_check_info(r, &e) != 0)
        render_fail(out, e.cls, "%s: %s", name, e.msg);
    else if (!r->success && r->error && r->error_print == pupa_ErrorPrint_ERROR_PRINT_WHOLE_LINE)
        render_fail(out, ERRC_REFUSED, "%s", r->error);
    else if (!r->success)
        (void)err_could_not_open(&e, ERRC_REFUSED, name, "%s",
                                 r->error ? r->error : "unknown error");
    else if (o->backing_chain && r->backing_file)
        (void)err_could_not_open(&e, ERRC_UNSUPPORTED, name,
                                 "--backing-chain: pupa does not follow the backing file an "
                                 "image names (plain 'pupa info' shows it)");
    if (e.cls != ERRC_NONE)
        render_fail(out, e.cls, "%s", e.msg);
    if (out->decided)
        return;
    r->actual_size = j->images[0].actual;
    report_derive_findings(r, name); /* a guest can add findings, never remove one */
    if (render_too_large(j, 0, o))
        render_fail(out, ERRC_RESULT_TOO_LARGE, "%s: guest result exceeds %llu MiB", name,
                    BUDGET_OUTPUT_BYTES >> 20);
    else
        render_succeed(out, r->nfindings > 0, j->images[0].size);
}

static void render_info(struct strbuf *out, const struct job *j, size_t i,
                        const struct batch_opts *o)
{
    const struct report *r = &j->st.result;
    const char *name = j->names[i];
    if (j->out[i].cls != ERRC_NONE) {
        if (o->output == OUTPUT_JSON && o->lines)
            render_json_error(out, name, &j->out[i]);
        return;
    }
    if (o->output == OUTPUT_JSON) {
        if (o->backing_chain)
            output_info_json_chain(out, r, name, !o->lines);
        else
            output_info_json(out, r, name, !o->lines);
        sb_puts(out, "\n");
    } else {
        output_info_human(out, r, name, isatty(STDOUT_FILENO));
    }
}

const struct op_def op_info = {"info", true,  true,          true,       false,
                               0,      false, conclude_info, render_info};

/* ---------------------------------------------------------------- read */

static const struct report_digest *find_digest(const struct report *r, int dev)
{
    char name[PUPA_DEVICE_NAME_SIZE];
    pupa_device_name(name, (unsigned)dev);
    for (size_t i = 0; i < r->ndigests; i++) {
        if (strcmp(r->digests[i].device, name) == 0)
            return &r->digests[i];
    }
    return NULL;
}

static void conclude_read(struct job *j, const struct batch_opts *o)
{
    const struct report *r = &j->st.result;
    for (size_t i = 0; i < j->nimg; i++) {
        struct outcome *out = &j->out[i];
        const char *name = j->names[i];
        if (out->decided || render_run_failed(j, out, name, false))
            continue;
        bool ok = o->sha256 ? find_digest(r, j->dev[i]) != NULL : r->success;
        if (ok)
            render_succeed(out, false, j->images[i].size);
        else
            render_fail(out, ERRC_IO, "%s: read failed%s%s", name, r->error ? ": " : "",
                        r->error ? r->error : "");
    }
}

static void hex(char out[65], const uint8_t d[32])
{
    for (int k = 0; k < 32; k++)
        snprintf(out + 2 * k, 3, "%02x", d[k]);
}

static void render_read(struct strbuf *out, const struct job *j, size_t i,
                        const struct batch_opts *o)
{
    const char *name = j->names[i];
    if (j->out[i].cls != ERRC_NONE) {
        if (o->output == OUTPUT_JSON)
            render_json_error(out, name, &j->out[i]);
        return;
    }
    const struct report_digest *d = o->sha256 ? find_digest(&j->st.result, j->dev[i]) : NULL;
    char digest[65] = "";
    if (d)
        hex(digest, d->sha256);
    if (o->output == OUTPUT_JSON) {
        struct json_writer w;
        json_init(&w, out, false);
        json_begin_object(&w, NULL);
        json_str(&w, "filename", name);
        json_uint(&w, "bytes", j->images[i].size);
        if (d)
            json_str(&w, "sha256", digest);
        json_end_object(&w);
        sb_puts(out, "\n");
        return;
    }
    render_read_line(out, name, d ? digest : NULL, j->images[i].size, "bytes read");
}

void render_read_line(struct strbuf *out, const char *name, const char *digest, uint64_t bytes,
                      const char *what)
{
    struct strbuf line;
    sb_init(&line);
    if (digest) {
        struct strbuf esc;
        sb_init(&esc);
        bool escaped = render_sha256sum_name(&esc, name);
        sb_printf(&line, "%s%s  %s\n", escaped ? "\\" : "", digest, esc.s);
        sb_free(&esc);
    } else {
        sb_printf(&line, "%s: %llu %s\n", name, (unsigned long long)bytes, what);
    }
    if (isatty(STDOUT_FILENO)) /* one rule for every terminal: no control characters */
        sanitize_for_tty_keep_newline(line.s);
    sb_puts(out, line.s);
    sb_free(&line);
}

const struct op_def op_read = {"read", true,  false,         true,       false,
                               0,      false, conclude_read, render_read};

/* ---------------------------------------------------------------- run, selftest */

static void conclude_run(struct job *j, const struct batch_opts *o)
{
    (void)o;
    struct outcome *out = &j->out[0];
    if (j->err.cls != ERRC_NONE)
        render_fail(out, j->err.cls, "%s", j->err.msg);
    else if (!j->have_res)
        render_fail(out, ERRC_GUEST_FAILURE, "worker exited without a result");
    else if (j->res.state != VM_EXITED || j->res.exit_status != 0)
        render_fail(out, j->res.state == VM_STOPPED ? ERRC_INTERRUPTED : ERRC_GUEST_FAILURE, "%s",
                    j->res.error[0] ? j->res.error : "guest failed");
    else
        render_succeed(out, false, 0);
}

static void render_run(struct strbuf *out, const struct job *j, size_t i,
                       const struct batch_opts *o)
{
    (void)i;
    const struct channel_result *r = &j->res;
    if (j->err.cls == ERRC_NONE && j->have_res && r->state == VM_EXITED)
        sb_printf(out,
                  "guest exited with status %d: %llu exits, %llu frames, %.2f ms (backend %s)\n",
                  r->exit_status, (unsigned long long)r->exits, (unsigned long long)j->st.frames,
                  (double)r->run_ns / 1e6, o->accel->name);
}

const struct op_def op_run = {"run", false, false,        false,     false,
                              0,     false, conclude_run, render_run};

static void conclude_selftest(struct job *j, const struct batch_opts *o)
{
    conclude_run(j, o);
    if (!j->st.result.complete || !j->st.result.success)
        render_fail(&j->out[0], ERRC_GUEST_FAILURE,
                    "selftest: the guest did not confirm its config");
}

static void render_selftest(struct strbuf *out, const struct job *j, size_t i,
                            const struct batch_opts *o)
{
    (void)i;
    const struct channel_result *r = &j->res;
    if (j->out[0].cls == ERRC_NONE)
        sb_printf(out,
                  "pupa selftest: backend %s, boot to exit %.2f ms (VM set-up %.2f ms), %llu "
                  "exits, %llu frames: OK\n",
                  o->accel->name, (double)r->run_ns / 1e6, (double)r->setup_ns / 1e6,
                  (unsigned long long)r->exits, (unsigned long long)j->st.frames);
}

const struct op_def op_selftest = {"selftest",        false,          false, true, false, 0, false,
                                   conclude_selftest, render_selftest};

/* ---------------------------------------------------------------- shared */

bool render_too_large(const struct job *j, size_t i, const struct batch_opts *o)
{
    struct strbuf count;
    sb_init_counting(&count);
    o->op->render(&count, j, i, o);
    return count.len > BUDGET_OUTPUT_BYTES;
}

bool render_is_block(const struct job *j, size_t i, const struct batch_opts *o)
{
    return (o->op == &op_info || o->op == &op_map) && o->output == OUTPUT_HUMAN &&
           j->out[i].cls == ERRC_NONE;
}

void render_json_error(struct strbuf *out, const char *name, const struct outcome *o)
{
    struct json_writer w;
    json_init(&w, out, false);
    json_begin_object(&w, NULL);
    json_str(&w, "filename", name);
    json_str(&w, "error", o->error);
    json_str(&w, "error-class", errc_name(o->cls));
    json_bool(&w, "retryable", errc_retryable(o->cls));
    json_end_object(&w);
    sb_puts(out, "\n");
}

bool render_sha256sum_name(struct strbuf *out, const char *name)
{
    bool escape = strpbrk(name, "\\\n\r") != NULL;
    for (const char *p = name; *p; p++) {
        if (escape && *p == '\\')
            sb_puts(out, "\\\\");
        else if (escape && *p == '\n')
            sb_puts(out, "\\n");
        else if (escape && *p == '\r')
            sb_puts(out, "\\r");
        else
            sb_add(out, p, 1);
    }
    if (!out->s)
        sb_add(out, "", 0);
    return escape;
}

char *render_unsafe_note(const struct job *j, size_t i)
{
    const struct report *r = &j->st.result;
    struct strbuf sb;
    sb_init(&sb);
    sb_printf(&sb, "%s: UNSAFE (", j->names[i]);
    for (size_t k = 0; k < r->nfindings; k++) {
        bool seen = false;
        for (size_t m = 0; m < k && !seen; m++)
            seen = strcmp(r->findings[m].check, r->findings[k].check) == 0;
        if (!seen)
            sb_printf(&sb, "%s%s", k ? ", " : "", r->findings[k].check);
    }
    sb_puts(&sb, ")");
    return sb.s;
}

void render_stats(FILE *f, const struct job *j, const struct batch_opts *o)
{
    const struct channel_result *r = &j->res;
    char label[256];
    sanitize_for_tty(label, sizeof(label), j->st.label);
    fprintf(f,
            "pupa: stats: %s: backend %s, set-up %.3f ms, run %.3f ms, %llu exits, %llu frames, "
            "%llu bytes read, %llu requests, %llu notifies, %llu posted writes, worker peak RSS "
            "%llu KiB\n",
            label, o->accel->name, (double)r->setup_ns / 1e6, (double)r->run_ns / 1e6,
            (unsigned long long)r->exits, (unsigned long long)j->st.frames,
            (unsigned long long)r->bytes_read, (unsigned long long)r->blk_requests,
            (unsigned long long)r->blk_notifies, (unsigned long long)r->posted,
            (unsigned long long)r->peak_rss_kib);
}

void render_summary(FILE *f, const struct status_totals *t, double elapsed, bool interrupted)
{
    fprintf(f, "pupa: %zu inspected, %zu failed, %zu unsafe, %.2f s elapsed, %.1f images/s%s\n",
            t->inspected, t->failed, t->unsafe, elapsed,
            elapsed > 0 ? (double)t->inspected / elapsed : 0.0,
            interrupted ? " (interrupted)" : "");
}
