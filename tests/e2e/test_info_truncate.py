#!/usr/bin/python3
"""test_info_truncate.py: corpus images cut at every sector of their first 64 KiB (and a sample past it) through the real VMM and guest: never a crash, always qemu-img's answer or qemu-img's refusal.

usage: test_info_truncate.py PUPA ACCEL K/N WORKDIR IMAGE_DIR...

Images: every regular file of the IMAGE_DIRs (the corpus, images/samples) that
qemu-img opens, grouped by format (vmdk also by create type); per group the
smallest file over 64 KiB and the largest file up to 64 KiB, plus every
committed sample, plus qcow2/qcow images made here (a 4 KiB-cluster qcow2 with a
snapshot, a bitmap and a backing file, a compat=0.10 qcow2, a qcow). Images whose
metadata lives in other files (vmdk descriptor sets) are left out. Shard K of N
takes every N-th image (sorted by number of cuts, so shards are even).

For each cut: `qemu-img info` (human and JSON) on the cut file, and one batch
`pupa info --accel=ACCEL -j2 --files-from` per output mode over all cuts. Where
qemu-img succeeds pupa must print the same (human without the safety block, JSON
without "safety"); where it fails pupa must fail that image with one line
"Could not open 'CUT': REASON" (in JSON: {"filename", "error", "error-class":
"refused", "retryable": false}). Nothing may
mention a crash, a dead worker, a timeout or a protocol error."""
import concurrent.futures
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pupatest import ERROR_KEYS, expect, fail, need_accel, need_tool  # noqa: E402

HEAD = 64 * 1024
PAST = 10  # sampled lengths past the first 64 KiB
CRASH_WORDS = ("guest crashed", "triple fault", "worker", "protocol error", "sandbox",
               "guest exited with status", "timeout", "timed out", "interrupted", "killed")


def sh(cmd, cwd=None, timeout=120):
    p = subprocess.run(cmd, capture_output=True, cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), p.stderr.decode(
        "utf-8", "surrogateescape")


def qemu_info(path, cwd):
    rc, human, err = sh(["qemu-img", "info", path], cwd)
    if rc != 0:
        lines = [ln for ln in err.splitlines() if ln.startswith("qemu-img: ")]
        return rc, None, None, lines[-1][len("qemu-img: "):] if lines else err.strip()
    rc2, js, err2 = sh(["qemu-img", "info", "--output=json", path], cwd)
    if rc2 != 0:
        fail(f"qemu-img info {path} succeeds in human mode but not in JSON: {err2}")
    return 0, human, json.loads(js), None


def sparse_prefix(src, dst, length):
    """dst = the first length bytes of src, holes kept (corpus images are sparse
    and some are GiBs long)."""
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        fd = fi.fileno()
        off = 0
        while off < length:
            try:
                data = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            if data >= length:
                break
            try:
                hole = os.lseek(fd, data, os.SEEK_HOLE)
            except OSError:
                hole = length
            end = min(hole, length)
            fi.seek(data)
            fo.seek(data)
            left = end - data
            while left > 0:
                chunk = fi.read(min(left, 1 << 20))
                if not chunk:
                    break
                fo.write(chunk)
                left -= len(chunk)
            off = end
        fo.truncate(length)


def make_qcow_images(d):
    """qcow2/qcow images for truncation, made here so the test covers them whatever
    the corpus holds: dense metadata in the first 64 KiB (4 KiB clusters), snapshot,
    bitmap, backing file (never opened: qemu-img info does not open it either)."""
    os.makedirs(d, exist_ok=True)
    made = []

    def q(*args):
        rc, _, err = sh(["qemu-img"] + list(args), cwd=d)
        expect(rc == 0, f"qemu-img {' '.join(args)}: {err}")

    with open(os.path.join(d, "pattern.raw"), "wb") as f:
        for i in range(64):
            f.seek(i * 1024 * 1024 + (i * 4096) % 65536)
            f.write(bytes([i + 1]) * 8192)
        f.truncate(64 << 20)
    q("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4096", "pattern.raw",
      "gen-c4k.qcow2")
    q("snapshot", "-c", "first-snapshot", "gen-c4k.qcow2")
    q("bitmap", "--add", "gen-c4k.qcow2", "dirty0")
    q("rebase", "-u", "-b", "missing-base.qcow2", "-F", "qcow2", "gen-c4k.qcow2")
    made.append("gen-c4k.qcow2")
    q("convert", "-f", "raw", "-O", "qcow2", "-o", "compat=0.10", "pattern.raw",
      "gen-compat010.qcow2")
    made.append("gen-compat010.qcow2")
    q("create", "-q", "-f", "qcow2", "-o", "extended_l2=on,compression_type=zstd", "-u", "-b",
      "/nonexistent/base", "-F", "raw", "gen-extl2.qcow2", "3G")
    made.append("gen-extl2.qcow2")
    q("convert", "-f", "raw", "-O", "qcow", "pattern.raw", "gen-v1.qcow")
    made.append("gen-v1.qcow")
    os.unlink(os.path.join(d, "pattern.raw"))
    return [os.path.join(d, m) for m in made]


