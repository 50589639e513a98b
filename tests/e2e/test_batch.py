#!/usr/bin/python3
"""test_batch.py PUPA ACCEL CASE [SCRIPT]: batch scans end to end (issue 7): 200 mixed images
and awkward entries against single-image runs and qemu-img, order, human blocks, shards,
-j, --summary, exit statuses, --files-from/-0, Ctrl-C under a pseudo-terminal, and the
GNU parallel example of docs/scaling.md."""
import concurrent.futures
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pupatest import (HIDE, SHOW, error_object, expect, fail, json_lines,  # noqa: E402
                      need_accel, need_tool, no_escapes, run, run_pty, skip)

SUMMARY_RE = re.compile(r"pupa: (\d+) inspected, (\d+) failed, (\d+) unsafe, ([0-9.]+) s elapsed, "
                        r"([0-9.]+) images/s( \(interrupted\))?")

# (qemu-img format, file extension, create options, largest size it gets)
SPECS = [
    ("qcow2", "qcow2", [], None),
    ("qcow2", "qcow2", ["-o", "compat=0.10"], None),
    ("qcow2", "qcow2", ["-o", "cluster_size=4096,lazy_refcounts=on"], None),
    ("qcow2", "qcow2", ["-o", "extended_l2=on,compression_type=zstd"], None),
    ("raw", "raw", [], None),
    ("vmdk", "vmdk", [], None),
    ("vmdk", "vmdk", ["-o", "subformat=streamOptimized"], None),
    ("vpc", "vhd", [], None),
    ("vpc", "vhd", ["-o", "subformat=fixed"], 64 << 20),
    ("vhdx", "vhdx", [], None),
    ("vdi", "vdi", [], None),
    ("vdi", "vdi", ["-o", "static=on"], 4 << 20),
    ("qed", "qed", [], None),
    ("qcow", "qcow", [], None),
    ("parallels", "prl", [], None),
]
SIZES = [1 << 20, 7 << 20, 2049 << 10, 64 << 20, 1 << 30, 10 << 30, 100 << 30, 3 << 20]
# backing files: relative (it exists), absolute (a host file), outside the directory
BACKINGS = ["base.raw", "/etc/passwd", "../outside.img"]


def qemu_img_create(args):
    p = subprocess.run(["qemu-img", "create", "-q"] + args, capture_output=True, text=True)
    expect(p.returncode == 0, f"qemu-img create {args}: {p.stderr}")


