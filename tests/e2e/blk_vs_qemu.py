#!/usr/bin/python3
"""blk_vs_qemu.py: the block drivers against qemu-img on every image of a corpus.

usage: blk_vs_qemu.py [--formats=F,F...] [--sha-max=BYTES] [--no-ranges] [--only=PREFIX,...]
                      CORPUS_DIR COMMAND...

For every image in CORPUS_DIR whose format (as qemu-img probes it) has a block
driver (--formats), with its backing chain given explicitly (nearest first, as
qemu-img info --backing-chain resolves it):
  - COMMAND map --output=human|json IMAGE prints exactly what qemu-img map prints
    (stdout byte for byte, the same exit status, the same error line);
  - COMMAND map --start-offset/--max-length on images with data (not with --no-ranges);
  - COMMAND read --virtual --sha256 IMAGE gives the SHA-256 of qemu-img convert -O
    raw IMAGE (images up to --sha-max virtual bytes).
COMMAND is pupa-blkmap (the hosted drivers) or pupa (the guest); the backing
files are passed as --backing=FILE. Exit 0 when all agree, 1 otherwise, 77 without
qemu-img."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

DRIVERS = "raw,qcow2,qcow,qed,luks"


def run(cmd, timeout=600):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def error_lines(stderr):
    """stderr lines without the program's prefix (qemu-img: / pupa: )."""
    out = []
    for line in stderr.splitlines():
        for prefix in ("qemu-img: ", "pupa: "):
            if line.startswith(prefix):
                line = line[len(prefix):]
        if line.strip():
            out.append(line)
    return out


# pupa's own refusals where qemu-img opens a file the image names (a backing file
# not given with --backing, an external data file): exit 1 with pupa's reason
# whatever qemu-img does (README, "Limits")
PUPA_REFUSALS = ("pupa reads it only when it is named with --backing=FILE",
                 "pupa does not open files an image names")


def pupa_refused(p):
    """pupa refused to open a file the image names (qemu-img may have opened it)."""
    pe = error_lines(p[2])[-1:]
    return p[0] == 1 and bool(pe) and any(r in pe[0] for r in PUPA_REFUSALS)


def same_error(q, p):
    """The same exit status and error: pupa's line ends with qemu-img's (it may name the
    image first)."""
    if pupa_refused(p):
        return True
    if q[0] != p[0]:
        return False
    if q[0] == 0:
        return True
    qe, pe = error_lines(q[2])[-1:], error_lines(p[2])[-1:]
    return bool(qe) and bool(pe) and pe[0].endswith(qe[0])


def chain_of(path):
    rc, out, _ = run(["qemu-img", "info", "--backing-chain", "--output=json", path])
    if rc != 0:
        return None, []
    layers = json.loads(out)
    fmt = layers[0]["format"]
    backing = []
    for layer in layers[:-1]:
        b = layer.get("full-backing-filename")
        if not b or not os.path.exists(b):
            break
        backing.append(b)
    return fmt, backing


def tool_cmd(command, op, path, backing, extra):
    """The command line for the tool: pupa-blkmap takes --sha256 for the digest."""
    base = os.path.basename(command[0])
    args = [f"--backing={b}" for b in backing] + extra
    if base == "pupa-blkmap":
        if op == "read":
            return command + ["--sha256"] + args + [path]
        return command + args + [path]
    if op == "read":
        return command[:1] + ["read", "--virtual", "--sha256"] + command[1:] + args + [path]
    return command[:1] + ["map"] + command[1:] + args + [path]


def main(argv):
    formats = DRIVERS.split(",")
    sha_max = 256 << 20
    ranges = True
    only = ("",)
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt.startswith("--formats="):
            formats = opt.split("=", 1)[1].split(",")
        elif opt.startswith("--sha-max="):
            sha_max = int(opt.split("=", 1)[1])
        elif opt == "--no-ranges":
            ranges = False
        elif opt.startswith("--only="):
            only = tuple(opt.split("=", 1)[1].split(","))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not shutil.which("qemu-img"):
        print("SKIP: qemu-img not found (apt-get install qemu-utils)")
        return 77
    corpus, command = argv[0], argv[1:]
    failures, checked = [], 0
    tmp = tempfile.mkdtemp(prefix="blk-vs-qemu-")
    try:
        for name in sorted(os.listdir(corpus)):
            path = os.path.join(corpus, name)
            if not os.path.isfile(path) or not name.startswith(only):
                continue
            fmt, backing = chain_of(path)
            if fmt is None:
                # qemu-img cannot open it: pupa must refuse it too
                fmt = "?"
            if fmt != "?" and fmt not in formats:
                continue
            info = json.loads(run(["qemu-img", "info", "--output=json", path])[1] or "{}")
            size = info.get("virtual-size", 0)
            if fmt == "qcow" and size > (64 << 30):
                continue  # qemu's qcow v1 block status takes one cluster per call: hours
            checked += 1
            cases = [["--output=human"], ["--output=json"]]
            if ranges and size and (info.get("actual-size", 0) > 65536 or
                                    name.startswith("contents")):
                cases.append(["--output=json", f"--start-offset={size // 3}"])
                cases.append(["--output=human", f"--start-offset={size // 5 + 3}",
                              f"--max-length={size // 2}"])
            for extra in cases:
                q = run(["qemu-img", "map"] + extra + [path])
                p = run(tool_cmd(command, "map", path, backing, extra))
                if not same_error(q, p) or (q[1] != p[1] and not pupa_refused(p)):
                    failures.append(f"{name} map {' '.join(extra)}: qemu-img rc {q[0]} "
                                    f"{q[1][:200]!r} {error_lines(q[2])} / tool rc {p[0]} "
                                    f"{p[1][:200]!r} {error_lines(p[2])}")
            if fmt == "?" or not size or size > sha_max:
                continue
            raw = os.path.join(tmp, "out.raw")
            rc, _, err = run(["qemu-img", "convert", "-O", "raw", path, raw])
            p = run(tool_cmd(command, "read", path, backing, []))
            if pupa_refused(p):
                continue
            if rc != 0:
                if p[0] == 0:
                    failures.append(f"{name} read: qemu-img fails ({err.strip()}), the tool "
                                    "does not")
                continue
            with open(raw, "rb") as f:
                want = hashlib.sha256(f.read()).hexdigest()
            os.unlink(raw)
            got = p[1].decode(errors="replace").split(" ")[0]
            if p[0] != 0 or got != want:
                failures.append(f"{name} read: sha256 {want} / tool rc {p[0]} {got} "
                                f"{error_lines(p[2])}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    print(f"{checked - len({f.split(' ')[0] for f in failures})}/{checked} images agree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
