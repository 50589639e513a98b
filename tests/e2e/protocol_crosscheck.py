#!/usr/bin/python3
# protocol_crosscheck.py: C framing vs an independent implementation (python3-protobuf classes from guest.proto), both directions.
"""Cross-check libpupa-protocol against Google's protobuf runtime.

  python -> C   Python writes frames of every message kind (and VmmConfig with
                0, 1 and 16 devices) with empty, typical and maximum-length
                values, plus frames only another implementation would write
                (unknown enum values, unknown fields); pupa-frames decodes the
                file and every JSON object must equal, field by field, what
                the schema says Python encoded.
  C -> python   write_frames (the C encoder, tests/protocol/samples.c) writes
                the same samples; Python decodes every frame and checks every
                field against its own construction of the sample.

Exit 0 when everything agrees, 1 on any difference, 77 when protoc or
python3-protobuf is missing (run with /usr/bin/python3: Debian's
python3-protobuf lives there).
"""

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "protocol"))

SKIP = 77
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def generate_classes(protoc, proto_dir, outdir):
    """protoc --python_out from the same guest.proto the C code is made from."""
    if not protoc or not shutil.which(protoc):
        print("SKIP: protoc not found (install protobuf-compiler)")
        sys.exit(SKIP)
    try:
        importlib.import_module("google.protobuf")
    except ImportError:
        print("SKIP: python3-protobuf not installed for %s" % sys.executable)
        sys.exit(SKIP)
    subprocess.run([protoc, "--python_out=" + outdir, "-I", proto_dir,
                    os.path.join(proto_dir, "guest.proto")], check=True)
    sys.path.insert(0, outdir)
    return importlib.import_module("guest_pb2")


def run_frames(pupa_frames, path, typ):
    p = subprocess.run([pupa_frames, "decode", "--type", typ, path], capture_output=True)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def check_json_lines(label, stdout, expected):
    """expected: [(label, expected JSON object)]"""
    import pupa_samples as ps
    lines = stdout.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    else:
        fail("%s: output does not end with a newline" % label)
    if len(lines) != len(expected):
        fail("%s: %d JSON lines for %d frames" % (label, len(lines), len(expected)))
    for i, (line, (what, want)) in enumerate(zip(lines, expected)):
        if not ps.is_compact(line):
            fail("%s: frame %d (%s): JSON is not compact: %s" % (label, i, what, line[:120]))
        try:
            got = json.loads(line)
        except ValueError as e:
            fail("%s: frame %d (%s): not JSON (%s): %s" % (label, i, what, e, line[:120]))
            continue
        for d in ps.diff_json(want, got):
            fail("%s: frame %d (%s): %s" % (label, i, what, d))