def select_images(dirs, gen):
    """(path, qemu format key) of the images to cut."""
    files = {}
    samples = set()
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if not os.path.isfile(p) or ".expect-" in name or "-extent" in name:
                continue
            files.setdefault(name, p)
            if os.path.basename(os.path.normpath(d)) == "samples":
                samples.add(name)
    for p in gen:
        files[os.path.basename(p)] = p
    groups = {}
    for name, p in sorted(files.items()):
        rc, _, obj, _ = qemu_info(p, None)
        if rc != 0:
            continue  # qemu-img refuses the whole image: its cuts teach nothing new
        data = obj.get("format-specific", {}).get("data", {})
        if any("filename" in e and os.path.basename(e["filename"]) != name
               for e in data.get("extents", [])):
            continue  # metadata in other files: compared in the corpus test without them
        key = obj["format"] + ("/" + data["create-type"] if "create-type" in data else "")
        groups.setdefault(key, []).append((os.path.getsize(p), name, p))
    chosen = {}
    for key, members in groups.items():
        big = [m for m in sorted(members) if m[0] > HEAD]
        small = [m for m in sorted(members) if m[0] <= HEAD]
        picks = ([big[0]] if big else []) + ([small[-1]] if small else [])
        picks += [m for m in members if m[1] in samples or m[1].startswith("gen-")]
        for size, name, p in picks:
            chosen[name] = (p, key, size)
    return chosen, sorted(groups)


def cut_lengths(name, size):
    lens = set(range(0, min(size, HEAD) + 1, 512))
    if size <= HEAD:
        lens.add(size)
    else:
        rng = random.Random(name)
        for i in range(PAST):
            n = rng.randrange(HEAD + 1, size)
            lens.add(n - n % 512 if i % 2 == 0 else n)
        lens.update({size - 512, size - 1, size})
    return sorted(lens)


def pupa_batch(pupa, accel, listfile, output, cwd):
    rc, out, err = sh([pupa, "info", f"--accel={accel}", "-j2", "--progress=none", "--no-summary",
                       f"--output={output}", f"--files-from={listfile}"], cwd, timeout=1800)
    expect(rc in (0, 1), f"pupa info --output={output} over the cuts: exit {rc}\n{err[-3000:]}")
    return out, err


def parse_errors(err, names):
    """stderr: exactly one 'pupa: Could not open 'NAME': REASON' line per failed cut."""
    errors = {}
    for ln in err.splitlines():
        low = ln.lower()
        for w in CRASH_WORDS:
            expect(w not in low, f"pupa stderr: {ln}")
        prefix = "pupa: Could not open '"
        expect(ln.startswith(prefix) and "': " in ln, f"unexpected stderr line: {ln!r}")
        name, reason = ln[len(prefix):].split("': ", 1)
        expect(name in names and name not in errors, f"error line for {name!r}: {ln!r}")
        errors[name] = reason
    return errors


def split_human(out, names):
    """Human output of a batch: blocks starting 'image: NAME' in input order,
    separated by one blank line; returns {name: block without the safety part}."""
    blocks = {}
    cur = None
    lines = out.splitlines(keepends=True)
    starts = {f"image: {n}\n": n for n in names}
    body = []
    for ln in lines + [None]:
        if ln is None or ln in starts:
            if cur is not None:
                text = "".join(body)
                if text.endswith("\n\n"):
                    text = text[:-1]
                i = text.find("\nsafety: ")
                expect(i >= 0, f"{cur}: no safety block:\n{text}")
                blocks[cur] = text[:i + 1]
            if ln is None:
                break
            cur = starts[ln]
            expect(cur not in blocks, f"{cur} printed twice")
            body = [ln]
        else:
            expect(cur is not None, f"human output does not start with an image: {ln!r}")
            body.append(ln)
    return blocks


