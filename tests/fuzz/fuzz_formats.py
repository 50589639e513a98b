#!/usr/bin/python3
"""fuzz_formats.py: seed corpus and CTest runner for the format-parser fuzz harness (fuzz_formats.c).

usage:
  fuzz_formats.py seeds OUT_DIR IMAGE_DIR...     first 64 KiB of every image (and of qcow2/
                                                 qcow/... images made here) as a seed
  fuzz_formats.py fuzz FUZZER|- SEEDS WORK SECONDS [CRASH_DIR]
                                                 bounded libFuzzer run (-seed=1), 77 without
                                                 the libFuzzer build
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
import os
import shutil
import struct
import subprocess
import sys

HEAD = 64 * 1024
# index into names[] in fuzz_formats.c
NAME_BY_EXT = {".dmg": 1, ".vmdk": 2, ".qcow2": 3, ".vhd": 4, ".vhdx": 4}
# fmt_drivers[] order in guest/formats/drivers.c: forced-format seeds use it
DRIVERS = ["qed", "parallels", "vdi", "qcow2", "qcow", "vmdk", "vpc", "vhdx", "luks", "bochs",
           "dmg", "cloop", "raw"]
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


def seeds(out, dirs):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    made = out.rstrip("/") + "-made"
    shutil.rmtree(made, ignore_errors=True)
    qemu_made_images(made)
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


def fuzz(fuzzer, seed_dir, work, seconds, crash_dirs):
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
    cmd = [fuzzer, "-seed=1", f"-max_total_time={seconds}", f"-max_len={HEAD + 2}",
           "-timeout=120", "-rss_limit_mb=2048", "-print_final_stats=1",
           "-artifact_prefix=" + os.path.join(work, "artifacts") + "/",
           os.path.join(work, "corpus"), seed_dir]
    print(" ".join(cmd), flush=True)
    rc = subprocess.run(cmd).returncode
    arts = os.listdir(os.path.join(work, "artifacts"))
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
    args = ["-runs=0"] if libfuzzer else []
    return subprocess.run([runner] + args + inputs).returncode


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
