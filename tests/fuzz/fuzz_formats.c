/* fuzz_formats.c: libFuzzer harness: info_run() (probe + every format parser) over an in-memory
 * image, its frames through the VMM's report and qemu-img output. */
/*
 * Input: see fuzz_image.h (name & 0x20: human output as on a terminal).
 *
 * Reads past the end of the data return zeros, like qemu's block layer. Every
 * message info_run() sends goes through a real frame encode/decode (the guest
 * panics when a message does not encode) into report_feed(); the report must be
 * consistent (report_check_info: what the VMM would call a guest protocol
 * error), success must match info_run()'s return value, a failure must carry an
 * error, a success a format. The human and JSON outputs are built (the human
 * output must end with the verdict and exactly one line per finding; the JSON
 * must parse, be ASCII, and the compact form be one line), and a second
 * run over the same input must give the same bytes (no state kept between runs).
 * Any violation aborts. FUZZ_FORMATS_SKIP=safety-block in the environment skips the
 * safety-block check, to keep fuzzing for other bugs while that one is open.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest/ops/info.h"
#include "../../vmm/output.h"
#include "../../vmm/report.h"
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die_fuzz(const char *what, const char *detail)
{
    fuzz_die("fuzz_formats", what, detail);
}

static struct pupa_error feed_err;

/* Every message through a real encode/decode, as on the serial port. */
static void send_msg(void *ctx, const pupa_GuestMessage *m)
{
    struct report *r = ctx;
    static uint8_t frame[PUPA_FRAME_MAX];
    static pupa_GuestMessage decoded;
    size_t len = 0, used = 0;
    pupa_frame_status st =
        pupa_frame_encode(pupa_GuestMessage_fields, m, frame, sizeof(frame), &len);
    if (st != PUPA_FRAME_OK)
        die_fuzz("the guest could not encode a message (it would panic)",
                 pupa_frame_status_str(st));
    st = pupa_frame_decode(pupa_GuestMessage_fields, &decoded, frame, len, &used, NULL);
    if (st != PUPA_FRAME_OK || used != len)
        die_fuzz("a frame the guest encoded does not decode", pupa_frame_status_str(st));
    if (report_feed(r, &decoded, &feed_err) != 0)
        return; /* report_check_info() reports it */
}

/* ------------------------------------------------------------ a strict JSON checker */

struct jp {
    const char *s, *end;
    int depth;
};

static void jp_ws(struct jp *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\n' || *p->s == '\t' || *p->s == '\r'))
        p->s++;
}

static bool jp_lit(struct jp *p, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, lit, n) != 0)
        return false;
    p->s += n;
    return true;
}

static bool jp_digits(struct jp *p)
{
    const char *start = p->s;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
        p->s++;
    return p->s > start;
}

static bool jp_string(struct jp *p)
{
    if (p->s >= p->end || *p->s != '"')
        return false;
    for (p->s++; p->s < p->end; p->s++) {
        unsigned char c = (unsigned char)*p->s;
        if (c == '"') {
            p->s++;
            return true;
        }
        if (c < 0x20)
            return false; /* raw control character */
        if (c == '\\') {
            if (++p->s >= p->end)
                return false;
            if (*p->s == 'u') {
                for (int i = 0; i < 4; i++) {
                    if (++p->s >= p->end || !isxdigit((unsigned char)*p->s))
                        return false;
                }
            } else if (!*p->s || !strchr("\"\\/bfnrt", *p->s)) {
                return false;
            }
        }
    }
    return false;
}

static bool jp_value(struct jp *p)
{
    jp_ws(p);
    if (p->s >= p->end || ++p->depth > 100)
        return false;
    bool ok;
    char c = *p->s;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        p->s++;
        jp_ws(p);
        if (p->s < p->end && *p->s == close) {
            p->s++;
            ok = true;
        } else {
            for (;;) {
                if (c == '{') {
                    jp_ws(p);
                    if (!jp_string(p))
                        return false;
                    jp_ws(p);
                    if (p->s >= p->end || *p->s++ != ':')
                        return false;
                }
                if (!jp_value(p))
                    return false;
                jp_ws(p);
                if (p->s < p->end && *p->s == ',') {
                    p->s++;
                    continue;
                }
                if (p->s < p->end && *p->s == close) {
                    p->s++;
                    break;
                }
                return false;
            }
            ok = true;
        }
    } else if (c == '"') {
        ok = jp_string(p);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (c == '-')
            p->s++;
        ok = jp_digits(p);
        if (ok && p->s < p->end && *p->s == '.') {
            p->s++;
            ok = jp_digits(p);
        }
        if (ok && p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
            p->s++;
            if (p->s < p->end && (*p->s == '+' || *p->s == '-'))
                p->s++;
            ok = jp_digits(p);
        }
    } else {
        ok = jp_lit(p, "true") || jp_lit(p, "false") || jp_lit(p, "null");
    }
    p->depth--;
    return ok;
}