def make_images(d, n):
    """n images of mixed formats and sizes in d, some unsafe; returns their paths in a
    shuffled (but fixed) order."""
    need_tool("qemu-img")
    rng = random.Random(7)
    with open(os.path.join(d, "base.raw"), "wb") as f:
        f.truncate(1 << 20)
    paths = []
    for i in range(n):
        fmt, ext, opts, cap = SPECS[i % len(SPECS)]
        size = SIZES[(i * 5 + i // len(SPECS)) % len(SIZES)]
        if cap:
            size = min(size, cap)
        name = f"img {i:03d} with spaces.{ext}" if i % 17 == 5 else f"img{i:03d}.{ext}"
        path = os.path.join(d, name)
        args = ["-f", fmt] + opts
        if fmt in ("qcow2", "qed", "qcow") and i % 3 == 1:
            args += ["-u", "-b", BACKINGS[i % len(BACKINGS)], "-F", "raw"]
        if fmt == "vmdk" and i % 23 == 11:
            args = ["-f", "vmdk", "-o", "subformat=monolithicFlat"]  # names its extent file
            size = 1 << 20
        qemu_img_create(args + [path, str(size)])
        paths.append(path)
    rng.shuffle(paths)
    return paths


def make_awkward(d):
    """Entries that are not ordinary images: {kind: path}."""
    a = {}
    a["missing"] = os.path.join(d, "no such image.qcow2")
    a["directory"] = os.path.join(d, "a directory")
    os.mkdir(a["directory"])
    a["fifo"] = os.path.join(d, "a fifo")
    os.mkfifo(a["fifo"])
    a["empty"] = os.path.join(d, "empty.img")
    open(a["empty"], "wb").close()
    rng = random.Random(11)
    a["garbage"] = os.path.join(d, "garbage.bin")
    with open(a["garbage"], "wb") as f:
        f.write(bytes(rng.randrange(256) for _ in range(5000)))
    a["bad-qcow2"] = os.path.join(d, "bad-version.qcow2")  # qcow2 magic, version 4
    with open(a["bad-qcow2"], "wb") as f:
        f.write(b"QFI\xfb\x00\x00\x00\x04" + bytes(rng.randrange(256) for _ in range(1000)))
    a["newline"] = os.path.join(d, "new\nline.qcow2")
    qemu_img_create(["-f", "qcow2", a["newline"], "5M"])
    a["unicode"] = os.path.join(d, "ünïcode ☃.vdi")
    qemu_img_create(["-f", "vdi", a["unicode"], "9M"])
    return a


def interleave(paths, extra, every=29):
    """paths with the extra entries spread over the list."""
    out = list(paths)
    for k, e in enumerate(extra):
        out.insert(min(len(out), 3 + k * every), e)
    return out


def pupa_cmd(pupa, accel, *args):
    return [pupa, "info", f"--accel={accel}"] + list(args)


def write_list(path, entries, sep):
    with open(path, "wb") as f:
        for e in entries:
            f.write(os.fsencode(e) + sep)
    return path


class Single:
    """What `pupa info IMAGE` says about one entry on its own."""

    def __init__(self, pupa, accel, path, human=False):
        self.path = path
        rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", path))
        self.rc = rc
        self.obj = json.loads(out) if rc == 0 else None
        if rc == 0:
            expect(err == "", f"{path!r}: stderr of a single info on a pipe: {err!r}")
        else:
            expect(rc == 1 and out == "", f"{path!r}: exit {rc}, stdout {out!r}")
            lines = err.splitlines()
            expect(len(lines) == 1 and lines[0].startswith("pupa: "),
                   f"{path!r}: want one error line, got {err!r}")
            self.error = lines[0][len("pupa: "):]
        if human:
            rc2, self.human, err2 = run(pupa_cmd(pupa, accel, path))
            expect(rc2 == rc, f"{path!r}: human exit {rc2}, json exit {rc}: {err2}")


def singles(pupa, accel, entries, human=False):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        return list(ex.map(lambda e: Single(pupa, accel, e, human), entries))


def qemu_img_info(path):
    p = subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True,
                       timeout=60)
    err = p.stderr.decode("utf-8", "surrogateescape")
    return p.returncode, (json.loads(p.stdout) if p.returncode == 0 else None), err


def check_lines(objs, entries, refs, what):
    """One JSON line per entry, in input order, each equal to the single-image result."""
    expect(len(objs) == len(entries), f"{what}: {len(objs)} lines for {len(entries)} entries")
    for k, (o, e, r) in enumerate(zip(objs, entries, refs)):
        expect(o.get("filename") == e, f"{what}: line {k} is {o.get('filename')!r}, want {e!r}")
        if r.rc == 0:
            expect(o == r.obj,
                   f"{what}: {e!r}: batch line\n{o}\ndiffers from the single run\n{r.obj}")
        else:
            want = error_object(e, r.error)
            expect(o == want, f"{what}: {e!r}: want {want}, got {o}")


def summary_counts(err, what):
    m = [SUMMARY_RE.search(line) for line in err.splitlines()]
    m = [x for x in m if x]
    expect(len(m) == 1, f"{what}: want one summary line on stderr, got {err[-800:]!r}")
    m = m[0]
    return {"inspected": int(m[1]), "failed": int(m[2]), "unsafe": int(m[3]),
            "elapsed": float(m[4]), "rate": float(m[5]), "interrupted": bool(m[6])}


def expected_counts(objs):
    return {"inspected": sum("error" not in o for o in objs),
            "failed": sum("error" in o for o in objs),
            "unsafe": sum("error" not in o and not o["safety"]["safe"] for o in objs)}


# ---------------------------------------------------------------- cases

def case_mixed(pupa, accel, d):
    """200 images of mixed formats plus awkward entries."""
    t0 = time.monotonic()
    imgs = make_images(d, 200)
    aw = make_awkward(d)
    entries = interleave(imgs, [aw[k] for k in ("missing", "directory", "fifo", "empty",
                                                "garbage", "bad-qcow2", "newline", "unicode")])
    print(f"generated {len(imgs)} images in {time.monotonic() - t0:.1f} s")
    refs = singles(pupa, accel, entries)
    byname = dict(zip(entries, refs))
    # the awkward entries: errors for what is no image, qemu-img's verdict for the rest
    for k in ("missing", "directory", "fifo", "bad-qcow2"):
        expect(byname[aw[k]].rc == 1, f"{k}: single run exit {byname[aw[k]].rc}, want 1")
    expect("No such file or directory" in byname[aw["missing"]].error, byname[aw["missing"]].error)
    expect("is a directory" in byname[aw["directory"]].error, byname[aw["directory"]].error)
    expect("is a FIFO" in byname[aw["fifo"]].error, byname[aw["fifo"]].error)
    # every entry qemu-img can open safely (not the FIFO: qemu-img would block on it)
    t1 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        qi = dict(zip(entries, ex.map(
            lambda e: qemu_img_info(e) if e not in (aw["fifo"], aw["directory"]) else None,
            entries)))
    for e, r in byname.items():
        if qi[e] is None:
            continue
        qrc, qobj, qerr = qi[e]
        if qrc == 0:
            expect(r.rc == 0, f"{e!r}: qemu-img opens it, pupa says {getattr(r, 'error', '')}")
            mine = {k: v for k, v in r.obj.items() if k != "safety"}
            if any(f["check"] == "external-extent" for f in r.obj["safety"]["findings"]):
                # README, limits: qemu adds the extent files' sizes; pupa opens no extent
                mine.pop("actual-size")
                qobj.pop("actual-size")
            expect(mine == qobj, f"{e!r}: pupa\n{mine}\nqemu-img\n{qobj}")
        else:
            expect(r.rc == 1, f"{e!r}: qemu-img fails ({qerr.strip()}), pupa exit {r.rc}")
            # the format's refusal word for word (a missing file: qemu nests the message)
            if os.path.exists(e):
                expect(qerr.strip() == "qemu-img: " + r.error,
                       f"{e!r}: qemu-img says {qerr.strip()!r}, pupa says {r.error!r}")
    print(f"single runs and qemu-img compared in {time.monotonic() - t1:.1f} s")
    good = [e for e in entries if byname[e].rc == 0]
    unsafe = [e for e in good if not byname[e].obj["safety"]["safe"]]
    bad = [e for e in entries if byname[e].rc != 0]
    expect(len(unsafe) >= 10, f"only {len(unsafe)} unsafe images generated")
    print(f"{len(good)} good ({len(unsafe)} unsafe), {len(bad)} failing entries")

    # the batch: a NUL-separated list (the newline name cannot be in a newline list)
    lst = write_list(os.path.join(d, "list0"), entries, b"\0")
    t2 = time.monotonic()
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "-j2", "--progress=none", "-0",
                                f"--files-from={lst}"), timeout=600)
    print(f"batch of {len(entries)} entries: {time.monotonic() - t2:.1f} s")
    expect(rc == 1, f"exit {rc}, want 1 (some entries fail): {err[-500:]}")
    objs = json_lines(out)
    check_lines(objs, entries, refs, "batch")
    for e in bad:
        n = sum(o["filename"] == e for o in objs)
        expect(n == 1, f"{e!r}: {n} lines")
        expect(err.count(byname[e].error + "\n") >= 1, f"{e!r}: error not on stderr: {err!r}")
    for k, line in enumerate(out.splitlines()):
        expect("\n" not in line and line.startswith("{") and line.endswith("}"),
               f"line {k} is not one compact object: {line!r}")

    # exit statuses: 0 ok, 1 any failed, 3 unsafe with --require-safe; a failed entry
    # outranks an unsafe one (the scan is incomplete: 1)
    safe = [e for e in good if byname[e].obj["safety"]["safe"]]
    for args, sel, want in (
            ([], good[:12] + unsafe[:3], 0),
            (["--require-safe"], good[:12] + unsafe[:3], 3),
            (["--require-safe"], safe[:8], 0),
            (["--require-safe"], safe[:5] + bad[:1] + unsafe[:2], 1),
            (["--require-safe"], unsafe[:1], 3),
            (["--require-safe"], bad[:1], 1),
            ([], bad[:2], 1)):
        rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "-j2", *args, *sel))
        expect(rc == want, f"{args} on {len(sel)} images ({sum(e in bad for e in sel)} failing, "
                           f"{sum(e in unsafe for e in sel)} unsafe): exit {rc}, want {want}")
        # --require-safe names every unsafe image and its checks on stderr (a CI log says
        # which image failed the gate); without it, no such line
        for e in sel:
            if e in bad or byname[e].obj["safety"]["safe"]:
                continue
            checks = []
            for f in byname[e].obj["safety"]["findings"]:
                if f["check"] not in checks:
                    checks.append(f["check"])
            line = f"pupa: {e}: UNSAFE ({', '.join(checks)})"
            expect((line in err.splitlines()) == bool(args), f"{args}: {line!r} in {err!r}")

    # an unreadable file: root reads anything, so this part runs as nobody
    unreadable = os.path.join(d, "unreadable.qcow2")
    qemu_img_create(["-f", "qcow2", unreadable, "1G"])
    os.chmod(unreadable, 0)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if not shutil.which("setpriv"):
        print("NOTE: setpriv is missing: the unreadable-file entry is not tested")
    elif os.geteuid() != 0:
        print("NOTE: not root: the unreadable-file entry is not tested as another user")
    elif subprocess.run(nobody + ["test", "-x", pupa]).returncode != 0:
        print(f"NOTE: nobody cannot execute {pupa}: the unreadable-file entry is not tested")
    else:
        # /dev/kvm is usually root's only: nobody falls back to the emulator
        sub_accel = accel if subprocess.run(nobody + [pupa, "selftest", f"--accel={accel}"],
                                            capture_output=True).returncode == 0 else "emu"
        if sub_accel != accel:
            print(f"NOTE: nobody cannot use {accel}: the unreadable-file run uses emu")
        sel = [good[0], unreadable, good[1], aw["missing"], unsafe[0]]
        rc, out, err = run(nobody + pupa_cmd(pupa, sub_accel, "--output=json", "-j2",
                                             "--progress=none", *sel))
        expect(rc == 1, f"as nobody: exit {rc}, want 1: {err}")
        objs = json_lines(out)
        want_err = f"Could not open '{unreadable}': Permission denied"
        expect(len(objs) == 5 and objs[1] == error_object(unreadable, want_err),
               f"as nobody: {objs[1:2]}, want the error {want_err!r}")
        expect(err.splitlines().count("pupa: " + want_err) == 1, err)
        for i in (0, 2, 4):
            expect(objs[i] == byname[sel[i]].obj, f"as nobody: {sel[i]!r} differs: {objs[i]}")
        print("unreadable file: checked as nobody")


