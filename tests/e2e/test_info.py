#!/usr/bin/python3
"""test_info.py: pupa info end to end: safety findings on crafted images (strace proves named files stay closed), --format, --require-safe, exit codes.

usage: test_info.py PUPA ACCEL CASE WORKDIR

Every case builds its images with qemu-img (and small byte patches) in WORKDIR,
runs `pupa info --accel=ACCEL` on them and compares with `qemu-img info` on the
same file: human output without pupa's safety block byte for byte, JSON without
"safety" as parsed objects. Findings are checked by their exact check names,
exit codes exactly (0 inspected, 1 not inspected, 2 usage, 3 unsafe with
--require-safe)."""
import hashlib
import json
import os
import re
import secrets
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pupatest import (ERROR_KEYS, error_object, expect, fail, need_accel,  # noqa: E402
                      need_tool, skip)

PUPA = ACCEL = WORK = None
# failure markers of the machine itself: none may ever appear
CRASH_WORDS = ("guest crashed", "triple fault", "worker", "protocol error", "sandbox",
               "guest exited with status", "timeout", "interrupted", "Sanitizer", "runtime error")


# ---------------------------------------------------------------- helpers

def qemu_img(*args, check=True):
    p = subprocess.run(["qemu-img"] + list(args), capture_output=True, cwd=WORK)
    if check and p.returncode != 0:
        fail(f"qemu-img {' '.join(args)} failed: {p.stderr.decode(errors='replace').strip()}")
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), p.stderr.decode(
        "utf-8", "surrogateescape")


def pupa(*args, timeout=120):
    cmd = [PUPA, "info", f"--accel={ACCEL}"] + list(args)
    p = subprocess.run(cmd, capture_output=True, cwd=WORK, timeout=timeout)
    out = p.stdout.decode("utf-8", "surrogateescape")
    err = p.stderr.decode("utf-8", "surrogateescape")
    for w in CRASH_WORDS:
        expect(w not in err, f"pupa {' '.join(args)}: stderr mentions {w!r}: {err!r}")
    return p.returncode, out, err


def qemu_error(err):
    """The last line of qemu-img's stderr without its 'qemu-img: ' prefix (dmg prints
    module warnings first)."""
    lines = [ln for ln in err.splitlines() if ln.startswith("qemu-img: ")]
    expect(lines, f"qemu-img printed no error line: {err!r}")
    return lines[-1][len("qemu-img: "):]


def split_safety(text):
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("safety: "):
            return "".join(lines[:i]), "".join(lines[i:])
    fail(f"no safety block in pupa's human output:\n{text}")


def drop_disk_size(text):
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith("disk size: "))


def write_at(path, off, data):
    with open(os.path.join(WORK, path), "r+b") as f:
        f.seek(off)
        f.write(data)


def read_at(path, off, n):
    with open(os.path.join(WORK, path), "rb") as f:
        f.seek(off)
        return f.read(n)


def settle(img):
    """fsync: ext4 allocates (and counts in st_blocks) at writeback, and qemu-img and
    pupa must see the same "disk size"."""
    fd = os.open(os.path.join(WORK, img), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_safety_block(block, safety, img):
    """The human safety block says exactly what the JSON says."""
    want = "safety: safe\n" if safety["safe"] else "safety: UNSAFE\n" + "".join(
        f"    {f['check']}: {f['detail']}\n" for f in safety["findings"])
    expect(block == want, f"{img}: human safety block\n{block!r}\ndoes not match the JSON "
           f"findings\n{want!r}")


def inspect(img, checks, fmt_args=(), qemu_args=None, external=False):
    """Run pupa and qemu-img on img; both must succeed and agree. checks: the exact
    sorted list of finding names pupa must report. external: the image's metadata
    names other files (qemu-img adds their size to disk size): compare without
    actual-size. Also asserts the exit codes with and without --require-safe.
    Returns pupa's JSON object (with "safety")."""
    qemu_args = list(fmt_args) if qemu_args is None else qemu_args
    settle(img)
    _, qh, _ = qemu_img("info", *qemu_args, img)
    _, qj, _ = qemu_img("info", "--output=json", *qemu_args, img)
    rc, ph, err = pupa(*fmt_args, img)
    expect(rc == 0, f"pupa info {img}: exit {rc}, want 0: {err.strip()}")
    expect(err == "", f"pupa info {img}: unexpected stderr {err!r}")
    body, block = split_safety(ph)
    if external:
        body, qh = drop_disk_size(body), drop_disk_size(qh)
    expect(body == qh, f"{img}: human output differs from qemu-img:\n--- qemu-img\n{qh}"
           f"--- pupa\n{body}")
    rc, pj, err = pupa("--output=json", *fmt_args, img)
    expect(rc == 0, f"pupa info --output=json {img}: exit {rc}: {err.strip()}")
    obj = json.loads(pj)
    expect(pj.startswith("{\n    \""), f"{img}: single-image JSON is not qemu's pretty layout")
    safety = obj.pop("safety", None)
    qobj = json.loads(qj)
    if external:
        obj.pop("actual-size", None)
        qobj.pop("actual-size", None)
    expect(obj == qobj, f"{img}: JSON differs from qemu-img:\nqemu-img {json.dumps(qobj, indent=1)}"
           f"\npupa {json.dumps(obj, indent=1)}")
    expect(isinstance(safety, dict) and set(safety) == {"safe", "findings"},
           f"{img}: bad safety object {safety!r}")
    got = sorted(f["check"] for f in safety["findings"])
    expect(got == sorted(checks), f"{img}: findings {got}, want {sorted(checks)}: "
           f"{safety['findings']}")
    expect(safety["safe"] == (not checks), f"{img}: safe={safety['safe']} with findings {got}")
    for f in safety["findings"]:
        expect(set(f) == {"check", "detail"} and f["detail"], f"{img}: bad finding {f!r}")
    check_safety_block(block, safety, img)
    # exit codes: 0 without --require-safe (above), 3 with it when unsafe, 0 when safe
    want = 3 if checks else 0
    for extra in ([], ["--output=json"]):
        rc, out, err = pupa("--require-safe", *extra, *fmt_args, img)
        expect(rc == want, f"pupa info --require-safe {' '.join(extra)} {img}: exit {rc}, "
               f"want {want}: {err.strip()}")
        expect(out == (ph if not extra else pj), f"{img}: --require-safe changed stdout")
    obj["safety"] = safety
    return obj


def finding(obj, check):
    found = [f["detail"] for f in obj["safety"]["findings"] if f["check"] == check]
    expect(found, f"no {check} finding in {obj['safety']}")
    return found


STRACE_SET = "trace=open,openat,openat2,creat,stat,lstat,newfstatat,statx,readlink,readlinkat," \
             "access,faccessat,faccessat2,truncate,chdir,execve,mkdir,unlink,rename,symlink,link"


def strace_proof(img, forbidden, fmt_args=(), want_stdout=None):
    """Run pupa under strace -f (following the forked workers), sandboxed and with
    --no-sandbox, human and JSON: no traced file-name system call may name any of
    the forbidden paths (or anything under them). Positive controls: the trace
    shows pupa opening the image itself, and more than one process."""
    need_tool("strace")
    n = 0
    for sandbox in ([], ["--no-sandbox"]):
        for output in ([], ["--output=json"]):
            n += 1
            log = os.path.join(WORK, f"strace-{os.path.basename(img)}-{n}.log")
            cmd = ["strace", "-f", "-s", "4096", "-e", STRACE_SET, "-o", log, PUPA, "info",
                   f"--accel={ACCEL}"] + sandbox + output + list(fmt_args) + [img]
            # LeakSanitizer (ASan builds) cannot run under a tracer
            env = dict(os.environ)
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                         "detect_leaks=0"]))
            p = subprocess.run(cmd, capture_output=True, cwd=WORK, timeout=300, env=env)
            expect(p.returncode == 0, f"{' '.join(cmd)}: exit {p.returncode}: "
                   f"{p.stderr.decode(errors='replace')}")
            if want_stdout is not None and not output:
                expect(p.stdout.decode() == want_stdout, "output under strace differs")
            with open(log, encoding="utf-8", errors="replace") as f:
                trace = f.read()
            for path in forbidden:
                bad = [ln for ln in trace.splitlines() if path in ln]
                expect(not bad, f"pupa {' '.join(sandbox + output)} touched {path}:\n" +
                       "\n".join(bad))
            expect(re.search(r'open(at)?\(.*"' + re.escape(img) + '"', trace),
                   f"strace log shows no open of the image itself: tracing did not work\n{trace}")
            pids = {ln.split()[0] for ln in trace.splitlines() if ln[:1].isdigit()}
            expect(len(pids) >= 2, f"strace saw only {pids}: the worker was not followed")


