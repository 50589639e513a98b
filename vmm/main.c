/* main.c: the pupa command line: selftest, run, read, info. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "session.h"
#include "util.h"

#define PUPA_VERSION "0.1.0"

static const char usage_text[] =
    "usage: pupa COMMAND [OPTIONS] [IMAGE...]\n"
    "\n"
    "Inspect untrusted disk images inside a throwaway micro-VM.\n"
    "\n"
    "commands:\n"
    "  info IMAGE...      what qemu-img info says, parsed inside the guest, plus a safety verdict\n"
    "  read IMAGE...      read every image fully through virtio-blk (--sha256: print digests)\n"
    "  selftest           boot the guest once and report the backend, time and exits\n"
    "  run --guest ELF    boot any guest ELF that speaks pupa's protocol (development)\n"
    "\n"
    "options:\n"
    "  --output=human|json    result format on stdout (info, read)\n"
    "  -f, --format=FMT       info: use this format instead of probing (like qemu-img -f)\n"
    "  --require-safe         info: exit 3 when an image is unsafe\n"
    "  -U, --force-share      info: accepted like qemu-img's (pupa never locks an image)\n"
    "  --backing-chain        info: qemu-img's chain layout; an image with a backing file\n"
    "                         is refused (pupa never opens a file an image names)\n"
    "  --sha256               read: hash each image (SHA-256)\n"
    "  --sector-size=N        read: logical sector size 512, 1024, 2048 or 4096\n"
    "  --files-from=FILE      read image names from FILE ('-' = stdin), one per line\n"
    "  -0, --null             --files-from names are NUL-separated (find -print0)\n"
    "  -j, --jobs=N           guests at once (default: number of CPUs)\n"
    "  --per-guest=N          read: images per guest, 1..16 (default 16)\n"
    "  --shard=K/N            inspect only the K-th of N slices of the input list\n"
    "  --unordered            print results as they finish, not in input order\n"
    "  --summary, --no-summary  counts at the end (default: on when stderr is a terminal)\n"
    "  --progress=auto|tty|plain|json|none   progress on stderr (default auto)\n"
    "  --accel=auto|kvm|emu   execution backend (default auto: KVM when /dev/kvm works)\n"
    "  --memory=MIB           guest RAM (default 32)\n"
    "  --timeout=SECONDS      per guest (default 30; 0 = none)\n"
    "  --guest-log=FILE|-     copy the guest's text log (COM2) to FILE or stderr\n"
    "  --guest=FILE.elf       run: the guest to boot\n"
    "  --disk=IMAGE[,sector=N]  run: attach an image (repeatable)\n"
    "  --operation=NAME       run: VmmConfig.operation for the guest\n"
    "  --no-sandbox           do not confine workers with seccomp (debugging)\n"
    "  --stats                one line per guest on stderr: backend, times, exits, bytes\n"
    "  -v, --verbose          log unknown guest accesses\n"
    "  -h, --help, --version\n"
    "\n"
    "exit status: 0 ok, 1 an image could not be inspected, 2 usage error,\n"
    "             3 unsafe image with --require-safe, 130 interrupted\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "pupa: %s\nTry 'pupa --help'.\n", msg);
    return 2;
}

struct cli {
    struct batch_opts b;
    const char *accel_name, *progress_name, *output_name, *files_from, *guest_path;
    const char *guest_log_path, *shard;
    bool null_sep, summary_set, summary;
    char **names;
    size_t nnames, cap;
    uint8_t *guest_buf;
};

static void add_name(struct cli *c, const char *name)
{
    if (c->nnames == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->names = xrealloc(c->names, c->cap * sizeof(*c->names));
    }
    c->names[c->nnames++] = xstrdup(name);
}

static int read_files_from(struct cli *c)
{
    FILE *f = strcmp(c->files_from, "-") == 0 ? stdin : fopen(c->files_from, "r");
    if (!f) {
        pupa_err("Could not open '%s': %s", c->files_from, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int sep = c->null_sep ? '\0' : '\n';
    while ((n = getdelim(&line, &cap, sep, f)) > 0) {
        if (line[n - 1] == sep)
            line[--n] = '\0';
        if (n > 0)
            add_name(c, line);
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return 0;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

/* --shard K/N: decimal digits only (no sign, space or fraction), 1 <= K <= N. */
static bool parse_shard(const char *s, uint64_t *k, uint64_t *n)
{
    size_t kl = strspn(s, "0123456789");
    if (kl == 0 || kl > 19 || s[kl] != '/')
        return false;
    size_t nl = strspn(s + kl + 1, "0123456789");
    if (nl == 0 || nl > 19 || s[kl + 1 + nl] != '\0')
        return false;
    *k = strtoull(s, NULL, 10);
    *n = strtoull(s + kl + 1, NULL, 10);
    return *n > 0 && *k > 0 && *k <= *n;
}

