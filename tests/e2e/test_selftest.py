#!/usr/bin/python3
"""test_selftest.py PUPA ACCEL: `pupa selftest` boots the guest and reports OK."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from pupatest import expect, need_accel, run  # noqa: E402

pupa, accel = sys.argv[1:3]
need_accel(accel)
rc, out, err = run([pupa, "selftest", f"--accel={accel}"])
expect(rc == 0, f"exit {rc}: {err}")
m = re.fullmatch(r"pupa selftest: backend (\w+), boot to exit ([\d.]+) ms \(VM set-up ([\d.]+) ms\), "
                 r"(\d+) exits, (\d+) frames: OK\n", out)
expect(m, f"unexpected output {out!r}")
expect(m.group(1) == accel, f"ran on {m.group(1)}, asked for {accel}")
expect(int(m.group(5)) == 4, f"{m.group(5)} frames, the guest sends 4")
expect(1 <= int(m.group(4)) <= 20, f"{m.group(4)} exits (the budget is 20)")
# a bad accelerator name is a usage error
rc, out, err = run([pupa, "selftest", "--accel=bogus"])
expect(rc == 2 and "--accel must be auto, kvm or emu, not 'bogus'" in err, f"exit {rc}: {err}")
print("OK")