/* One JSON object, ASCII only (qemu writes every non-ASCII character as \uXXXX). */
static void check_json(const char *s, size_t n, bool compact)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x80)
            die_fuzz("non-ASCII byte in the JSON output", NULL);
        if (compact && s[i] == '\n')
            die_fuzz("newline inside a compact JSON line", NULL);
    }
    struct jp p = {s, s + n, 0};
    if (n == 0 || s[0] != '{' || !jp_value(&p))
        die_fuzz("the JSON output does not parse", s);
    jp_ws(&p);
    if (p.s != p.end)
        die_fuzz("text after the JSON object", s);
}

/* The human output ends with the safety block: "safety: safe|UNSAFE" and one
 * indented line per finding (README), whatever strings the image holds; nothing
 * else in the output may look like a verdict line of its own. */
static void check_safety_block(const char *text, size_t len, const struct report *r)
{
    size_t want = 1 + r->nfindings, lines = 0, pos = len;
    if (len == 0 || text[len - 1] != '\n')
        die_fuzz("human output does not end with a newline", NULL);
    while (pos > 0 && lines < want) { /* pos: start of the (lines+1)-th line from the end */
        pos--;
        while (pos > 0 && text[pos - 1] != '\n')
            pos--;
        lines++;
    }
    const char *verdict = r->nfindings ? "safety: UNSAFE\n" : "safety: safe\n";
    if (lines != want || strncmp(text + pos, verdict, strlen(verdict)) != 0)
        die_fuzz("the safety block is not the verdict and one line per finding "
                 "(a finding detail with a newline?)",
                 text + pos);
    const char *line = text + pos + strlen(verdict);
    for (size_t i = 0; i < r->nfindings; i++) {
        if (strncmp(line, "    ", 4) != 0 ||
            strncmp(line + 4, r->findings[i].check, strlen(r->findings[i].check)) != 0)
            die_fuzz("a finding line does not name its check", line);
        line = strchr(line, '\n') + 1;
    }
}

/* One inspection; the outputs (or the error) appended to out. */
static void inspect(const struct fmt_io *io, const char *forced, bool tty, struct strbuf *out)
{
    struct report r;
    report_init(&r);
    err_init(&feed_err);
    bool ok = info_run(io, forced, "vda", send_msg, &r);
    if (report_check_info(&r, &feed_err) != 0)
        die_fuzz("the frames are a guest protocol error for the VMM", feed_err.msg);
    if (ok != r.success)
        die_fuzz("info_run's result and the Complete message disagree", NULL);
    if (!ok) {
        if (!r.error || !r.error[0])
            die_fuzz("failure without an error message", NULL);
        sb_printf(out, "error: %s\n", r.error);
    } else {
        if (!r.have_result || !r.format[0])
            die_fuzz("success without a format", NULL);
        r.actual_size = io->size / 2;
        size_t nguest = r.nfindings;
        report_derive_findings(&r, io->filename);
        if (r.nfindings != nguest)
            die_fuzz("the guest left out a finding its own fields imply", r.findings[nguest].check);
        size_t before = out->len;
        output_info_human(out, &r, io->filename, tty);
        if (strlen(out->s + before) != out->len - before)
            die_fuzz("NUL byte in the human output", NULL);
        static int skip_block = -1;
        if (skip_block < 0) {
            const char *e = getenv("FUZZ_FORMATS_SKIP");
            skip_block = e && strstr(e, "safety-block") != NULL;
        }
        if (!skip_block)
            check_safety_block(out->s + before, out->len - before, &r);
        for (int pretty = 1; pretty >= 0; pretty--) {
            struct strbuf j;
            sb_init(&j);
            output_info_json(&j, &r, io->filename, pretty);
            sb_add(&j, "", 1); /* NUL for the error message; not part of the check */
            check_json(j.s, j.len - 1, !pretty);
            sb_add(out, j.s, j.len - 1);
            sb_free(&j);
        }
    }
    report_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static struct fuzz_image img;
    struct fmt_io io;
    const char *forced;
    fuzz_image_setup(&img, data, size, &io, &forced);
    bool tty = (data[1] & 0x20) != 0;

    struct strbuf first, second;
    sb_init(&first);
    sb_init(&second);
    inspect(&io, forced, tty, &first);
    inspect(&io, forced, tty, &second);
    if (first.len != second.len || memcmp(first.s, second.s, first.len) != 0)
        die_fuzz("two runs over the same image give different results", NULL);
    sb_free(&first);
    sb_free(&second);
    return 0;
}
