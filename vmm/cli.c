/* cli.c: commands, their options, and the way from argv to batch_run (see cli.h). */
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

#include "accel.h"
#include "batch.h"
#include "cli.h"
#include "image_open.h"
#include "render.h"
#include "util.h"

#define PUPA_VERSION "0.1.0"

/* The guest embedded in this binary (guest_blob.S). */
extern const uint8_t pupa_guest_elf[];
extern const uint8_t pupa_guest_elf_end[];

/* ---------------------------------------------------------------- state */

/* File names as given: one arena of NUL-terminated strings, so a list of a million
 * names costs its bytes, not a million allocations. */
struct names {
    char *buf;
    size_t len, cap;
    size_t *off;
    size_t n, cap_off;
};

struct cli {
    const struct cmd_def *cmd;
    struct batch_opts b;
    struct names names;
    struct names backing[2]; /* --backing, --backing2 */
    const char **backing_list[2];
    bool virtual_disk; /* read --virtual */
    const char **images;
    const char *files_from, *guest_path, *guest_log_path, *shard, *progress_name;
    bool null_sep, summary_set, summary, force_share;
    uint8_t *guest_buf;
};

static void names_add(struct names *n, const char *s)
{
    size_t len = strlen(s) + 1;
    while (n->cap - n->len < len) {
        n->cap = n->cap ? 2 * n->cap : 4096;
        n->buf = xrealloc(n->buf, n->cap);
    }
    if (n->n == n->cap_off) {
        n->cap_off = n->cap_off ? 2 * n->cap_off : 64;
        n->off = xrealloc(n->off, n->cap_off * sizeof(*n->off));
    }
    memcpy(n->buf + n->len, s, len);
    n->off[n->n++] = n->len;
    n->len += len;
}

static void names_free(struct names *n)
{
    free(n->buf);
    free(n->off);
}

/* ---------------------------------------------------------------- options */

enum opt_id {
    O_OUTPUT,
    O_FORMAT,
    O_REQUIRE_SAFE,
    O_FORCE_SHARE,
    O_BACKING_CHAIN,
    O_SHA256,
    O_SECTOR_SIZE,
    O_FILES_FROM,
    O_NULL,
    O_JOBS,
    O_PER_GUEST,
    O_SHARD,
    O_UNORDERED,
    O_SUMMARY,
    O_NO_SUMMARY,
    O_PROGRESS,
    O_ACCEL,
    O_MEMORY,
    O_TIMEOUT,
    O_GUEST_LOG,
    O_GUEST,
    O_DISK,
    O_OPERATION,
    O_NO_SANDBOX,
    O_STATS,
    O_VERBOSE,
    O_HELP,
    O_BACKING,
    O_BACKING2,
    O_FORMAT2,
    O_START_OFFSET,
    O_MAX_LENGTH,
    O_STRICT,
    O_QUIET,
    O_VIRTUAL,
    O_COUNT
};

struct opt_def {
    const char *name; /* --name */
    char short_name;  /* -x, or 0 */
    const char *arg;  /* the value's name in help, NULL: takes none */
    const char *help;
    /* store (and check) the value; -1 with err set (a usage error naming the option) */
    int (*apply)(struct cli *c, const char *arg, struct pupa_error *err);
};

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return false;
    *out = v;
    return true;
}

#define BAD(...) err_set(err, ERRC_USAGE, __VA_ARGS__)

static int set_output(struct cli *c, const char *v, struct pupa_error *err)
{
    if (strcmp(v, "human") == 0)
        c->b.output = OUTPUT_HUMAN;
    else if (strcmp(v, "json") == 0)
        c->b.output = OUTPUT_JSON;
    else
        return BAD("--output must be human or json, not '%s'", v);
    return 0;
}

static int set_format(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)err;
    c->b.format = v; /* an unknown name fails per image, like qemu-img's */
    return 0;
}

static int set_require_safe(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.require_safe = true;
    return 0;
}

static int set_force_share(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->force_share = true; /* pupa takes no image locks: always shared */
    return 0;
}

static int set_backing_chain(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.backing_chain = true;
    return 0;
}

static int set_sha256(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.sha256 = true;
    return 0;
}

static int set_sector_size(struct cli *c, const char *v, struct pupa_error *err)
{
    uint64_t n;
    if (!parse_u64(v, &n) || !PUPA_SECTOR_SIZE_OK(n))
        return BAD("--sector-size must be 512, 1024, 2048 or 4096, not '%s'", v);
    c->b.sector_size = (uint32_t)n;
    return 0;
}

