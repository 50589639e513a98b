/* status.c: guest frames -> per-job, per-device status. */
#include <stdio.h>
#include <string.h>

#include "status.h"

void status_job_init(struct status_job *j, const char *label, const char *operation, double now)
{
    memset(j, 0, sizeof(*j));
    PUPA_STRLCPY(j->label, label);
    PUPA_STRLCPY(j->operation, operation);
    j->t_start = now;
    j->running = true;
}

static struct status_dev *find_dev(struct status_job *j, const char *name)
{
    for (int i = 0; i < j->ndev; i++) {
        if (strcmp(j->dev[i].name, name) == 0)
            return &j->dev[i];
    }
    if (j->ndev == PUPA_MAX_DEVICES)
        return NULL; /* a guest inventing devices gets no more rows */
    struct status_dev *d = &j->dev[j->ndev++];
    memset(d, 0, sizeof(*d));
    PUPA_STRLCPY(d->name, name);
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

bool status_job_frame(struct status_job *j, const pupa_GuestMessage *m, double now)
{
    struct status_dev *d;
    j->frames++;
    switch (m->which_payload) {
    case pupa_GuestMessage_init_tag:
        if (m->payload.init.device[0] && (d = find_dev(j, m->payload.init.device)))
            PUPA_STRLCPY(d->stage, m->payload.init.stage);
        return true;
    case pupa_GuestMessage_capacity_tag:
        if ((d = find_dev(j, m->payload.capacity.device))) {
            d->bytes = m->payload.capacity.bytes;
            snprintf(d->stage, sizeof(d->stage), "ready");
        }
        return true;
    case pupa_GuestMessage_progress_tag:
        if ((d = find_dev(j, m->payload.progress.device)))
            progress(d, &m->payload.progress, now);
        return true;
    case pupa_GuestMessage_error_tag: {
        const pupa_ErrorMessage *e = &m->payload.error;
        j->nerrors++;
        if (e->message[0])
            PUPA_STRLCPY(j->last_error, e->message);
        else
            snprintf(j->last_error, sizeof(j->last_error),
                     "%s: %s failed at sector %llu (status %u)", e->device, e->operation,
                     (unsigned long long)e->sector, e->status);
        return true;
    }
    case pupa_GuestMessage_info_result_tag:
        PUPA_STRLCPY(j->format, m->payload.info_result.format);
        if (m->payload.info_result.finding_count)
            j->unsafe = true;
        return true;
    case pupa_GuestMessage_complete_tag:
        if (!m->payload.complete.success)
            j->failed = true;
        for (int i = 0; i < j->ndev; i++)
            j->dev[i].done = true;
        return true;
    default:
        return false;
    }
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