def case_order(pupa, accel, d):
    imgs = make_images(d, 60)
    # a slow first image (4 MiB of VDI block map to check) so completion order differs; a
    # generous guest timeout: a loaded machine or the ASan build slows the emulator down
    slow = os.path.join(d, "slow first.vdi")
    qemu_img_create(["-f", "vdi", slow, "1T"])
    entries = [slow] + imgs
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "-j2", "--progress=none",
                                "--timeout=120", *entries))
    expect(rc == 0, f"exit {rc}: {err}")
    ordered = json_lines(out)
    names = [o["filename"] for o in ordered]
    expect(names == entries, f"default order is not input order: {names[:5]}... vs {entries[:5]}")
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "-j2", "--progress=none",
                                "--timeout=120", "--unordered", *entries))
    expect(rc == 0, f"--unordered: exit {rc}: {err}")
    un = json_lines(out)
    un_names = [o["filename"] for o in un]
    expect(sorted(un_names) == sorted(entries) and len(set(un_names)) == len(entries),
           "--unordered: not every image exactly once")
    by = {o["filename"]: o for o in ordered}
    expect(all(o == by[o["filename"]] for o in un), "--unordered: results differ")
    pos = un_names.index(slow)
    print(f"--unordered -j2: the slow first image came out at position {pos}")
    if accel == "emu":
        # ~0.2 s for the slow one against ~40 ms each for the others on the second guest
        expect(pos > 0, "--unordered -j2 printed the slow image first: not as guests finish")
    # the human output follows the same order
    rc, out, err = run(pupa_cmd(pupa, accel, "-j2", "--progress=none", "--timeout=120",
                                *entries))
    expect(rc == 0, err)
    hn = [line[len("image: "):] for line in out.splitlines() if line.startswith("image: ")]
    expect(hn == entries, "human output is not in input order")


