/* pupa-blkmap: TEST TOOL ONLY. Runs the guest's block drivers directly on the
 * host over image files and prints what `qemu-img map` prints (human or JSON), or
 * the SHA-256 of the virtual disk (what `qemu-img convert -O raw` + sha256sum
 * give), so every driver is checked against qemu-img on the corpus. pupa itself
 * never reads an image's contents on the host.
 *
 *   pupa-blkmap [--output=human|json] [-f FMT] [--start-offset=N] [--max-length=N]
 *               [--backing=FILE]... [--sha256] IMAGE
 *
 * Exit status and stderr as qemu-img map's (errors without its "qemu-img: "). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/blk_testlib.h"

int main(int argc, char **argv)
{
    const char *output = "human", *format = NULL, *paths[BLK_TEST_MAX_LAYERS];
    uint64_t start = 0, max_length = UINT64_MAX;
    size_t n = 1;
    bool sha = false;
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"start-offset", required_argument, NULL, 's'},
        {"max-length", required_argument, NULL, 'l'},
        {"backing", required_argument, NULL, 'b'},
        {"sha256", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c == 'o')
            output = optarg;
        else if (c == 'f')
            format = optarg;
        else if (c == 's')
            start = strtoull(optarg, NULL, 0);
        else if (c == 'l')
            max_length = strtoull(optarg, NULL, 0);
        else if (c == 'b' && n < BLK_TEST_MAX_LAYERS)
            paths[n++] = optarg;
        else if (c == 'h')
            sha = true;
        else
            return 2;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: pupa-blkmap [--output=human|json] [-f FMT] [--start-offset=N] "
                        "[--max-length=N] [--backing=FILE]... [--sha256] IMAGE\n");
        return 2;
    }
    paths[0] = argv[optind];
    static struct blk_test_chain chain;
    if (blk_test_open(&chain, paths, n, format) != 0) {
        fprintf(stderr, "%s\n", chain.error);
        blk_test_close(&chain);
        return 1;
    }
    int rc = 0;
    if (sha) {
        char hex[65];
        if (blk_test_sha256(&chain, 4u << 20, hex) != 0) {
            fprintf(stderr, "error while reading: %s\n", chain.error);
            rc = 1;
        } else {
            printf("%s  %s\n", hex, paths[0]);
        }
    } else {
        char *err = NULL;
        char *out = blk_test_map(&chain, strcmp(output, "json") == 0, start, max_length, &rc, &err);
        fputs(out, stdout);
        if (chain.nodes[0].warning[0])
            fprintf(stderr, "%s\n", chain.nodes[0].warning);
        if (err)
            fprintf(stderr, "%s\n", err);
        free(out);
        free(err);
    }
    blk_test_close(&chain);
    return rc;
}
