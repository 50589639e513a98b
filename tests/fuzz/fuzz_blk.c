/* fuzz_blk.c: libFuzzer harness: the block layer (blk_open, every block driver,
 * map, compare, reads) over an in-memory image (input layout: fuzz_image.h;
 * name & 0x40: the file layer answers allocation queries with data and holes
 * that alternate every 64 KiB, else "no information"; FUZZ_BLK_FORMAT=NAME in
 * the environment forces that format on every input: one driver family per run).
 *
 * Checks, any violation aborts:
 *   - a refused image has a reason;
 *   - map (up to 64 MiB of the disk from an offset the input picks) produces
 *     frames the VMM accepts (map_print: contiguous, inside the range, from
 *     layers that exist) for JSON and human output, and twice the same bytes;
 *   - reads of the first 4 MiB in 1 MiB pieces and in odd 4097-byte pieces
 *     give the same bytes (or both fail), and never write outside the buffer;
 *   - compare of the image with itself over the same range never reports a
 *     content mismatch.
 * Work per input is bounded: no driver may take time proportional to the
 * virtual size of a hostile header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest/formats/blk.h"
#include "../../guest/ops/compare.h"
#include "../../guest/ops/map.h"
#include "../../vmm/map_print.h"
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARENA_BYTES (96u << 20)
#define MAP_SPAN    (64ull << 20)
#define READ_SPAN   (4u << 20)

static void die(const char *what, const char *detail)
{
    fuzz_die("fuzz_blk", what, detail);
}

static struct fuzz_image g_img;
static bool g_alloc_pattern;

static int file_read(void *ctx, const struct blk_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fuzz_image_read(ctx, reqs[i].off, reqs[i].buf, reqs[i].len) != 0)
            return -1;
    }
    return 0;
}

/* Data and holes alternating every 64 KiB to the end of the file, then a hole. */
static int file_alloc(void *ctx, uint64_t off, struct pupa_blk_alloc *out, size_t max, size_t *got)
{
    const struct fuzz_image *m = ctx;
    size_t n = 0;
    uint64_t pos = off, end = m->len;
    while (n < max) {
        if (pos >= end || n + 1 == max) {
            out[n++] = (struct pupa_blk_alloc){pos, 0, PUPA_BLK_ALLOC_HOLE, 0};
            break;
        }
        uint64_t next = (pos / 65536 + 1) * 65536;
        if (next > end)
            next = end;
        out[n++] = (struct pupa_blk_alloc){
            pos, next - pos, (pos / 65536) % 2 ? PUPA_BLK_ALLOC_HOLE : PUPA_BLK_ALLOC_DATA, 0};
        pos = next;
    }
    *got = n;
    return 0;
}

static const struct blk_file_ops ops_plain = {file_read, NULL};
static const struct blk_file_ops ops_alloc = {file_read, file_alloc};

struct chain {
    struct blk_file file;
    struct blk_node node;
    struct blk_arena arena;
};

static void layer_done(void *ctx, size_t i, const struct fmt_info *info, bool ok)
{
    (void)ctx;
    (void)i;
    if (!ok && !info->error[0])
        die("a refused image without a reason", NULL);
}

static bool open_chain(struct chain *c, const struct fmt_io *io, const char *forced)
{
    static uint8_t *arena;
    static struct fmt_info info;
    if (!arena && !(arena = malloc(ARENA_BYTES)))
        die("out of memory", NULL);
    memset(c, 0, sizeof(*c));
    c->arena = (struct blk_arena){arena, ARENA_BYTES, 0};
    c->file = (struct blk_file){.ops = g_alloc_pattern ? &ops_alloc : &ops_plain,
                                .ctx = &g_img,
                                .size = io->size,
                                .allocated = g_img.len / 2,
                                .name = io->filename};
    if (blk_file_init(&c->file, &c->arena) != 0)
        die("no arena for the file", NULL);
    memset(&info, 0, sizeof(info));
    return blk_open_chain(&c->node, &c->file, 1, forced, &c->arena, &info, layer_done, NULL) == 0;
}

/* ------------------------------------------------------------ map */

struct map_out {
    struct map_print p;
    struct strbuf out;
    enum map_print_status st;
};

static void map_frame(void *ctx, const pupa_GuestMessage *m)
{
    struct map_out *o = ctx;
    if (m->which_payload == pupa_GuestMessage_map_extents_tag && o->st == MAP_PRINT_OK) {
        o->st = map_print_frame(&o->p, &o->out, &m->payload.map_extents);
        if (o->st == MAP_PRINT_VIOLATION)
            die("map frames the VMM would refuse", o->p.error);
    }
}

