"""pupatest.py: helpers shared by pupa's end-to-end tests (run with /usr/bin/python3)."""
import argparse
import fcntl
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
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


ERROR_KEYS = {"filename", "error", "error-class", "retryable"}
RETRYABLE = {"timeout", "interrupted", "resources", "io-error"}


def error_class(error):
    """The "error-class" pupa gives an error line, from its wording (the common cases)."""
    rules = (("No such file or directory", "not-found"), ("Not a directory", "not-found"),
             ("Permission denied", "permission"), ("is a directory", "not-a-file"),
             ("is a FIFO", "not-a-file"), ("is a socket", "not-a-file"),
             ("is a character device", "not-a-file"), ("driver requires", "not-a-file"),
             ("Unknown driver", "unsupported"), ("--backing-chain:", "unsupported"),
             ("no progress for", "timeout"), (": interrupted", "interrupted"),
             ("exceeds", "result-too-large"), ("guest protocol error", "guest-failure"),
             ("worker", "guest-failure"), ("read failed", "io-error"))
    for words, cls in rules:
        if words in error:
            return cls
    return "refused" if error.startswith("Could not open '") else "guest-failure"


def error_object(name, error):
    """The JSON object of an image that could not be inspected."""
    cls = error_class(error)
    return {"filename": name, "error": error, "error-class": cls, "retryable": cls in RETRYABLE}


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


def run_pty_all(cmd, env=None, size=(24, 80), timeout=300):
    """cmd with stdin, stdout and stderr on one pseudo-terminal: its exit status and
    every byte the terminal received."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env,
                         start_new_session=True)
    os.close(slave)
    term, t0 = b"", time.monotonic()
    while True:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                chunk = b""
            if not chunk:
                break
            term += chunk
        if time.monotonic() - t0 > timeout:
            os.killpg(p.pid, signal.SIGKILL)
            fail("timed out")
    p.wait()
    os.close(master)
    return p.returncode, term.decode("utf-8", "surrogateescape")


def is_asan(pupa):
    """Is this pupa built with AddressSanitizer (whose memory figures differ)?"""
    p = subprocess.run(["ldd", pupa], capture_output=True, text=True)
    return "libasan" in p.stdout


class Context:
    """What a test case gets: the pupa under test, the backend, the test guests'
    directory, a fresh work directory and any extra arguments."""

    def __init__(self, args):
        self.pupa = os.path.abspath(args.pupa) if args.pupa else None
        self.accel = args.accel
        self.guests = args.guests
        self.extra = args.extra
        self.asan = bool(self.pupa) and is_asan(self.pupa)
        self.dir = None

    def guest(self, name):
        return os.path.join(self.guests, f"guest-{name}.elf")


def case_main(cases, setup=None):
    """The one way every end-to-end test runs: SCRIPT --list prints the case names (CMake
    reads them: the list of cases is written once, here); SCRIPT CASE --pupa PUPA
    [--accel kvm|emu] [--guests DIR] [--work DIR] [EXTRA...] runs one case in a fresh
    work directory, skipping (77) when its backend cannot run."""
    ap = argparse.ArgumentParser()
    ap.add_argument("case", nargs="?")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--pupa")
    ap.add_argument("--accel")
    ap.add_argument("--guests")
    ap.add_argument("--work")
    ap.add_argument("extra", nargs="*")
    args = ap.parse_args()
    if args.list:
        print(" ".join(cases))
        return
    if args.case not in cases or not args.pupa:
        ap.error(f"want a case ({', '.join(cases)}) and --pupa")
    if args.accel:
        need_accel(args.accel)
    ctx = Context(args)
    if args.work:
        shutil.rmtree(args.work, ignore_errors=True)
        os.makedirs(args.work)
        ctx.dir = args.work
    else:
        ctx.dir = tempfile.mkdtemp(prefix=f"pupa-{args.case}-")
    os.chmod(ctx.dir, 0o755)
    t0 = time.monotonic()
    try:
        if setup:
            setup(ctx)
        cases[args.case](ctx)
    finally:
        if not args.work:
            shutil.rmtree(ctx.dir, ignore_errors=True)
    print(f"OK {args.case}{' on ' + args.accel if args.accel else ''} "
          f"({time.monotonic() - t0:.1f} s)")