def trap_dir():
    """A directory name that does not exist: anything that stats or opens a path
    under it shows up in the trace, and nothing may create it."""
    d = f"/tmp/pupa-trap-{secrets.token_hex(8)}"
    expect(not os.path.exists(d), f"{d} exists")
    return d


# ---------------------------------------------------------------- cases

def case_safe():
    """Ordinary images made by qemu-img are safe: no finding, --require-safe exits 0."""
    imgs = []
    for fmt, opts in (("qcow2", []), ("qcow2", ["-o", "compat=0.10"]), ("qed", []),
                      ("vmdk", []), ("vmdk", ["-o", "subformat=streamOptimized"]),
                      ("vpc", []), ("vhdx", []), ("vdi", []), ("parallels", []), ("qcow", [])):
        img = f"safe-{len(imgs)}.{fmt}"
        qemu_img("create", "-q", "-f", fmt, *opts, img, "1G")
        imgs.append(img)
    with open(os.path.join(WORK, "safe-raw.img"), "wb") as f:
        f.truncate(4 << 20)
    imgs.append("safe-raw.img")
    for img in imgs:
        inspect(img, [])
    # a batch of safe images: 0 with --require-safe; one unsafe image among them: 3
    rc, out, err = pupa("--require-safe", "--output=json", "-j2", *imgs)
    expect(rc == 0, f"batch of safe images with --require-safe: exit {rc}: {err}")
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", "/etc/passwd", "-F", "raw", "unsafe.qcow2",
             "1G")
    rc, out, err = pupa("--require-safe", "--output=json", "-j2", *imgs, "unsafe.qcow2")
    expect(rc == 3, f"batch with one unsafe image, --require-safe: exit {rc}, want 3: {err}")
    lines = [json.loads(ln) for ln in out.splitlines()]
    expect([o["filename"] for o in lines] == imgs + ["unsafe.qcow2"], "batch order")
    expect([o["safety"]["safe"] for o in lines] == [True] * len(imgs) + [False],
           "batch safety verdicts")
    rc, out, err = pupa("--output=json", "-j2", *imgs, "unsafe.qcow2")
    expect(rc == 0, f"the same batch without --require-safe: exit {rc}, want 0")


def case_backing_passwd():
    """A qcow2 whose backing file is /etc/passwd: UNSAFE, and strace proves nothing
    opened or stat'ed /etc/passwd."""
    qemu_img("create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", "passwd.qcow2", "10G")
    obj = inspect("passwd.qcow2", ["backing-file"])
    expect(obj["backing-filename"] == "/etc/passwd", f"backing-filename {obj['backing-filename']}")
    expect(obj["full-backing-filename"] == "/etc/passwd", "full-backing-filename")
    expect(obj["backing-filename-format"] == "raw", "backing-filename-format")
    expect(any("/etc/passwd" in d for d in finding(obj, "backing-file")), "detail names the file")
    _, human, _ = pupa("passwd.qcow2")
    strace_proof("passwd.qcow2", ["/etc/passwd"], want_stdout=human)


def case_backing_trap():
    """Backing files at trap paths that do not exist (absolute, and relative to a
    sub-directory): full-backing-filename by path arithmetic exactly like qemu-img,
    and no system call ever names the trap."""
    trap = trap_dir()
    os.makedirs(os.path.join(WORK, "sub"), exist_ok=True)
    rel = f"{os.path.basename(trap)}-rel/base.raw"
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", f"{trap}/trap", "-F", "raw", "trap.qcow2",
             "1G")
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", rel, "-F", "qcow2", "sub/trap-rel.qcow2",
             "1G")
    # qed and qcow (v1) name backing files too
    qemu_img("create", "-q", "-f", "qed", "-u", "-b", f"{trap}/qed-base", "-F", "raw", "trap.qed",
             "1G")
    qemu_img("create", "-q", "-f", "qcow", "-u", "-b", f"{trap}/qcow-base", "-F", "raw",
             "trap.qcow", "1G")
    obj = inspect("trap.qcow2", ["backing-file"])
    expect(obj["full-backing-filename"] == f"{trap}/trap", "absolute full-backing-filename")
    obj = inspect("sub/trap-rel.qcow2", ["backing-file"])
    expect(obj["backing-filename"] == rel, "relative backing-filename")
    expect(obj["full-backing-filename"] == f"sub/{rel}", f"relative full-backing-filename "
           f"{obj['full-backing-filename']}")
    obj = inspect("trap.qed", ["backing-file"])
    expect(obj["full-backing-filename"] == f"{trap}/qed-base", "qed full-backing-filename")
    obj = inspect("trap.qcow", ["backing-file"])
    expect(obj["full-backing-filename"] == f"{trap}/qcow-base", "qcow full-backing-filename")
    for img in ("trap.qcow2", "trap.qed", "trap.qcow"):
        strace_proof(img, [trap])
    strace_proof("sub/trap-rel.qcow2", [os.path.basename(trap)])
    expect(not os.path.exists(trap), f"{trap} was created")
    expect(not os.path.exists(os.path.join(WORK, "sub", os.path.dirname(rel))),
           "the relative trap directory was created")


VMDK_DESC = """# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW {sectors} FLAT "{extent}" 0

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.geometry.cylinders = "2"
ddb.geometry.heads = "16"
ddb.geometry.sectors = "63"
ddb.adapterType = "ide"
"""


