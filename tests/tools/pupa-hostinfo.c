/* pupa-hostinfo: TEST TOOL ONLY. Runs the guest's "info" operation and format
 * parsers directly on the host over a file, then prints the result with the
 * VMM's own report and output code. It exists so parsers can be checked
 * against qemu-img quickly and fuzzed; pupa itself never parses on the host. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../guest/ops/info.h"
#include "../../vmm/output.h"
#include "../../vmm/report.h"
#include "../../vmm/util.h"
#include "../unit/testutil.h"

/* Send each message through a real encode/decode round trip into the report. */
static struct pupa_error feed_err;

static void send_msg(void *c, const pupa_GuestMessage *m)
{
    struct report *r = c;
    static uint8_t frame[PUPA_FRAME_MAX];
    static pupa_GuestMessage decoded;
    size_t len = 0, used = 0;
    if (pupa_frame_encode(pupa_GuestMessage_fields, m, frame, sizeof(frame), &len) != PUPA_FRAME_OK)
        die("frame encode failed");
    if (pupa_frame_decode(pupa_GuestMessage_fields, &decoded, frame, len, &used, NULL) !=
            PUPA_FRAME_OK ||
        used != len)
        die("frame decode failed");
    if (report_feed(r, &decoded, &feed_err) != 0)
        return; /* report_check_info() below says why */
}

int main(int argc, char **argv)
{
    const char *output = "human", *format = NULL;
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c == 'o')
            output = optarg;
        else if (c == 'f')
            format = optarg;
        else
            return 2;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: pupa-hostinfo [--output=human|json] [-f FMT] FILE\n");
        return 2;
    }
    const char *filename = argv[optind];
    struct stat st;
    struct fmt_io io = file_io_open(filename);
    if (!io.read || stat(filename, &st) != 0)
        die("%s: %s", filename, strerror(errno));
    struct report r;
    report_init(&r);
    err_init(&feed_err);
    info_run(&io, format, "vda", send_msg, &r);
    if (report_check_info(&r, &feed_err) != 0)
        die("%s: %s", filename, feed_err.msg);
    if (!r.success)
        die("Could not open '%s': %s", filename, r.error ? r.error : "unknown error");
    r.actual_size = (uint64_t)st.st_blocks * 512;
    report_derive_findings(&r, filename);

    struct strbuf out;
    sb_init(&out);
    if (strcmp(output, "json") == 0) {
        output_info_json(&out, &r, filename, true);
        sb_puts(&out, "\n");
    } else {
        output_info_human(&out, &r, filename, false);
    }
    fwrite(out.s, 1, out.len, stdout);
    sb_free(&out);
    report_free(&r);
    file_io_close(&io);
    return 0;
}