def case_human(pupa, accel, d):
    imgs = make_images(d, 40)
    aw = make_awkward(d)
    entries = interleave(imgs, [aw["missing"], aw["empty"], aw["bad-qcow2"], aw["unicode"]],
                         every=9)
    refs = singles(pupa, accel, entries, human=True)
    rc, out, err = run(pupa_cmd(pupa, accel, "-j2", "--progress=none", *entries))
    expect(rc == 1, f"exit {rc}, want 1: {err}")
    good = [r for r in refs if r.rc == 0]
    want = "\n".join(r.human for r in good)
    if out != want:
        blocks = out.split("\n\n")
        for k, (b, r) in enumerate(zip(blocks, good)):
            expect(b + "\n" == r.human or b == r.human,
                   f"block {k} differs from `pupa info {r.path}`:\n{b}\n---\n{r.human}")
        fail(f"human batch output differs from the single outputs joined by blank lines "
             f"({len(blocks)} blocks, {len(good)} images)")
    expect(out.count("\n\nimage: ") == len(good) - 1, "blocks not separated by one blank line")
    expect(out.startswith("image: ") and not out.endswith("\n\n"),
           f"edges: {out[:20]!r} {out[-20:]!r}")
    for r in refs:
        if r.rc != 0:
            expect(err.splitlines().count("pupa: " + r.error) == 1,
                   f"{r.path!r}: want its error once on stderr: {err!r}")
            expect(f"image: {r.path}\n" not in out, f"{r.path!r} has a block")
    print(f"{len(good)} blocks equal the single-image outputs; "
          f"{len(refs) - len(good)} errors on stderr")


def case_shards(pupa, accel, d):
    imgs = make_images(d, 58)
    aw = make_awkward(d)
    entries = interleave(imgs, [aw["missing"], aw["garbage"], aw["bad-qcow2"]], every=20)
    expect(len(entries) == 61, len(entries))
    lst = write_list(os.path.join(d, "list"), entries, b"\n")
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "-j2", "--progress=none",
                                f"--files-from={lst}"))
    full = json_lines(out)
    expect([o["filename"] for o in full] == entries, "unsharded run: not one line per entry")
    full_rc = rc
    failing = {o["filename"] for o in full if "error" in o}
    expect(full_rc == 1 and len(failing) >= 2, f"unsharded: exit {rc}, failing {failing}")
    seen = []
    for k in (1, 2, 3):
        rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "-j2", "--progress=none",
                                    f"--shard={k}/3", f"--files-from={lst}"))
        objs = json_lines(out)
        names = [o["filename"] for o in objs]
        expect(names == entries[k - 1::3], f"shard {k}/3 is not images i with i mod 3 = {k - 1}")
        want_rc = 1 if failing & set(names) else 0
        expect(rc == want_rc, f"shard {k}/3: exit {rc}, want {want_rc}: {err}")
        for o in objs:
            expect(o == full[entries.index(o["filename"])], f"shard {k}/3: {o} differs")
        seen += names
    expect(sorted(seen) == sorted(entries) and len(seen) == len(set(seen)),
           "shards 1/3, 2/3, 3/3: the union is not every entry exactly once")
    # the space form of the option and one shard of one
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "--progress=none", "--shard", "1/1",
                                f"--files-from={lst}"))
    expect(json_lines(out) == full and rc == full_rc, "--shard 1/1 differs from no shard")
    # a shard with nothing in it is a success with no output
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "--shard=5/5", *entries[:3]))
    expect(rc == 0 and out == "", f"empty shard: exit {rc}, stdout {out!r}")
    # ...but only once its options are valid: every task of an array fails alike
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=yaml", "--shard=5/5", *entries[:3]))
    expect(rc == 2, f"empty shard with a bad --output: exit {rc}, want 2")
    # bad specifications are usage errors
    for spec in ("0/3", "4/3", "1/0", "0/0", "x", "", "3", "1/", "/3", "1/3x", "1/3/3", "a/3",
                 "1/b", "-1/3", "1/-3", "+1/3", " 1/3", "1/ 3", "1.5/3", "1//3", "0x1/3",
                 "99999999999999999999/3", "1/99999999999999999999"):
        rc, out, err = run(pupa_cmd(pupa, accel, f"--shard={spec}", *entries[:3]))
        expect(rc == 2 and out == "" and "--shard" in err,
               f"--shard={spec!r}: exit {rc}, want 2 (usage): {err!r}")
    print("shards: disjoint, union = input, positions i mod 3; bad specs exit 2")


