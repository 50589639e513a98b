/* blk_testlib.h: the block layer on the host, for tests and tools: image files
 * as blk_files (pread, lseek SEEK_DATA/SEEK_HOLE, like the VMM's device), chains
 * opened from paths, and qemu-img map's output and the virtual disk's SHA-256
 * computed by the same code the guest runs. */
#ifndef PUPA_BLK_TESTLIB_H
#define PUPA_BLK_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/formats/blk.h"

#define BLK_TEST_MAX_LAYERS 16

struct blk_test_chain {
    size_t n;
    struct blk_file files[BLK_TEST_MAX_LAYERS];
    struct blk_node nodes[BLK_TEST_MAX_LAYERS];
    int fds[BLK_TEST_MAX_LAYERS];
    const char *names[BLK_TEST_MAX_LAYERS];
    struct blk_arena arena;
    char error[FMT_ERROR_MAX + 64]; /* "Could not open 'NAME': ..." when open failed */
};

/* Open paths[0..n) (the image, then its backing files) as blk_open_chain does in the
 * guest; format NULL probes. 0, or -1 with c->error. Close with blk_test_close. */
int blk_test_open(struct blk_test_chain *c, const char *const *paths, size_t n, const char *format);
/* An image in memory (crafted tables) as a one-layer chain; reads past len are zeros,
 * the allocation query says "no information". */
int blk_test_open_mem(struct blk_test_chain *c, const uint8_t *data, size_t len, const char *name,
                      const char *format);
void blk_test_close(struct blk_test_chain *c);

/* qemu-img map's stdout for the chain (malloc'd), --start-offset/--max-length
 * (UINT64_MAX: none); *rc gets qemu-img's exit status and *err (malloc'd or NULL)
 * its stderr line(s) without the "qemu-img: " prefix. */
char *blk_test_map(struct blk_test_chain *c, bool json, uint64_t start, uint64_t max_length,
                   int *rc, char **err);

/* The SHA-256 (hex) of the virtual disk read in pieces of `piece` bytes; 0, or -1
 * with the layer's error in c->error. */
int blk_test_sha256(struct blk_test_chain *c, size_t piece, char hex[65]);

#endif