def case_vmdk_hostname():
    """A hand-written monolithicFlat descriptor whose extent is /etc/hostname: pupa
    reports the descriptor like qemu-img (which opens /etc/hostname; pupa does not,
    so disk size is compared without the extent), UNSAFE with external-extent, and
    strace proves /etc/hostname was never opened or stat'ed."""
    if not os.path.isfile("/etc/hostname"):
        skip("/etc/hostname does not exist here")
    with open(os.path.join(WORK, "hostname.vmdk"), "w") as f:
        f.write(VMDK_DESC.format(sectors=2048, extent="/etc/hostname"))
    obj = inspect("hostname.vmdk", ["external-extent"], external=True)
    expect(obj["format"] == "vmdk", "format")
    ext = obj["format-specific"]["data"]["extents"]
    expect([e["filename"] for e in ext] == ["/etc/hostname"], f"extents {ext}")
    expect(any("/etc/hostname" in d for d in finding(obj, "external-extent")), "detail")
    strace_proof("hostname.vmdk", ["/etc/hostname"])
    # an extent at a trap path: qemu-img cannot open it (it needs the file), pupa
    # reports what the descriptor says and never looks at the path
    trap = trap_dir()
    with open(os.path.join(WORK, "trap.vmdk"), "w") as f:
        f.write(VMDK_DESC.format(sectors=4096, extent=f"{trap}/flat"))
    qrc, _, qerr = qemu_img("info", "trap.vmdk", check=False)
    expect(qrc != 0, "qemu-img opened a vmdk whose extent does not exist?")
    rc, out, err = pupa("--output=json", "trap.vmdk")
    expect(rc == 0, f"pupa info trap.vmdk: exit {rc}: {err}")
    obj = json.loads(out)
    expect(obj["virtual-size"] == 4096 * 512, f"virtual size {obj['virtual-size']}")
    expect([f["check"] for f in obj["safety"]["findings"]] == ["external-extent"],
           f"findings {obj['safety']}")
    rc, _, _ = pupa("--require-safe", "trap.vmdk")
    expect(rc == 3, f"--require-safe trap.vmdk: exit {rc}")
    strace_proof("trap.vmdk", [trap])
    expect(not os.path.exists(trap), f"{trap} was created")
    # a relative extent name (resolved against the descriptor's directory by qemu)
    rel = f"{os.path.basename(trap)}-rel/flat.img"
    with open(os.path.join(WORK, "trap-rel.vmdk"), "w") as f:
        f.write(VMDK_DESC.format(sectors=8, extent=rel))
    rc, out, err = pupa("--output=json", "trap-rel.vmdk")
    expect(rc == 0, f"pupa info trap-rel.vmdk: exit {rc}: {err}")
    obj = json.loads(out)
    expect([e["filename"] for e in obj["format-specific"]["data"]["extents"]] == [rel],
           f"relative extent: {obj['format-specific']}")
    expect([f["check"] for f in obj["safety"]["findings"]] == ["external-extent"],
           f"findings {obj['safety']}")
    strace_proof("trap-rel.vmdk", [os.path.basename(trap)])


def case_data_file():
    """qcow2 with an external data file: data-file finding; pupa never opens the data
    file (strace), and with a data file at a trap path it still reports it."""
    open(os.path.join(WORK, "data.raw"), "wb").close()
    data = os.path.join(WORK, "data.raw")
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={data}", "df.qcow2", "64M")
    obj = inspect("df.qcow2", ["data-file"])
    expect(obj["format-specific"]["data"]["data-file"] == data, "data-file in format-specific")
    expect(any(data in d for d in finding(obj, "data-file")), "detail names the data file")
    strace_proof("df.qcow2", [data])
    # a data file and a backing file at the same time: two findings
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={data}",
             "-u", "-b", "/etc/passwd", "-F", "raw", "df2.qcow2", "64M")
    inspect("df2.qcow2", ["backing-file", "data-file"])
    strace_proof("df2.qcow2", [data, "/etc/passwd"])
    trap = trap_dir()
    shutil.copy(os.path.join(WORK, "df.qcow2"), os.path.join(WORK, "df-trap.qcow2"))
    # point the data file name extension at the trap path (same length: patch in place)
    raw = read_at("df-trap.qcow2", 0, 65536)
    i = raw.find(data.encode())
    expect(i > 0, "data file name not found in the header")
    name = (trap + "/d").encode()
    name = name + b"x" * (len(data) - len(name)) if len(name) < len(data) else name[:len(data)]
    write_at("df-trap.qcow2", i, name)
    rc, out, err = pupa("--output=json", "df-trap.qcow2")
    expect(rc == 0, f"pupa info df-trap.qcow2: exit {rc}: {err}")
    obj = json.loads(out)
    expect(obj["format-specific"]["data"]["data-file"] == name.decode(), "patched data file")
    expect([f["check"] for f in obj["safety"]["findings"]] == ["data-file"], "findings")
    strace_proof("df-trap.qcow2", [trap])


def iso_pvd():
    """An ISO 9660 primary volume descriptor and set terminator (sectors 16, 17)."""
    pvd = bytearray(2048)
    pvd[0] = 1
    pvd[1:6] = b"CD001"
    pvd[6] = 1
    pvd[40:72] = b"PUPA_POLYGLOT".ljust(32)
    struct.pack_into("<I", pvd, 80, 16)
    struct.pack_into(">I", pvd, 84, 16)
    term = bytearray(2048)
    term[0] = 255
    term[1:6] = b"CD001"
    term[6] = 1
    return bytes(pvd) + bytes(term)


