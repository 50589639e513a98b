/* blk_inflate.c: zlib (raw inflate, zlib streams) and zstd for block drivers. */
#include <string.h>

/* the guest has no stdio/gz support: zlib's solo interface (the z_stream layout is
 * the library's either way) */
#define Z_SOLO
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "blk_inflate.h"

/* qcow2 clusters are at most 2 MiB, and qemu's zstd frames carry one cluster:
 * a 2 MiB window is the largest a valid image needs */
#define ZSTD_WINDOW_LOG 21
#define MAX_WBITS_SLOTS 2 /* raw deflate (-12..-15) and zlib (8..15) streams */

struct zslot {
    int window_bits;
    bool ready;
    z_stream s;
};

struct blk_zctx {
    struct blk_arena *arena;
    struct zslot z[MAX_WBITS_SLOTS];
    ZSTD_DCtx *zstd;
    bool zstd_failed;
};

struct blk_zctx *blk_zctx_new(struct blk_arena *a)
{
    struct blk_zctx *z = blk_alloc(a, sizeof(*z), 16);
    if (z)
        z->arena = a;
    return z;
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    uint64_t n;
    if (!fmt_mul_ok(items, size, &n) || n > SIZE_MAX)
        return Z_NULL;
    return blk_alloc(opaque, (size_t)n, 16);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque; /* arena memory: released with the arena */
    (void)p;
}

/* The stream for these window bits, initialised once and reset for each use. */
static z_stream *zstream(struct blk_zctx *z, int window_bits)
{
    for (int i = 0; i < MAX_WBITS_SLOTS; i++) {
        struct zslot *s = &z->z[i];
        if (s->ready && s->window_bits == window_bits)
            return inflateReset(&s->s) == Z_OK ? &s->s : NULL;
    }
    for (int i = 0; i < MAX_WBITS_SLOTS; i++) {
        struct zslot *s = &z->z[i];
        if (s->ready)
            continue;
        memset(&s->s, 0, sizeof(s->s));
        s->s.zalloc = z_alloc;
        s->s.zfree = z_free;
        s->s.opaque = z->arena;
        if (inflateInit2(&s->s, window_bits) != Z_OK)
            return NULL;
        s->window_bits = window_bits;
        s->ready = true;
        return &s->s;
    }
    return NULL; /* a third kind of stream: no driver needs one */
}

int blk_inflate(struct blk_zctx *z, int window_bits, void *dst, size_t dst_len, const void *src,
                size_t src_len)
{
    if (dst_len > UINT32_MAX || src_len > UINT32_MAX)
        return -1;
    z_stream *s = zstream(z, window_bits);
    if (!s)
        return -1;
    s->next_in = (Bytef *)(uintptr_t)src;
    s->avail_in = (uInt)src_len;
    s->next_out = dst;
    s->avail_out = (uInt)dst_len;
    int ret = inflate(s, Z_FINISH);
    return (ret == Z_STREAM_END || ret == Z_BUF_ERROR) && s->avail_out == 0 ? 0 : -1;
}

static ZSTD_DCtx *zstd_ctx(struct blk_zctx *z)
{
    if (!z->zstd && !z->zstd_failed) {
        size_t need = ZSTD_estimateDStreamSize((size_t)1 << ZSTD_WINDOW_LOG);
        void *work = blk_alloc(z->arena, need, 64);
        z->zstd = work ? ZSTD_initStaticDCtx(work, need) : NULL;
        z->zstd_failed = z->zstd == NULL;
        if (z->zstd &&
            ZSTD_isError(ZSTD_DCtx_setParameter(z->zstd, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG)))
            z->zstd = NULL;
    }
    if (z->zstd && ZSTD_isError(ZSTD_DCtx_reset(z->zstd, ZSTD_reset_session_only)))
        return NULL;
    return z->zstd;
}

int blk_zstd(struct blk_zctx *z, void *dst, size_t dst_len, const void *src, size_t src_len)
{
    ZSTD_DCtx *d = zstd_ctx(z);
    if (!d)
        return -1;
    ZSTD_outBuffer out = {dst, dst_len, 0};
    ZSTD_inBuffer in = {src, src_len, 0};
    size_t ret = 0;
    while (out.pos < out.size) {
        size_t in_before = in.pos, out_before = out.pos;
        ret = ZSTD_decompressStream(d, &out, &in);
        if (ZSTD_isError(ret))
            return -1;
        if (in.pos <= in_before && out.pos <= out_before)
            return -1; /* no progress: the input ended inside a frame */
    }
    /* a frame not fully flushed would have produced more than a cluster */
    return ret > 0 ? -1 : 0;
}
