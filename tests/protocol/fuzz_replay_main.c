/* fuzz_replay_main.c: runs the libFuzzer harness over files and directories without libFuzzer (gcc
 * build, ASan build, no clang). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fprintf(stderr, "fuzz-replay: out of memory\n");
            fclose(f);
            return -1;
        }
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        cap *= 2;
        uint8_t *bigger = realloc(buf, cap);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "fuzz-replay: %s: read error\n", path);
        free(buf);
        return -1;
    }
    /* an exact-size copy, so ASan sees any read past the input */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long runs = 0;
    int rc = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz-replay FILE|DIR...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "fuzz-replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            rc |= run_file(argv[i]) ? 1 : 0;
            runs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            rc |= run_file(path) ? 1 : 0;
            runs++;
        }
        if (d)
            closedir(d);
        else
            rc = 1;
    }
    printf("fuzz-replay: %lu inputs, no crash, reader and decoder agree\n", runs);
    if (runs == 0) {
        fprintf(stderr, "fuzz-replay: no inputs\n");
        return 1;
    }
    return rc;
}