def case_polyglot():
    """Polyglots: a raw image whose first sector is a vmdk descriptor (forced with
    -f raw), an ISO 9660 volume descriptor in the unused part of a qcow2's header
    cluster (0x8000: the qcow2 is also a valid ISO), a GPT header at 512 inside a qcow2
    and a qed, an MBR boot signature inside a compat=0.10 qcow2; the same bytes in
    a raw image are no finding."""
    # vmdk descriptor as the first sector of a raw disk
    with open(os.path.join(WORK, "desc.img"), "wb") as f:
        f.write(VMDK_DESC.format(sectors=2048, extent="/etc/hostname").encode())
        f.truncate(1 << 20)
    obj = inspect("desc.img", ["polyglot"], fmt_args=["-f", "raw"])
    expect(obj["format"] == "raw", "forced raw")
    expect(any("vmdk" in d for d in finding(obj, "polyglot")), "detail names vmdk")
    # probed, it is what qemu-img says it is (a vmdk descriptor naming /etc/hostname)
    _, qj, _ = qemu_img("info", "--output=json", "desc.img")
    rc, pj, _ = pupa("--output=json", "desc.img")
    expect(rc == 0 and json.loads(pj)["format"] == json.loads(qj)["format"] == "vmdk",
           "probed format of desc.img")
    strace_proof("desc.img", ["/etc/hostname"], fmt_args=["-f", "raw"])

    # ISO 9660 inside a qcow2: qemu-img still sees the same qcow2
    qemu_img("create", "-q", "-f", "qcow2", "iso.qcow2", "1G")
    _, before, _ = qemu_img("info", "iso.qcow2")
    expect(read_at("iso.qcow2", 0x200, 0x10000 - 0x200) == bytes(0x10000 - 0x200),
           "the qcow2 header cluster is not empty after 0x200: layout changed?")
    write_at("iso.qcow2", 0x8000, iso_pvd())
    _, after, _ = qemu_img("info", "iso.qcow2")
    expect(before == after, "the ISO descriptor changed qemu-img's view")
    obj = inspect("iso.qcow2", ["polyglot"])
    expect(any("ISO 9660" in d for d in finding(obj, "polyglot")), "detail names ISO 9660")

    # GPT header at LBA 1 inside a qcow2 and a qed
    for fmt in ("qcow2", "qed"):
        img = f"gpt.{fmt}"
        qemu_img("create", "-q", "-f", fmt, img, "1G")
        expect(read_at(img, 512, 512) == bytes(512), f"{img}: bytes 512..1023 are in use")
        write_at(img, 512, b"EFI PART" + struct.pack("<II", 0x10000, 92))
        obj = inspect(img, ["polyglot"])
        expect(any("GPT" in d for d in finding(obj, "polyglot")), f"{img}: detail names GPT")

    # MBR boot signature inside a compat=0.10 qcow2 (its header ends at 72)
    qemu_img("create", "-q", "-f", "qcow2", "-o", "compat=0.10", "mbr.qcow2", "1G")
    expect(read_at("mbr.qcow2", 72, 512 - 72) == bytes(512 - 72), "mbr.qcow2: header area in use")
    write_at("mbr.qcow2", 510, b"\x55\xaa")
    obj = inspect("mbr.qcow2", ["polyglot"])
    expect(any("MBR" in d for d in finding(obj, "polyglot")), "detail names MBR")

    # all of them at once: three polyglot findings
    qemu_img("create", "-q", "-f", "qcow2", "all.qcow2", "1G")
    write_at("all.qcow2", 512, b"EFI PART")
    write_at("all.qcow2", 0x8000, iso_pvd())
    inspect("all.qcow2", ["polyglot", "polyglot"])

    # the same signatures in a raw disk are what raw disks hold: safe
    with open(os.path.join(WORK, "disk.raw"), "wb") as f:
        f.truncate(1 << 20)
    write_at("disk.raw", 510, b"\x55\xaa")
    write_at("disk.raw", 512, b"EFI PART")
    write_at("disk.raw", 0x8000, iso_pvd())
    inspect("disk.raw", [])

    # a qcow2 forced to raw probes as qcow2: polyglot, output equals qemu-img -f raw
    # (a raw disk may hold a file system: the ISO descriptor is no finding for raw)
    obj = inspect("iso.qcow2", ["polyglot"], fmt_args=["-f", "raw"])
    expect(any("qcow2" in d for d in finding(obj, "polyglot")), "forced raw names qcow2")


def case_corrupt():
    """qcow2 with the corrupt bit (incompatible feature bit 1): still inspected
    exactly like qemu-img (corrupt: true), finding "corrupt"."""
    qemu_img("create", "-q", "-f", "qcow2", "corrupt.qcow2", "1G")
    (incompat,) = struct.unpack(">Q", read_at("corrupt.qcow2", 72, 8))
    write_at("corrupt.qcow2", 72, struct.pack(">Q", incompat | 2))
    obj = inspect("corrupt.qcow2", ["corrupt"])
    expect(obj["format-specific"]["data"]["corrupt"] is True, "corrupt: true")