static int set_files_from(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)err;
    c->files_from = v;
    return 0;
}

static int set_null(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->null_sep = true;
    return 0;
}

static int set_jobs(struct cli *c, const char *v, struct pupa_error *err)
{
    uint64_t n;
    if (!parse_u64(v, &n) || n < 1 || n > 256)
        return BAD("--jobs must be 1..256, not '%s'", v);
    c->b.jobs = (unsigned)n;
    return 0;
}

static int set_per_guest(struct cli *c, const char *v, struct pupa_error *err)
{
    uint64_t n;
    if (!parse_u64(v, &n) || n < 1 || n > PUPA_MAX_DEVICES)
        return BAD("--per-guest must be 1..%d, not '%s'", PUPA_MAX_DEVICES, v);
    c->b.per_guest = (size_t)n;
    return 0;
}

/* --shard K/N: decimal digits only (no sign, space or fraction), 1 <= K <= N. */
static int set_shard(struct cli *c, const char *v, struct pupa_error *err)
{
    size_t kl = strspn(v, "0123456789");
    size_t nl = kl > 0 && kl <= 19 && v[kl] == '/' ? strspn(v + kl + 1, "0123456789") : 0;
    if (nl == 0 || nl > 19 || v[kl + 1 + nl] != '\0' || strtoull(v + kl + 1, NULL, 10) == 0 ||
        strtoull(v, NULL, 10) == 0 || strtoull(v, NULL, 10) > strtoull(v + kl + 1, NULL, 10))
        return BAD("--shard must be K/N with 1 <= K <= N, not '%s'", v);
    c->shard = v;
    return 0;
}

static int set_unordered(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.unordered = true;
    return 0;
}

static int set_summary(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->summary_set = c->summary = true;
    return 0;
}

static int set_no_summary(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->summary_set = true;
    c->summary = false;
    return 0;
}

static int set_progress(struct cli *c, const char *v, struct pupa_error *err)
{
    if (!display_parse_mode(v, stderr, &c->b.progress))
        return BAD("--progress must be auto, tty, plain, json or none, not '%s'", v);
    c->progress_name = v;
    return 0;
}

static int set_accel(struct cli *c, const char *v, struct pupa_error *err)
{
    /* a name that is no backend is a usage error (2); one this machine cannot run is
     * an error of the run (1): accel_choose's class says which */
    return accel_choose(v, &c->b.accel, err);
}

static int set_memory(struct cli *c, const char *v, struct pupa_error *err)
{
    uint64_t n;
    if (!parse_u64(v, &n) || n < PUPA_RAM_MIN / PUPA_MIB || n > PUPA_RAM_MAX / PUPA_MIB || n % 2)
        return BAD("--memory must be an even number of MiB, 4..2048, not '%s'", v);
    c->b.ram_size = n * PUPA_MIB;
    return 0;
}

static int set_timeout(struct cli *c, const char *v, struct pupa_error *err)
{
    char *end;
    double t = strtod(v, &end);
    if (end == v || *end || !(t >= 0 && t <= 86400))
        return BAD("--timeout must be 0..86400 seconds, not '%s'", v);
    c->b.timeout_s = t;
    return 0;
}

static int set_guest_log(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)err;
    c->guest_log_path = v;
    return 0;
}

static int set_guest(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)err;
    c->guest_path = v;
    return 0;
}

/* --disk IMAGE[,sector=N]: run is for developing guests, so any size reaches the guest,
 * which must refuse what it cannot use. */
static int set_disk(struct cli *c, const char *v, struct pupa_error *err)
{
    char *spec = xstrdup(v), *comma = strrchr(spec, ',');
    uint64_t n;
    if (comma && strncmp(comma, ",sector=", 8) == 0) {
        if (!parse_u64(comma + 8, &n) || n < 1 || n > 65536) {
            free(spec);
            return BAD("--disk: bad sector size in '%s'", v);
        }
        c->b.sector_size = (uint32_t)n;
        *comma = '\0';
    }
    names_add(&c->names, spec);
    free(spec);
    return 0;
}

static int set_operation(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)err;
    c->b.operation = v;
    return 0;
}

static int set_no_sandbox(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.sandbox = false;
    return 0;
}

static int set_stats(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.stats = true;
    return 0;
}

