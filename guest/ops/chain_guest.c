/* chain_guest.c: open the block operations' disks as images and backing chains. */
#include <stdio.h>
#include <string.h>

#include "chain_guest.h"
#include "formats/tape.h"
#include "ops/info.h"
#include "rt.h"

struct layer_ctx {
    struct guest_chains *c;
    const pupa_VmmConfig *cfg;
    const char *operation;
    size_t first; /* device index of the chain's layer 0 */
    struct fmt_tape tape;
    uint32_t findings; /* of the current layer */
    bool unsafe;
};

static void send_finding(void *ctx, const char *check, const char *detail)
{
    struct layer_ctx *l = ctx;
    pupa_GuestMessage m;
    pupa_msg_finding(&m, check, detail);
    rt_send(&m);
    l->findings++;
}

/* After each layer's parse: its findings (held on the tape until now), the
 * common ones, its InfoResult; or its error. */
static void layer_done(void *ctx, size_t i, const struct fmt_info *info, bool ok)
{
    struct layer_ctx *l = ctx;
    struct disk *d = &l->c->disks[l->first + i];
    pupa_GuestMessage m;

    if (!ok) {
        fmt_tape_drop(&l->tape);
        pupa_msg_error(&m, l->operation, d->dev.name, 0, 0,
                       info->error[0] ? info->error : "Could not open image");
        m.payload.error.print = info->error_whole ? pupa_ErrorPrint_ERROR_PRINT_WHOLE_LINE
                                                  : pupa_ErrorPrint_ERROR_PRINT_OPEN;
        rt_send(&m);
        return;
    }
    fmt_tape_commit(&l->tape);
    /* info_add_findings() adds through info's sink: it is the tape, now empty */
    struct fmt_io io = blk_file_io(&l->c->files[l->first + i]);
    info_add_findings((struct fmt_info *)info, &io, l->c->nodes[l->first + i].format);
    fmt_tape_commit(&l->tape);
    info_result_msg(&m, info, d->dev.name, 0, 0, l->findings);
    rt_send(&m);
    if (l->findings)
        l->unsafe = true;
    l->c->findings += l->findings;
    l->findings = 0;
}

/* The devices of image k: consecutive, layers 0, 1, ... */
static bool image_devices(const pupa_VmmConfig *cfg, size_t k, size_t *first, size_t *n)
{
    *first = 0;
    while (*first < cfg->devices_count && cfg->devices[*first].image != k)
        (*first)++;
    *n = 0;
    while (*first + *n < cfg->devices_count && cfg->devices[*first + *n].image == k &&
           cfg->devices[*first + *n].layer == *n)
        (*n)++;
    return *n > 0;
}

static bool refuse(const char *operation, const char *device, const char *why)
{
    pupa_GuestMessage m;
    pupa_msg_error(&m, operation, device, 0, 0, why);
    rt_send(&m);
    return false;
}

bool chains_open(struct guest_chains *c, const pupa_VmmConfig *cfg, const char *operation,
                 size_t want, size_t reserve)
{
    static struct fmt_info info;
    static struct layer_ctx l;
    static uint8_t tape_arena[64 * 1024] __attribute__((aligned(8)));
    size_t used = 0;

    memset(c, 0, sizeof(*c));
    size_t free_bytes = rt_free_bytes();
    if (free_bytes < reserve + (4u << 20))
        return refuse(operation, "", "not enough guest memory (use --memory)");
    c->arena.cap = free_bytes - reserve;
    c->arena.base = rt_alloc(c->arena.cap, 4096);

    for (size_t k = 0; k < want; k++) {
        struct guest_image *img = &c->image[k];
        if (!image_devices(cfg, k, &img->first, &img->n) || img->first != used)
            return refuse(operation, "", "the disks do not form the images asked for");
        used += img->n;
    }
    if (used != cfg->devices_count)
        return refuse(operation, "", "the disks do not form the images asked for");
    for (size_t i = 0; i < used; i++) {
        if (!disk_init(&c->disks[i], &c->files[i], (int)i, &cfg->devices[i], operation, &c->arena))
            return false;
    }
    struct fmt_sink out = {&l, NULL, NULL, send_finding};
    for (size_t k = 0; k < want; k++) {
        struct guest_image *img = &c->image[k];
        memset(&l, 0, sizeof(l));
        l.c = c;
        l.cfg = cfg;
        l.operation = operation;
        l.first = img->first;
        fmt_tape_init(&l.tape, &out, tape_arena, sizeof(tape_arena));
        memset(&info, 0, sizeof(info));
        info.sink = &l.tape.sink;
        if (blk_open_chain(&c->nodes[img->first], &c->files[img->first], img->n,
                           cfg->devices[img->first].format, &c->arena, &info, layer_done, &l) != 0)
            return false;
        img->top = &c->nodes[img->first];
        if (cfg->require_safe && l.unsafe)
            return refuse(operation, c->disks[img->first].dev.name,
                          "the image is unsafe: --require-safe stops before its contents");
    }
    c->nimages = want;
    return true;
}

void chains_report(const char *operation, const char *device, uint64_t offset,
                   const struct blk_node *n, const char *what)
{
    pupa_GuestMessage m;
    if (n->warning[0]) {
        pupa_msg_error(&m, operation, device, offset / 512, 0, n->warning);
        rt_send(&m);
    }
    char msg[FMT_ERROR_MAX];
    snprintf(msg, sizeof(msg), "%s%s", what, n->error[0] ? n->error : "Input/output error");
    pupa_msg_error(&m, operation, device, offset / 512, 0, msg);
    rt_send(&m);
}
