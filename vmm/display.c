/* display.c: render job status on stderr: tty bars, plain lines, JSON lines. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "budget.h"
#include "display.h"
#include "error.h"
#include "frames_json.h"
#include "json.h"
#include "util.h"

#define CSI "\033["
static volatile int cursor_fd = -1; /* fd whose cursor we hid, for signal handlers */

bool display_parse_mode(const char *name, FILE *out, enum display_mode *mode)
{
    if (!name || strcmp(name, "auto") == 0) {
        const char *term = getenv("TERM");
        bool tty = isatty(fileno(out)) && !(term && strcmp(term, "dumb") == 0);
        *mode = tty ? DISPLAY_TTY : DISPLAY_PLAIN;
    } else if (strcmp(name, "tty") == 0 || strcmp(name, "bar") == 0) {
        *mode = DISPLAY_TTY;
    } else if (strcmp(name, "plain") == 0) {
        *mode = DISPLAY_PLAIN;
    } else if (strcmp(name, "json") == 0) {
        *mode = DISPLAY_JSON;
    } else if (strcmp(name, "none") == 0) {
        *mode = DISPLAY_NONE;
    } else {
        return false;
    }
    return true;
}

void display_init(struct display *d, enum display_mode mode, FILE *out, double now)
{
    memset(d, 0, sizeof(*d));
    d->mode = mode;
    d->out = out;
    d->fd = fileno(out);
    d->t0 = now;
    d->min_interval = 1.0 / 15;
    d->last_draw = -1;
    const char *nc = getenv("NO_COLOR");
    d->color = mode == DISPLAY_TTY && !(nc && nc[0]);
}

static void out_str(struct display *d, const char *s, size_t n)
{
    fwrite(s, 1, n, d->out);
}

/* ---------------------------------------------------------------- plain */

static void plain_frame(struct display *d, struct status_job *j, const pupa_GuestMessage *m,
                        double now)
{
    char line[600], a[32], b[32];
    double t = now - d->t0;
    char label[256];
    sanitize_for_tty(label, sizeof(label), j->label);
    switch (m->which_payload) {
    case pupa_GuestMessage_init_tag: {
        const pupa_InitMessage *p = &m->payload.init;
        char stage[64], dev[64];
        sanitize_for_tty(stage, sizeof(stage), p->stage);
        sanitize_for_tty(dev, sizeof(dev), p->device);
        if (dev[0])
            snprintf(line, sizeof(line), "[%7.3f] %s: %s: init %s at 0x%llx\n", t, label, dev,
                     stage, (unsigned long long)p->address);
        else
            snprintf(line, sizeof(line), "[%7.3f] %s: init %s\n", t, label, stage);
        break;
    }
    case pupa_GuestMessage_capacity_tag: {
        const pupa_CapacityMessage *p = &m->payload.capacity;
        char dev[64];
        sanitize_for_tty(dev, sizeof(dev), p->device);
        status_fmt_bytes(a, sizeof(a), (double)p->bytes);
        snprintf(line, sizeof(line), "[%7.3f] %s: %s: capacity %s (%llu bytes, %llu sectors)\n", t,
                 label, dev, a, (unsigned long long)p->bytes, (unsigned long long)p->sectors);
        break;
    }
    case pupa_GuestMessage_progress_tag: {
        const pupa_ProgressMessage *p = &m->payload.progress;
        /* milestones only: every 10 % */
        uint32_t pct = pupa_percent(p->current, p->total);
        if (pct % 10 != 0 && p->current != p->total)
            return;
        char dev[64];
        sanitize_for_tty(dev, sizeof(dev), p->device);
        status_fmt_bytes(a, sizeof(a), (double)p->current);
        status_fmt_bytes(b, sizeof(b), (double)p->total);
        snprintf(line, sizeof(line), "[%7.3f] %s: %s: %s %3u%% (%s of %s)\n", t, label, dev,
                 p->operation, pct, a, b);
        break;
    }
    case pupa_GuestMessage_error_tag: {
        char msg[300];
        sanitize_for_tty(msg, sizeof(msg), j->last_error);
        snprintf(line, sizeof(line), "[%7.3f] %s: error: %s\n", t, label, msg);
        break;
    }
    case pupa_GuestMessage_complete_tag: {
        const pupa_CompleteMessage *p = &m->payload.complete;
        snprintf(line, sizeof(line), "[%7.3f] %s: %s %s\n", t, label, p->operation,
                 p->success ? "complete" : "failed");
        break;
    }
    default:
        return;
    }
    if (!status_line_allowed(j, BUDGET_STDERR_LINES))
        return;
    out_str(d, line, strlen(line));
    fflush(d->out);
}

/* ---------------------------------------------------------------- json */