def case_jobs(pupa, accel, d):
    imgs = make_images(d, 50)
    aw = make_awkward(d)
    entries = interleave(imgs, [aw["missing"], aw["directory"], aw["garbage"]], every=15)
    results = {}
    for j, extra in (("1", ["--progress=none"]), ("4", [])):  # -j4: default progress (plain)
        rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", f"-j{j}", "--summary", *extra,
                                    *entries), timeout=600)
        expect(rc == 1, f"-j{j}: exit {rc}, want 1")
        objs = json_lines(out)
        expect([o["filename"] for o in objs] == entries, f"-j{j}: not in input order")
        c = summary_counts(err, f"-j{j}")
        want = expected_counts(objs)
        for key in want:
            expect(c[key] == want[key],
                   f"-j{j}: summary says {key} {c[key]}, output has {want[key]}")
        expect(not c["interrupted"], "summary says interrupted")
        # elapsed is printed with 2 decimals, images/s with 1
        lo = c["inspected"] / (c["elapsed"] + 0.005) - 0.05
        hi = c["inspected"] / max(c["elapsed"] - 0.005, 1e-9) + 0.05
        expect(c["elapsed"] > 0 and lo <= c["rate"] <= hi,
               f"-j{j}: images/s {c['rate']} is not {c['inspected']}/{c['elapsed']}")
        results[j] = (out, c)
        print(f"-j{j}: {c}")
    expect(results["1"][0] == results["4"][0], "-j1 and -j4 print different results")
    for key in ("inspected", "failed", "unsafe"):
        expect(results["1"][1][key] == results["4"][1][key], f"-j1 and -j4: {key} differs")
    # no summary on a pipe unless asked, and --no-summary wins over --summary
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "--progress=none", *entries[:4]))
    expect(not SUMMARY_RE.search(err), f"summary on a pipe without --summary: {err!r}")
    rc, out, err = run(pupa_cmd(pupa, accel, "--output=json", "--progress=none", "--summary",
                                "--no-summary", *entries[:4]))
    expect(not SUMMARY_RE.search(err), f"--no-summary after --summary: {err!r}")
    # the default -j is the number of CPUs pupa may run on (taskset, cpusets), seen in the
    # completion order of a slow first image under --unordered (emu: KVM is too fast to see)
    cpus = sorted(os.sched_getaffinity(0))
    if accel == "emu" and len(cpus) >= 2:
        slow = os.path.join(d, "slow.vdi")
        qemu_img_create(["-f", "vdi", slow, "1T"])
        sel = [slow] + imgs[:6]
        for allowed, want_first in (({cpus[0]}, True), (set(cpus), False)):
            p = subprocess.run(pupa_cmd(pupa, accel, "--output=json", "--unordered",
                                        "--timeout=120", *sel),
                               capture_output=True, text=True, timeout=300,
                               preexec_fn=lambda a=allowed: os.sched_setaffinity(0, a))
            first = json_lines(p.stdout)[0]["filename"]
            expect(p.returncode == 0 and (first == slow) == want_first,
                   f"default -j on {len(allowed)} allowed CPUs: {first!r} came first")
        print("default -j follows the CPU affinity")
    # -j bounds are usage errors
    for j in ("0", "257", "x", "-1"):
        rc, out, err = run(pupa_cmd(pupa, accel, f"-j{j}", *entries[:2]))
        expect(rc == 2, f"-j{j}: exit {rc}, want 2")


