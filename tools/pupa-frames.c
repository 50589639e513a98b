/* pupa-frames.c: decode a pupa frame stream ([u16 LE length][protobuf]) into one JSON object per
 * line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pupa/protocol.h"
#include "vmm/frames_json.h"
#include "vmm/json.h"

#define EXIT_USAGE 2
#define READ_CHUNK 65536

static const char usage_text[] =
    "usage: pupa-frames decode [--type guest|config] [FILE|-]\n"
    "\n"
    "Read a stream of pupa protocol frames ([u16 little-endian length][protobuf])\n"
    "from FILE (or standard input when FILE is - or absent) and print one compact\n"
    "JSON object per frame on standard output.\n"
    "\n"
    "  --type guest   frames are GuestMessage (guest -> VMM; the default)\n"
    "  --type config  frames are VmmConfig (VMM -> guest)\n"
    "  -h, --help     show this help\n"
    "\n"
    "A bad stream (length prefix over the limit, a payload that does not decode,\n"
    "a stream that ends inside a frame) prints the frames decoded before it, then\n"
    "one line on standard error naming the byte offset of the bad frame and why.\n"
    "\n"
    "Exit status: 0 every frame decoded, 1 bad stream or I/O error, 2 usage error.\n";

enum frame_type { TYPE_GUEST, TYPE_CONFIG };

/* The reader's message buffer: big enough for either type. */
static union {
    pupa_GuestMessage guest;
    pupa_VmmConfig config;
} message;
static pupa_reader reader;

struct printer {
    enum frame_type type;
    struct strbuf line;
};

static void print_frame(void *ctx, const void *msg)
{
    struct printer *p = ctx;
    struct json_writer w;

    p->line.len = 0;
    if (p->line.s)
        p->line.s[0] = '\0';
    json_init(&w, &p->line, false);
    json_begin_object(&w, NULL);
    if (p->type == TYPE_GUEST)
        frames_json_guest(&w, msg);
    else
        frames_json_config(&w, msg);
    json_end_object(&w);
    sb_add(&p->line, "\n", 1);
    fwrite(p->line.s, 1, p->line.len, stdout);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("pupa-frames: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs("usage: pupa-frames decode [--type guest|config] [FILE|-] (see --help)\n", stderr);
    return EXIT_USAGE;
}

/* Flush what was decoded so far, so the error line comes after it. */
static bool flush_stdout(const char *name)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "pupa-frames: %s: writing standard output: %s\n", name, strerror(errno));
        return false;
    }
    return true;
}

static int decode(enum frame_type type, const char *path)
{
    const char *name = path;
    int fd = STDIN_FILENO;
    static uint8_t chunk[READ_CHUNK];
    struct printer p = {.type = type};
    int status = 0;

    if (strcmp(path, "-") == 0) {
        name = "<stdin>";
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "pupa-frames: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    sb_init(&p.line);
    if (type == TYPE_GUEST)
        pupa_reader_init(&reader, pupa_GuestMessage_fields, &message.guest);
    else
        pupa_reader_init(&reader, pupa_VmmConfig_fields, &message.config);

    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            flush_stdout(name);
            fprintf(stderr, "pupa-frames: %s: byte %" PRIu64 ": read error: %s\n", name,
                    reader.offset + reader.have, strerror(e));
            status = 1;
            break;
        }
        if (n == 0) {
            if (!flush_stdout(name)) {
                status = 1;
            } else if (pupa_reader_partial(&reader)) {
                /* reader.need is the header size until the header is complete */
                fprintf(stderr,
                        "pupa-frames: %s: byte %" PRIu64 ": truncated frame "
                        "(stream ends after %zu of its %zu bytes)\n",
                        name, reader.offset, reader.have,
                        reader.have < PUPA_FRAME_HEADER ? (size_t)PUPA_FRAME_HEADER : reader.need);
                status = 1;
            }
            break;
        }
        pupa_frame_status st = pupa_reader_feed(&reader, chunk, (size_t)n, print_frame, &p);
        if (st != PUPA_FRAME_OK) {
            flush_stdout(name);
            if (reader.error_detail)
                fprintf(stderr, "pupa-frames: %s: byte %" PRIu64 ": %s (%s)\n", name,
                        reader.error_offset, pupa_frame_status_str(st), reader.error_detail);
            else
                fprintf(stderr, "pupa-frames: %s: byte %" PRIu64 ": %s\n", name,
                        reader.error_offset, pupa_frame_status_str(st));
            status = 1;
            break;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    sb_free(&p.line);
    return status;
}

int main(int argc, char **argv)
{
    enum frame_type type = TYPE_GUEST;
    const char *path = NULL;
    bool options_done = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return fflush(stdout) == 0 ? 0 : 1;
        }
    }
    if (argc < 2)
        return usage_error("missing command (decode)");
    if (strcmp(argv[1], "decode") != 0)
        return usage_error("unknown command '%s'", argv[1]);

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && strncmp(a, "--type=", 7) == 0) {
            val = a + 7;
        } else if (!options_done && strcmp(a, "--type") == 0) {
            if (i + 1 >= argc)
                return usage_error("--type needs a value (guest or config)");
            val = argv[++i];
        } else if (!options_done && a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else {
            if (path)
                return usage_error("unexpected argument '%s' (one FILE at most)", a);
            path = a;
            continue;
        }
        if (strcmp(val, "guest") == 0)
            type = TYPE_GUEST;
        else if (strcmp(val, "config") == 0)
            type = TYPE_CONFIG;
        else
            return usage_error("unknown --type '%s' (guest or config)", val);
    }
    return decode(type, path ? path : "-");
}
