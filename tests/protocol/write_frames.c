/* write_frames.c: test tool: writes the C samples as frame streams (Python cross-check) and the
 * fuzz seed corpus. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "samples.h"

static int write_file(const char *path, const uint8_t *a, size_t alen, const uint8_t *b,
                      size_t blen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "write_frames: %s: %s\n", path, strerror(errno));
        return -1;
    }
    bool ok = fwrite(a, 1, alen, f) == alen && (blen == 0 || fwrite(b, 1, blen, f) == blen);
    if (fclose(f) != 0 || !ok) {
        fprintf(stderr, "write_frames: %s: write failed\n", path);
        return -1;
    }
    return 0;
}

/* Fuzz input: [chunking byte][frame stream] (see tests/fuzz/fuzz_frame_reader.c). */
static int seed(const char *dir, const char *name, uint8_t chunking, const uint8_t *s, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return write_file(path, &chunking, 1, s, n);
}

static int write_seeds(const char *dir)
{
    static uint8_t frame[PUPA_FRAME_MAX];
    static pupa_GuestMessage m;
    static pupa_VmmConfig c;
    char name[64];
    int rc = 0;

    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "write_frames: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    /* one frame of each kind; the chunking byte varies */
    for (int k = 0; k < SK_COUNT; k++) {
        for (int v = SV_EMPTY; v < SV_COUNT; v++) {
            sample_guest(&m, k, v);
            size_t n = sample_encode(pupa_GuestMessage_fields, &m, frame, sizeof(frame));
            snprintf(name, sizeof(name), "guest-%s-%s", sample_kind_name(k),
                     sample_variant_name(v));
            rc |= seed(dir, name, (uint8_t)(k * SV_COUNT + v), frame, n);
        }
    }
    for (int d = 0; d < SAMPLE_NDEV_COUNT; d++) {
        for (int v = SV_EMPTY; v < SV_COUNT; v++) {
            sample_config(&c, sample_ndev[d], v);
            size_t n = sample_encode(pupa_VmmConfig_fields, &c, frame, sizeof(frame));
            snprintf(name, sizeof(name), "config-%u-%s", sample_ndev[d], sample_variant_name(v));
            rc |= seed(dir, name, (uint8_t)(7 * d + v), frame, n);
        }
    }
    /* a stream of typical frames, and error cases */
    size_t len = 0;
    for (int k = 0; k < SK_COUNT; k++) {
        sample_guest(&m, k, SV_TYPICAL);
        len += sample_encode(pupa_GuestMessage_fields, &m, frame + len, sizeof(frame) - len);
    }
    rc |= seed(dir, "guest-stream-typical", 3, frame, len);
    rc |= seed(dir, "guest-stream-truncated", 1, frame, len - 5);
    static const uint8_t too_long[] = {0x02, 0x00, 0x08, 0x01, 0x01, 0x40, 0x00};
    rc |= seed(dir, "too-long", 0, too_long, sizeof(too_long));
    static const uint8_t bad[] = {0x05, 0x00, 0x08, 0x01, 0x12, 0x05, 0x0a};
    rc |= seed(dir, "bad-payload", 2, bad, sizeof(bad));
    static const uint8_t zeros[] = {0, 0, 0, 0, 0, 0};
    rc |= seed(dir, "zero-length-frames", 1, zeros, sizeof(zeros));
    return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
    uint8_t *s = NULL;
    size_t len = 0, count = 0;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: write_frames guest|config FILE\n"
                        "       write_frames seeds DIR\n");
        return 2;
    }
    if (strcmp(argv[1], "guest") == 0) {
        pupa_GuestMessage *m;
        s = sample_guest_stream(&len, &m, &count);
        free(m);
    } else if (strcmp(argv[1], "config") == 0) {
        pupa_VmmConfig *c;
        s = sample_config_stream(&len, &c, &count);
        free(c);
    } else if (strcmp(argv[1], "seeds") == 0) {
        return write_seeds(argv[2]) ? 1 : 0;
    } else {
        fprintf(stderr, "write_frames: unknown kind '%s'\n", argv[1]);
        return 2;
    }
    rc = write_file(argv[2], s, len, NULL, 0);
    free(s);
    return rc ? 1 : 0;
}
