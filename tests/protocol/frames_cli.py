#!/usr/bin/python3
# frames_cli.py: pupa-frames command line: usage, exit codes, stdin, chunked reads, and the one-line error for bad streams.
"""Usage: frames_cli.py PUPA_FRAMES TMPDIR

Frames are written by hand here (no protobuf runtime needed):
  02 00 08 01   GuestMessage{level: INFO}
  00 00         zero-length frame: the all-default message {"level":"DEBUG"}
"""

import json
import os
import subprocess
import sys
import time

INFO = b"\x02\x00\x08\x01"          # {"level":"INFO"}
ZERO = b"\x00\x00"                  # {"level":"DEBUG"}
CAP = b"\x07\x00\x08\x01\x1a\x03\x10\xe7\x07"  # capacity{sectors: 999}, level INFO

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def run(exe, args, stdin=b""):
    p = subprocess.run([exe] + args, input=stdin, capture_output=True)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def expect(label, got, rc=None, stdout=None, stderr=None, stderr_startswith=None):
    code, out, err = got
    if rc is not None and code != rc:
        fail("%s: exit %d, expected %d (stderr %r)" % (label, code, rc, err))
    if stdout is not None and out != stdout:
        fail("%s: stdout %r, expected %r" % (label, out, stdout))
    if stderr is not None and err != stderr:
        fail("%s: stderr %r, expected %r" % (label, err, stderr))
    if stderr_startswith is not None and not err.startswith(stderr_startswith):
        fail("%s: stderr %r, expected it to start with %r" % (label, err, stderr_startswith))


def main():
    exe, tmp = sys.argv[1], sys.argv[2]
    os.makedirs(tmp, exist_ok=True)

    def path(name, data):
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    # ---------------------------------------------------------------- usage
    code, out, err = run(exe, ["--help"])
    if code != 0 or "usage: pupa-frames decode [--type guest|config] [FILE|-]" not in out or err:
        fail("--help: exit %d, stdout %r, stderr %r" % (code, out[:80], err))
    expect("decode -h", run(exe, ["decode", "-h"]), rc=0, stderr="")
    for args in ([], ["encode"], ["decode", "--type"], ["decode", "--type", "other"],
                 ["decode", "--type=nope"], ["decode", "--bogus"], ["decode", "a", "b"]):
        code, out, err = run(exe, args)
        if code != 2 or out or not err.startswith("pupa-frames: ") or "usage:" not in err:
            fail("usage error %r: exit %d, stdout %r, stderr %r" % (args, code, out, err))
    code, out, err = run(exe, ["decode", os.path.join(tmp, "does-not-exist")])
    if code != 1 or out or "does-not-exist" not in err or err.count("\n") != 1:
        fail("missing file: exit %d, stdout %r, stderr %r" % (code, out, err))

    # ---------------------------------------------------------------- good streams
    lines = '{"level":"INFO"}\n{"level":"DEBUG"}\n' \
            '{"level":"INFO","capacity":{"device":"","sectors":999,"bytes":0}}\n'
    good = INFO + ZERO + CAP
    expect("stdin (no FILE)", run(exe, ["decode"], good), rc=0, stdout=lines, stderr="")
    expect("stdin (-)", run(exe, ["decode", "-"], good), rc=0, stdout=lines, stderr="")
    expect("FILE", run(exe, ["decode", path("good", good)]), rc=0, stdout=lines, stderr="")
    expect("--type=guest FILE", run(exe, ["decode", "--type=guest", path("good", good)]), rc=0,
           stdout=lines)
    expect("-- FILE", run(exe, ["decode", "--", path("good", good)]), rc=0, stdout=lines)
    expect("empty stream", run(exe, ["decode"], b""), rc=0, stdout="", stderr="")

    # VmmConfig{progress_percent: 5, sha256: true (field 18 = 0x90 0x01)}
    cfg = b"\x05\x00\x10\x05\x90\x01\x01"
    want = {"devices": [], "progress_percent": 5, "operation": "", "format": "", "sha256": True,
            "filename": "", "start_offset": 0, "max_length": 0, "has_max_length": False,
            "strict": False, "require_safe": False, "virtual_disk": False}
    code, out, err = run(exe, ["decode", "--type", "config"], cfg)
    if code != 0 or err or [json.loads(x) for x in out.splitlines()] != [want]:
        fail("--type config: exit %d, stdout %r, stderr %r" % (code, out, err))
    # the same bytes as a GuestMessage: field 2 is the init submessage, not a varint
    expect("config frame read as guest", run(exe, ["decode", "--type", "guest"], cfg), rc=1,
           stdout="", stderr="pupa-frames: <stdin>: byte 0: payload does not decode "
                              "(wrong wire type)\n")

    # many frames across the 64 KiB read size: every one comes out, in order
    big = b"".join(ZERO if i % 3 else CAP for i in range(30000))
    code, out, err = run(exe, ["decode", path("big", big)])
    outl = out.splitlines()
    if code != 0 or err or len(outl) != 30000 or outl[0] != lines.splitlines()[2] or \
            outl[1] != '{"level":"DEBUG"}' or outl[29999] != '{"level":"DEBUG"}':
        fail("big stream: exit %d, %d lines, stderr %r" % (code, len(outl), err))

    # a pipe that delivers one byte at a time
    p = subprocess.Popen([exe, "decode"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    for b in good:
        p.stdin.write(bytes([b]))
        p.stdin.flush()
        time.sleep(0.002)
    out, err = p.communicate()
    if p.returncode != 0 or out.decode() != lines or err:
        fail("byte-by-byte pipe: exit %d, stdout %r, stderr %r" % (p.returncode, out, err))

    # ---------------------------------------------------------------- bad streams
    # what decoded before the error is printed, then one line on stderr
    # naming the offset of the bad frame and the cause; exit 1
    two = '{"level":"INFO"}\n{"level":"DEBUG"}\n'
    cases = [
        ("length prefix over the limit", INFO + ZERO + b"\x01\x40" + b"\x00" * 100,
         "byte 6: length prefix over the limit"),
        ("length prefix 0xffff", INFO + ZERO + b"\xff\xff",
         "byte 6: length prefix over the limit"),
        ("payload does not decode", INFO + ZERO + b"\x03\x00\x08\x01\x0f" + INFO,
         "byte 6: payload does not decode (wrong wire type)"),
        ("truncated payload", INFO + ZERO + CAP[:-2],
         "byte 6: truncated frame (stream ends after 7 of its 9 bytes)"),
        ("truncated length prefix", INFO + ZERO + b"\x07",
         "byte 6: truncated frame (stream ends after 1 of its 2 bytes)"),
    ]
    for label, data, msg in cases:
        f = path(label.replace(" ", "-"), data)
        expect(label, run(exe, ["decode", f]), rc=1, stdout=two,
               stderr="pupa-frames: %s: %s\n" % (f, msg))
        expect(label + " (stdin)", run(exe, ["decode"], data), rc=1, stdout=two,
               stderr="pupa-frames: <stdin>: %s\n" % msg)

    # the error offset counts bytes across read chunks
    data = big + b"\x00\x41"
    expect("error after 64 KiB", run(exe, ["decode", path("big-bad", data)]), rc=1,
           stderr_startswith="pupa-frames: %s: byte %d: length prefix over the limit\n"
           % (os.path.join(tmp, "big-bad"), len(big)))

    if failures:
        print("%d failures" % len(failures), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
