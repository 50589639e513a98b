#!/usr/bin/python3
"""test_hostile.py PUPA GUESTDIR ACCEL CASE: guests that behave as a guest an image took
over would (tests/guests/hostile_*.c), run through the real info, read and run paths
with --guest: terminal escapes in every string, floods of error frames and complaints,
results built to explode when printed, dicts with too many or duplicate keys, findings
left out while the fields imply them, an endless frame stream; and file names that
could forge lines. Each asserts the bound or the error, on both backends."""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pupatest import (case_main, error_class, expect, json_lines, run,  # noqa: E402
                      run_pty_all)

EVIL = "\x1b]0;pwned\x07\x1b[2J\u009b31m"  # as far as JSON keeps it (then \x9b, \r\n)
FORBIDDEN = ("\x1b", "\x07", "\x9b", "\u009b")


def setup(ctx):
    ctx.img = os.path.join(ctx.dir, "disk.img")
    with open(ctx.img, "wb") as f:
        f.write(os.urandom(4096))


def pupa(ctx, guest, *args):
    return [ctx.pupa] + list(args[:1]) + [f"--accel={ctx.accel}",
                                          f"--guest={ctx.guest(guest)}"] + list(args[1:])


def clean_terminal(term, what, lines=True):
    """Nothing a guest sent may drive the terminal: no escape, BEL or C1 control, and (but
    in the guest's own log, which is lines of its text) no line a guest's line break
    forged."""
    for c in FORBIDDEN:
        expect(c not in term, f"{what}: {c!r} reached the terminal: {term[:600]!r}")
    for line in term.replace("\r", "\n").split("\n"):
        expect(not lines or not line.startswith("forged"),
               f"{what}: a guest forged a line: {line!r}")


def case_strings(ctx):
    env = dict(os.environ, TERM="dumb")
    g = "hostile_strings"
    for args in (["info", "--progress=plain", ctx.img], ["info", "--output=json", ctx.img],
                 ["info", ctx.img, ctx.img], ["read", "--sha256", "--stats", ctx.img],
                 ["read", "--progress=json", ctx.img],
                 ["run", "--progress=plain", "--guest-log=-"]):
        rc, term = run_pty_all(pupa(ctx, g, *args), env=env)
        clean_terminal(term, " ".join(args), lines="--guest-log=-" not in args)
        expect(rc in (0, 1), f"{args}: exit {rc}: {term[-300:]!r}")
    # on a pipe, JSON carries every string exactly, escaped
    rc, out, err = run(pupa(ctx, g, "info", "--output=json", ctx.img))
    expect(rc == 0, f"info --output=json: exit {rc}: {err}")
    obj = json.loads(out)
    expect(obj["backing-filename"].startswith(EVIL) and obj["format"].startswith(EVIL),
           f"JSON did not keep the strings: {obj}")
    expect("\\u001B" in out and "\x1b" not in out, "JSON does not escape ESC")
    # the verdict lines stay one per finding whatever the strings hold, even on a pipe
    rc, out, err = run(pupa(ctx, g, "info", ctx.img))
    block = out[out.index("safety: "):]
    expect(block.count("\n") == 2 + 4, f"the safety block is not one line per finding:\n"
                                        f"{block!r}")  # verdict, guest's + 4 derived
    for c in FORBIDDEN:
        expect(c not in err, f"stderr on a pipe carries {c!r}: {err!r}")


def case_flood(ctx):
    g = "hostile_flood"
    for args in (["info", "--progress=plain", ctx.img],
                 ["read", "--progress=plain", "-v", ctx.img],
                 ["run", "--progress=plain", "-v", f"--disk={ctx.img}"]):
        rc, out, err = run(pupa(ctx, g, *args), timeout=600)
        lines = err.splitlines()
        expect(rc == 1, f"{args}: exit {rc}")
        expect(len(lines) <= 1000 + 5, f"{args}: {len(lines)} lines on stderr")
        expect(len(err) < 1005 * 600, f"{args}: {len(err)} bytes on stderr")
        more = [ln for ln in lines if re.search(r": \d+ more lines suppressed$", ln)]
        expect(len(more) == 1, f"{args}: no single 'more lines suppressed' line: {lines[-5:]}")
        n = int(re.search(r": (\d+) more lines", more[0]).group(1))
        expect(n >= 5000 - 1000, f"{args}: only {n} lines suppressed")
        print(f"{args[0]} {args[1:-1]}: {len(lines)} lines, {n} suppressed")


def rss_of(cmd, timeout=600):
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        out.seek(0)
        err.seek(0)
        return (os.waitstatus_to_exitcode(status), out.read().decode(errors="replace"),
                err.read().decode(errors="replace"), ru.ru_maxrss)


