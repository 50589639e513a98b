"""pupatest.py: helpers shared by pupa's end-to-end tests (run with /usr/bin/python3)."""
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

SKIP = 77

HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"  # the cursor, hidden while bars are drawn


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


def run_pty(cmd, env=None, size=(24, 72), interrupt_when=None, timeout=120):
    """cmd with stdin and stderr on a pseudo-terminal of size (rows, columns), stdout on a
    pipe; SIGINT to its process group (like Ctrl-C) once interrupt_when(stdout so far,
    seconds) is true. Returns rc, stdout, what the terminal received, the seconds at which
    SIGINT was sent (None: never), elapsed seconds."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env,
                         start_new_session=True)
    os.close(slave)
    term, out, sent = b"", b"", None
    fds = [master, p.stdout]
    while fds:
        now = time.monotonic() - t0
        if sent is None and interrupt_when is not None and interrupt_when(out, now):
            os.killpg(p.pid, signal.SIGINT)
            sent = now
        r, _, _ = select.select(fds, [], [], 0.02)
        if master in r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                chunk = b""
            if chunk:
                term += chunk
            else:
                fds.remove(master)
        if p.stdout in r:
            chunk = p.stdout.read1(65536)
            if chunk:
                out += chunk
            else:
                fds.remove(p.stdout)
        if now > timeout:
            os.killpg(p.pid, signal.SIGKILL)
            fail("timed out")
    p.wait()
    os.close(master)
    return p.returncode, out.decode(), term.decode("utf-8", "replace"), sent, \
        time.monotonic() - t0