def main():
    if len(sys.argv) < 6:
        print(__doc__)
        return 2
    pupa, accel, shard, work = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    dirs = sys.argv[5:]
    k, n = (int(x) for x in shard.split("/"))
    need_accel(accel)
    need_tool("qemu-img")
    t0 = time.monotonic()
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    gen = make_qcow_images(os.path.join(work, "gen"))
    chosen, groups = select_images(dirs, gen)
    formats = {key.split("/")[0] for key in groups}
    picked = {v[1].split("/")[0] for v in chosen.values()}
    expect(picked == formats, f"formats without an image: {formats - picked}")
    order = sorted(chosen, key=lambda nm: (-len(cut_lengths(nm, chosen[nm][2])), nm))
    mine = [nm for i, nm in enumerate(order) if i % n == k - 1]
    expect(mine, f"shard {shard} has no image")

    cutdir = os.path.join(work, "cuts")
    os.makedirs(cutdir)
    cuts = []  # (cut name relative to cutdir, source name, length)
    for name in mine:
        src, key, size = chosen[name]
        stem, ext = os.path.splitext(name)
        for length in cut_lengths(name, size):
            cut = f"{stem}.cut{length}{ext}"  # the extension stays: dmg is probed by name
            sparse_prefix(src, os.path.join(cutdir, cut), length)
            cuts.append((cut, name, length))
    # settle the file system: ext4 allocates (and counts in st_blocks) at writeback,
    # and both tools must see the same "disk size"
    os.sync()
    names = [c[0] for c in cuts]
    with open(os.path.join(work, "cuts.list"), "w") as f:
        f.write("".join(nm + "\n" for nm in names))
    print(f"shard {shard}: {len(mine)} images ({', '.join(mine)}), {len(cuts)} cuts")

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        qfut = {nm: ex.submit(qemu_info, nm, cutdir) for nm in names}
        tq = time.monotonic()
        jout, jerr = pupa_batch(pupa, accel, os.path.join(work, "cuts.list"), "json", cutdir)
        hout, herr = pupa_batch(pupa, accel, os.path.join(work, "cuts.list"), "human", cutdir)
        tp = time.monotonic() - tq
        qres = {nm: f.result() for nm, f in qfut.items()}

    jerrors = parse_errors(jerr, set(names))
    herrors = parse_errors(herr, set(names))
    objs = [json.loads(ln) for ln in jout.splitlines()]
    expect([o.get("filename") for o in objs] == names,
           "JSON lines are not one per cut in input order")
    blocks = split_human(hout, set(names))

    bad = []
    ok = refused = 0
    for (cut, src, length), obj in zip(cuts, objs):
        qrc, qh, qj, qerr = qres[cut]
        what = f"{src} cut at {length} ({cut})"
        if qrc == 0:
            if "error" in obj:
                bad.append(f"{what}: qemu-img opens it, pupa fails: {obj['error']}")
                continue
            safety = obj.pop("safety", None)
            if not isinstance(safety, dict) or "safe" not in safety:
                bad.append(f"{what}: no safety object")
            if obj != qj:
                bad.append(f"{what}: JSON differs:\n  qemu-img {json.dumps(qj, sort_keys=True)}\n"
                           f"  pupa     {json.dumps(obj, sort_keys=True)}")
            if blocks.get(cut) != qh:
                bad.append(f"{what}: human differs:\n--- qemu-img\n{qh}--- pupa\n"
                           f"{blocks.get(cut)}")
            if cut in jerrors or cut in herrors:
                bad.append(f"{what}: an error line for an image that was inspected")
            ok += 1
        else:
            want = f"Could not open '{cut}': "
            if set(obj) != ERROR_KEYS or not obj["error"].startswith(want) or \
                    (obj["error-class"], obj["retryable"]) != ("refused", False):
                bad.append(f"{what}: qemu-img fails ({qerr}), pupa: {json.dumps(obj)[:300]}")
                continue
            reason = obj["error"][len(want):]
            if "\n" in reason or not reason:
                bad.append(f"{what}: error is not one line: {obj['error']!r}")
            if jerrors.get(cut) != reason or herrors.get(cut) != reason:
                bad.append(f"{what}: stderr and JSON errors differ: {jerrors.get(cut)!r} "
                           f"{herrors.get(cut)!r} {reason!r}")
            if cut in blocks:
                bad.append(f"{what}: human output for a refused image")
            # qemu-img's own words where qemu-img says why
            if reason != qerr.replace(f"Could not open '{cut}': ", "", 1):
                bad.append(f"{what}: pupa says {reason!r}, qemu-img says {qerr!r}")
            refused += 1
    print(f"{len(cuts)} cuts: {ok} inspected like qemu-img, {refused} refused like qemu-img, "
          f"{len(bad)} mismatches; pupa {tp:.1f} s for 2 batches, total "
          f"{time.monotonic() - t0:.1f} s")
    for b in bad[:40]:
        print("MISMATCH " + b)
    if bad:
        fail(f"{len(bad)} of {len(cuts)} cuts differ from qemu-img")
    print(f"PASS: truncation shard {shard} ({accel})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
