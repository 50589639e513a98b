#!/usr/bin/python3
"""fuzz_formats.py: seed corpus and CTest runner for the format-parser fuzz harness (fuzz_formats.c).

usage:
  fuzz_formats.py seeds OUT_DIR IMAGE_DIR...     first 64 KiB of every image (and of qcow2/
                                                 qcow/... images made here) as a seed
  fuzz_formats.py fuzz FUZZER|- SEEDS WORK RUNS [CRASH_DIR]
                                                 libFuzzer run of RUNS inputs (-seed=1, so the
                                                 coverage does not depend on the machine's
                                                 speed), 77 without the libFuzzer build
  fuzz_formats.py replay RUNNER|- SEEDS [CRASH_DIR...]
                                                 every seed and every known crash once, with the
                                                 plain runner (gcc build, fuzz_replay_main.c)
  fuzz_formats.py replay-fuzzer FUZZER|- SEEDS [CRASH_DIR...]
                                                 the same with the libFuzzer build (-runs=0)

Seed layout (see fuzz_formats.c): [mode 0 = probe][name byte][first 64 KiB]; the name
byte picks a file name with the image's extension so name-based probing (dmg) and
path arithmetic see realistic names. Every image also gives a forced-format seed for
the format qemu-img probes it as, one forced to raw, one with 1 GiB of zeros after
the data, and images over 64 KiB one in the sparse layout (their non-zero sectors
anywhere in the file, up to 64 KiB of them)."""
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys

HEAD = 64 * 1024
# index into names[] in fuzz_formats.c
NAME_BY_EXT = {".dmg": 1, ".vmdk": 2, ".qcow2": 3, ".vhd": 4, ".vhdx": 4}
# fmt_drivers[] order (guest/formats/drivers.c builds it from PUPA_FORMATS in
# pupa/formats.h): forced-format seeds name a driver by its index
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "protocol",
                       "include", "pupa", "formats.h")) as _f:
    DRIVERS = re.findall(r"^\s*X\((\w+)\)", _f.read(), re.M)
FORCE_BASE = 0xa0


def probed_format(path):
    try:
        p = subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if p.returncode != 0:
        return None
    import json
    return json.loads(p.stdout).get("format")


def qemu_made_images(d):
    """qcow2/qcow (which the corpus may lack) and crafted images, made with qemu-img:
    small clusters keep their metadata inside the 64 KiB a seed holds."""
    os.makedirs(d, exist_ok=True)
    if not shutil.which("qemu-img"):
        return

    def q(*args):
        subprocess.run(["qemu-img"] + list(args), cwd=d, capture_output=True, timeout=120)

    with open(os.path.join(d, "data.raw"), "wb") as f:
        for i in range(16):
            f.seek(i * 65536 + 512 * i)
            f.write(bytes([0x41 + i]) * 4096)
        f.truncate(4 << 20)
    q("convert", "-O", "qcow2", "-o", "cluster_size=512", "data.raw", "c512.qcow2")
    q("snapshot", "-c", "snap-one", "c512.qcow2")
    q("snapshot", "-c", "snap-two", "c512.qcow2")
    q("bitmap", "--add", "c512.qcow2", "bitmap0")
    q("rebase", "-u", "-b", "base.qcow2", "-F", "qcow2", "c512.qcow2")
    q("convert", "-O", "qcow2", "-o", "cluster_size=16384,extended_l2=on,compression_type=zstd",
      "data.raw", "c4k-extl2.qcow2")
    q("convert", "-O", "qcow2", "-o", "cluster_size=4096,compat=0.10", "data.raw",
      "c4k-v2.qcow2")
    q("create", "-f", "qcow2", "-o", "cluster_size=4096,data_file=/tmp/x.raw,lazy_refcounts=on",
      "-u", "df.qcow2", "1G")
    q("create", "-f", "qcow2", "--object", "secret,id=s0,data=x", "-o",
      "cluster_size=4096,encrypt.format=aes,encrypt.key-secret=s0", "aes.qcow2", "1G")
    q("convert", "-O", "qcow", "data.raw", "v1.qcow")
    q("create", "-f", "qcow", "-u", "-b", "/etc/passwd", "-F", "raw", "backed.qcow", "1G")
    q("convert", "-O", "qed", "-o", "cluster_size=4096,table_size=1", "data.raw", "c4k.qed")
    q("convert", "-O", "vmdk", "-o", "subformat=streamOptimized", "data.raw", "stream.vmdk")
    q("convert", "-O", "vpc", "-o", "subformat=dynamic", "data.raw", "dyn.vhd")
    q("convert", "-O", "vdi", "data.raw", "dyn.vdi")
    q("convert", "-O", "parallels", "-o", "cluster_size=4096", "data.raw", "c4k.prl")
    os.unlink(os.path.join(d, "data.raw"))
    with open(os.path.join(d, "desc.vmdk"), "w") as f:
        f.write('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
                'createType="twoGbMaxExtentSparse"\n\n# Extent description\n'
                'RW 4192256 SPARSE "desc-s001.vmdk"\nRW 4192256 SPARSE "/etc/hostname"\n'
                'RDONLY 2048 FLAT "../flat.img" 512\nNOACCESS 100 ZERO\n\n#DDB\n'
                'ddb.virtualHWVersion = "4"\nddb.adapterType = "lsilogic"\n')