def luks1_header(path, size):
    """A LUKS1 header laid out the way qemu-img writes it (aes-xts-plain64, sha256,
    one active key slot), key material left empty: qemu-img info never decrypts,
    and qemu-img's own PBKDF calibration is unreliable on some machines."""
    h = bytearray(592)
    h[0:6] = b"LUKS\xba\xbe"
    struct.pack_into(">H", h, 6, 1)
    h[8:40] = b"aes".ljust(32, b"\0")
    h[40:72] = b"xts-plain64".ljust(32, b"\0")
    h[72:104] = b"sha256".ljust(32, b"\0")
    split = -(-64 * 4000 // 512)
    split = -(-split // 8) * 8
    struct.pack_into(">II", h, 104, 8 + 8 * split, 64)
    struct.pack_into(">I", h, 164, 1000)
    h[168:208] = b"6d3e4b1a-7c2f-4e55-9a0b-1f2e3d4c5b6a".ljust(40, b"\0")
    for i in range(8):
        on = i == 0
        struct.pack_into(">II", h, 208 + 48 * i, 0x00AC71F3 if on else 0x0000DEAD,
                         200000 if on else 0)
        struct.pack_into(">II", h, 208 + 48 * i + 40, 8 + i * split, 4000)
    with open(os.path.join(WORK, path), "wb") as f:
        f.write(h)
        f.truncate((8 + 8 * split) * 512 + size)


def case_encrypted():
    """LUKS, AES qcow2 and AES qcow: "encrypted" finding, output like qemu-img."""
    luks1_header("crafted.luks", 16 << 20)
    obj = inspect("crafted.luks", ["encrypted"])
    expect(obj["format"] == "luks", "format luks")
    qemu_img("create", "-q", "-f", "qcow2", "--object", "secret,id=s0,data=pupa", "-o",
             "encrypt.format=aes,encrypt.key-secret=s0", "aes.qcow2", "64M")
    obj = inspect("aes.qcow2", ["encrypted"])
    expect(obj.get("encrypted") is True, "encrypted: true")
    qemu_img("create", "-q", "-f", "qcow", "--object", "secret,id=s0,data=pupa", "-o",
             "encryption=on,encrypt.key-secret=s0", "aes.qcow", "64M")
    inspect("aes.qcow", ["encrypted"])
    # qemu-img's own LUKS (as a file and inside qcow2): its PBKDF calibration fails at
    # random on some machines ("Unable to get accurate CPU usage"), so a few tries
    made = 0
    for fmt, opts, img in (("luks", "key-secret=s0,iter-time=100", "made.luks"),
                           ("qcow2", "encrypt.format=luks,encrypt.key-secret=s0,"
                            "encrypt.iter-time=100", "luks.qcow2")):
        for _ in range(6):
            rc, _, _ = qemu_img("create", "-q", "-f", fmt, "--object", "secret,id=s0,data=pupa",
                                "-o", opts, img, "16M", check=False)
            if rc == 0:
                break
        if rc == 0:
            made += 1
            inspect(img, ["encrypted"])
        else:
            print(f"note: qemu-img could not create {img} here (PBKDF calibration); "
                  "the crafted LUKS header covers the format")
    print(f"{made}/2 qemu-img LUKS images made and checked")


def case_out_of_range():
    """Header values out of range where qemu-img still opens the image: a qcow2 L1
    table past EOF, a qcow2 refcount table inside the header, a vdi block map entry
    whose data lies past EOF. Output like qemu-img, finding "out-of-range"."""
    qemu_img("create", "-q", "-f", "qcow2", "l1.qcow2", "1G")
    write_at("l1.qcow2", 40, struct.pack(">Q", 0x40000000))
    obj = inspect("l1.qcow2", ["out-of-range"])
    expect(any("L1 table" in d for d in finding(obj, "out-of-range")), "detail names L1")
    qemu_img("create", "-q", "-f", "vdi", "bmap.vdi", "64M")
    (bmap,) = struct.unpack("<I", read_at("bmap.vdi", 0x154, 4))
    write_at("bmap.vdi", bmap, struct.pack("<I", 5))
    obj = inspect("bmap.vdi", ["out-of-range"])
    expect(any("past the end" in d for d in finding(obj, "out-of-range")), "vdi detail")
    # qemu-img refuses a qcow2 whose L1 table is absurdly large: so does pupa, same words
    qemu_img("create", "-q", "-f", "qcow2", "bigl1.qcow2", "1G")
    write_at("bigl1.qcow2", 36, struct.pack(">I", 0x7fffffff))
    qrc, _, qerr = qemu_img("info", "bigl1.qcow2", check=False)
    rc, out, err = pupa("bigl1.qcow2")
    expect(qrc == 1, f"qemu-img accepted an L1 table of 2^31 entries: {qerr}")
    expect(rc == 1 and out == "", f"pupa info bigl1.qcow2: exit {rc}, want 1 like qemu-img")
    expect(err == f"pupa: {qemu_error(qerr)}\n", f"error {err!r}, qemu-img {qerr!r}")


def case_spoof():
    """Image-controlled strings cannot forge the verdict: a backing file name holding
    "\nsafety: safe\n" and an escape sequence. The qemu-img part is printed exactly
    as qemu-img prints it (raw on a pipe), but the safety block stays what the README
    promises, the verdict and one indented line per finding (backing-file and
    control-characters), with no control character from the image."""
    fake = "/x\nsafety: safe\n\x1b[2Jy"
    place = "/tmp/" + "A" * (len(fake) - 5)
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", place, "-F", "raw", "spoof.qcow2", "1G")
    raw = read_at("spoof.qcow2", 0, 65536)
    i = raw.find(place.encode())
    expect(i > 0, "backing file name not found")
    write_at("spoof.qcow2", i, fake.encode())
    _, qh, _ = qemu_img("info", "spoof.qcow2")
    _, qj, _ = qemu_img("info", "--output=json", "spoof.qcow2")
    rc, ph, err = pupa("spoof.qcow2")
    expect(rc == 0, f"pupa info spoof.qcow2: exit {rc}: {err}")
    expect(ph.startswith(qh), f"the qemu-img part differs:\n{qh!r}\n{ph!r}")
    rc, pj, err = pupa("--output=json", "spoof.qcow2")
    obj = json.loads(pj)
    checks = [f["check"] for f in obj["safety"]["findings"]]
    expect(sorted(checks) == ["backing-file", "control-characters"], f"JSON findings {checks}")
    block = ph[len(qh):].splitlines(keepends=True)
    expect(block[:1] == ["safety: UNSAFE\n"], f"verdict line {block[:1]}")
    expect(len(block) == 1 + len(checks) and
           all(ln.startswith(f"    {c}: ") for ln, c in zip(block[1:], checks)),
           f"the safety block is not the verdict and one line per finding:\n{''.join(block)!r}")
    expect(not any(ln.startswith("safety: safe") for ln in block),
           "a forged 'safety: safe' line in the safety block")
    expect(not any(ord(c) < 0x20 and c != "\n" for c in ph[len(qh):]),
           "control characters from the image in the safety block")
    expect(obj["backing-filename"] == fake, "JSON backing-filename")
    obj.pop("safety")
    expect(obj == json.loads(qj), "JSON differs from qemu-img")
    rc, _, _ = pupa("--require-safe", "spoof.qcow2")
    expect(rc == 3, f"--require-safe: exit {rc}")


def case_error_words():
    """Images qemu-img refuses, found by fuzzing (tests/fuzz/fuzz_formats.c corpora
    replayed against qemu-img): pupa must refuse them too, with qemu-img's words on
    one line ("pupa: " + qemu-img's message), exit 1, nothing on stdout.
    - a vmdk whose capacity does not fit in bytes: qemu-img fails after opening it
      ("Can't get image size 'F': File too large", no "Could not open");
    - a cloop whose offsets table is cut by the end of the file inside an entry (the
      partial entry reads as its bytes then zeros: "invalid compressed block size");
    - a LUKS header whose slot 6 has 0 stripes and key offset 0 (qemu 7.2 checks the
      overlap with start + len arithmetic, so an empty slot overlaps nothing and the
      stripes check of slot 6 speaks first)."""
    qemu_img("create", "-q", "-f", "vmdk", "huge.vmdk", "1G")
    write_at("huge.vmdk", 12, struct.pack("<Q", 1 << 56))
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "images",
                          "samples", "cloop-v2.cloop")
    with open(sample, "rb") as f:
        head = f.read(128)
    with open(os.path.join(WORK, "partial.cloop"), "wb") as f:
        f.write(head + struct.pack(">IIQQ", 8192, 3, 0, 155) + b"\xcc\x3b\xd6")
    luks1_header("slot6.luks", 1 << 20)
    write_at("slot6.luks", 208 + 48 * 6 + 40, struct.pack(">II", 0, 0))
    bad = []
    for img in ("huge.vmdk", "partial.cloop", "slot6.luks"):
        qrc, _, qerr = qemu_img("info", img, check=False)
        expect(qrc == 1, f"qemu-img opened {img}")
        want = f"pupa: {qemu_error(qerr)}\n"
        for extra in ([], ["--output=json"]):
            rc, out, err = pupa(*extra, img)
            if (rc, out, err) != (1, "", want):
                bad.append(f"{img} {' '.join(extra)}: exit {rc}, stderr {err!r}, want {want!r}")
    for b in bad:
        print("MISMATCH " + b)
    expect(not bad, f"{len(bad)} refusals differ from qemu-img's")


def case_snapshots():
    """qcow2 snapshot tables up to qemu's limit of 65536 entries (empty entries in a
    crafted v2 image, 2.8 MB on disk): qemu-img lists them all (in about 2 s); pupa
    must print the same within its default timeout on both backends."""
    for n in (1000, 65536):
        img = f"snap{n}.qcow2"
        # v2, 64 KiB clusters, 1 GiB: L1 (8 entries) at 0x30000, refcount table at
        # 0x10000, n snapshot entries of 40 bytes (no id, no name) at 0x40000
        h = struct.pack(">4sIQIIQIIQQIIQ", b"QFI\xfb", 2, 0, 0, 16, 1 << 30, 0, 8, 0x30000,
                        0x10000, 1, n, 0x40000)
        with open(os.path.join(WORK, img), "wb") as f:
            f.write(h)
            f.truncate(0x40000 + n * 40)
        obj = inspect(img, [])
        expect(obj["format"] == "qcow2" and len(obj.get("snapshots", [])) == n,
               f"{img}: {len(obj.get('snapshots', []))} snapshots, want {n}")


# byte sequences in names (backing file, image file name) whose JSON escaping must be
# qemu's: its mod_utf8_codepoint() decides what one U+FFFD replaces
UTF8_CASES = {
    "ascii": b"plain",
    "valid-2-3-4": b"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
    "lone-continuation": b"\x80\xbf",
    "fe-ff": b"\xfe\xff",
    "truncated": b"a\xe2\x82",
    "missing-continuation": b"\xe2(\xa1",
    "overlong-2": b"\xc1\xbf",
    "overlong-3": b"\xe0\x80\xaf",
    "modified-utf8-nul": b"x\xc0\x80y",
    "surrogate": b"\xed\xa0\x80",
    "noncharacter-fffe": b"\xef\xbf\xbe",
    "noncharacter-fdd0": b"\xef\xb7\x90",
    "beyond-10ffff": b"\xf4\x90\x80\x80",
    "five-byte-partial": b"\xf9\xae\x9fA",
    "five-byte": b"\xf8\x88\x80\x80\x80",
    "six-byte": b"\xfc\x80\x80\x80\x80\x80",
    "controls": b"\x01\x1f\x7f",
}


def case_utf8():
    """Names that are not (or not plain) UTF-8, in a qcow2 backing file and in the
    image's own file name: the JSON is exactly qemu-img's (qemu's decoder picks how
    many bytes one U+FFFD replaces; noncharacters, surrogates, 5- and 6-byte forms and
    \\xC0\\x80 have their own rules), the human output too. Every sequence is tried
    and all differences are listed."""
    bad = []
    for tag, seq in UTF8_CASES.items():
        place = "/tmp/" + "P" * 24
        img = f"utf8-{tag}.qcow2"
        qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", place, "-F", "raw", img, "1G")
        raw = read_at(img, 0, 65536)
        i = raw.find(place.encode())
        name = (b"/tmp/" + seq).ljust(len(place), b"_")
        write_at(img, i, name)
        fname = f"utf8-file-{tag}-".encode() + seq + b".qcow2"
        fpath = os.path.join(WORK.encode(), fname)
        shutil.copy(os.path.join(WORK, img), fpath)
        for target in (img.encode(), fname):
            settle(os.fsencode(target).decode("utf-8", "surrogateescape"))
            q = subprocess.run([b"qemu-img", b"info", b"--output=json", target], cwd=WORK,
                               capture_output=True)
            qh = subprocess.run([b"qemu-img", b"info", target], cwd=WORK, capture_output=True)
            p = subprocess.run([PUPA.encode(), b"info", f"--accel={ACCEL}".encode(),
                                b"--output=json", target], cwd=WORK, capture_output=True)
            ph = subprocess.run([PUPA.encode(), b"info", f"--accel={ACCEL}".encode(), target],
                                cwd=WORK, capture_output=True)
            what = f"{tag} ({'backing file' if target == img.encode() else 'file name'})"
            if q.returncode or p.returncode or qh.returncode or ph.returncode:
                bad.append(f"{what}: exit qemu-img {q.returncode}, pupa {p.returncode}: "
                           f"{p.stderr!r}")
                continue
            pobj = json.loads(p.stdout)
            checks = sorted(f["check"] for f in pobj.pop("safety")["findings"])
            want = ["backing-file"] + (["control-characters"] if any(
                b < 0x20 or b == 0x7f for b in seq) else [])
            if checks != want:
                bad.append(f"{what}: findings {checks}, want {want}")
            if pobj != json.loads(q.stdout):
                qn = json.loads(q.stdout)
                diff = {k: (qn.get(k), pobj.get(k)) for k in set(qn) | set(pobj)
                        if qn.get(k) != pobj.get(k)}
                bad.append(f"{what}: JSON differs (qemu-img, pupa): {diff}")
            head = ph.stdout[:ph.stdout.rfind(b"\nsafety: ") + 1] if b"\nsafety: " in \
                ph.stdout else ph.stdout
            if head != qh.stdout:
                bad.append(f"{what}: human output differs:\n{qh.stdout!r}\n{head!r}")
    for b in bad:
        print("MISMATCH " + b)
    expect(not bad, f"{len(bad)} of {2 * len(UTF8_CASES)} names differ from qemu-img")


FORMATS = ("qcow2", "qcow", "qed", "vmdk", "vpc", "vhdx", "vdi", "parallels", "bochs", "cloop",
           "dmg", "luks", "raw", "file", "host_device")


def case_format():
    """-f FMT like qemu-img -f: for every format and three files (zeros, a qcow2, a
    vmdk), pupa succeeds exactly where qemu-img does, with the same output, and
    fails with qemu-img's words (exit 1, one line, nothing on stdout) elsewhere.
    The formats include qemu's protocol drivers file (the bytes as they are, under
    that name) and host_device (refused for a regular file)."""
    with open(os.path.join(WORK, "raw.img"), "wb") as f:
        f.truncate(1 << 20)
    qemu_img("create", "-q", "-f", "qcow2", "x.qcow2", "1G")
    qemu_img("create", "-q", "-f", "vmdk", "x.vmdk", "1G")
    agree = failed = 0
    for img in ("raw.img", "x.qcow2", "x.vmdk"):
        for fmt in FORMATS:
            qrc, qout, qerr = qemu_img("info", "-f", fmt, img, check=False)
            if qrc == 0:
                _, probed, _ = qemu_img("info", "--output=json", img)
                probed = json.loads(probed)["format"]
                same = fmt == probed or (fmt == "file" and probed == "raw")
                checks = [] if same else ["polyglot"]
                inspect(img, checks, fmt_args=["-f", fmt])
                agree += 1
                continue
            for extra in ([], ["--output=json"], ["--require-safe"]):
                rc, out, err = pupa(*extra, "-f", fmt, img)
                expect(rc == 1, f"pupa info {' '.join(extra)} -f {fmt} {img}: exit {rc}, want 1 "
                       f"(qemu-img: {qerr.strip()})")
                expect(out == "", f"-f {fmt} {img}: stdout {out!r}")
                expect(err == f"pupa: {qemu_error(qerr)}\n",
                       f"-f {fmt} {img}: error\n  {err.strip()}\nwant (as qemu-img)\n  pupa: "
                       f"{qemu_error(qerr)}")
            failed += 1
    print(f"-f: {agree} combinations inspected like qemu-img, {failed} refused like qemu-img")
    expect(failed >= 20 and agree >= 4, "the matrix did not exercise both outcomes")
    # the README's example, verbatim
    rc, out, err = pupa("-f", "qcow2", "raw.img")
    expect((rc, out, err) == (1, "", "pupa: Could not open 'raw.img': Image is not in qcow2 "
                              "format\n"), f"-f qcow2 raw.img: {rc} {out!r} {err!r}")
    # a batch with -f: the refused image is a JSON error line, the other a result, exit 1
    rc, out, err = pupa("--output=json", "-f", "qcow2", "x.qcow2", "raw.img")
    objs = [json.loads(ln) for ln in out.splitlines()]
    expect(rc == 1, f"batch -f qcow2: exit {rc}, want 1")
    expect(len(out.splitlines()) == 2 and len(objs) == 2 and objs[0]["format"] == "qcow2",
           f"batch output {out!r}")
    expect(objs[1] == error_object("raw.img",
                                   "Could not open 'raw.img': Image is not in qcow2 format")
           and objs[1]["error-class"] == "refused", f"batch error line {objs[1]}")


def case_format_unknown():
    """An unknown format name: qemu-img says "Could not open 'F': Unknown driver
    'bogus'" and exits 1; pupa says exactly the same on one line and exits 1 (an
    image that could not be inspected, not a usage error: same as qemu-img, and the
    README's exit 1 "refused by its format")."""
    with open(os.path.join(WORK, "raw.img"), "wb") as f:
        f.truncate(1 << 20)
    qrc, _, qerr = qemu_img("info", "-f", "bogus", "raw.img", check=False)
    expect(qrc == 1, f"qemu-img -f bogus: exit {qrc}")
    for extra in ([], ["--output=json"]):
        rc, out, err = pupa(*extra, "-f", "bogus", "raw.img")
        expect(rc == 1 and out == "", f"-f bogus: exit {rc}, stdout {out!r}")
        expect(err == f"pupa: {qemu_error(qerr)}\n", f"-f bogus: {err!r} vs qemu-img {qerr!r}")
    # a missing file with an unknown format: qemu-img names the driver first, and
    # so does pupa (the name is checked before any file is opened)
    qrc, _, qerr = qemu_img("info", "-f", "bogus", "missing.img", check=False)
    rc, out, err = pupa("-f", "bogus", "missing.img")
    expect(qrc == 1 and "Unknown driver 'bogus'" in qerr, f"qemu-img: {qrc} {qerr!r}")
    expect((rc, out, err) == (1, "", f"pupa: {qemu_error(qerr)}\n"),
           f"-f bogus missing.img: exit {rc}, {err!r} vs qemu-img {qerr!r}")


def case_block_device():
    """Block devices (read-only loop devices over a qemu-img qcow2 and over a raw
    disk of zeros): pupa inspects them exactly like qemu-img, probed and with -f
    host_device and -f raw, and refuses -f file with qemu-img's words; `pupa read
    --sha256` hashes the devices' bytes. 77 when this machine cannot attach a loop
    device."""
    need_tool("losetup")
    qemu_img("create", "-q", "-f", "qcow2", "b.qcow2", "1G")
    os.truncate(os.path.join(WORK, "b.qcow2"), 1 << 20)
    with open(os.path.join(WORK, "b.raw"), "wb") as f:
        f.truncate(1 << 20)
    loops = []
    try:
        for name in ("b.qcow2", "b.raw"):
            p = subprocess.run(["losetup", "-f", "--show", "-r", os.path.join(WORK, name)],
                               capture_output=True, text=True)
            if p.returncode != 0:
                skip(f"cannot attach a loop device: {p.stderr.strip()}")
            loops.append(p.stdout.strip())
        qdev, rdev = loops
        obj = inspect(qdev, [])
        expect(obj["format"] == "qcow2" and obj["virtual-size"] == 1 << 30, f"{qdev}: {obj}")
        inspect(qdev, ["polyglot"], fmt_args=["-f", "host_device"])
        inspect(qdev, ["polyglot"], fmt_args=["-f", "raw"])
        obj = inspect(rdev, [])
        expect(obj["format"] == "raw" and obj["virtual-size"] == 1 << 20, f"{rdev}: {obj}")
        obj = inspect(rdev, [], fmt_args=["-f", "host_device"])
        expect(obj["format"] == "host_device", f"{rdev} -f host_device: {obj}")
        # pupa read hashes the device's bytes: those of the file behind it
        p = subprocess.run([PUPA, "read", "--sha256", f"--accel={ACCEL}", "--progress=none"] +
                           loops, capture_output=True, text=True, cwd=WORK, timeout=120)
        want = "".join(f"{hashlib.sha256(open(os.path.join(WORK, n), 'rb').read()).hexdigest()}"
                       f"  {dev}\n" for n, dev in zip(("b.qcow2", "b.raw"), loops))
        expect(p.returncode == 0 and p.stdout == want,
               f"pupa read --sha256 on loop devices: exit {p.returncode} {p.stderr!r}\n"
               f"{p.stdout}want\n{want}")
        for dev in loops:
            qrc, _, qerr = qemu_img("info", "-f", "file", dev, check=False)
            rc, out, err = pupa("-f", "file", dev)
            expect(qrc == 1 and (rc, out, err) == (1, "", f"pupa: {qemu_error(qerr)}\n"),
                   f"-f file {dev}: exit {rc}, {err!r} vs qemu-img {qrc} {qerr!r}")
    finally:
        for dev in loops:
            subprocess.run(["losetup", "-d", dev], check=False)


def case_qemu_options():
    """qemu-img info's own options that scripts pass (OpenStack runs `qemu-img info
    --force-share --output=json`): -U/--force-share is accepted and changes nothing
    (pupa never locks an image); --backing-chain gives qemu-img's chain layout (the
    same human text, a JSON array of one object) for an image without a backing
    file, and refuses, on one line and exit 1, an image that has one, because
    following it would open a file the image names."""
    qemu_img("create", "-q", "-f", "qcow2", "base.qcow2", "1G")
    trap = trap_dir()
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", f"{trap}/base", "-F", "qcow2",
             "top.qcow2", "1G")
    settle("base.qcow2")
    rc, plain, err = pupa("base.qcow2")
    expect(rc == 0, f"pupa info base.qcow2: exit {rc} {err!r}")
    for opt in ("-U", "--force-share"):
        for out in ([], ["--output=json"]):
            rc, got, err = pupa(opt, *out, "base.qcow2")
            _, want, _ = pupa(*out, "base.qcow2")
            expect((rc, err) == (0, "") and got == want, f"{opt} {out}: {rc} {err!r}")
            _, q1, _ = qemu_img("info", opt, *out, "base.qcow2")
            _, q2, _ = qemu_img("info", *out, "base.qcow2")
            expect(q1 == q2, f"qemu-img {opt} changed its output")
    # --backing-chain, no backing file: human identical, JSON an array of one object
    _, qh, _ = qemu_img("info", "--backing-chain", "base.qcow2")
    rc, ph, err = pupa("--backing-chain", "base.qcow2")
    expect(rc == 0 and ph == plain and split_safety(ph)[0] == qh,
           f"--backing-chain human: exit {rc} {err!r}\n{ph}\nqemu-img:\n{qh}")
    _, qj, _ = qemu_img("info", "--backing-chain", "--output=json", "base.qcow2")
    rc, pj, err = pupa("--backing-chain", "--output=json", "base.qcow2")
    arr = json.loads(pj)
    expect(rc == 0 and isinstance(arr, list) and len(arr) == 1, f"--backing-chain JSON: {pj}")
    safety = arr[0].pop("safety")
    expect(arr == json.loads(qj) and safety == {"safe": True, "findings": []},
           f"--backing-chain JSON differs from qemu-img:\n{qj}\n{pj}")
    expect(pj.startswith('[\n    {\n        "virtual-size"'), f"not qemu's layout: {pj[:40]!r}")
    # a backing file: refused, nothing on stdout, the trap path never touched
    for out in ([], ["--output=json"]):
        rc, got, err = pupa("--backing-chain", *out, "top.qcow2")
        expect(rc == 1 and got == "" and len(err.splitlines()) == 1 and
               err.startswith("pupa: Could not open 'top.qcow2': --backing-chain: ") and
               trap not in err, f"--backing-chain top.qcow2: exit {rc} {got!r} {err!r}")
    expect(not os.path.exists(trap), f"{trap} was created")
    # a batch: one compact array per good image, an error object for the refused one
    rc, out, err = pupa("--backing-chain", "--output=json", "base.qcow2", "top.qcow2")
    lines = [json.loads(ln) for ln in out.splitlines()]
    expect(rc == 1 and len(lines) == 2 and isinstance(lines[0], list) and
           lines[0][0]["format"] == "qcow2" and set(lines[1]) == ERROR_KEYS and
           lines[1]["error-class"] == "unsupported" and lines[1]["retryable"] is False,
           f"batch --backing-chain: exit {rc} {out!r}")
    for args in (["read", "-U", "base.qcow2"], ["read", "--backing-chain", "base.qcow2"]):
        p = subprocess.run([PUPA] + args, capture_output=True, text=True, cwd=WORK)
        expect(p.returncode == 2 and p.stdout == "" and "does not apply to 'pupa read'" in p.stderr,
               f"pupa {' '.join(args)}: exit {p.returncode} {p.stderr!r}")