def case_files_from(pupa, accel, d):
    imgs = make_images(d, 12)
    aw = make_awkward(d)
    plain = imgs[:6] + [aw["unicode"], aw["missing"]] + imgs[6:]
    rc, ref_out, err = run(pupa_cmd(pupa, accel, "--output=json", "--progress=none", *plain))
    expect(rc == 1, f"arguments: exit {rc}")
    ref = json_lines(ref_out)
    expect([o["filename"] for o in ref] == plain, "arguments: not one line per entry")
    nl = os.fsencode("\n".join(plain) + "\n")
    lst = write_list(os.path.join(d, "list"), plain, b"\n")
    for what, args, stdin in (("--files-from=FILE", [f"--files-from={lst}"], None),
                              ("--files-from FILE", ["--files-from", lst], None),
                              ("--files-from=-", ["--files-from=-"], nl),
                              ("--files-from - (no final newline)", ["--files-from", "-"],
                               nl[:-1]),
                              ("-0 --files-from=-", ["-0", "--files-from=-"],
                               nl.replace(b"\n", b"\0")),
                              ("--null --files-from=- (no final NUL)",
                               ["--null", "--files-from=-"], nl.replace(b"\n", b"\0")[:-1])):
        p = subprocess.run(pupa_cmd(pupa, accel, "--output=json", "--progress=none", *args),
                           input=stdin, capture_output=True, timeout=300)
        expect(p.returncode == 1, f"{what}: exit {p.returncode}: {p.stderr!r}")
        expect(p.stdout.decode() == ref_out, f"{what}: output differs from the arguments run")
    # arguments and a list together: arguments first
    p = subprocess.run(pupa_cmd(pupa, accel, "--output=json", "--progress=none", imgs[0],
                                "--files-from=-"), input=os.fsencode(imgs[1] + "\n"),
                       capture_output=True, timeout=300)
    got = [o["filename"] for o in json_lines(p.stdout.decode())]
    expect(p.returncode == 0 and got == [imgs[0], imgs[1]], f"arguments + list: {got}")
    # NUL-separated names may hold newlines and spaces
    odd = [aw["newline"], imgs[0], aw["unicode"], aw["missing"], imgs[1]]
    ref_nl = [Single(pupa, accel, e) for e in odd]
    expect(ref_nl[0].rc == 0, "the newline name cannot be inspected on its own")
    data = b"".join(os.fsencode(e) + b"\0" for e in odd)
    p = subprocess.run(pupa_cmd(pupa, accel, "--output=json", "--progress=none", "-0",
                                "--files-from=-", "-j2"), input=data, capture_output=True,
                       timeout=300)
    expect(p.returncode == 1, f"-0 stdin: exit {p.returncode}: {p.stderr!r}")
    check_lines(json_lines(p.stdout.decode()), odd, ref_nl, "-0 stdin")
    # ...and the same list split at newlines gives other names, all missing
    p = subprocess.run(pupa_cmd(pupa, accel, "--output=json", "--progress=none",
                                "--files-from=-"), input=os.fsencode(aw["newline"] + "\n"),
                       capture_output=True, timeout=300)
    got = json_lines(p.stdout.decode())
    expect(p.returncode == 1 and [o["filename"] for o in got] == aw["newline"].split("\n")
           and all("error" in o for o in got), f"newline list of a newline name: {got}")
    # an unreadable list is a usage error naming it (2, not an image failure)
    rc, out, err = run(pupa_cmd(pupa, accel, f"--files-from={aw['missing']}"))
    expect(rc == 2 and aw["missing"] in err and out == "", f"missing list: exit {rc}: {err}")
    rc, out, err = run(pupa_cmd(pupa, accel, f"--files-from={d}"))
    expect(rc == 2 and "--files-from" in err and out == "", f"a directory as list: {rc}: {err}")
    # an empty list is nothing to do: exit 0, nothing printed (a cron job over an empty
    # upload directory succeeds)
    for sep in ([], ["-0"]):
        p = subprocess.run(pupa_cmd(pupa, accel, "--files-from=-", *sep), input=b"",
                           capture_output=True, timeout=60)
        expect((p.returncode, p.stdout, p.stderr) == (0, b"", b""),
               f"empty list {sep}: exit {p.returncode} {p.stderr!r}")