def sparse_records(path, budget=HEAD):
    """The image in fuzz_formats.c's sparse layout: [u32 size in sectors] then
    [u32 sector][u16 length][bytes] for runs of non-zero sectors (trailing zeros of
    a run dropped), in file order until budget bytes of data."""
    out = bytearray()
    size = os.path.getsize(path)
    out += struct.pack("<I", min(-(-size // 512), 0xffffffff))
    used = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        off = 0
        while off < size and used < budget:
            try:
                data = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            pos = data - data % 512
            run_start, run = None, bytearray()
            while pos < hole and used < budget:
                sec = os.pread(fd, 512, pos)
                nonzero = any(sec)
                if nonzero and run_start is None:
                    run_start, run = pos, bytearray()
                if run_start is not None:
                    if nonzero:
                        run += sec
                    if not nonzero or len(run) >= 65024 or pos + 512 >= hole:
                        chunk = bytes(run).rstrip(b"\0")[:budget - used]
                        if chunk and run_start // 512 <= 0xffffffff:
                            out += struct.pack("<IH", run_start // 512, len(chunk)) + chunk
                            used += len(chunk)
                        run_start = None
                pos += 512
            off = hole
    finally:
        os.close(fd)
    return bytes(out)


def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xffffffff


def vhdx_seal(img, at, length):
    struct.pack_into("<I", img, at + 4, 0)
    struct.pack_into("<I", img, at + 4, crc32c(bytes(img[at:at + length])))


VHDX_BAT = bytes.fromhex("6677c22d23f600429d64115e9bfd4a08")
VHDX_META = bytes.fromhex("06a27c8b90479a4bb8fe575f050f886e")
VHDX_ITEMS = [bytes.fromhex(h) for h in (
    "3767a1ca36fa434db3b633f0aa44e76b", "2442a52f1bcd7648b2115dbed83bf4b8",
    "ab12cabee6b2234593efc309e000c746", "1dbf41816fa90947ba47f233a8faab5f",
    "c748a3cd5d4471449cc9e9885251c556")]
MIB = 1 << 20


def vhdx_image(log_entries=0, bad_desc=False, other_guid=False):
    """A VHDX (the layout of tests/unit/test_fmt_vhdx.c): headers at 64/128 KiB,
    region table at 192 KiB, log at 1 MiB, BAT at 2 MiB, metadata at 3 MiB; with
    log_entries > 0 a log GUID and one log entry with that many descriptors."""
    img = bytearray(8 * MIB)
    img[0:8] = b"vhdxfile"
    guid = b"\x11" * 16
    for at, seq in ((64 * 1024, 5), (128 * 1024, 2)):
        img[at:at + 4] = b"head"
        struct.pack_into("<Q", img, at + 8, seq)
        if log_entries >= 0 and at == 64 * 1024:
            img[at + 48:at + 64] = guid
        struct.pack_into("<HHIQ", img, at + 64, 0, 1, MIB, MIB)
        vhdx_seal(img, at, 4096)
    r = 192 * 1024
    img[r:r + 4] = b"regi"
    struct.pack_into("<I", img, r + 8, 2)
    img[r + 16:r + 32] = VHDX_BAT
    struct.pack_into("<QII", img, r + 32, 2 * MIB, MIB, 1)
    img[r + 48:r + 64] = VHDX_META
    struct.pack_into("<QII", img, r + 64, 3 * MIB, MIB, 1)
    vhdx_seal(img, r, 65536)
    m = 3 * MIB
    img[m:m + 8] = b"metadata"
    struct.pack_into("<H", img, m + 10, 5)
    lens = (8, 8, 16, 4, 4)
    off = 65536
    for i in range(5):
        e = m + 32 + 32 * i
        img[e:e + 16] = VHDX_ITEMS[i]
        struct.pack_into("<III", img, e + 16, off, lens[i], 4)
        if i == 0:
            struct.pack_into("<II", img, m + off, MIB, 0)
        elif i == 1:
            struct.pack_into("<Q", img, m + off, 1 << 30)
        elif i in (3, 4):
            struct.pack_into("<I", img, m + off, 512)
        off += 64
    struct.pack_into("<Q", img, 2 * MIB, (5 * MIB) | 6)  # block 0 fully present
    if log_entries > 0:
        lg, nd = MIB, log_entries
        img[lg:lg + 4] = b"loge"
        struct.pack_into("<IIQI", img, lg + 4, 0, (1 + nd) * 4096, 7, nd)
        struct.pack_into("<I", img, lg + 8, (1 + nd) * 4096)
        struct.pack_into("<Q", img, lg + 16, 7)
        struct.pack_into("<I", img, lg + 24, nd)
        img[lg + 32:lg + 48] = b"\x22" * 16 if other_guid else guid
        for i in range(nd):
            d = lg + 64 + 32 * i
            img[d:d + 4] = b"desc"
            struct.pack_into("<QQ", img, d + 16, 100 if bad_desc else 4 * MIB, 7)
            img[lg + 4096 * (1 + i):lg + 4096 * (1 + i) + 4] = b"data"
        vhdx_seal(img, lg, (1 + nd) * 4096)
    return bytes(img)


def parallels_ext_image(bitmap_entry):
    """A parallels image (4 KiB clusters, 100 MiB) with a format extension cluster
    holding one dirty bitmap (as tests/unit/test_fmt_parallels.c builds it), MD5 and
    all: the fuzzer cannot forge the checksum itself."""
    tracks, size = 8, 100 << 20
    cluster = tracks * 512
    entries = -(-size // cluster)
    data_sectors = -(-(64 + 4 * entries) // cluster) * tracks
    img = bytearray(data_sectors * 512 + cluster)
    img[0:16] = b"WithouFreSpacExt"
    struct.pack_into("<IIIII", img, 16, 2, 16, size // 512 // 16 // 32, tracks, entries)
    struct.pack_into("<Q", img, 36, size // 512)
    struct.pack_into("<I", img, 48, data_sectors)
    struct.pack_into("<Q", img, 56, data_sectors)
    ext = data_sectors * 512
    struct.pack_into("<Q", img, ext, 0xAB234CEF23DCEA87)
    bm = struct.pack("<Q", 204800) + b"\x01" * 16 + struct.pack("<IIQ", 128, 1, bitmap_entry)
    feat = struct.pack("<QQI", 0x20385FAE252CB34A, 0, len(bm)) + bytes(4) + bm
    img[ext + 24:ext + 24 + len(feat)] = feat
    img[ext + 8:ext + 24] = hashlib.md5(bytes(img[ext + 24:ext + cluster])).digest()
    return bytes(img)


def crafted_images(d):
    """Images the corpus cannot have: VHDX logs and parallels format extensions sit
    behind checksums that random mutation does not get past."""
    os.makedirs(d, exist_ok=True)
    for name, data in (("log0.vhdx", vhdx_image(0)), ("log1.vhdx", vhdx_image(1)),
                       ("log3.vhdx", vhdx_image(3)), ("logbad.vhdx", vhdx_image(1, True)),
                       ("logother.vhdx", vhdx_image(2, other_guid=True)),
                       ("ext.hdd", parallels_ext_image(1)),
                       ("ext-past.hdd", parallels_ext_image(100000))):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def seeds(out, dirs):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    made = out.rstrip("/") + "-made"
    shutil.rmtree(made, ignore_errors=True)
    qemu_made_images(made)
    crafted_images(made)
    dirs = list(dirs) + [made]
    n = 0
    for d in dirs:
        for root, _, files in os.walk(d):
            for f in sorted(files):
                path = os.path.join(root, f)
                if ".expect-" in f or not os.path.isfile(path):
                    continue
                with open(path, "rb") as fh:
                    head = fh.read(HEAD)
                ext = os.path.splitext(f)[1].lower()
                name = NAME_BY_EXT.get(ext, 0)
                tag = os.path.relpath(path, d).replace("/", "_")
                variants = [(0, name)]
                fmt = probed_format(path)
                if fmt in DRIVERS:
                    variants.append((FORCE_BASE + DRIVERS.index(fmt), name))
                variants.append((FORCE_BASE + DRIVERS.index("raw"), name))
                variants.append((0, name | (2 << 3)))  # + 1 GiB of zeros past the data
                for mode, nb in variants:
                    with open(os.path.join(out, f"{tag}.{mode:02x}{nb:02x}"), "wb") as fh:
                        fh.write(bytes([mode, nb]) + head)
                    n += 1
                if os.path.getsize(path) > HEAD:
                    # the whole image, its non-zero sectors only (vhdx: headers at 64 KiB+)
                    nb = name | 0x80
                    with open(os.path.join(out, f"{tag}.00{nb:02x}"), "wb") as fh:
                        fh.write(bytes([0, nb]) + sparse_records(path))
                    n += 1
    if n == 0:
        print(f"fuzz_formats.py: no images in {' '.join(dirs)}", file=sys.stderr)
        return 1
    print(f"{n} seeds in {out}")
    return 0


def need(binary):
    if binary == "-" or not os.access(binary, os.X_OK):
        print("SKIP: no libFuzzer harness: clang with -fsanitize=fuzzer could not link at "
              "configure time (install clang and libclang-rt-14-dev, then re-run cmake)")
        sys.exit(77)


def crash_files(dirs):
    out = []
    for d in dirs:
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if not f.startswith(".")
                    and not f.endswith((".txt", ".md"))]
    return out


def fuzz(fuzzer, seed_dir, work, runs, crash_dirs):
    need(fuzzer)
    if not os.path.isdir(seed_dir) or not os.listdir(seed_dir):
        print(f"fuzz_formats.py: no seeds in {seed_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "corpus"))
    os.makedirs(os.path.join(work, "artifacts"))
    # known crashes first: a bounded run must not "find" what is already filed
    known = crash_files(crash_dirs)
    if known:
        rc = subprocess.run([fuzzer, "-runs=0"] + known).returncode
        if rc != 0:
            print(f"FAIL: a known crash reproducer in {' '.join(crash_dirs)} still crashes; "
                  "see tests/fuzz/crashes/README")
            return 1
    # a count of inputs, not wall time: the same coverage on a loaded machine; slow inputs
    # are no failure (a loaded machine or ASan makes any input slow): only crashes,
    # leaks, timeouts and memory blow-ups are
    cmd = [fuzzer, "-seed=1", f"-runs={runs}", f"-max_len={HEAD + 2}",
           "-timeout=300", "-report_slow_units=100000", "-rss_limit_mb=2048",
           "-print_final_stats=1",
           "-artifact_prefix=" + os.path.join(work, "artifacts") + "/",
           os.path.join(work, "corpus"), seed_dir]
    print(" ".join(cmd), flush=True)
    rc = subprocess.run(cmd).returncode
    arts = [a for a in os.listdir(os.path.join(work, "artifacts"))
            if not a.startswith("slow-unit-")]
    if rc != 0 or arts:
        print(f"FAIL: libFuzzer exit {rc}; artifacts: {arts} in {work}/artifacts")
        return 1
    return 0


def replay(runner, seed_dir, crash_dirs, libfuzzer):
    need(runner)
    inputs = [seed_dir] + crash_files(crash_dirs)
    if not os.path.isdir(seed_dir) or not os.listdir(seed_dir):
        print(f"fuzz_formats.py: no seeds in {seed_dir}", file=sys.stderr)
        return 1
    if not libfuzzer:
        return subprocess.run([runner] + inputs).returncode
    # libFuzzer takes either corpus directories or files, not both at once
    rc = subprocess.run([runner, "-runs=0", seed_dir]).returncode
    if rc == 0 and inputs[1:]:
        rc = subprocess.run([runner, "-runs=0"] + inputs[1:]).returncode
    return rc


def main():
    a = sys.argv[1:]
    if a[:1] == ["seeds"] and len(a) >= 3:
        return seeds(a[1], a[2:])
    if a[:1] == ["fuzz"] and len(a) >= 5:
        return fuzz(a[1], a[2], a[3], int(a[4]), a[5:])
    if a[:1] in (["replay"], ["replay-fuzzer"]) and len(a) >= 3:
        return replay(a[1], a[2], a[3:], a[0] == "replay-fuzzer")
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