def case_exits():
    """The exit budget of one `pupa info` (the issue's target: at most 50 per image),
    read from --stats. On KVM with coalesced MMIO the virtio set-up writes are posted
    instead of exiting: the same accesses, about half the exits; the emulator posts
    none. Either way exits + posted writes is the same count, and the output is the
    same as without --stats."""
    qemu_img("create", "-q", "-f", "qcow2", "e.qcow2", "10G")
    rc, plain, _ = pupa("e.qcow2")
    p = subprocess.run([PUPA, "info", f"--accel={ACCEL}", "--stats", "e.qcow2"],
                       capture_output=True, text=True, cwd=WORK, timeout=120)
    m = re.search(r"backend (\w+), .* (\d+) exits, .* (\d+) notifies, (\d+) posted writes, "
                  r"worker peak RSS", p.stderr)
    expect(p.returncode == 0 and rc == 0 and m and p.stdout == plain,
           f"--stats: exit {p.returncode}: {p.stderr!r}")
    backend, exits, notifies, posted = m.group(1), int(m.group(2)), int(m.group(3)), \
        int(m.group(4))
    print(f"{backend}: {exits} exits, {posted} posted writes, {notifies} notifies")
    expect(backend == ACCEL, f"backend {backend}")
    expect(exits <= 50, f"{exits} exits for one image (the budget is 50)")
    expect(notifies >= 1, "no virtqueue notify: the image was not read through virtio-blk")
    if ACCEL == "emu":
        expect(posted == 0, f"{posted} posted writes on the emulator")
    elif posted:
        # posted writes replace exits one for one: the set-up writes alone are > 10
        expect(posted >= 10 and exits <= 20, f"{exits} exits with {posted} posted writes")


