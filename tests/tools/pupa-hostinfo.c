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

struct file_ctx {
    int fd;
    uint64_t size;
};

static int file_read(void *c, uint64_t off, void *buf, size_t len)
{
    struct file_ctx *f = c;
    uint8_t *p = buf;
    memset(buf, 0, len);
    while (len > 0 && off < f->size) {
        ssize_t n = pread(f->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* Send each message through a real encode/decode round trip into the report. */
static void send_msg(void *c, const pupa_GuestMessage *m)
{
    struct report *r = c;
    static uint8_t frame[PUPA_FRAME_MAX];
    static pupa_GuestMessage decoded;
    size_t len = 0, used = 0;
    if (pupa_frame_encode(pupa_GuestMessage_fields, m, frame, sizeof(frame), &len) !=
        PUPA_FRAME_OK)
        die("frame encode failed");
    if (pupa_frame_decode(pupa_GuestMessage_fields, &decoded, frame, len, &used, NULL) !=
            PUPA_FRAME_OK ||
        used != len)
        die("frame decode failed");
    report_feed(r, &decoded);
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
    int fd = open(filename, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        die("%s: %s", filename, strerror(errno));

    struct file_ctx f = {fd, (uint64_t)st.st_size};
    struct fmt_io io = {&f, file_read, f.size, filename};
    struct report r;
    report_init(&r);
    info_run(&io, format, "vda", send_msg, &r);
    if (!report_check_info(&r))
        die("%s: protocol: %s", filename, r.protocol_error);
    if (!r.success)
        die("Could not open '%s': %s", filename, r.error ? r.error : "unknown error");
    r.actual_size = (uint64_t)st.st_blocks * 512;

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
    close(fd);
    return 0;
}