/* One JSON line on d->out: {"elapsed", "image", ...what fill writes}. */
static void json_line(struct display *d, const struct status_job *j, double now,
                      void (*fill)(struct json_writer *w, const void *arg), const void *arg)
{
    struct strbuf sb;
    struct json_writer w;
    sb_init(&sb);
    json_init(&w, &sb, false);
    json_begin_object(&w, NULL);
    json_double(&w, "elapsed", now - d->t0);
    if (j)
        json_str(&w, "image", j->label);
    fill(&w, arg);
    json_end_object(&w);
    sb_puts(&sb, "\n");
    out_str(d, sb.s, sb.len);
    fflush(d->out);
    sb_free(&sb);
}

static void fill_frame(struct json_writer *w, const void *m)
{
    frames_json_guest(w, m);
}

static void fill_message(struct json_writer *w, const void *text)
{
    json_str(w, "message", text);
}

static void json_frame(struct display *d, struct status_job *j, const pupa_GuestMessage *m,
                       double now)
{
    if (status_line_allowed(j, BUDGET_JSON_PROGRESS_LINES))
        json_line(d, j, now, fill_frame, m);
}

/* ---------------------------------------------------------------- tty */

static int term_width(struct display *d)
{
    struct winsize ws;
    if (ioctl(d->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

/* Copy s into dst in at most `cols` display columns (s is sanitized UTF-8).
 * A name that does not fit keeps its end, where the file name is: "...ge.img". */
static size_t fit(char *dst, const char *s, int cols)
{
    size_t len = strlen(s), n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80; /* count code points */
    if ((int)n <= cols) {
        memcpy(dst, s, len + 1);
        return n;
    }
    if (cols < 4) {
        memcpy(dst, "...", (size_t)(cols > 0 ? cols : 0));
        dst[cols > 0 ? cols : 0] = '\0';
        return (size_t)(cols > 0 ? cols : 0);
    }
    size_t keep = (size_t)cols - 3, start = len;
    for (size_t got = 0; start > 0 && got < keep;) {
        start--;
        if (((unsigned char)s[start] & 0xc0) != 0x80)
            got++;
    }
    memcpy(dst, "...", 3);
    memcpy(dst + 3, s + start, len - start + 1);
    return (size_t)cols;
}

static void bar(struct strbuf *sb, bool color, double frac, int width)
{
    int fill = (int)(frac * width + 0.5);
    if (fill > width)
        fill = width;
    sb_puts(sb, "[");
    if (color)
        sb_puts(sb, CSI "32m");
    for (int i = 0; i < fill; i++)
        sb_puts(sb, "#");
    if (color)
        sb_puts(sb, CSI "0m");
    for (int i = fill; i < width; i++)
        sb_puts(sb, "-");
    sb_puts(sb, "]");
}

static void job_line(struct display *d, struct strbuf *sb, const struct status_job *j, int width,
                     double now)
{
    char label[256], name[256], tail[128], rate[32], eta[16];
    sanitize_for_tty(label, sizeof(label), j->label);
    double frac = status_job_fraction(j);
    double rate_sum = 0, eta_max = -1;
    for (int i = 0; i < j->ndev; i++) {
        rate_sum += j->dev[i].rate;
        if (j->dev[i].eta > eta_max)
            eta_max = j->dev[i].eta;
    }
    const char *state =
        j->ndev && j->dev[j->ndev - 1].stage[0] ? j->dev[j->ndev - 1].stage : "booting";
    if (j->finished)
        state = j->failed ? "failed" : j->unsafe ? "UNSAFE" : "done";
    status_fmt_bytes(rate, sizeof(rate), rate_sum);
    status_fmt_eta(eta, sizeof(eta), eta_max);
    if (rate_sum > 0 && !j->finished)
        snprintf(tail, sizeof(tail), " %3.0f%% %11s/s ETA %-6s", frac * 100, rate, eta);
    else
        snprintf(tail, sizeof(tail), " %3.0f%% %-13s %6.1fs   ", frac * 100, state,
                 (j->finished ? j->t_end : now) - j->t_start);
    char fmt[40] = "";
    if (j->format[0])
        snprintf(fmt, sizeof(fmt), " %s", j->format);
    int tail_cols = (int)strlen(tail) + (int)strlen(fmt);
    int label_cols = width - tail_cols - 3;
    int bar_cols = 0;
    if (label_cols > 28) {
        bar_cols = label_cols / 3 > 40 ? 40 : label_cols / 3;
        label_cols -= bar_cols + 3;
    }
    if (label_cols < 4)
        label_cols = 4;
    int used = (int)fit(name, label, label_cols);
    sb_puts(sb, " ");
    sb_puts(sb, name);
    for (int i = used; i < label_cols; i++)
        sb_puts(sb, " ");
    sb_puts(sb, fmt);
    if (bar_cols > 0) {
        sb_puts(sb, " ");
        bar(sb, d->color, frac, bar_cols);
    }
    sb_puts(sb, tail);
}

static void overall_line(struct strbuf *sb, const struct status_totals *all, double elapsed)
{
    char eta[16];
    double rate = elapsed > 0 ? (double)all->done / elapsed : 0;
    status_fmt_eta(eta, sizeof(eta), rate > 0 ? (double)(all->total - all->done) / rate : -1);
    sb_printf(sb, " %zu/%zu done, %zu failed, %zu unsafe, %.1f images/s, ETA %s", all->done,
              all->total, all->failed, all->unsafe, rate, eta);
}

static void tty_erase(struct display *d, struct strbuf *sb)
{
    if (d->drawn > 0)
        sb_printf(sb, "\r" CSI "%dA", d->drawn);
    sb_puts(sb, "\r" CSI "J");
    d->drawn = 0;
}

static void tty_draw(struct display *d, struct status_job *const *jobs, size_t njobs,
                     const struct status_totals *all, double now)
{
    struct strbuf sb;
    sb_init(&sb);
    if (!d->cursor_hidden) {
        sb_puts(&sb, CSI "?25l");
        d->cursor_hidden = true;
        cursor_fd = d->fd;
    }
    tty_erase(d, &sb);
    int width = term_width(d) - 1;
    for (size_t i = 0; i < njobs; i++) {
        job_line(d, &sb, jobs[i], width, now);
        sb_puts(&sb, CSI "K\n");
        d->drawn++;
    }
    if (all) {
        overall_line(&sb, all, now - d->t0);
        sb_puts(&sb, CSI "K\n");
        d->drawn++;
    }
    out_str(d, sb.s, sb.len);
    fflush(d->out);
    sb_free(&sb);
    d->last_draw = now;
    d->dirty = false;
    d->redraws++;
}

/* ---------------------------------------------------------------- API */

void display_job_start(struct display *d, const struct status_job *j, const char *backend,
                       double now)
{
    if (d->mode != DISPLAY_PLAIN)
        return;
    char label[256];
    sanitize_for_tty(label, sizeof(label), j->label);
    fprintf(d->out, "[%7.3f] %s: guest starting on %s\n", now - d->t0, label, backend);
    fflush(d->out);
}

void display_frame(struct display *d, struct status_job *j, const pupa_GuestMessage *m, double now)
{
    switch (d->mode) {
    case DISPLAY_PLAIN:
        plain_frame(d, j, m, now);
        break;
    case DISPLAY_JSON:
        json_frame(d, j, m, now);
        break;
    case DISPLAY_TTY:
        d->dirty = true;
        break;
    case DISPLAY_NONE:
        break;
    }
}

void display_note(struct display *d, const struct status_job *j, const char *text, double now)
{
    char clean[PUPA_ERROR_MAX];
    sanitize_for_tty(clean, sizeof(clean), text);
    if (d->mode == DISPLAY_JSON) {
        json_line(d, j, now, fill_message, text);
    } else if (d->mode == DISPLAY_TTY) {
        /* above the bars, which are redrawn below it on the next tick */
        struct strbuf sb;
        sb_init(&sb);
        tty_erase(d, &sb);
        sb_printf(&sb, "pupa: %s\n", clean);
        out_str(d, sb.s, sb.len);
        sb_free(&sb);
        d->dirty = true;
    } else {
        fprintf(d->out, "pupa: %s\n", clean);
    }
    fflush(d->out);
}

void display_tick(struct display *d, struct status_job *const *jobs, size_t njobs,
                  const struct status_totals *all, double now, bool force)
{
    if (d->mode != DISPLAY_TTY)
        return;
    if (!force && (!d->dirty || (d->last_draw >= 0 && now - d->last_draw < d->min_interval)))
        return;
    tty_draw(d, jobs, njobs, all, now);
}

void display_close(struct display *d, struct status_job *const *jobs, size_t njobs,
                   const struct status_totals *all, double now)
{
    if (d->mode != DISPLAY_TTY)
        return;
    if (njobs || all)
        tty_draw(d, jobs, njobs, all, now);
    if (d->cursor_hidden) {
        fputs(CSI "?25h", d->out);
        fflush(d->out);
        d->cursor_hidden = false;
        cursor_fd = -1;
    }
}

void display_clear(struct display *d)
{
    if (d->mode != DISPLAY_TTY || d->drawn == 0)
        return;
    struct strbuf sb;
    sb_init(&sb);
    tty_erase(d, &sb);
    out_str(d, sb.s, sb.len);
    fflush(d->out);
    sb_free(&sb);
    d->dirty = true;
}

void display_restore_cursor_async(void)
{
    int fd = cursor_fd;
    if (fd >= 0) {
        static const char show[] = CSI "?25h\n";
        ssize_t r = write(fd, show, sizeof(show) - 1);
        (void)r;
    }
}
