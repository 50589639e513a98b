"""pupatest.py: helpers shared by pupa's end-to-end tests (run with /usr/bin/python3)."""
import json
import os
import subprocess
import sys

SKIP = 77


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


def need_accel(accel):
    """Skip (77) when the backend cannot run here."""
    if accel == "kvm":
        if not os.path.exists("/dev/kvm"):
            skip("/dev/kvm is absent on this machine")
        try:
            fd = os.open("/dev/kvm", os.O_RDWR)
            os.close(fd)
        except OSError as e:
            skip(f"/dev/kvm cannot be opened: {e}")


def need_tool(name):
    from shutil import which
    if not which(name):
        skip(f"{name} is not installed")


def run(cmd, timeout=120, stdin=None, env=None):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, input=stdin, env=env)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), p.stderr.decode(
        "utf-8", "surrogateescape")


def json_lines(text):
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError as e:
            fail(f"line {n} is not JSON ({e}): {line!r}")
    return out


def no_escapes(text, what):
    if "\x1b" in text:
        fail(f"{what} contains escape codes: {text!r}")


def expect(cond, why):
    if not cond:
        fail(why)
