#!/usr/bin/python3
"""compare_info.py: check a tool's `info` output against qemu-img info.

usage: compare_info.py --tool CMD [--tool-arg ARG]... [--json-only] IMAGE...

For every image, the tool's human output (without pupa's trailing safety
block) must equal `qemu-img info IMAGE` byte for byte, and its JSON
(without "safety") must equal `qemu-img info --output=json IMAGE` as parsed
objects. Prints a diff for each mismatch; exit 1 if any."""
import argparse
import difflib
import json
import os
import subprocess
import sys


def run(cmd):
    p = subprocess.run(cmd, capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), p.stderr.decode(
        "utf-8", "surrogateescape")


def strip_safety(text):
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("safety: "):
            return "".join(lines[:i])
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--tool-arg", action="append", default=[])
    ap.add_argument("--json-only", action="store_true")
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()
    tool = [a.tool] + a.tool_arg
    bad = 0
    for img in a.images:
        qrc, qout, qerr = run(["qemu-img", "info", img])
        trc, tout, terr = run(tool + [img])
        if qrc != 0:
            # qemu-img refuses it: the tool must refuse it too
            if trc == 0:
                print(f"MISMATCH {img}: qemu-img fails ({qerr.strip()}) but the tool succeeds")
                bad += 1
            continue
        if trc != 0:
            print(f"MISMATCH {img}: tool failed: {terr.strip()}")
            bad += 1
            continue
        if not a.json_only and strip_safety(tout) != qout:
            print(f"MISMATCH {img} (human):")
            sys.stdout.writelines(difflib.unified_diff(qout.splitlines(True),
                                                       strip_safety(tout).splitlines(True),
                                                       "qemu-img", "tool"))
            bad += 1
        qrc, qj, _ = run(["qemu-img", "info", "--output=json", img])
        trc, tj, terr = run(tool + ["--output=json", img])
        try:
            tobj = json.loads(tj)
        except ValueError as e:
            print(f"MISMATCH {img} (json): tool output does not parse: {e}")
            bad += 1
            continue
        tobj.pop("safety", None)
        qobj = json.loads(qj)
        if tobj != qobj:
            print(f"MISMATCH {img} (json):")
            sys.stdout.writelines(difflib.unified_diff(
                json.dumps(qobj, indent=2, sort_keys=True).splitlines(True),
                json.dumps(tobj, indent=2, sort_keys=True).splitlines(True), "qemu-img", "tool"))
            bad += 1
    print(f"{len(a.images) - bad}/{len(a.images)} images match")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
