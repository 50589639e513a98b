#!/usr/bin/python3
"""test_display.py PUPA CASE: what reaches a terminal (a pseudo-terminal here):
live bars, bounded redraw rate, cursor restored after SIGINT; plain and json
modes free of escape codes."""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pupatest import (HIDE, SHOW, expect, fail, json_lines, no_escapes, run,  # noqa: E402
                      run_pty)


def main():
    pupa, case = sys.argv[1:3]
    env = dict(os.environ, TERM="xterm")
    env.pop("NO_COLOR", None)
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "display-test.img")
        with open(img, "wb") as f:
            f.write(os.urandom(1 << 20))
            f.truncate(48 << 20)
        if case == "bars":
            rc, out, term, _, secs = run_pty([pupa, "read", "--sha256", "--accel=emu", img],
                                             env=env)
            expect(rc == 0, f"exit {rc}: {term}")
            expect(re.fullmatch(r"[0-9a-f]{64}  " + re.escape(img) + "\n", out), out)
            expect(HIDE in term, "the cursor was not hidden while drawing")
            expect(term.rstrip("\r\n").endswith(SHOW), f"cursor not shown at the end: {term[-40:]!r}")
            expect("display-test.img" in term and "%" in term, "no bar with the image name")
            expect("\x1b[32m" in term, "no colour on a colour terminal")
            redraws = term.count("\x1b[J")
            expect(redraws >= 2, f"only {redraws} redraws")
            expect(redraws <= 15 * secs + 3, f"{redraws} redraws in {secs:.2f} s (limit 15/s)")
            # lines fit the terminal width
            for line in term.replace("\r", "\n").split("\n"):
                visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line)
                expect(len(visible) <= 72, f"line wider than the terminal: {visible!r}")
        elif case == "no-color":
            env["NO_COLOR"] = "1"
            rc, out, term, _, _ = run_pty([pupa, "read", "--accel=emu", img], env=env)
            expect(rc == 0, term)
            expect("\x1b[32m" not in term, "colour despite NO_COLOR")
            expect(HIDE in term and SHOW in term, "bars were not drawn")
        elif case == "dumb":
            env["TERM"] = "dumb"
            rc, out, term, _, _ = run_pty([pupa, "read", "--accel=emu", img], env=env)
            expect(rc == 0, term)
            no_escapes(term, "output for TERM=dumb")
            expect("read 100%" in term, f"plain milestones missing: {term!r}")
        elif case == "sigint":
            big = os.path.join(d, "interrupt-test.img")
            with open(big, "wb") as f:
                f.truncate(8 << 30)
            rc, out, term, _, secs = run_pty(
                [pupa, "read", "--sha256", "--accel=emu", "--summary", "--timeout=0", img, big,
                 "--per-guest=1", "-j1"], env=env, interrupt_when=lambda o, t: t > 1.5)
            expect(rc == 130, f"exit {rc}, want 130: {term[-300:]!r}")
            expect(term.rstrip("\r\n").endswith(SHOW) or term.rfind(SHOW) > term.rfind(HIDE),
                   "cursor not restored after SIGINT")
            expect("interrupted" in term, f"no summary after the interrupt: {term[-300:]!r}")
            expect(secs < 15, f"took {secs:.1f} s to stop")
            # the finished image's digest was printed, the interrupted one not
            expect(out.count("\n") <= 1, out)
            time.sleep(0.2)
            ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
            expect("interrupt-test.img" not in ps, f"a worker is still running:\n{ps}")
        elif case == "plain":
            rc, out, err = run([pupa, "read", "--accel=emu", "--progress=plain", img])
            expect(rc == 0, err)
            no_escapes(err, "--progress=plain")
            lines = err.splitlines()
            expect(all(re.match(r"\[ *\d+\.\d{3}\] ", l) for l in lines), lines)
            expect(any("read 100%" in l for l in lines), lines)
        elif case == "json":
            rc, out, err = run([pupa, "read", "--accel=emu", "--progress=json", img])
            expect(rc == 0, err)
            no_escapes(err, "--progress=json")
            frames = json_lines(err)
            expect(all("elapsed" in f and f["image"] == img and "level" in f for f in frames),
                   frames[:3])
            expect(frames[-1].get("complete", {}).get("success") is True, frames[-1])
        else:
            fail(f"unknown case {case}")
    print(f"OK {case}")


main()