def case_amplify(ctx):
    g = "hostile_amplify"
    rc, out, err, rss = rss_of(pupa(ctx, g, "info", "--output=json", ctx.img))
    expect(rc == 1 and out == "", f"amplified JSON: exit {rc}, {len(out)} bytes on stdout")
    expect(err == f"pupa: {ctx.img}: guest result exceeds 256 MiB\n", f"amplified: {err!r}")
    print(f"a 393 MB JSON result refused; pupa's peak RSS {rss >> 10} MiB")
    if not ctx.asan:
        expect(rss < 512 * 1024, f"pupa held {rss >> 10} MiB for a refused result")
    rc, out, err, rss = rss_of(pupa(ctx, g, "info", "-f", "qcow2", ctx.img, ctx.img))
    expect(rc == 1 and out == "", f"over-budget report: exit {rc}")
    want = (f"pupa: {ctx.img}: guest result exceeds its budget: it holds more than 256 MiB")
    expect(err.splitlines() == [want, want], f"over-budget report: {err!r}")
    rc, out, err = run(pupa(ctx, g, "info", "--output=json", ctx.img, ctx.img))
    objs = json_lines(out)
    expect(len(objs) == 2 and all(o["error-class"] == "result-too-large" and
                                  o["retryable"] is False for o in objs), f"{objs}")


def case_keys(ctx):
    g = "hostile_keys"
    rc, out, err = run(pupa(ctx, g, "info", ctx.img))
    expect(rc == 1 and out == "" and
           err == f"pupa: {ctx.img}: guest result exceeds its budget: a dict has more than "
                  f"4096 keys\n", f"5 000 keys: exit {rc}: {err!r}")
    rc, out, err = run(pupa(ctx, g, "info", "-f", "qcow2", ctx.img))
    expect(rc == 1 and err == f"pupa: {ctx.img}: guest protocol error: format-specific tree: "
                              f"duplicate key 'key-0'\n", f"duplicate key: {err!r}")
    expect(error_class(err) == "guest-failure", err)


def case_findings(ctx):
    g = "hostile_findings"
    want = {"backing-file", "data-file", "external-extent", "corrupt", "encrypted",
            "control-characters", "unknown-format"}
    rc, out, err = run(pupa(ctx, g, "info", "--output=json", ctx.img))
    expect(rc == 0, f"exit {rc}: {err}")
    safety = json.loads(out)["safety"]
    got = {f["check"] for f in safety["findings"]}
    expect(safety["safe"] is False and got == want, f"derived findings {got}, want {want}")
    rc, out, err = run(pupa(ctx, g, "info", ctx.img))
    expect(rc == 0 and "\nsafety: UNSAFE\n" in out, f"human: {rc} {out!r}")
    rc, out, err = run(pupa(ctx, g, "info", "--require-safe", ctx.img))
    expect(rc == 3, f"--require-safe: exit {rc}")


def case_frames(ctx):
    rc, out, err = run(pupa(ctx, "hostile_frames", "info", ctx.img), timeout=600)
    expect(rc == 1 and err == f"pupa: {ctx.img}: guest sent more than 512 MiB of frames\n",
           f"endless frames: exit {rc}: {err!r}")
    rc, out, err = run(pupa(ctx, "hostile_frames", "read", "--output=json", ctx.img),
                       timeout=600)
    obj = json.loads(out)
    expect(rc == 1 and obj["error-class"] == "result-too-large", f"read: {rc} {obj}")


def case_names(ctx):
    """File names are the user's, but a listing of an upload directory is not: they are
    escaped like sha256sum escapes them, and cleaned on every stderr line."""
    names = ["new\nline", "back\\slash", "carriage\rreturn", "plain", "esc\x1b[2Jape"]
    paths = []
    for n in names:
        p = os.path.join(ctx.dir, n)
        with open(p, "wb") as f:
            f.write(n.encode() * 100)
        paths.append(p)
    rc, out, err = run([ctx.pupa, "read", "--sha256", f"--accel={ctx.accel}", "--stats",
                        "--progress=none"] + paths)
    ref = subprocess.run(["sha256sum"] + paths, capture_output=True).stdout.decode()
    expect(rc == 0 and out == ref, f"read --sha256 differs from sha256sum:\n{out!r}\n{ref!r}")
    stats = [ln for ln in err.splitlines() if ln.startswith("pupa: stats: ")]
    expect(len(stats) == 1 and "\x1b" not in err and "\n" not in stats[0], f"--stats: {err!r}")
    missing = os.path.join(ctx.dir, "gone\x1b]0;t\x07\nforged")
    rc, out, err = run([ctx.pupa, "info", f"--accel={ctx.accel}", missing])
    expect(rc == 1 and err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err,
           f"stderr names a missing file raw: {err!r}")
    rc, out, err = run([ctx.pupa, "info", f"--accel={ctx.accel}", "--output=json", missing,
                        paths[3]])
    expect(json_lines(out)[0]["filename"] == missing, "JSON lost the exact name")


CASES = {"strings": case_strings, "flood": case_flood, "amplify": case_amplify,
         "keys": case_keys, "findings": case_findings, "frames": case_frames,
         "names": case_names}

if __name__ == "__main__":
    case_main(CASES, setup=setup)
