/* status.c: guest frames -> the parent's model of each job (see status.h). */
#include <stdio.h>
#include <string.h>

#include "status.h"
#include "util.h"

void status_job_init(struct status_job *j, const char *label, const char *operation, double now)
{
    memset(j, 0, sizeof(*j));
    PUPA_STRLCPY(j->label, label); /* raw: printers sanitize it, JSON escapes it */
    sanitize_for_tty(j->operation, sizeof(j->operation), operation);
    j->t_start = now;
    j->running = true;
    report_init(&j->result);
}

void status_job_free(struct status_job *j)
{
    report_free(&j->result);
}

/* The row of a device the guest names; a guest inventing devices gets no more rows. */
static struct status_dev *find_dev(struct status_job *j, const char *name)
{
    char clean[sizeof(j->dev[0].name)];
    sanitize_for_tty(clean, sizeof(clean), name);
    for (int i = 0; i < j->ndev; i++) {
        if (strcmp(j->dev[i].name, clean) == 0)
            return &j->dev[i];
    }
    if (j->ndev == PUPA_MAX_DEVICES)
        return NULL;
    struct status_dev *d = &j->dev[j->ndev++];
    memset(d, 0, sizeof(*d));
    memcpy(d->name, clean, sizeof(clean));
    d->eta = -1;
    return d;
}

static void progress(struct status_dev *d, const pupa_ProgressMessage *p, double now)
{
    uint64_t total = p->total, current = p->current < p->total ? p->current : p->total;
    if (d->t_first == 0) {
        d->t_first = d->t_last = now;
        d->c_last = current;
    } else if (now > d->t_last && current >= d->c_last) {
        double inst = (double)(current - d->c_last) / (now - d->t_last);
        d->rate = d->rate == 0 ? inst : 0.7 * d->rate + 0.3 * inst;
        d->t_last = now;
        d->c_last = current;
    }
    d->current = current;
    d->total = total;
    d->percent = pupa_percent(current, total);
    d->eta = d->rate > 0 ? (double)(total - current) / d->rate : -1;
    if (current >= total)
        d->done = true;
}

static void error_frame(struct status_job *j, const pupa_ErrorMessage *e)
{
    char raw[sizeof(j->last_error)];
    j->nerrors++;
    if (e->message[0]) {
        sanitize_for_tty(j->last_error, sizeof(j->last_error), e->message);
        return;
    }
    snprintf(raw, sizeof(raw), "%s: %s failed at sector %llu (status %u)", e->device, e->operation,
             (unsigned long long)e->sector, e->status);
    sanitize_for_tty(j->last_error, sizeof(j->last_error), raw);
}

/* The progress rows: what the display draws. */
static void feed_rows(struct status_job *j, const pupa_GuestMessage *m, double now)
{
    struct status_dev *d;
    switch (m->which_payload) {
    case pupa_GuestMessage_init_tag:
        if (m->payload.init.device[0] && (d = find_dev(j, m->payload.init.device)))
            sanitize_for_tty(d->stage, sizeof(d->stage), m->payload.init.stage);
        break;
    case pupa_GuestMessage_capacity_tag:
        if ((d = find_dev(j, m->payload.capacity.device))) {
            d->bytes = m->payload.capacity.bytes;
            snprintf(d->stage, sizeof(d->stage), "ready");
        }
        break;
    case pupa_GuestMessage_progress_tag:
        if ((d = find_dev(j, m->payload.progress.device)))
            progress(d, &m->payload.progress, now);
        break;
    case pupa_GuestMessage_error_tag:
        error_frame(j, &m->payload.error);
        break;
    case pupa_GuestMessage_info_result_tag:
        sanitize_for_tty(j->format, sizeof(j->format), m->payload.info_result.format);
        break;
    case pupa_GuestMessage_complete_tag:
        for (int i = 0; i < j->ndev; i++)
            j->dev[i].done = true;
        break;
    default:
        break;
    }
}

int status_feed(struct status_job *j, const pupa_GuestMessage *m, double now,
                struct pupa_error *err)
{
    j->frames++;
    feed_rows(j, m, now);
    return j->no_result ? 0 : report_feed(&j->result, m, err);
}

void status_job_end(struct status_job *j, const struct outcome *o, size_t n, double now)
{
    j->running = false;
    j->finished = true;
    j->t_end = now;
    for (size_t i = 0; i < n; i++) {
        j->failed |= o[i].cls != ERRC_NONE;
        j->unsafe |= o[i].unsafe;
    }
}

void status_totals_add(struct status_totals *t, const struct outcome *o)
{
    t->done++;
    if (o->status > t->max_status)
        t->max_status = o->status;
    if (o->cls != ERRC_NONE) {
        t->failed++;
        return;
    }
    t->inspected++;
    t->bytes += o->bytes;
    if (o->unsafe)
        t->unsafe++;
}

double status_job_fraction(const struct status_job *j)
{
    uint64_t cur = 0, tot = 0;
    for (int i = 0; i < j->ndev; i++) {
        cur += j->dev[i].current;
        tot += j->dev[i].total;
    }
    if (j->finished)
        return 1.0;
    return tot ? (double)cur / (double)tot : 0.0;
}

bool status_line_allowed(struct status_job *j, uint32_t budget)
{
    if (j->lines < budget) {
        j->lines++;
        return true;
    }
    j->suppressed++;
    return false;
}

void status_fmt_bytes(char *buf, size_t cap, double v)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void status_fmt_eta(char *buf, size_t cap, double s)
{
    if (s < 0 || s > 360000) {
        snprintf(buf, cap, "--");
        return;
    }
    unsigned t = (unsigned)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%uh%02um", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%um%02us", t / 60, t % 60);
    else
        snprintf(buf, cap, "%us", t);
}