static int set_verbose(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.verbose = true;
    return 0;
}

static int set_backing(struct cli *c, const char *v, struct pupa_error *err)
{
    if (c->backing[0].n + c->backing[1].n + 2 >= PUPA_MAX_DEVICES)
        return BAD("--backing: at most %d disks in all", PUPA_MAX_DEVICES);
    names_add(&c->backing[0], v);
    return 0;
}

static int set_backing2(struct cli *c, const char *v, struct pupa_error *err)
{
    if (c->backing[0].n + c->backing[1].n + 2 >= PUPA_MAX_DEVICES)
        return BAD("--backing2: at most %d disks in all", PUPA_MAX_DEVICES);
    names_add(&c->backing[1], v);
    return 0;
}

static int set_format2(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)err;
    c->b.format2 = v;
    return 0;
}

/* qemu-img's cvtnum(): a number of bytes, with an optional k/M/G/T/P/E suffix. */
static bool parse_size(const char *s, uint64_t *out)
{
    static const char units[] = "kmgtpe";
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    uint64_t mul = 1;
    if (*end) {
        const char *u = strchr(units, end[0] | 0x20);
        if (!u || end[1] != '\0')
            return false;
        for (const char *k = units; k <= u; k++)
            mul *= 1024;
    }
    if (v > (uint64_t)INT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

static int set_start_offset(struct cli *c, const char *v, struct pupa_error *err)
{
    if (!parse_size(v, &c->b.start_offset))
        return BAD("--start-offset must be a number of bytes, not '%s'", v);
    return 0;
}

static int set_max_length(struct cli *c, const char *v, struct pupa_error *err)
{
    if (!parse_size(v, &c->b.max_length))
        return BAD("--max-length must be a number of bytes, not '%s'", v);
    c->b.has_max_length = true;
    return 0;
}

static int set_strict(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.strict = true;
    return 0;
}

static int set_quiet(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->b.quiet = true;
    return 0;
}

static int set_virtual(struct cli *c, const char *v, struct pupa_error *err)
{
    (void)v, (void)err;
    c->virtual_disk = true;
    return 0;
}

static const struct opt_def options[O_COUNT] = {
    [O_OUTPUT] = {"output", 0, "human|json", "result format on stdout", set_output},
    [O_FORMAT] = {"format", 'f', "FMT", "use this format instead of probing (like qemu-img -f)",
                  set_format},
    [O_REQUIRE_SAFE] = {"require-safe", 0, NULL, "exit 3 when an image is unsafe",
                        set_require_safe},
    [O_FORCE_SHARE] = {"force-share", 'U', NULL,
                       "accepted like qemu-img's (pupa never locks an image)", set_force_share},
    [O_BACKING_CHAIN] = {"backing-chain", 0, NULL,
                         "qemu-img's chain layout; an image with a backing file is refused "
                         "(pupa never opens a file an image names)",
                         set_backing_chain},
    [O_SHA256] = {"sha256", 0, NULL, "hash each image (SHA-256), printed like sha256sum",
                  set_sha256},
    [O_SECTOR_SIZE] = {"sector-size", 0, "N", "logical sector size 512, 1024, 2048 or 4096",
                       set_sector_size},
    [O_FILES_FROM] = {"files-from", 0, "FILE", "read image names from FILE ('-' = stdin)",
                      set_files_from},
    [O_NULL] = {"null", '0', NULL, "--files-from names are NUL-separated (find -print0)", set_null},
    [O_JOBS] = {"jobs", 'j', "N", "guests at once (default: number of CPUs)", set_jobs},
    [O_PER_GUEST] = {"per-guest", 0, "N", "images per guest, 1..16 (default 16)", set_per_guest},
    [O_SHARD] = {"shard", 0, "K/N", "inspect only the K-th of N slices of the input list",
                 set_shard},
    [O_UNORDERED] = {"unordered", 0, NULL, "print results as they finish, not in input order",
                     set_unordered},
    [O_SUMMARY] = {"summary", 0, NULL, "counts at the end (default: on a terminal)", set_summary},
    [O_NO_SUMMARY] = {"no-summary", 0, NULL, "no counts at the end", set_no_summary},
    [O_PROGRESS] = {"progress", 0, "auto|tty|plain|json|none", "progress on stderr", set_progress},
    [O_ACCEL] = {"accel", 0, "auto|kvm|emu", "execution backend (auto: KVM when /dev/kvm works)",
                 set_accel},
    [O_MEMORY] = {"memory", 0, "MIB", "guest RAM (default 32)", set_memory},
    [O_TIMEOUT] = {"timeout", 0, "S",
                   "stop a guest that sends nothing and reads nothing for S seconds "
                   "(default 30; 0 = never)",
                   set_timeout},
    [O_GUEST_LOG] = {"guest-log", 0, "FILE|-", "copy the guest's text log (COM2) to FILE",
                     set_guest_log},
    [O_GUEST] = {"guest", 0, "ELF", "boot this guest instead of the built-in one (development)",
                 set_guest},
    [O_DISK] = {"disk", 0, "IMAGE[,sector=N]", "attach an image (repeatable)", set_disk},
    [O_OPERATION] = {"operation", 0, "NAME", "VmmConfig.operation for the guest", set_operation},
    [O_NO_SANDBOX] = {"no-sandbox", 0, NULL, "do not confine workers with seccomp (debugging)",
                      set_no_sandbox},
    [O_STATS] = {"stats", 0, NULL, "one line per guest on stderr: backend, times, exits, bytes",
                 set_stats},
    [O_VERBOSE] = {"verbose", 'v', NULL, "log unknown guest accesses", set_verbose},
    [O_HELP] = {"help", 'h', NULL, "this help", NULL},
    [O_BACKING] = {"backing", 0, "FILE",
                   "the image's backing file (repeatable, nearest first); pupa never opens "
                   "one the image names",
                   set_backing},
    [O_BACKING2] = {"backing2", 0, "FILE", "compare: the second image's backing file (repeatable)",
                    set_backing2},
    [O_FORMAT2] = {"format2", 'F', "FMT", "compare: the second image's format", set_format2},
    [O_START_OFFSET] = {"start-offset", 0, "N", "map from this byte of the disk", set_start_offset},
    [O_MAX_LENGTH] = {"max-length", 0, "N", "map at most this many bytes", set_max_length},
    [O_STRICT] = {"strict", 's', NULL, "compare: sizes and block status must match too",
                  set_strict},
    [O_QUIET] = {"quiet", 'q', NULL, "compare: print nothing, say it with the exit status",
                 set_quiet},
    [O_VIRTUAL] = {"virtual", 0, NULL,
                   "read the virtual disk through its format (qemu-img convert -O raw's bytes)",
                   set_virtual},
};

/* ---------------------------------------------------------------- commands */

#define OPT(x) (1ull << (x))
/* what every command that boots a guest accepts */
#define COMMON                                                                                     \
    (OPT(O_PROGRESS) | OPT(O_ACCEL) | OPT(O_MEMORY) | OPT(O_TIMEOUT) | OPT(O_GUEST_LOG) |          \
     OPT(O_GUEST) | OPT(O_NO_SANDBOX) | OPT(O_STATS) | OPT(O_VERBOSE) | OPT(O_HELP))
/* what every command over a list of images accepts */
#define LISTS                                                                                      \
    (OPT(O_OUTPUT) | OPT(O_FILES_FROM) | OPT(O_NULL) | OPT(O_JOBS) | OPT(O_SHARD) |                \
     OPT(O_UNORDERED) | OPT(O_SUMMARY) | OPT(O_NO_SUMMARY))

struct cmd_def {
    const char *name;
    const char *args; /* after the options, in the synopsis */
    const char *summary;
    const struct op_def *op;
    uint64_t opts; /* OPT() of every option it accepts */
};

static const struct cmd_def commands[] = {
    {"info", "IMAGE...", "what qemu-img info says, parsed inside the guest, plus a safety verdict",
     &op_info,
     COMMON | LISTS | OPT(O_FORMAT) | OPT(O_REQUIRE_SAFE) | OPT(O_FORCE_SHARE) |
         OPT(O_BACKING_CHAIN)},
    {"read", "IMAGE...", "read every image fully through virtio-blk (--sha256: print digests)",
     &op_read,
     COMMON | LISTS | OPT(O_SHA256) | OPT(O_SECTOR_SIZE) | OPT(O_PER_GUEST) | OPT(O_VIRTUAL) |
         OPT(O_FORMAT) | OPT(O_BACKING) | OPT(O_REQUIRE_SAFE)},
    {"map", "IMAGE...", "what qemu-img map says: where the disk's bytes are, read in the guest",
     &op_map,
     COMMON | LISTS | OPT(O_FORMAT) | OPT(O_BACKING) | OPT(O_START_OFFSET) | OPT(O_MAX_LENGTH) |
         OPT(O_REQUIRE_SAFE) | OPT(O_FORCE_SHARE)},
    {"compare", "A B", "what qemu-img compare says about two images (its exit statuses 0..4)",
     &op_compare,
     COMMON | LISTS | OPT(O_FORMAT) | OPT(O_FORMAT2) | OPT(O_BACKING) | OPT(O_BACKING2) |
         OPT(O_STRICT) | OPT(O_QUIET) | OPT(O_REQUIRE_SAFE) | OPT(O_FORCE_SHARE)},
    {"selftest", "", "boot the guest once and report the backend, time and exits", &op_selftest,
     COMMON},
    {"run", "--guest ELF", "boot any guest ELF that speaks pupa's protocol (development)", &op_run,
     COMMON | OPT(O_DISK) | OPT(O_OPERATION)},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd_def *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

/* ---------------------------------------------------------------- help */

static void global_help(FILE *f)
{
    fputs("usage: pupa COMMAND [OPTIONS] [IMAGE...]\n\n"
          "Inspect untrusted disk images inside a throwaway micro-VM.\n\ncommands:\n",
          f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'pupa COMMAND --help' or 'pupa help COMMAND' lists a command's options.\n"
          "pupa --version prints the version.\n\n"
          "exit status: 0 ok, 1 an image could not be inspected, 2 usage error,\n"
          "             3 unsafe image with --require-safe, 130 interrupted\n",
          f);
}

static void command_help(FILE *f, const struct cmd_def *cmd)
{
    fprintf(f, "usage: pupa %s [OPTIONS] %s\n\n%s.\n\noptions:\n", cmd->name, cmd->args,
            cmd->summary);
    for (int i = 0; i < O_COUNT; i++) {
        if (!(cmd->opts & OPT(i)))
            continue;
        const struct opt_def *o = &options[i];
        char left[64];
        int n = o->short_name ? snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->name)
                              : snprintf(left, sizeof(left), "    --%s", o->name);
        if (o->arg && n > 0 && (size_t)n < sizeof(left))
            snprintf(left + n, sizeof(left) - (size_t)n, "=%s", o->arg);
        fprintf(f, "  %-30s %s\n", left, o->help);
    }
    fputs("\nexit status: 0 ok, 1 an image could not be inspected, 2 usage error,\n"
          "             3 unsafe image with --require-safe, 130 interrupted\n",
          f);
}

__attribute__((format(printf, 2, 3))) static int usage_error(const struct cmd_def *cmd,
                                                             const char *fmt, ...)
{
    char msg[PUPA_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char clean[PUPA_ERROR_MAX];
    sanitize_for_tty(clean, sizeof(clean), msg);
    if (cmd)
        fprintf(stderr, "pupa: %s\nTry 'pupa %s --help'.\n", clean, cmd->name);
    else
        fprintf(stderr, "pupa: %s\nTry 'pupa --help'.\n", clean);
    return 2;
}

/* ---------------------------------------------------------------- parse */

/* One getopt table for every option of every command, so that an option of another
 * command is recognised and refused by name. */
static void getopt_table(struct option *lo, char *shorts)
{
    char *s = shorts;
    *s++ = ':';
    for (int i = 0; i < O_COUNT; i++) {
        lo[i] = (struct option){options[i].name, options[i].arg ? required_argument : no_argument,
                                NULL, 256 + i};
        if (options[i].short_name) {
            *s++ = options[i].short_name;
            if (options[i].arg)
                *s++ = ':';
        }
    }
    lo[O_COUNT] = (struct option){NULL, 0, NULL, 0};
    *s = '\0';
}

static int option_id(int opt)
{
    if (opt >= 256 && opt < 256 + O_COUNT)
        return opt - 256;
    for (int i = 0; i < O_COUNT; i++) {
        if (options[i].short_name && options[i].short_name == opt)
            return i;
    }
    return -1;
}

/* 0: parsed; 1: --help was given (printed); 2: usage error (printed). */
static int parse(struct cli *c, int argc, char **argv)
{
    struct option lo[O_COUNT + 1];
    char shorts[2 * O_COUNT + 2];
    getopt_table(lo, shorts);
    optind = 1;
    opterr = 0; /* one line of our own instead of getopt's */
    int opt;
    while ((opt = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        if (opt == ':')
            return usage_error(c->cmd, "option '%s' needs a value", argv[optind - 1]);
        int id = option_id(opt);
        if (id < 0)
            return usage_error(c->cmd, "unrecognized option '%s'", argv[optind - 1]);
        if (!(c->cmd->opts & OPT(id)))
            return usage_error(c->cmd, "option '--%s' does not apply to 'pupa %s'",
                               options[id].name, c->cmd->name);
        if (id == O_HELP) {
            command_help(stdout, c->cmd);
            return 1;
        }
        struct pupa_error e;
        err_init(&e);
        if (options[id].apply(c, optarg, &e) != 0) {
            if (e.cls == ERRC_USAGE)
                return usage_error(c->cmd, "%s", e.msg);
            pupa_err("%s", e.msg); /* a backend this machine cannot run: not usage */
            return 3;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (!c->cmd->op->takes_images)
            return usage_error(c->cmd, "unexpected argument '%s'", argv[i]);
        names_add(&c->names, argv[i]);
    }
    return 0;
}

/* ---------------------------------------------------------------- validate, defaults */

static int validate(struct cli *c)
{
    if (c->cmd->op == &op_run && !c->guest_path)
        return usage_error(c->cmd, "run needs --guest FILE.elf");
    if (c->cmd->op == &op_read && !c->virtual_disk &&
        (c->backing[0].n || c->b.format || c->b.require_safe))
        return usage_error(c->cmd,
                           "--backing, --format and --require-safe apply to read --virtual");
    if (c->virtual_disk && c->b.sector_size != 512)
        return usage_error(c->cmd, "--sector-size does not apply to read --virtual");
    if (c->b.format2 && c->cmd->op != &op_compare)
        return usage_error(c->cmd, "-F applies to compare");
    if (c->null_sep && !c->files_from)
        return usage_error(c->cmd, "-0 applies to --files-from");
    if (c->cmd->op->takes_images && c->names.n == 0 && !c->files_from)
        return usage_error(c->cmd, "no image given");
    if (c->virtual_disk) /* the virtual disk's chain, one image per guest */
        c->b.op = &op_read_virtual;
    for (int k = 0; k < 2; k++) {
        c->backing_list[k] = xcalloc(c->backing[k].n + 1, sizeof(char *));
        for (size_t i = 0; i < c->backing[k].n; i++)
            c->backing_list[k][i] = c->backing[k].buf + c->backing[k].off[i];
        c->b.backing[k] = c->backing_list[k];
        c->b.nbacking[k] = c->backing[k].n;
    }
    return 0;
}

static unsigned default_jobs(void)
{
    /* the CPUs this process may run on (taskset, Slurm and container cpusets), not all
     * the machine's */
    cpu_set_t cpus;
    long n = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus)
                                                            : sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)(n < 256 ? n : 256) : 1;
}

static void defaults(struct cli *c)
{
    struct batch_opts *b = &c->b;
    b->op = c->cmd->op;
    b->operation = c->cmd->op->name;
    b->ram_size = PUPA_RAM_DEFAULT;
    b->timeout_s = 30;
    b->sector_size = 512;
    b->sandbox = true;
    b->jobs = default_jobs();
    b->per_guest = PUPA_MAX_DEVICES;
    (void)display_parse_mode(NULL, stderr, &b->progress);
}

/* Defaults that depend on what the command line said. */
static void late_defaults(struct cli *c)
{
    struct batch_opts *b = &c->b;
    /* a list (several names, or a list file) gets list output even when a shard of it
     * holds one image, so that shards merge */
    size_t group = b->op->group ? b->op->group : 1; /* compare: one result per pair */
    b->lines = c->names.n > group || c->files_from != NULL;
    /* without --progress, a single info on a pipe stays quiet like qemu-img */
    if (!c->progress_name && b->progress == DISPLAY_PLAIN &&
        (b->op == &op_info || b->op == &op_selftest || b->op == &op_map || b->op == &op_compare))
        b->progress = DISPLAY_NONE;
    b->summary =
        c->summary_set ? c->summary : isatty(STDERR_FILENO) && b->lines && b->op == &op_info;
}

/* ---------------------------------------------------------------- inputs */

/* --files-from: one name a line (or NUL-separated). A list that cannot be read is a
 * usage error (2), not an image failure. */
static int read_files_from(struct cli *c)
{
    bool std = strcmp(c->files_from, "-") == 0;
    FILE *f = std ? stdin : fopen(c->files_from, "r");
    if (!f)
        return usage_error(c->cmd, "cannot read --files-from '%s': %s", c->files_from,
                           strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int sep = c->null_sep ? '\0' : '\n';
    while ((n = getdelim(&line, &cap, sep, f)) > 0) {
        if (line[n - 1] == sep)
            line[--n] = '\0';
        if (n > 0)
            names_add(&c->names, line);
    }
    int e = ferror(f) ? errno : 0;
    free(line);
    if (!std)
        fclose(f);
    if (e)
        return usage_error(c->cmd, "cannot read --files-from '%s': %s", c->files_from, strerror(e));
    return 0;
}

/* The images this run inspects: every name, or the K-th of N slices (image i, 0-based
 * in input order, belongs to shard i % N + 1). */
static void select_images(struct cli *c)
{
    uint64_t k = 1, n = 1;
    if (c->shard) {
        k = strtoull(c->shard, NULL, 10);
        n = strtoull(strchr(c->shard, '/') + 1, NULL, 10);
    }
    c->images = xcalloc(c->names.n ? c->names.n : 1, sizeof(*c->images));
    size_t kept = 0, group = c->b.op->group ? c->b.op->group : 1;
    for (size_t i = 0; i < c->names.n; i++) {
        if ((i / group) % n == k - 1) /* compare's pairs stay together */
            c->images[kept++] = c->names.buf + c->names.off[i];
    }
    c->b.images = c->images;
    c->b.nimages = c->cmd->op->takes_images ? kept : c->names.n;
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

static int open_guest_log(struct cli *c)
{
    if (!c->guest_log_path)
        return 0;
    c->b.guest_log = strcmp(c->guest_log_path, "-") == 0 ? stderr : fopen(c->guest_log_path, "w");
    if (!c->b.guest_log) {
        pupa_err("Could not open '%s': %s", c->guest_log_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- run */

static int run(struct cli *c)
{
    if (!c->b.accel) {
        struct pupa_error e;
        err_init(&e);
        if (accel_choose(NULL, &c->b.accel, &e) != 0) {
            pupa_err("%s", e.msg);
            return 1;
        }
    }
    if (c->cmd->op->takes_images && c->b.nimages == 0) {
        /* an empty list (or shard) is a success with nothing to do */
        if (isatty(STDERR_FILENO))
            fputs("pupa: no images to inspect\n", stderr);
        return 0;
    }
    c->b.elf = pupa_guest_elf;
    c->b.elf_len = (size_t)(pupa_guest_elf_end - pupa_guest_elf);
    if ((c->guest_path && load_guest_file(c) != 0) || open_guest_log(c) != 0)
        return 1;
    int rc = batch_run(&c->b);
    if (c->b.guest_log && c->b.guest_log != stderr)
        fclose(c->b.guest_log);
    return rc;
}

static int run_command(const struct cmd_def *cmd, int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof(c));
    c.cmd = cmd;
    defaults(&c);
    int rc = parse(&c, argc, argv);
    if (rc == 0)
        rc = validate(&c);
    if (rc == 0 && c.files_from)
        rc = read_files_from(&c);
    if (rc == 0 && c.b.op->group > 1 && c.names.n % c.b.op->group != 0)
        rc =
            usage_error(c.cmd, "%s takes images in pairs, not %zu of them", c.cmd->name, c.names.n);
    if (rc == 0) {
        late_defaults(&c);
        select_images(&c);
        rc = run(&c);
    } else if (rc == 1) {
        rc = 0; /* --help */
    } else if (rc == 3) {
        rc = 1; /* the backend asked for cannot run here */
    }
    names_free(&c.names);
    for (int k = 0; k < 2; k++) {
        names_free(&c.backing[k]);
        free(c.backing_list[k]);
    }
    free(c.images);
    free(c.guest_buf);
    return rc;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        global_help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            const struct cmd_def *c = find_command(argv[2]);
            if (!c)
                return usage_error(NULL, "unknown command '%s'", argv[2]);
            command_help(stdout, c);
            return 0;
        }
        global_help(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("pupa %s (protocol ABI %d)\n", PUPA_VERSION, PUPA_ABI_VERSION);
        return 0;
    }
    const struct cmd_def *c = find_command(cmd);
    if (!c)
        return usage_error(NULL, "unknown command '%s'", cmd);
    return run_command(c, argc - 1, argv + 1);
}