def case_output_errors(pupa, accel, d):
    """Results that cannot be written stop the scan: never exit 0 with results lost."""
    imgs = make_images(d, 20)
    # a full disk: an error naming the cause, exit 1, for one image and for a batch
    for sel in (imgs[:1], imgs):
        with open("/dev/full", "w") as full:
            p = subprocess.run(pupa_cmd(pupa, accel, "--output=json", "-j2", *sel), stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=300)
        expect(p.returncode == 1, f"stdout on /dev/full, {len(sel)} images: exit {p.returncode}")
        expect("No space left on device" in p.stderr, f"no write error reported: {p.stderr!r}")
    # a reader that goes away (| head -1): pupa stops starting guests and leaves nothing
    entries = [imgs[i % len(imgs)] for i in range(3000)]
    lst = write_list(os.path.join(d, "list"), entries, b"\n")
    t0 = time.monotonic()
    p = subprocess.Popen(pupa_cmd(pupa, accel, "--output=json", "-j2", "--progress=none",
                                  f"--files-from={lst}"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    first = p.stdout.readline()
    p.stdout.close()
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("pupa kept scanning after its reader went away")
    secs = time.monotonic() - t0
    expect(json.loads(first)["filename"] == entries[0], first)
    # like coreutils: a reader that went away ends pupa quietly, by SIGPIPE, which no
    # image failure (1) can be mistaken for
    expect(p.returncode == -signal.SIGPIPE, f"closed pipe: exit {p.returncode}, want SIGPIPE")
    expect(b"standard output" not in err, f"a message for a closed pipe: {err!r}")
    left = [line for line in subprocess.run(["ps", "-eo", "pid,args"], capture_output=True,
                                            text=True).stdout.splitlines() if d in line]
    expect(not left, "processes left behind:\n" + "\n".join(left))
    print(f"closed pipe after the first line: stopped after {secs:.2f} s")


def is_asan(pupa):
    p = subprocess.run(["ldd", pupa], capture_output=True, text=True)
    return "libasan" in p.stdout


def case_many(pupa, accel, d):
    """A long list costs memory per running guest, not per listed image: 20000 entries
    (missing files, which fail without a guest) around real images."""
    imgs = make_images(d, 25)
    entries = []
    for i in range(20000):
        entries.append(os.path.join(d, f"gone-{i:05d}.img"))
        if i % 200 == 100:
            entries.append(imgs[(i // 200) % len(imgs)])

    def scan(sel):
        """stdout, exit status, seconds and peak RSS (KiB) of pupa itself: wait4 on its
        pid does not include its workers"""
        lst = write_list(os.path.join(d, "list"), sel, b"\n")
        t0 = time.monotonic()
        p = subprocess.Popen(pupa_cmd(pupa, accel, "--output=json", "-j2", "--progress=none",
                                      f"--files-from={lst}"), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        out = p.stdout.read().decode()
        _, status, ru = os.wait4(p.pid, 0)
        return out, os.waitstatus_to_exitcode(status), time.monotonic() - t0, ru.ru_maxrss

    _, rc, _, base = scan(imgs[:4] + entries[:2])
    out, rc, secs, rss = scan(entries)
    expect(rc == 1, f"exit {rc}")
    objs = json_lines(out)
    expect([o["filename"] for o in objs] == entries, "not one line per entry in input order")
    good = [o for o in objs if "error" not in o]
    expect(len(good) == 100, f"{len(good)} images inspected, want 100")
    print(f"{len(entries)} entries in {secs:.1f} s, pupa's peak RSS {rss} KiB "
          f"({base} KiB for 6 entries)")
    if is_asan(pupa):
        print("NOTE: ASan build (quarantined frees, shadow memory): peak RSS not checked")
    else:
        # a job is 14 KiB: kept for the whole scan they were 280 MB here
        expect(rss - base < 32 * 1024, f"pupa's peak RSS grew by {rss - base} KiB for "
                                       f"{len(entries)} entries")


def case_sigint(pupa, accel, d):
    imgs = make_images(d, 12)
    # mostly VMDK descriptors naming extent files: their guests send the finding early, so
    # guests stopped after their findings arrived are common, and the summary must not
    # count those failed images as unsafe
    unsafe = [os.path.join(d, f"flat{k}.vmdk") for k in range(3)]
    for u in unsafe:
        qemu_img_create(["-f", "vmdk", "-o", "subformat=monolithicFlat", u, "1M"])
    entries = [unsafe[i % 3] if i % 8 else imgs[i % 12] for i in range(3000)]  # cannot finish
    lst = write_list(os.path.join(d, "list"), entries, b"\n")
    own = set(os.listdir(d))
    env = dict(os.environ, TERM="xterm", TMPDIR=d)  # any temp file of pupa's would land in d
    env.pop("NO_COLOR", None)
    # three interrupts at different points (which guests are mid-way is a matter of
    # timing), with bars and with plain progress lines on the terminal
    for delay, progress in ((0.8, "auto"), (1.1, "plain"), (1.5, "plain")):
        rc, out, term, sent, secs = run_pty(
            pupa_cmd(pupa, accel, "--output=json", "-j2", "--timeout=0", f"--progress={progress}",
                     f"--files-from={lst}"),
            env=env, size=(30, 100), timeout=180,
            interrupt_when=lambda o, t, s=delay: (t >= s and o.count(b"\n") >= 5) or t > 30)
        print(f"SIGINT after {sent:.2f} s; exited after {secs:.2f} s")
        # no worker left: nothing whose command line names the list in d
        ps = subprocess.run(["ps", "-eo", "pid,ppid,stat,args"], capture_output=True,
                            text=True).stdout
        left = [line for line in ps.splitlines() if d in line]
        expect(not left, "processes left behind:\n" + "\n".join(left))
        expect(rc == 130, f"exit {rc}, want 130: {term[-400:]!r}")
        expect(secs - sent < 10, f"took {secs - sent:.1f} s to stop after SIGINT")
        if progress == "auto":
            expect(HIDE in term, "no bars were drawn (cursor never hidden)")
            expect(term.rfind(SHOW) > term.rfind(HIDE), f"cursor not shown after the last hide: "
                                                        f"{term[-200:]!r}")
        else:
            no_escapes(term, "--progress=plain on a terminal")
        c = summary_counts(term, "after SIGINT")
        expect(c["interrupted"], "the summary does not say interrupted")
        objs = json_lines(out)
        expect(out == "" or out.endswith("\n"), "a partial line on stdout")
        expect(5 <= len(objs) < len(entries), f"{len(objs)} results printed")
        expect([o["filename"] for o in objs] == entries[:len(objs)],
               "results after SIGINT are not a prefix of the input order")
        want = expected_counts(objs)
        for key in want:
            expect(c[key] == want[key], f"summary {key} {c[key]}, stdout has {want[key]}")
        for o in objs:
            if "error" in o:
                expect("interrupted" in o["error"], f"an error other than the interrupt: {o}")
        time.sleep(0.5)
        left = [line for line in subprocess.run(["ps", "-eo", "pid,args"], capture_output=True,
                                                text=True).stdout.splitlines() if d in line]
        expect(not left, "processes still there after 0.5 s:\n" + "\n".join(left))
        extra = set(os.listdir(d)) - own
        expect(not extra, f"files left in the temp dir: {extra}")
        print(f"summary {c}; terminal restored")


def case_scaling(pupa, accel, d, script):
    need_tool("parallel")
    need_tool("bash")
    imgs = os.path.join(d, "images")
    os.mkdir(imgs)
    made = make_images(imgs, 44)
    aw = make_awkward(os.path.join(imgs))  # the find list skips the directory and the FIFO
    os.rmdir(aw["directory"])
    os.unlink(aw["fifo"])
    out = os.path.join(d, "out dir")  # the script quotes its paths
    env = dict(os.environ, PUPA=pupa, PUPA_ARGS=f"--accel={accel} -j1 --progress=none")
    p = subprocess.run(["bash", script, imgs, out, "3"], env=env, capture_output=True,
                       text=True, timeout=600)
    if p.returncode == 77:
        skip(p.stdout.strip())
    print(p.stdout, end="")
    print(p.stderr, end="")
    lst = os.path.join(out, "list")
    with open(lst, "rb") as f:
        entries = [os.fsdecode(x) for x in f.read().split(b"\0") if x]
    want_names = sorted(made + [aw[k] for k in ("empty", "garbage", "bad-qcow2", "newline",
                                                "unicode")] + [os.path.join(imgs, "base.raw")]
                        + [os.path.join(imgs, n) for n in os.listdir(imgs) if "-flat" in n])
    expect(sorted(entries) == want_names, "the list is not every file under the directory")
    expect([os.fsencode(e) for e in entries] == sorted(os.fsencode(e) for e in entries),
           "the list is not sorted bytewise")
    # the reference: one unsharded run over the same list
    rrc, ref_out, rerr = run([pupa, "info", f"--accel={accel}", "--output=json", "-j2",
                              "--progress=none", "-0", f"--files-from={lst}"], timeout=600)
    ref = json_lines(ref_out)
    expect([o["filename"] for o in ref] == entries, "unsharded run: not one line per entry")
    union = []
    for k in (1, 2, 3):
        objs = json_lines(open(os.path.join(out, f"shard-{k}.jsonl")).read())
        expect([o["filename"] for o in objs] == entries[k - 1::3], f"shard {k}: wrong images")
        union += objs
    names = [o["filename"] for o in union]
    expect(sorted(names) == sorted(entries) and len(set(names)) == len(names),
           "the union of the shards is not every image exactly once")
    expect(sorted(union, key=lambda o: o["filename"]) == sorted(ref, key=lambda o: o["filename"]),
           "the union of the shards differs from the unsharded run")
    merged = open(os.path.join(out, "all.jsonl")).read()
    expect(merged == ref_out, "the merged all.jsonl is not byte for byte the unsharded output")
    expect(p.returncode == rrc == 1, f"script exit {p.returncode}, unsharded {rrc}, want 1 "
                                     f"(bad-version.qcow2 fails)")
    # with only good images the script's status is pupa's: 0, and 3 with --require-safe
    for f in (aw["bad-qcow2"],):
        os.unlink(f)
    for extra, want in (("", 0), (" --require-safe", 3)):
        shutil.rmtree(out)
        env["PUPA_ARGS"] = f"--accel={accel} -j1 --progress=none{extra}"
        p = subprocess.run(["bash", script, imgs, out, "3"], env=env, capture_output=True,
                           text=True, timeout=600)
        expect(p.returncode == want, f"script with{extra or ' no extra options'}: exit "
                                     f"{p.returncode}, want {want}: {p.stdout}{p.stderr}")
    # a shard that cannot run (here a usage error) decides the status: 2, not 0
    shutil.rmtree(out)
    env["PUPA_ARGS"] = f"--accel={accel} --no-such-option"
    p = subprocess.run(["bash", script, imgs, out, "3"], env=env, capture_output=True,
                       text=True, timeout=600)
    expect(p.returncode == 2, f"script with a bad option: exit {p.returncode}, want 2")
    print(f"3 shards over {len(entries)} files: union = unsharded run, merged in input order")


def main():
    pupa, accel, case = sys.argv[1:4]
    need_accel(accel)
    need_tool("qemu-img")
    d = tempfile.mkdtemp(prefix=f"pupa-batch-{case}-{accel}-")
    os.chmod(d, 0o755)
    t0 = time.monotonic()
    try:
        if case == "scaling":
            case_scaling(pupa, accel, d, sys.argv[4])
        else:
            {"mixed": case_mixed, "order": case_order, "human": case_human,
             "shards": case_shards, "jobs": case_jobs, "files-from": case_files_from,
             "sigint": case_sigint, "output-errors": case_output_errors,
             "many": case_many}[case](pupa, accel, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print(f"OK {case} {accel} ({time.monotonic() - t0:.1f} s)")


main()
