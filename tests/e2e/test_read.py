#!/usr/bin/python3
"""test_read.py PUPA GUESTDIR ACCEL CASE: `pupa read` end to end: digests equal
sha256sum, progress, I/O errors, bad inputs, hostile virtio requests."""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pupatest import expect, fail, json_lines, need_accel, run, skip  # noqa: E402


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def make(d, name, data=None, size=None):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        if data is not None:
            f.write(data)
        if size is not None:
            f.truncate(size)
    return path


def check_digests(pupa, accel, paths, extra=(), timeout=600):
    rc, out, err = run([pupa, "read", "--sha256", f"--accel={accel}", "--progress=none",
                        "--timeout=0"] + list(extra) + paths, timeout=timeout)
    expect(rc == 0, f"exit {rc}: {err}")
    want = "".join(f"{sha256_file(p)}  {p}\n" for p in paths)
    expect(out == want, f"pupa read printed\n{out}\nsha256sum says\n{want}")
    # sha256sum itself agrees with hashlib, as a sanity check of the oracle
    ref = subprocess.run(["sha256sum"] + paths, capture_output=True, text=True).stdout
    expect(ref == want, "sha256sum disagrees with hashlib")


def main():
    pupa, guests, accel, case = sys.argv[1:5]
    need_accel(accel)
    with tempfile.TemporaryDirectory() as d:
        if case.startswith("small-"):
            sector = case.split("-")[1]
            paths = [make(d, "empty"), make(d, "one", b"\x5a"),
                     make(d, "thousand", os.urandom(1000)), make(d, "sector", os.urandom(512))]
            check_digests(pupa, accel, paths, ["--sector-size", sector])
        elif case.startswith("random64-"):
            sector = case.split("-")[1]
            paths = [make(d, "random64", os.urandom(64 << 20))]
            check_digests(pupa, accel, paths, ["--sector-size", sector])
        elif case.startswith("sparse1g-"):
            sector = case.split("-")[1]
            p = make(d, "sparse1g", size=1 << 30)
            with open(p, "r+b") as f:  # a few non-zero bytes so zeros alone cannot pass
                f.seek(12345678)
                f.write(b"pupa")
                f.seek((1 << 30) - 3)
                f.write(b"end")
            check_digests(pupa, accel, [p], ["--sector-size", sector], timeout=1200)
        elif case.startswith("disks-"):
            n = int(case.split("-")[1])
            sizes = [0, 1, 511, 513, 4096, 100000, 1 << 20, 3 << 20]
            paths = [make(d, f"disk{i}", os.urandom(sizes[i % len(sizes)])) for i in range(n)]
            rc, out, err = run([pupa, "read", "--sha256", f"--accel={accel}", "--progress=json",
                                "--per-guest", str(n)] + paths)
            expect(rc == 0, f"exit {rc}: {err}")
            want = "".join(f"{sha256_file(p)}  {p}\n" for p in paths)
            expect(out == want, f"got\n{out}\nwant\n{want}")
            frames = json_lines(err)
            caps = [f["capacity"] for f in frames if "capacity" in f]
            expect(len(caps) == n, f"{len(caps)} capacity frames for {n} disks in one guest")
            expect([c["device"] for c in caps] == [f"vd{chr(97 + i)}" for i in range(n)], caps)
            expect([c["bytes"] for c in caps] == [os.path.getsize(p) for p in paths], caps)
        elif case == "progress":
            p = make(d, "big", os.urandom(8 << 20))
            rc, out, err = run([pupa, "read", f"--accel={accel}", "--progress=json",
                                "--memory=8", p])
            expect(rc == 0, f"exit {rc}: {err}")
            prog = [f["progress"] for f in json_lines(err) if "progress" in f]
            expect(len(prog) >= 3, f"only {len(prog)} progress frames")
            cur = [x["current"] for x in prog]
            expect(cur == sorted(cur), f"progress went backwards: {cur}")
            expect(prog[-1]["percent"] == 100 and prog[-1]["current"] == 8 << 20, prog[-1])
            expect(all(x["total"] == 8 << 20 for x in prog), "total changed")
        elif case == "truncated":
            # a file that shrinks while the guest reads it: the host read comes up short
            p = make(d, "shrinking", size=(1 << 30) if accel == "emu" else (256 << 30))
            proc = subprocess.Popen([pupa, "read", "--sha256", f"--accel={accel}",
                                     "--progress=json", "--timeout=0", p],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(0.5)
            os.truncate(p, 4096)
            out, err = proc.communicate(timeout=600)
            out, err = out.decode(), err.decode()
            expect(proc.returncode == 1, f"exit {proc.returncode}: {err}")
            errors = [f["error"] for f in json_lines("\n".join(
                l for l in err.splitlines() if l.startswith("{"))) if "error" in f]
            expect(errors, "no Error frame for the failed read")
            expect(errors[0]["device"] == "vda" and errors[0]["status"] == 1, errors[0])
            expect(errors[0]["operation"] == "read", errors[0])
            expect(out == "", f"a digest was printed for a failed read: {out}")
            expect(f"{p}: read failed" in err, err)
        elif case == "bad-inputs":
            good = make(d, "good", b"pupa" * 1000)
            empty = make(d, "empty")
            fifo = os.path.join(d, "fifo")
            os.mkfifo(fifo)
            sock_path = os.path.join(d, "sock")
            s = socket.socket(socket.AF_UNIX)
            s.bind(sock_path)
            missing = os.path.join(d, "missing")
            args = [good, missing, d, fifo, sock_path, "/dev/null", empty]
            rc, out, err = run([pupa, "read", "--sha256", f"--accel={accel}", "--progress=none",
                                "--per-guest=1"] + args, timeout=60)
            expect(rc == 1, f"exit {rc}")
            expect(out == f"{sha256_file(good)}  {good}\n{sha256_file(empty)}  {empty}\n",
                   f"good images missing from the output: {out}")
            for path, why in [(missing, "No such file or directory"), (d, "is a directory"),
                              (fifo, "is a FIFO"), (sock_path, "is a socket"),
                              ("/dev/null", "is a character device")]:
                line = f"pupa: Could not open '{path}': {why}"
                expect(any(l.startswith(line) for l in err.splitlines()), f"no line {line!r} in\n{err}")
            expect(len(err.strip().splitlines()) == 5, f"expected exactly 5 error lines:\n{err}")
        elif case == "unreadable":
            if os.geteuid() != 0:
                skip("needs root to switch to an unprivileged user")
            from shutil import which
            if not which("setpriv"):
                skip("setpriv (util-linux) is not installed")
            p = make(d, "secret", b"x" * 100)
            os.chmod(p, 0)
            os.chmod(d, 0o755)
            # pupa is one file: a copy the unprivileged user can run wherever the build lives
            import shutil
            own = os.path.join(d, "pupa")
            shutil.copy(pupa, own)
            os.chmod(own, 0o755)
            rc, out, err = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                own, "read", "--accel=emu", "--progress=none", p])
            expect(rc == 1, f"exit {rc}: {err}")
            expect(f"pupa: Could not open '{p}': Permission denied" in err, err)
        elif case == "bad-sector-size":
            # pupa read refuses it on the command line; run hands it to the guest, which
            # must refuse it with an Error frame
            p = make(d, "disk", os.urandom(4096))
            rc, out, err = run([pupa, "read", "--sector-size", "1000", p])
            expect(rc == 2 and "--sector-size must be 512, 1024, 2048 or 4096" in err, err)
            rc, out, err = run([pupa, "run", f"--accel={accel}", "--guest",
                                os.path.join(os.path.dirname(guests.rstrip("/")), "..", "guest",
                                             "pupa-guest.elf"),
                                "--operation", "read", "--disk", f"{p},sector=1000",
                                "--progress=json"])
            expect(rc == 1, f"exit {rc}: {err}")
            frames = json_lines("\n".join(l for l in err.splitlines() if l.startswith("{")))
            errors = [f["error"] for f in frames if "error" in f]
            expect(errors and errors[0]["message"] ==
                   "sector size 1000 is not supported (512, 1024, 2048 or 4096)", errors)
            done = [f["complete"] for f in frames if "complete" in f]
            expect(done and done[-1]["success"] is False, done)
        elif case == "hostile":
            p = make(d, "disk", os.urandom(64 << 10))
            rc, out, err = run([pupa, "run", f"--accel={accel}", "--guest",
                                os.path.join(guests, "guest-hostile_virtio.elf"), "--disk", p,
                                "--progress=json"])
            frames = json_lines("\n".join(l for l in err.splitlines() if l.startswith("{")))
            cases = [f["init"] for f in frames if "init" in f and f["init"]["device"] in ("ok", "WRONG")]
            bad = [c for c in cases if c["device"] != "ok"]
            expect(len(cases) == 16, f"{len(cases)} cases reported")
            expect(not bad, f"wrong status for {bad}")
            expect(rc == 0, f"exit {rc}: {err}")
            expect("write refused: the disk is read-only" in err, "the write was not logged")
        else:
            fail(f"unknown case {case}")
    print(f"OK {case} on {accel}")


main()
