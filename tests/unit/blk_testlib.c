/* blk_testlib.c: the block layer on the host over files and memory (see blk_testlib.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_testlib.h"
#include "guest/lib/sha256.h"
#include "guest/ops/map.h"
#include "vmm/file_alloc.h"
#include "vmm/map_print.h"

#define ARENA_BYTES (64u << 20)

/* ------------------------------------------------------------ files */

static int fd_read(void *ctx, const struct blk_req *reqs, size_t n)
{
    int fd = (int)(intptr_t)ctx;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = reqs[i].buf;
        size_t left = reqs[i].len;
        uint64_t off = reqs[i].off;
        while (left > 0) {
            ssize_t r = off > (uint64_t)INT64_MAX ? 0 : pread(fd, p, left, (off_t)off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return -1;
            if (r == 0) { /* past EOF: zeros */
                memset(p, 0, left);
                break;
            }
            p += r;
            off += (uint64_t)r;
            left -= (size_t)r;
        }
    }
    return 0;
}

/* What the VMM's device answers for the allocation request (the same code). */
static int fd_alloc(void *ctx, uint64_t off, struct pupa_blk_alloc *out, size_t max, size_t *got)
{
    *got = file_alloc_extents((int)(intptr_t)ctx, off, out, max);
    return 0;
}

static const struct blk_file_ops fd_ops = {fd_read, fd_alloc};

struct mem_file {
    const uint8_t *data;
    size_t len;
};

static int mem_read(void *ctx, const struct blk_req *reqs, size_t n)
{
    const struct mem_file *m = ctx;
    for (size_t i = 0; i < n; i++) {
        memset(reqs[i].buf, 0, reqs[i].len);
        if (reqs[i].off < m->len) {
            size_t k = m->len - reqs[i].off < reqs[i].len ? m->len - reqs[i].off : reqs[i].len;
            memcpy(reqs[i].buf, m->data + reqs[i].off, k);
        }
    }
    return 0;
}

static const struct blk_file_ops mem_ops = {mem_read, NULL};

/* ------------------------------------------------------------ chains */

static void layer_done(void *ctx, size_t i, const struct fmt_info *info, bool ok)
{
    struct blk_test_chain *c = ctx;
    if (!ok)
        snprintf(c->error, sizeof(c->error), "%s%s%s%s",
                 info->error_whole ? "" : "Could not open '", info->error_whole ? "" : c->names[i],
                 info->error_whole ? "" : "': ", info->error);
}

static int open_files(struct blk_test_chain *c, const char *format)
{
    static struct fmt_info info;
    memset(&info, 0, sizeof(info));
    c->arena.cap = ARENA_BYTES;
    c->arena.used = 0;
    c->arena.base = malloc(ARENA_BYTES);
    if (!c->arena.base)
        return -1;
    for (size_t i = 0; i < c->n; i++) {
        if (blk_file_init(&c->files[i], &c->arena) != 0) {
            snprintf(c->error, sizeof(c->error), "out of memory");
            return -1;
        }
    }
    return blk_open_chain(c->nodes, c->files, c->n, format, &c->arena, &info, layer_done, c);
}

int blk_test_open(struct blk_test_chain *c, const char *const *paths, size_t n, const char *format)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < BLK_TEST_MAX_LAYERS; i++)
        c->fds[i] = -1;
    if (n == 0 || n > BLK_TEST_MAX_LAYERS)
        return -1;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        c->names[i] = paths[i];
        c->fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (c->fds[i] < 0 || fstat(c->fds[i], &st) != 0) {
            snprintf(c->error, sizeof(c->error), "Could not open '%s': %s", paths[i],
                     strerror(errno));
            return -1;
        }
        c->files[i] = (struct blk_file){.ops = &fd_ops,
                                        .ctx = (void *)(intptr_t)c->fds[i],
                                        .size = (uint64_t)st.st_size,
                                        .allocated = (uint64_t)st.st_blocks * 512,
                                        .name = paths[i]};
    }
    return open_files(c, format);
}

int blk_test_open_mem(struct blk_test_chain *c, const uint8_t *data, size_t len, const char *name,
                      const char *format)
{
    static struct mem_file m;
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < BLK_TEST_MAX_LAYERS; i++)
        c->fds[i] = -1;
    m.data = data;
    m.len = len;
    c->n = 1;
    c->names[0] = name;
    c->files[0] = (struct blk_file){.ops = &mem_ops, .ctx = &m, .size = len, .name = name};
    return open_files(c, format);
}

void blk_test_close(struct blk_test_chain *c)
{
    for (size_t i = 0; i < BLK_TEST_MAX_LAYERS; i++) {
        if (c->fds[i] >= 0)
            close(c->fds[i]);
        c->fds[i] = -1;
    }
    free(c->arena.base);
    c->arena.base = NULL;
}

/* ------------------------------------------------------------ map, digest */

struct map_sink {
    struct map_print p;
    struct strbuf out;
    enum map_print_status st;
    char *error;
};

static void map_frame(void *ctx, const pupa_GuestMessage *m)
{
    struct map_sink *s = ctx;
    if (m->which_payload == pupa_GuestMessage_map_extents_tag && s->st == MAP_PRINT_OK)
        s->st = map_print_frame(&s->p, &s->out, &m->payload.map_extents);
    else if (m->which_payload == pupa_GuestMessage_error_tag) {
        /* the last one is the cause; earlier ones are what qemu prints before it */
        free(s->error);
        s->error = strdup(m->payload.error.message);
    }
}

char *blk_test_map(struct blk_test_chain *c, bool json, uint64_t start, uint64_t max_length,
                   int *rc, char **err)
{
    static struct map_sink s;
    memset(&s, 0, sizeof(s));
    sb_init(&s.out);
    uint64_t end = c->nodes[0].size;
    if (max_length != UINT64_MAX && start + max_length < end)
        end = start + max_length;
    map_print_init(&s.p, &s.out, json, false, c->names, c->n, start, end);
    bool ok = map_run(&c->nodes[0], start, max_length, "vda", 0, map_frame, &s);
    *err = NULL;
    *rc = 0;
    if (s.st == MAP_PRINT_UNMAPPABLE) {
        *err = strdup("File contains external, encrypted or compressed clusters.");
        *rc = 1;
    } else if (s.st == MAP_PRINT_VIOLATION) {
        *err = strdup(s.p.error);
        *rc = 99;
    } else if (!ok) {
        size_t n = strlen(s.error ? s.error : "") + 64;
        *err = malloc(n);
        snprintf(*err, n, "Could not read file metadata: %s", s.error ? s.error : "?");
        *rc = 1;
    }
    free(s.error);
    sb_add(&s.out, "", 1);
    return s.out.s;
}

int blk_test_sha256(struct blk_test_chain *c, size_t piece, char hex[65])
{
    struct sha256 sha;
    uint8_t *buf = malloc(piece);
    uint64_t size = c->nodes[0].size;
    sha256_init(&sha, false);
    for (uint64_t off = 0; off < size;) {
        size_t n = size - off < piece ? (size_t)(size - off) : piece;
        if (blk_read(&c->nodes[0], off, buf, n) != 0) {
            snprintf(c->error, sizeof(c->error), "%s", c->nodes[0].error);
            free(buf);
            return -1;
        }
        sha256_update(&sha, buf, n);
        off += n;
    }
    free(buf);
    uint8_t d[32];
    sha256_final(&sha, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}