static int load_guest_file(struct cli *c)
{
    int fd = open(c->guest_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 64 * 1024 * 1024) {
        pupa_err("Could not open guest '%s': %s", c->guest_path,
                 fd < 0 ? strerror(errno) : "not a regular file under 64 MiB");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    c->guest_buf = xmalloc((size_t)st.st_size + 1);
    ssize_t got = pread(fd, c->guest_buf, (size_t)st.st_size, 0);
    close(fd);
    if (got != st.st_size) {
        pupa_err("Could not read guest '%s'", c->guest_path);
        return -1;
    }
    c->b.elf = c->guest_buf;
    c->b.elf_len = (size_t)st.st_size;
    return 0;
}

enum {
    OPT_OUTPUT = 256,
    OPT_REQUIRE_SAFE,
    OPT_SHA256,
    OPT_SECTOR_SIZE,
    OPT_FILES_FROM,
    OPT_PER_GUEST,
    OPT_SHARD,
    OPT_UNORDERED,
    OPT_SUMMARY,
    OPT_NO_SUMMARY,
    OPT_PROGRESS,
    OPT_ACCEL,
    OPT_MEMORY,
    OPT_TIMEOUT,
    OPT_GUEST_LOG,
    OPT_GUEST,
    OPT_DISK,
    OPT_OPERATION,
    OPT_NO_SANDBOX,
    OPT_STATS,
    OPT_BACKING_CHAIN,
};

/* Parses and runs one command; run_command() frees what it collected on every path. */
static int run_cli(struct cli *c, enum batch_op op, int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"format", required_argument, NULL, 'f'},
        {"require-safe", no_argument, NULL, OPT_REQUIRE_SAFE},
        {"force-share", no_argument, NULL, 'U'},
        {"backing-chain", no_argument, NULL, OPT_BACKING_CHAIN},
        {"sha256", no_argument, NULL, OPT_SHA256},
        {"sector-size", required_argument, NULL, OPT_SECTOR_SIZE},
        {"files-from", required_argument, NULL, OPT_FILES_FROM},
        {"null", no_argument, NULL, '0'},
        {"jobs", required_argument, NULL, 'j'},
        {"per-guest", required_argument, NULL, OPT_PER_GUEST},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"unordered", no_argument, NULL, OPT_UNORDERED},
        {"summary", no_argument, NULL, OPT_SUMMARY},
        {"no-summary", no_argument, NULL, OPT_NO_SUMMARY},
        {"progress", required_argument, NULL, OPT_PROGRESS},
        {"accel", required_argument, NULL, OPT_ACCEL},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"guest-log", required_argument, NULL, OPT_GUEST_LOG},
        {"guest", required_argument, NULL, OPT_GUEST},
        {"disk", required_argument, NULL, OPT_DISK},
        {"operation", required_argument, NULL, OPT_OPERATION},
        {"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX},
        {"stats", no_argument, NULL, OPT_STATS},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const char *const op_names[] = {"selftest", "run", "read", "info"};
    struct batch_opts *b = &c->b;
    b->op = op;
    b->operation = op_names[op];
    b->ram_size = PUPA_RAM_DEFAULT;
    b->timeout_s = 30;
    b->sector_size = 512;
    b->sandbox = true;
    /* the CPUs this process may run on (taskset, Slurm and container cpusets), not all
     * the machine's */
    cpu_set_t cpus;
    long ncpu = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus)
                                                               : sysconf(_SC_NPROCESSORS_ONLN);
    b->jobs = ncpu > 0 ? (unsigned)(ncpu < 256 ? ncpu : 256) : 1;
    b->per_guest = op == BATCH_INFO ? 1 : PUPA_MAX_DEVICES;
    uint64_t v;
    int opt;
    bool force_share = false;

    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((opt = getopt_long(argc, argv, ":f:j:0Uvh", opts, NULL)) != -1) {
        switch (opt) {
        case OPT_OUTPUT:
            c->output_name = optarg;
            break;
        case 'f':
            b->format = optarg;
            break;
        case OPT_REQUIRE_SAFE:
            b->require_safe = true;
            break;
        case 'U':
            force_share = true; /* pupa takes no image locks: always shared */
            break;
        case OPT_BACKING_CHAIN:
            b->backing_chain = true;
            break;
        case OPT_SHA256:
            b->sha256 = true;
            break;
        case OPT_SECTOR_SIZE:
            if (!parse_u64(optarg, &v) || !PUPA_SECTOR_SIZE_OK(v))
                return usage_error("--sector-size must be 512, 1024, 2048 or 4096, not '%s'",
                                   optarg);
            b->sector_size = (uint32_t)v;
            break;
        case OPT_FILES_FROM:
            c->files_from = optarg;
            break;
        case '0':
            c->null_sep = true;
            break;
        case 'j':
            if (!parse_u64(optarg, &v) || v < 1 || v > 256)
                return usage_error("--jobs must be 1..256, not '%s'", optarg);
            b->jobs = (unsigned)v;
            break;
        case OPT_PER_GUEST:
            if (!parse_u64(optarg, &v) || v < 1 || v > PUPA_MAX_DEVICES)
                return usage_error("--per-guest must be 1..16, not '%s'", optarg);
            b->per_guest = (size_t)v;
            break;
        case OPT_SHARD:
            c->shard = optarg;
            break;
        case OPT_UNORDERED:
            b->unordered = true;
            break;
        case OPT_SUMMARY:
        case OPT_NO_SUMMARY:
            c->summary_set = true;
            c->summary = opt == OPT_SUMMARY;
            break;
        case OPT_PROGRESS:
            c->progress_name = optarg;
            break;
        case OPT_ACCEL:
            c->accel_name = optarg;
            break;
        case OPT_MEMORY:
            if (!parse_u64(optarg, &v) || v < PUPA_RAM_MIN / PUPA_MIB ||
                v > PUPA_RAM_MAX / PUPA_MIB || v % 2)
                return usage_error("--memory must be an even number of MiB, 4..2048, not '%s'",
                                   optarg);
            b->ram_size = v * PUPA_MIB;
            break;
        case OPT_TIMEOUT: {
            char *end;
            double t = strtod(optarg, &end);
            if (end == optarg || *end || t < 0 || t > 86400)
                return usage_error("--timeout must be 0..86400 seconds, not '%s'", optarg);
            b->timeout_s = t;
            break;
        }
        case OPT_GUEST_LOG:
            c->guest_log_path = optarg;
            break;
        case OPT_GUEST:
            c->guest_path = optarg;
            break;
        case OPT_DISK: {
            char *spec = xstrdup(optarg), *comma = strrchr(spec, ',');
            if (comma && strncmp(comma, ",sector=", 8) == 0) {
                /* run is for developing guests: any size reaches the guest, which must
                 * refuse what it cannot use */
                if (!parse_u64(comma + 8, &v) || v < 1 || v > 65536) {
                    free(spec);
                    return usage_error("bad sector size in --disk '%s'", optarg);
                }
                b->sector_size = (uint32_t)v;
                *comma = '\0';
            }
            add_name(c, spec);
            free(spec);
            break;
        }
        case OPT_OPERATION:
            b->operation = optarg;
            break;
        case OPT_NO_SANDBOX:
            b->sandbox = false;
            break;
        case OPT_STATS:
            b->stats = true;
            break;
        case 'v':
            b->verbose = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            if (opt == ':')
                return usage_error("option '%s' needs a value", argv[optind - 1]);
            return usage_error("unrecognized option '%s'", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) {
        if (op == BATCH_SELFTEST || op == BATCH_RUN)
            return usage_error("unexpected argument '%s'", argv[i]);
        add_name(c, argv[i]);
    }
    if (c->files_from && read_files_from(c) != 0)
        return 1;
    if ((op == BATCH_INFO || op == BATCH_READ) && c->nnames == 0)
        return usage_error("%s", "no image given");
    if (op == BATCH_RUN && !c->guest_path)
        return usage_error("%s", "run needs --guest FILE.elf");
    if (b->format && op != BATCH_INFO)
        return usage_error("%s", "--format applies to info");
    if ((force_share || b->backing_chain) && op != BATCH_INFO)
        return usage_error("%s", force_share ? "-U/--force-share applies to info"
                                             : "--backing-chain applies to info");
    if (c->null_sep && !c->files_from)
        return usage_error("%s", "-0 applies to --files-from");
    /* a list (several names, or a list file) gets list output even when a shard of it
     * holds one image, so that shards merge */
    b->lines = c->nnames > 1 || c->files_from != NULL;

    if (c->shard) {
        uint64_t k, n;
        if (!parse_shard(c->shard, &k, &n))
            return usage_error("--shard must be K/N with 1 <= K <= N, not '%s'", c->shard);
        /* image i (0-based, input order) belongs to shard i % N + 1 */
        size_t kept = 0;
        for (size_t i = 0; i < c->nnames; i++) {
            if (i % n == k - 1)
                c->names[kept++] = c->names[i];
            else
                free(c->names[i]);
        }
        c->nnames = kept;
    }
    b->images = c->names;
    b->nimages = c->nnames;

    if (!c->output_name || strcmp(c->output_name, "human") == 0)
        b->output = OUTPUT_HUMAN;
    else if (strcmp(c->output_name, "json") == 0)
        b->output = OUTPUT_JSON;
    else
        return usage_error("--output must be human or json, not '%s'", c->output_name);
    if (!display_parse_mode(c->progress_name, stderr, &b->progress))
        return usage_error("--progress must be auto, tty, plain, json or none, not '%s'",
                           c->progress_name);
    /* without --progress, a single info on a pipe stays quiet like qemu-img */
    if (!c->progress_name && b->progress == DISPLAY_PLAIN &&
        (op == BATCH_INFO || op == BATCH_SELFTEST))
        b->progress = DISPLAY_NONE;
    b->summary =
        c->summary_set ? c->summary : isatty(STDERR_FILENO) && b->lines && op == BATCH_INFO;

    char err[256];
    b->accel = session_pick_accel(c->accel_name, err, sizeof(err));
    if (!b->accel) {
        pupa_err("%s", err);
        return c->accel_name && strcmp(c->accel_name, "auto") && strcmp(c->accel_name, "kvm") &&
                       strcmp(c->accel_name, "emu")
                   ? 2
                   : 1;
    }
    if (c->nnames == 0 && c->shard)
        return 0; /* an empty shard is a success with nothing to do (once the options are valid) */
    if (op == BATCH_RUN) {
        if (load_guest_file(c) != 0)
            return 1;
    } else {
        b->elf = pupa_guest_elf;
        b->elf_len = (size_t)(pupa_guest_elf_end - pupa_guest_elf);
    }
    if (c->guest_log_path) {
        b->guest_log = strcmp(c->guest_log_path, "-") == 0 ? stderr : fopen(c->guest_log_path, "w");
        if (!b->guest_log) {
            pupa_err("Could not open '%s': %s", c->guest_log_path, strerror(errno));
            return 1;
        }
    }
    int rc = batch_run(b);
    if (b->guest_log && b->guest_log != stderr)
        fclose(b->guest_log);
    return rc;
}

static int run_command(enum batch_op op, int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof(c));
    int rc = run_cli(&c, op, argc, argv);
    for (size_t i = 0; i < c.nnames; i++)
        free(c.names[i]);
    free(c.names);
    free(c.guest_buf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("pupa %s (protocol ABI %d)\n", PUPA_VERSION, PUPA_ABI_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        enum batch_op op;
    } cmds[] = {
        {"selftest", BATCH_SELFTEST},
        {"run", BATCH_RUN},
        {"read", BATCH_READ},
        {"info", BATCH_INFO},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(cmd, cmds[i].name) == 0)
            return run_command(cmds[i].op, argc - 1, argv + 1);
    }
    return usage_error("unknown command '%s'", cmd);
}
