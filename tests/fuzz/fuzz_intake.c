/* fuzz_intake.c: libFuzzer harness for the parent's frame-to-report path: whatever
 * bytes a taken-over guest writes to COM1 go through intake (decode, check, budgets),
 * the status model and the report, then every printer qemu-img's output needs. Nothing
 * may crash; what reaches a terminal may hold no control character; JSON may hold no
 * raw control byte; the findings the result's fields imply are always there.
 *
 * Input: [chunking byte k][flags byte][COM1 bytes]. flags bit 0: the name given for
 * the image holds a newline and an escape. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pupa/findings.h"
#include "vmm/intake.h"
#include "vmm/output.h"
#include "vmm/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_intake: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* A terminal gets no C0 control but the line break, no DEL, no C1 control. */
static void check_tty_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            fail("a control character in output for a terminal", NULL);
        if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] < 0xa0)
            fail("a C1 control in output for a terminal", NULL);
    }
}

static void check_json_bytes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != ' ')
            fail("a raw control byte in JSON", NULL);
        if ((unsigned char)s[i] >= 0x80)
            fail("a raw non-ASCII byte in JSON (qemu escapes them)", NULL);
    }
}

static bool has(const struct report *r, const char *check)
{
    for (size_t i = 0; i < r->nfindings; i++) {
        if (strcmp(r->findings[i].check, check) == 0)
            return true;
    }
    return false;
}

static void print_all(struct report *r, const char *name)
{
    report_derive_findings(r, name);
    if (r->backing_file && !has(r, PUPA_CHECK_BACKING_FILE))
        fail("a backing file without its finding", NULL);
    if (r->data_file && !has(r, PUPA_CHECK_DATA_FILE))
        fail("a data file without its finding", NULL);
    if ((r->flags & PUPA_INFO_F_ENCRYPTED) && !has(r, PUPA_CHECK_ENCRYPTED))
        fail("encryption without its finding", NULL);
    struct strbuf out;
    sb_init(&out);
    output_info_human(&out, r, name, true);
    check_tty_text(out.s, out.len);
    sb_free(&out);
    sb_init(&out);
    output_info_human(&out, r, name, false);
    sb_free(&out);
    for (int pretty = 0; pretty < 2; pretty++) {
        struct strbuf j, count;
        sb_init(&j);
        sb_init_counting(&count);
        output_info_json(&j, r, name, pretty);
        output_info_json(&count, r, name, pretty);
        if (count.len != j.len)
            fail("the sizing pass and the output disagree", NULL);
        check_json_bytes(j.s, j.len);
        sb_free(&j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned k = data[0];
    const char *name = (data[1] & 1) ? "evil\n\x1b[2Jname.img" : "x.qcow2";
    data += 2;
    size -= 2;
    static struct status_job st;
    struct pupa_error err;
    err_init(&err);
    status_job_init(&st, name, "info", 0);
    struct intake *in = intake_new(&st, NULL, NULL);
    int rc = 0;
    uint32_t rng = k * 2654435761u + 7;
    for (size_t off = 0; off < size && rc == 0;) {
        rng = rng * 1103515245u + 12345u;
        size_t n = k ? 1 + (rng >> 16) % k : size;
        if (n > size - off)
            n = size - off;
        rc = intake_com1(in, data + off, n, 1.0, &err);
        off += n;
    }
    if (rc == 0)
        rc = intake_end(in, &err);
    if (rc != 0 && (err.cls == ERRC_NONE || !err.msg[0]))
        fail("a failure without a reason", NULL);
    check_tty_text(st.label[0] ? st.last_error : "", strlen(st.last_error));
    for (int i = 0; i < st.ndev; i++) {
        check_tty_text(st.dev[i].name, strlen(st.dev[i].name));
        check_tty_text(st.dev[i].stage, strlen(st.dev[i].stage));
    }
    struct pupa_error check;
    err_init(&check);
    if (rc == 0 && report_check_info(&st.result, &check) == 0 && st.result.success)
        print_all(&st.result, name);
    intake_free(in);
    status_job_free(&st);
    return 0;
}