def python_to_c(pb2, samples, args, tmp):
    import pupa_samples as ps

    # GuestMessage: every kind x empty/typical/max, then frames a different
    # writer may produce.
    msgs = samples.guest_stream()
    extra = []
    m = pb2.GuestMessage(level=99)  # proto3 enums are open: unknown values travel as numbers
    m.info_node.kind = 42
    m.info_node.key = "k"
    extra.append(("unknown enum values", m, m.SerializeToString()))
    m = samples.guest("capacity", ps.TYPICAL)
    # unknown varint field 100 and length-delimited field 101, in front of
    # and behind the known fields: skipped by any decoder
    raw = b"\xa0\x06\x05" + m.SerializeToString() + b"\xaa\x06\x03abc"
    extra.append(("unknown fields", m, raw))
    m = samples.guest("progress", ps.TYPICAL)
    # a field repeated on the wire: the last value wins
    raw = m.SerializeToString() + b"\x22\x02\x10\x07"
    m.progress.current = 7
    extra.append(("repeated scalar, last wins", m, raw))
    m = pb2.GuestMessage()
    m.init.stage = "first"
    m2 = pb2.GuestMessage()
    m2.error.device = "second"
    extra.append(("two oneof members, the last wins", m2,
                  m.SerializeToString() + m2.SerializeToString()))

    data = b"".join(ps.frame(m.SerializeToString()) for _, m in msgs)
    data += b"".join(ps.frame(raw) for _, _, raw in extra)
    # sanity: Python reads its own file back (unknown fields aside)
    back = [pb2.GuestMessage.FromString(p) for p in ps.split_frames(data)]
    want = [m for _, m in msgs] + [m for _, m, _ in extra]
    assert len(back) == len(want)
    for i, (b, w) in enumerate(zip(back, want)):
        assert not ps.diff_messages(w, b), "python misreads its own frame %d" % i

    path = os.path.join(tmp, "python-guest.frames")
    with open(path, "wb") as f:
        f.write(data)
    rc, out, err = run_frames(args.pupa_frames, path, "guest")
    if rc != 0 or err:
        fail("pupa-frames decode (guest): exit %d, stderr %r" % (rc, err))
    expected = [(w, ps.expected_json(m)) for w, m in msgs]
    expected += [(w, ps.expected_json(m)) for w, m, _ in extra]
    check_json_lines("python->pupa-frames guest", out, expected)
    n_guest = len(expected)

    # VmmConfig with 0, 1 and 16 devices
    cfgs = samples.config_stream()
    data = b"".join(ps.frame(c.SerializeToString()) for _, c in cfgs)
    path = os.path.join(tmp, "python-config.frames")
    with open(path, "wb") as f:
        f.write(data)
    rc, out, err = run_frames(args.pupa_frames, path, "config")
    if rc != 0 or err:
        fail("pupa-frames decode (config): exit %d, stderr %r" % (rc, err))
    check_json_lines("python->pupa-frames config", out,
                     [(w, ps.expected_json(c)) for w, c in cfgs])

    # over-long strings (as Python may write them) are refused, not cut
    m = pb2.GuestMessage()
    m.capacity.device = "d" * 33
    path = os.path.join(tmp, "python-overlong.frames")
    ok = samples.guest("init", ps.TYPICAL).SerializeToString()
    with open(path, "wb") as f:
        f.write(ps.frame(ok) + ps.frame(m.SerializeToString()))
    rc, out, err = run_frames(args.pupa_frames, path, "guest")
    want_err = "pupa-frames: %s: byte %d: payload does not decode (string overflow)\n" % (
        path, 2 + len(ok))
    if rc != 1 or err != want_err or len(out.splitlines()) != 1:
        fail("over-long string: exit %d, stdout %r, stderr %r (expected %r)"
             % (rc, out, err, want_err))
    return n_guest + len(cfgs)


def c_to_python(pb2, samples, args, tmp):
    import pupa_samples as ps
    count = 0
    for typ, cls, expected in (("guest", pb2.GuestMessage, samples.guest_stream()),
                               ("config", pb2.VmmConfig, samples.config_stream())):
        path = os.path.join(tmp, "c-%s.frames" % typ)
        subprocess.run([args.write_frames, typ, path], check=True)
        with open(path, "rb") as f:
            data = f.read()
        try:
            payloads = ps.split_frames(data)
        except ValueError as e:
            fail("C %s stream: %s" % (typ, e))
            continue
        if len(payloads) != len(expected):
            fail("C %s stream: %d frames, expected %d" % (typ, len(payloads), len(expected)))
        for i, (payload, (what, want)) in enumerate(zip(payloads, expected)):
            try:
                got = cls.FromString(payload)
            except Exception as e:  # DecodeError, or invalid UTF-8
                fail("C %s frame %d (%s): python cannot decode it: %s" % (typ, i, what, e))
                continue
            for d in ps.diff_messages(want, got):
                fail("C %s frame %d (%s): %s" % (typ, i, what, d))
            if got.ByteSize() != len(payload):
                # Python would encode the same fields in a different length:
                # an unknown or non-canonical field slipped in
                fail("C %s frame %d (%s): %d payload bytes, python re-encodes %d"
                     % (typ, i, what, len(payload), got.ByteSize()))
            count += 1
    return count


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--protoc", default=shutil.which("protoc"))
    ap.add_argument("--proto-dir", required=True, help="directory with guest.proto, guest.options")
    ap.add_argument("--pupa-frames", required=True)
    ap.add_argument("--write-frames", required=True)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="pupa-crosscheck-") as tmp:
        pb2 = generate_classes(args.protoc, args.proto_dir, tmp)
        import pupa_samples as ps
        samples = ps.Samples(pb2, os.path.join(args.proto_dir, "guest.options"))
        n1 = python_to_c(pb2, samples, args, tmp)
        n2 = c_to_python(pb2, samples, args, tmp)
    if failures:
        print("%d differences" % len(failures), file=sys.stderr)
        return 1
    print("ok: %d python frames decoded by pupa-frames, %d C frames decoded by python" % (n1, n2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
