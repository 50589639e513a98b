/* testutil.c: helpers shared by the Check unit tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/ops/info.h"
#include "testutil.h"
#include "vmm/output.h"
#include "vmm/report.h"
#include "vmm/util.h"

const char *test_tmpdir(void)
{
    static char dir[4096];
    if (!dir[0]) {
        const char *base = getenv("PUPA_TEST_TMP");
        if (!base)
            base = "/tmp";
        mkdir(base, 0755);
        snprintf(dir, sizeof(dir), "%s/unit-%d", base, (int)getpid());
        mkdir(dir, 0755);
    }
    return dir;
}

int test_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

int test_have_qemu_img(void)
{
    return test_sh("command -v qemu-img >/dev/null 2>&1") == 0;
}

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct mem_image *m = ctx;
    memset(buf, 0, len);
    if (off < m->len) {
        size_t n = m->len - off < len ? (size_t)(m->len - off) : len;
        memcpy(buf, m->data + off, n);
    }
    return 0;
}

struct fmt_io mem_image_io(struct mem_image *m, const char *filename)
{
    struct fmt_io io = {m, mem_read, m->len, filename};
    return io;
}

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
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

struct fmt_io file_io_open(const char *path)
{
    struct fmt_io io = {0};
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0)
        return io;
    struct file_ctx *f = xcalloc(1, sizeof(*f));
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    io.ctx = f;
    io.read = file_read;
    io.size = f->size;
    io.filename = path;
    return io;
}

void file_io_close(struct fmt_io *io)
{
    struct file_ctx *f = io->ctx;
    if (f) {
        close(f->fd);
        free(f);
    }
    io->ctx = NULL;
}

static struct pupa_error feed_err;

static void to_report(void *ctx, const pupa_GuestMessage *m)
{
    if (report_feed(ctx, m, &feed_err) != 0)
        return; /* report_check_info() reports it */
}

int test_info(const struct fmt_io *io, const char *format, char **human, char **json, char **error)
{
    struct report r;
    report_init(&r);
    *human = *json = *error = NULL;
    err_init(&feed_err);
    info_run(io, format, "vda", to_report, &r);
    if (report_check_info(&r, &feed_err) != 0) {
        *error = xstrdup(feed_err.msg);
        report_free(&r);
        return -1;
    }
    if (!r.success) {
        *error = xstrdup(r.error ? r.error : "failed");
        report_free(&r);
        return -1;
    }
    struct strbuf out;
    sb_init(&out);
    output_info_human(&out, &r, io->filename, false);
    *human = out.s ? out.s : xstrdup("");
    sb_init(&out);
    output_info_json(&out, &r, io->filename, true);
    *json = out.s ? out.s : xstrdup("");
    report_free(&r);
    return 0;
}
