"""benchlib.py: shared helpers for pupa's benchmarks (run with /usr/bin/python3).

Wall time is measured around each process; peak RSS comes from wait4(), which
reports the largest resident set of the process and the workers it waited for."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def find_pupa():
    for cand in (os.environ.get("PUPA"), os.path.join(TOP, "build", "vmm", "pupa")):
        if cand and os.access(cand, os.X_OK):
            return cand
    sys.exit("benchmark: build pupa first (tools/build) or set PUPA=/path/to/pupa")


def backends(pupa):
    """The backends that run here: always emu, kvm when /dev/kvm works."""
    out = ["emu"]
    p = subprocess.run([pupa, "selftest", "--accel=kvm"], capture_output=True)
    if p.returncode == 0:
        out.insert(0, "kvm")
    return out


def measure(cmd, runs):
    """Median wall seconds and max peak RSS (KiB) over `runs` runs. The RSS comes
    from GNU time (a fresh process, so Python's own memory does not leak into
    it); pupa's workers report theirs with --stats (see stats_line)."""
    need("/usr/bin/time")
    walls, rss = [], 0
    with tempfile.NamedTemporaryFile() as tf:
        for _ in range(runs):
            t = time.perf_counter()
            p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name] + cmd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t)
            if p.returncode not in (0, 3):
                sys.exit(f"benchmark: {' '.join(cmd)} failed")
            with open(tf.name) as f:
                rss = max(rss, int(f.read().split()[-1]))
    return statistics.median(walls), rss


def stats_line(cmd):
    """Run pupa with --stats and return its numbers (exits, bytes, ...)."""
    p = subprocess.run(cmd + ["--stats"], capture_output=True, text=True)
    m = re.search(r"(\d+) exits, (\d+) frames, (\d+) bytes read.*worker peak RSS (\d+) KiB",
                  p.stderr)
    if not m:
        sys.exit(f"benchmark: no stats from {' '.join(cmd)}: {p.stderr}")
    return {"exits": int(m.group(1)), "frames": int(m.group(2)), "bytes": int(m.group(3)),
            "worker_rss": int(m.group(4))}


def need(tool):
    if not shutil.which(tool):
        sys.exit(f"benchmark: {tool} is not installed (tools/setup)")


def table(rows, header):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    print(fmt.format(*header))
    for r in rows:
        print(fmt.format(*r))
