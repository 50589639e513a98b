/* main.c: the pupa command line: selftest, run, read, info. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session.h"
#include "util.h"

#define PUPA_VERSION "0.1.0"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: pupa selftest [--accel=auto|kvm|emu]\n"
               "       pupa run --guest FILE.elf [options]\n");
    return rc;
}

static int cmd_selftest(int argc, char **argv)
{
    const char *accel_name = "auto";
    static const struct option opts[] = {
        {"accel", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'a')
            accel_name = optarg;
        else
            return usage(c == 'h' ? stdout : stderr, c == 'h' ? 0 : 2);
    }
    char err[256];
    const struct accel_ops *accel = session_pick_accel(accel_name, err, sizeof(err));
    if (!accel) {
        pupa_err("%s", err);
        return 1;
    }
    pupa_VmmConfig cfg = pupa_VmmConfig_init_zero;
    PUPA_STRLCPY(cfg.operation, "selftest");
    struct session_opts o = {
        .accel = accel,
        .ram_size = PUPA_RAM_DEFAULT,
        .timeout_s = 30,
        .elf = pupa_guest_elf,
        .elf_len = (size_t)(pupa_guest_elf_end - pupa_guest_elf),
        .config = &cfg,
    };
    struct session_result r;
    int rc = session_run(&o, &r);
    if (rc != 0) {
        pupa_err("selftest on %s failed: %s", accel->name, r.error);
        return 1;
    }
    printf("pupa selftest: backend %s, boot to exit %.2f ms (setup %.2f ms), %llu exits, %llu "
           "frames: OK\n",
           accel->name, r.run_s * 1e3, r.setup_s * 1e3, (unsigned long long)r.exits,
           (unsigned long long)r.frames);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr, 2);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0)
        return usage(stdout, 0);
    if (strcmp(cmd, "--version") == 0) {
        printf("pupa %s\n", PUPA_VERSION);
        return 0;
    }
    if (strcmp(cmd, "selftest") == 0)
        return cmd_selftest(argc - 1, argv + 1);
    pupa_err("unknown command '%s'", cmd);
    return usage(stderr, 2);
}
