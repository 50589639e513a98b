#!/usr/bin/python3
"""test_guests.py PUPA GUESTDIR ACCEL CASE: boot one misbehaving test guest and
check that the VMM reports the expected outcome, with the expected exit
status, within the timeout, and survives."""
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pupatest import expect, fail, json_lines, need_accel, no_escapes, run  # noqa: E402


def main():
    pupa, guests, accel, case = sys.argv[1:5]
    need_accel(accel)
    elf = os.path.join(guests, f"guest-{case}.elf")
    # a generous timeout: only the spin case is about timeouts (a loaded machine must not
    # turn the others red)
    base = [pupa, "run", f"--accel={accel}", "--guest", elf, "--timeout", "120"]

    if case == "scripted":
        rc, out, err = run(base + ["--progress=json", "--operation", "scripted-op"])
        expect(rc == 0, f"exit {rc}: {err}")
        frames = json_lines(err)
        kinds = [next(k for k in f if k not in ("elapsed", "image", "level")) for f in frames]
        want = ["init", "capacity", "progress", "error", "info_result", "digest", "finding",
                "info_node", "snapshot", "complete"]
        expect(kinds == want, f"frame kinds {kinds}, want {want}")
        f = {k: frames[i][k] for i, k in enumerate(kinds)}
        expect(f["init"] == {"stage": "scripted", "device": "vda", "address": 0x1234}, f["init"])
        expect(f["capacity"] == {"device": "vda", "sectors": 8, "bytes": 4096}, f["capacity"])
        expect(f["progress"]["percent"] == 25 and f["progress"]["total"] == 200, f["progress"])
        expect(f["error"]["message"] == "a scripted error" and f["error"]["sector"] == 7,
               f["error"])
        expect(f["digest"]["sha256"].startswith("deadbeef00"), f["digest"])
        expect(f["finding"]["check"] == "scripted-check", f["finding"])
        expect(f["snapshot"]["name"] == "snap", f["snapshot"])
        # the guest echoes the operation it was given: proof it decoded VmmConfig
        expect(f["complete"] == {"operation": "scripted-op", "count": 0, "success": True},
               f["complete"])
        levels = [fr["level"] for fr in frames]
        expect(levels[2] == "PROGRESS" and levels[3] == "ERROR" and levels[-1] == "COMPLETE",
               levels)
        expect("guest exited with status 0" in out, out)
    elif case == "badlen":
        rc, out, err = run(base)
        expect(rc == 1, f"exit {rc}")
        expect("protocol error at byte 0" in err and "length prefix over the limit" in err, err)
    elif case == "garbage":
        rc, out, err = run(base + ["--progress=plain"])
        expect(rc == 1, f"exit {rc}")
        expect("init before-garbage" in err, "the valid frame before the garbage was lost")
        expect("payload does not decode" in err, err)
        no_escapes(err, "plain progress")
    elif case == "spin":
        rc, out, err = run(base[:-1] + ["1"], timeout=30)
        expect(rc == 1, f"exit {rc}")
        expect("no progress for 1 s" in err and "--timeout=1" in err, err)
        # a worker that dies without a result (SIGKILL from outside): named as such
        proc = subprocess.Popen(base[:-1] + ["30"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        children = f"/proc/{proc.pid}/task/{proc.pid}/children"
        deadline = time.monotonic() + 20
        worker = ""
        while not worker and time.monotonic() < deadline:
            time.sleep(0.05)
            with open(children) as f:
                pids = f.read().split()
            worker = pids[0] if pids else ""
        expect(worker, "pupa started no worker")
        time.sleep(0.3)
        os.kill(int(worker), signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        expect(proc.returncode == 1, f"exit {proc.returncode}: {err}")
        expect("worker died (Killed)" in err, f"the killed worker is not named: {err!r}")
    elif case == "triplefault":
        # wiping the IDT once made KVM triple-fault; the IDT is supervisor-only now
        rc, out, err = run(base)
        expect(rc == 1, f"exit {rc}")
        expect("CPU exception 14 (#PF page fault) at rip 0x" in err and "address 0x8000" in err,
               err)
    elif case == "ring0":
        # a ring-3 guest tries to reach ring 0 through its tables, privileged instructions
        # and the system-call entries: each attempt is the guest's crash (never an "init
        # ring0" frame, which the guest sends when an attack got through)
        pf = "CPU exception 14 (#PF page fault) at rip 0x"
        gp = "CPU exception 13 (#GP general protection) at rip 0x"
        want = {
            "idt": (pf, "address 0x8030"), "gdt": (pf, "address 0x1038"),
            "tss": (pf, "address 0xa004"), "pagetable": (pf, "address 0x4000"),
            "trampoline": (pf, "address 0x8800"), "read-pml4": (pf, "address 0x2000"),
            "cr0": (gp, ""), "lidt": (gp, ""), "wrmsr": (gp, ""), "cr3": (gp, ""),
            "sysenter": ("CPU exception 6 (#UD invalid opcode)", ""),
            # KVM enters ring 0 at LSTAR, 0, an absent page; Unicorn calls a hook
            "syscall": (f"{pf}0, address 0x0", "") if accel == "kvm" else
                       ("SYSCALL at rip 0x", ""),
        }
        for op, (what, where) in want.items():
            rc, out, err = run(base + ["--operation", op])
            expect(rc == 1, f"{op}: exit {rc}: {err}")
            expect("init ring0" not in err, f"{op}: the attack got through: {err}")
            expect(what in err and where in err, f"{op}: {err}")
    elif case == "halt":
        rc, out, err = run(base)
        expect(rc == 1, f"exit {rc}")
        expect("guest halted (HLT at rip 0x" in err and "without reporting an exit status" in err,
               err)
    elif case == "flood":
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "guest.log")
            rc, out, err = run(base + [f"--guest-log={log}"], timeout=300)
            expect(rc == 0, f"exit {rc}: {err}")
            size = os.path.getsize(log)
            expect(size <= 16 * 1024 * 1024 + 100, f"guest log grew to {size} bytes")
            expect(open(log, "rb").read()[-40:].strip().endswith(b"[pupa: guest log capped]"),
                   "no cap marker at the end of the log")
    elif case == "strays":
        rc, out, err = run(base + ["--progress=json"])
        expect(rc == 0, f"exit {rc}: {err}")
        frames = json_lines("\n".join(l for l in err.splitlines() if l.startswith("{")))
        init = next(f["init"] for f in frames if "init" in f)
        expect(init["address"] >> 32 == 0xffffffff, f"unassigned MMIO read as {init}")
        expect((init["address"] >> 24) & 0xff == 0xff, f"unknown port read as {init}")
        expect(frames[-1]["complete"]["success"], frames[-1])
        expect("no device there" in err, "the stray access was not logged")
    elif case == "warnflood":
        # 5000 rejected QUEUE_READY writes and 5000 writes to a port without a device: a
        # bounded number of lines, then how many were suppressed (the first unknown access
        # is logged, every one with -v)
        with tempfile.TemporaryDirectory() as d:
            disk = os.path.join(d, "disk")
            with open(disk, "wb") as f:
                f.write(bytes(4096))
            for extra, total in (([], 5001), (["-v"], 10000)):
                rc, out, err = run(base + ["--disk", disk] + extra, timeout=300)
                expect(rc == 0, f"exit {rc}: {err[-2000:]}")
                lines = err.splitlines()
                warned = [l for l in lines if "rejected" in l or "no device there" in l]
                expect(len(warned) == 20, f"{len(warned)} warning lines {extra}")
                expect(len(lines) < 40, f"{len(lines)} lines of stderr {extra}")
                # every line names the image the guest worked on
                want = f"pupa: {disk}: {total - 20} more warnings about this guest suppressed"
                expect(want in lines, f"no '{want}' in {lines[-5:]}")
                expect(all(l.startswith(f"pupa: {disk}: ") for l in warned), warned[:2])
    elif case == "abinote":
        # the loader wants the ABI note every guest on guest/rt carries, of its own version:
        # a guest with another version or without the note is refused with one line
        with open(os.path.join(guests, "guest-scripted.elf"), "rb") as f:
            image = f.read()
        head = struct.pack("<III8s", 5, 4, 1, b"PUPA")
        at = image.find(head)
        expect(at > 0 and image.find(head, at + 1) < 0, "no single ABI note in guest-scripted")
        version = struct.unpack_from("<I", image, at + len(head))[0]
        other = image[:at + len(head)] + struct.pack("<I", version + 1) + \
            image[at + len(head) + 4:]
        nameless = image[:at + 12] + b"XUPA" + image[at + 16:]
        with tempfile.TemporaryDirectory() as d:
            for data, want in ((other, f"pupa: guest ELF: built for pupa ABI version {version + 1}; "
                                       f"this pupa runs version {version} guests"),
                               (nameless, "pupa: guest ELF: not a pupa guest: no ABI note "
                                          "(.note.pupa.abi, built with guest/rt and "
                                          "guest/link.ld)")):
                path = os.path.join(d, "guest.elf")
                with open(path, "wb") as f:
                    f.write(data)
                cmd = [pupa, "run", f"--accel={accel}", "--guest", path, "--progress=none"]
                rc, out, err = run(cmd)
                expect(rc == 1, f"exit {rc}: {err}")
                expect(err == want + "\n", f"stderr {err!r}, want {want!r}")
            # the unpatched guest runs
            rc, out, err = run(base[:4] + [os.path.join(guests, "guest-scripted.elf")])
            expect(rc == 0, f"the unpatched guest: exit {rc}: {err}")
    else:
        fail(f"unknown case {case}")
    print(f"OK {case} on {accel}")


main()
