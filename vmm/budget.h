/* budget.h: every limit the parent puts on what a guest or a worker can make it hold,
 * print or spend. A guest may be taken over by the image it parses, so each quantity
 * it controls has a budget here; each is far above what any image qemu-img can
 * describe needs (docs/security.md lists the reasoning). Going over is a clear
 * per-image failure (or, for lines, one "N more suppressed" line), never a crash. */
#ifndef PUPA_BUDGET_H
#define PUPA_BUDGET_H

/* ---------------------------------------------------------------- per image (job) */

/* Bytes of frames a guest may send (COM1). The largest legitimate stream, a qcow2
 * with 65535 bitmaps and 65536 snapshots with long names, is under 100 MiB. */
#define BUDGET_FRAME_BYTES (512ull << 20)

/* A result held in the parent (tree nodes, strings, snapshots, their overhead), and the
 * same result printed (human or JSON, sized before a byte of it is written). qemu's
 * worst legitimate case, 65535 bitmaps with 1023-byte names, is about 150 MiB of
 * JSON; escaping cannot make a legitimate string more than twice as long. */
#define BUDGET_RESULT_BYTES (256ull << 20)
#define BUDGET_OUTPUT_BYTES (256ull << 20)

/* Tree shape: qcow2 allows 65535 bitmaps of 6 nodes each; qemu's dicts have at most a
 * dozen keys; its deepest tree (qcow2 bitmaps' flags) is 5 levels. */
#define BUDGET_NODES         400000
#define BUDGET_KEYS_PER_DICT 4096
#define BUDGET_DEPTH         16
#define BUDGET_SNAPSHOTS     70000 /* qemu's QCOW_MAX_SNAPSHOTS is 65536 */
#define BUDGET_FINDINGS      256

/* Lines one job may put on stderr from guest frames (plain progress, errors) and from
 * its worker's diagnostics; then one "N more suppressed" line. A 16-disk read logs
 * about 300 plain lines. --progress=json asked for one line per frame: its budget
 * follows the frame budgets (the most frames a legitimate image sends is ~470 000). */
#define BUDGET_STDERR_LINES        1000
#define BUDGET_JSON_PROGRESS_LINES 1000000
#define BUDGET_DIAG_LINE_BYTES     512 /* longer diagnostic lines are cut */

/* The guest's log (COM2) copied with --guest-log. */
#define BUDGET_LOG_BYTES (16ull << 20)

/* ---------------------------------------------------------------- per batch */

/* Results finished but not yet printed (waiting for a slow image ahead of them in
 * input order): when they hold more than this, no new guest starts until the head of
 * the line is printed. */
#define BUDGET_HELD_BYTES (512ull << 20)

/* Jobs between the oldest unprinted one and the newest started: however many images
 * fail at once (a list of missing files), memory follows -j, not the list. */
#define BUDGET_WINDOW(jobs) (16u * (jobs) + 64u)

#endif