def case_usage():
    """Exit codes: 2 for usage errors (nothing on stdout, a message naming the
    problem), 1 for an image that cannot be inspected, 0 otherwise."""
    with open(os.path.join(WORK, "raw.img"), "wb") as f:
        f.truncate(1 << 20)
    for args, word in ((["info"], "no image"), (["info", "--bogus", "raw.img"], "'--bogus'"),
                       (["info", "--output=xml", "raw.img"], "'xml'"),
                       (["info", "-f"], "'-f'"), (["info", "--require-safe"], "no image"),
                       (["info", "--accel=foo", "raw.img"], "'foo'"),
                       (["info", "-j", "0", "raw.img"], "--jobs"),
                       (["info", "--timeout=x", "raw.img"], "--timeout"),
                       (["info", "--memory=0", "raw.img"], "--memory"),
                       (["info", "--shard=3/2", "raw.img"], "'3/2'")):
        p = subprocess.run([PUPA] + args, capture_output=True, cwd=WORK, timeout=60)
        err = p.stderr.decode(errors="replace")
        expect(p.returncode == 2, f"pupa {' '.join(args)}: exit {p.returncode}, want 2: {err}")
        expect(p.stdout == b"", f"pupa {' '.join(args)}: stdout {p.stdout!r}")
        expect(word in err and err.count("\n") <= 3,
               f"pupa {' '.join(args)}: unclear error {err!r}")
    rc, out, err = pupa("missing.img")
    expect((rc, out, err) == (1, "", "pupa: Could not open 'missing.img': No such file or "
                              "directory\n"), f"missing image: {rc} {out!r} {err!r}")
    os.mkfifo(os.path.join(WORK, "fifo"))
    rc, out, err = pupa("fifo", timeout=30)
    expect(rc == 1 and out == "" and len(err.splitlines()) == 1 and "'fifo'" in err,
           f"fifo: exit {rc} {err!r}")
    rc, out, err = pupa("raw.img")
    expect(rc == 0 and out.startswith("image: raw.img\nfile format: raw\n"), f"raw.img: {rc}")
    # a good and a missing image: the good one is printed, exit 1
    rc, out, err = pupa("--output=json", "raw.img", "missing.img")
    objs = [json.loads(ln) for ln in out.splitlines()]
    expect(rc == 1 and [o["filename"] for o in objs] == ["raw.img", "missing.img"]
           and "error" in objs[1] and objs[0]["format"] == "raw", f"mixed batch: {rc} {out!r}")


CASES = {
    "safe": case_safe,
    "backing-passwd": case_backing_passwd,
    "backing-trap": case_backing_trap,
    "vmdk-hostname": case_vmdk_hostname,
    "data-file": case_data_file,
    "polyglot": case_polyglot,
    "corrupt": case_corrupt,
    "encrypted": case_encrypted,
    "out-of-range": case_out_of_range,
    "spoof": case_spoof,
    "utf8": case_utf8,
    "snapshots": case_snapshots,
    "error-words": case_error_words,
    "format": case_format,
    "format-unknown": case_format_unknown,
    "block-device": case_block_device,
    "qemu-options": case_qemu_options,
    "exits": case_exits,
    "usage": case_usage,
}


def main():
    global PUPA, ACCEL, WORK
    if len(sys.argv) != 5 or sys.argv[3] not in CASES:
        print(f"usage: {sys.argv[0]} PUPA emu|kvm CASE WORKDIR; cases: {' '.join(CASES)}")
        return 2
    PUPA, ACCEL, case, WORK = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    need_accel(ACCEL)
    need_tool("qemu-img")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    CASES[case]()
    print(f"PASS: {case} ({ACCEL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