static void map_once(struct blk_node *n, uint64_t start, bool json, struct strbuf *result)
{
    static struct map_out o;
    static const char *const files[1] = {"disk"};
    uint64_t end = n->size < start + MAP_SPAN ? n->size : start + MAP_SPAN;
    memset(&o, 0, sizeof(o));
    sb_init(&o.out);
    map_print_init(&o.p, &o.out, json, false, files, 1, start, end);
    bool ok = map_run(n, start, MAP_SPAN, "vda", 0, map_frame, &o);
    if (ok && o.st == MAP_PRINT_OK && !o.p.finished)
        die("map succeeded without its last entry", NULL);
    sb_printf(&o.out, "%d/%d", ok, (int)o.st);
    sb_add(result, o.out.s, o.out.len);
    sb_free(&o.out);
}

static void check_map(struct blk_node *n, uint64_t start)
{
    for (int json = 0; json < 2; json++) {
        struct strbuf a, b;
        sb_init(&a);
        sb_init(&b);
        map_once(n, start, json, &a);
        map_once(n, start, json, &b);
        if (a.len != b.len || memcmp(a.s, b.s, a.len) != 0)
            die("two maps of the same image differ", NULL);
        sb_free(&a);
        sb_free(&b);
    }
}

/* ------------------------------------------------------------ reads, compare */

static int read_in(struct blk_node *n, uint8_t *buf, size_t len, size_t piece)
{
    for (size_t off = 0; off < len; off += piece) {
        size_t k = len - off < piece ? len - off : piece;
        if (blk_read(n, off, buf + off, k) != 0)
            return -1;
    }
    return 0;
}

static void check_reads(struct blk_node *n)
{
    static uint8_t *a, *b;
    if (!a && !(a = malloc(READ_SPAN + 64)))
        die("out of memory", NULL);
    if (!b && !(b = malloc(READ_SPAN + 64)))
        die("out of memory", NULL);
    size_t len = n->size < READ_SPAN ? (size_t)n->size : READ_SPAN;
    memset(a + len, 0xa5, 64);
    int ra = read_in(n, a, len, 1u << 20);
    int rb = read_in(n, b, len, 4097);
    for (size_t i = 0; i < 64; i++)
        if (a[len + i] != 0xa5)
            die("a read wrote past its buffer", NULL);
    if (ra != rb)
        die("reads in different pieces disagree on failing", NULL);
    if (ra == 0 && memcmp(a, b, len) != 0)
        die("reads in different pieces give different bytes", NULL);
}

struct cmp_out {
    bool mismatch;
};

static void cmp_frame(void *ctx, const pupa_GuestMessage *m)
{
    struct cmp_out *o = ctx;
    if (m->which_payload == pupa_GuestMessage_compare_result_tag &&
        (m->payload.compare_result.outcome == pupa_CompareOutcome_COMPARE_CONTENT_MISMATCH ||
         m->payload.compare_result.outcome == pupa_CompareOutcome_COMPARE_STRICT_STATUS ||
         m->payload.compare_result.outcome == pupa_CompareOutcome_COMPARE_STRICT_SIZE))
        o->mismatch = true;
}

static void check_compare(struct blk_node *n)
{
    static uint8_t *b1, *b2;
    if (!b1 && !(b1 = malloc(COMPARE_BUF)))
        die("out of memory", NULL);
    if (!b2 && !(b2 = malloc(COMPARE_BUF)))
        die("out of memory", NULL);
    /* the same node twice, its size cut so compare's work stays bounded */
    struct blk_node a = *n;
    if (a.size > READ_SPAN)
        a.size = READ_SPAN;
    struct cmp_out o = {false};
    compare_run(&a, &a, true, b1, b2, "vda", 0, cmp_frame, &o);
    if (o.mismatch)
        die("an image differs from itself", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct chain c;
    struct fmt_io io;
    const char *forced;
    if (size < 2)
        return 0;
    fuzz_image_setup(&g_img, data, size, &io, &forced);
    g_alloc_pattern = (data[1] & 0x40) != 0;
    static const char *family;
    static bool family_read;
    if (!family_read) { /* FUZZ_BLK_FORMAT=qcow2: one driver family, whatever the mode byte */
        family = getenv("FUZZ_BLK_FORMAT");
        family_read = true;
    }
    if (family && family[0])
        forced = family;
    if (!open_chain(&c, &io, forced))
        return 0;
    uint64_t start = c.node.size ? (size * 0x9e3779b97f4a7c15ull) % c.node.size : 0;
    if (data[1] & 0x20)
        start = 0;
    check_map(&c.node, start);
    check_reads(&c.node);
    check_compare(&c.node);
    return 0;
}
