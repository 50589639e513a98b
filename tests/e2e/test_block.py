#!/usr/bin/python3
"""test_block.py CASE --pupa PUPA --accel ACCEL: pupa map, compare and read --virtual end to
end (the guest's block drivers over virtio-blk), against qemu-img 7.2 on images made here:
compare's messages and exit statuses on identical, different-by-one-byte and
different-size pairs, strict mode; backing chains given with --backing (and refused
without it); qemu's failures (corrupt tables, unreadable compressed clusters);
--require-safe stopping before the contents; lists, shards and JSON Lines; usage errors.
(The whole corpus against qemu-img map and convert: blk_vs_qemu.py.)"""
import hashlib
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pupatest import case_main, expect, need_tool, run  # noqa: E402


def q(*args, cwd=None):
    p = subprocess.run(["qemu-img"] + list(args), capture_output=True, text=True, cwd=cwd,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def qio(fmt, cmd, path):
    subprocess.run(["qemu-io", "-f", fmt, "-c", cmd, path], capture_output=True, check=True)


def setup(ctx):
    need_tool("qemu-img")
    need_tool("qemu-io")
    d = ctx.dir
    ctx.p = lambda name: os.path.join(d, name)
    raw = ctx.p("disk.raw")
    q("create", "-q", "-f", "raw", raw, "3M")
    for at in (0, 70000, 1048576, 2500000):
        qio("raw", f"write -P 0x5a {at} 30000", raw)
    q("convert", "-O", "qcow2", raw, ctx.p("disk.qcow2"))
    q("convert", "-c", "-O", "qcow2", raw, ctx.p("zlib.qcow2"))
    q("convert", "-O", "qcow2", raw, ctx.p("flip.qcow2"))
    qio("qcow2", "write -P 0x5b 1048600 1", ctx.p("flip.qcow2"))
    # bigger: zeros past the common size / data past it
    q("convert", "-O", "qcow2", raw, ctx.p("bigzero.qcow2"))
    q("resize", "-q", ctx.p("bigzero.qcow2"), "4M")
    q("convert", "-O", "qcow2", raw, ctx.p("bigdata.qcow2"))
    q("resize", "-q", ctx.p("bigdata.qcow2"), "4M")
    qio("qcow2", "write -P 0x77 3670016 512", ctx.p("bigdata.qcow2"))
    # a chain: top over mid over the raw disk
    q("create", "-q", "-f", "qcow2", "-b", "disk.raw", "-F", "raw", ctx.p("mid.qcow2"),
      cwd=d)
    qio("qcow2", "write -P 0x11 65536 4096", ctx.p("mid.qcow2"))
    q("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", ctx.p("top.qcow2"),
      cwd=d)
    qio("qcow2", "write -z 1048576 65536", ctx.p("top.qcow2"))


def pupa(ctx, *args):
    return [ctx.pupa, args[0], f"--accel={ctx.accel}"] + list(args[1:])


def same_as_qemu(ctx, qemu_args, pupa_args, cwd=None):
    """The same stdout and exit status as qemu-img; returns pupa's (rc, out, err)."""
    qr = q(*qemu_args, cwd=cwd)
    pr = run(pupa(ctx, *pupa_args))
    expect(qr[0] == pr[0] and qr[1] == pr[1],
           f"{pupa_args}: qemu-img exit {qr[0]} {qr[1]!r} {qr[2]!r}, pupa exit {pr[0]} "
           f"{pr[1]!r} {pr[2]!r}")
    return pr


def case_compare(ctx):
    p = ctx.p
    pairs = [("disk.qcow2", "disk.raw"), ("disk.qcow2", "zlib.qcow2"),
             ("disk.qcow2", "flip.qcow2"), ("flip.qcow2", "zlib.qcow2"),
             ("disk.qcow2", "bigzero.qcow2"), ("bigzero.qcow2", "disk.qcow2"),
             ("disk.qcow2", "bigdata.qcow2"), ("bigdata.qcow2", "disk.raw")]
    for a, b in pairs:
        for opts in ([], ["-s"], ["-q"], ["-s", "-q"]):
            same_as_qemu(ctx, ["compare"] + opts + [p(a), p(b)],
                         ["compare"] + opts + [p(a), p(b)])
    # -f/-F as qemu-img's: the raw bytes of a qcow2 differ from its disk
    same_as_qemu(ctx, ["compare", "-f", "raw", "-F", "qcow2", p("disk.qcow2"), p("disk.qcow2")],
                 ["compare", "-f", "raw", "-F", "qcow2", p("disk.qcow2"), p("disk.qcow2")])
    # an image that does not open: qemu-img's status 2
    rc, out, err = run(pupa(ctx, "compare", p("disk.qcow2"), p("missing.qcow2")))
    expect(rc == 2 and out == "" and "missing.qcow2" in err, f"missing: {rc} {out!r} {err!r}")
    # several pairs: one line each, the worst status
    rc, out, err = run(pupa(ctx, "compare", p("disk.qcow2"), p("disk.raw"), p("disk.qcow2"),
                            p("flip.qcow2")))
    expect(rc == 1 and out == f"{p('disk.qcow2')} {p('disk.raw')}: Images are identical.\n"
           f"{p('disk.qcow2')} {p('flip.qcow2')}: Content mismatch at offset 1048576!\n",
           f"two pairs: {rc} {out!r} {err!r}")
    rc, out, err = run(pupa(ctx, "compare", "--output=json", p("disk.qcow2"), p("flip.qcow2")))
    obj = json.loads(out)
    expect(rc == 1 and obj["identical"] is False and
           obj["message"] == "Content mismatch at offset 1048576!" and obj["safety"]["safe"],
           f"JSON: {rc} {out!r}")


def case_backing(ctx):
    p = ctx.p
    chain = [f"--backing={p('mid.qcow2')}", f"--backing={p('disk.raw')}"]
    # refused without the chain: one line, exit 1, nothing read
    for op in (["map"], ["read", "--virtual", "--sha256"]):
        rc, out, err = run(pupa(ctx, *op, "--progress=none", p("top.qcow2")))
        expect(rc == 1 and out == "" and len(err.strip().splitlines()) == 1 and
               "--backing" in err, f"{op} without --backing: {rc} {out!r} {err!r}")
    # half a chain: the middle names a backing file too
    rc, out, err = run(pupa(ctx, "map", chain[0], p("top.qcow2")))
    expect(rc == 1 and "mid.qcow2" in err, f"half a chain: {rc} {err!r}")
    # a chain too long: the last layer names none
    rc, out, err = run(pupa(ctx, "map", *chain, f"--backing={p('disk.raw')}", p("top.qcow2")))
    expect(rc == 1 and "names no backing file" in err, f"too long: {rc} {err!r}")
    # with it: qemu-img's map (the File column: the names given) and bytes
    qr = q("map", "--output=json", p("top.qcow2"))
    pr = run(pupa(ctx, "map", "--output=json", *chain, p("top.qcow2")))
    expect(pr[0] == 0 and pr[1] == qr[1], f"chain map: {qr} / {pr}")
    qr = q("map", p("top.qcow2"))
    pr = run(pupa(ctx, "map", *chain, p("top.qcow2")))
    expect(pr[0] == 0 and pr[1] == qr[1], f"chain map (human): {qr} / {pr}")
    q("convert", "-O", "raw", p("top.qcow2"), p("top.out"))
    want = hashlib.sha256(open(p("top.out"), "rb").read()).hexdigest()
    rc, out, err = run(pupa(ctx, "read", "--virtual", "--sha256", *chain, p("top.qcow2")))
    expect(rc == 0 and out == f"{want}  {p('top.qcow2')}\n", f"chain read: {rc} {out!r} {err!r}")
    # compare of the chain with its flattened copy, each side with its own chain
    rc, out, err = run(pupa(ctx, "compare", *chain, p("top.qcow2"), p("top.out")))
    expect(rc == 0 and out == "Images are identical.\n", f"chain compare: {rc} {out!r} {err!r}")
    rc, out, err = run(pupa(ctx, "compare", *[c.replace("--backing=", "--backing2=")
                                              for c in chain], p("top.out"), p("top.qcow2")))
    expect(rc == 0 and out == "Images are identical.\n", f"--backing2: {rc} {out!r} {err!r}")


def l1_entry(path):
    with open(path, "rb") as f:
        h = f.read(48)
    return struct.unpack(">Q", h[40:48])[0]


def case_errors(ctx):
    p = ctx.p
    # an L2 table offset that is not cluster-aligned: qemu's corruption message, EIO
    bad = p("bad-l2.qcow2")
    with open(p("disk.qcow2"), "rb") as f:
        data = bytearray(f.read())
    l1 = l1_entry(p("disk.qcow2"))
    entry = struct.unpack(">Q", data[l1:l1 + 8])[0]
    data[l1:l1 + 8] = struct.pack(">Q", entry + 512)
    open(bad, "wb").write(data)
    qr = q("map", bad)
    pr = run(pupa(ctx, "map", bad))
    expect(pr[0] == qr[0] == 1 and pr[1] == qr[1], f"corrupt map: {qr} / {pr}")
    expect("Could not read file metadata: Input/output error" in pr[2] and
           "qcow2: Image is corrupt: L2 table offset" in pr[2], f"corrupt map stderr: {pr[2]!r}")
    rc, out, err = run(pupa(ctx, "read", "--virtual", "--sha256", bad))
    expect(rc == 1 and out == "" and "Input/output error" in err, f"corrupt read: {rc} {err!r}")
    qr = q("compare", bad, p("disk.qcow2"))
    pr = run(pupa(ctx, "compare", bad, p("disk.qcow2")))
    expect(qr[0] == pr[0] == 3 and "Sector allocation test failed for " + bad in pr[2],
           f"corrupt compare: {qr} / {pr}")
    # compressed clusters: human map stops like qemu-img's, JSON maps them
    pr = same_as_qemu(ctx, ["map", p("zlib.qcow2")], ["map", p("zlib.qcow2")])
    expect("File contains external, encrypted or compressed clusters." in pr[2], pr[2])
    same_as_qemu(ctx, ["map", "--output=json", p("zlib.qcow2")],
                 ["map", "--output=json", p("zlib.qcow2")])


def case_require_safe(ctx):
    p = ctx.p
    chain = [f"--backing={p('mid.qcow2')}", f"--backing={p('disk.raw')}"]
    for op in (["map"], ["read", "--virtual", "--sha256"]):
        rc, out, err = run(pupa(ctx, *op, "--require-safe", *chain, p("top.qcow2")))
        expect(rc == 3 and out == "" and "UNSAFE (backing-file" in err,
               f"{op} --require-safe: {rc} {out!r} {err!r}")
        rc, out, err = run(pupa(ctx, *op, "--require-safe", p("disk.qcow2")))
        expect(rc == 0 and out, f"{op} --require-safe on a safe image: {rc} {err!r}")
    rc, out, err = run(pupa(ctx, "compare", "--require-safe", *chain, p("top.qcow2"),
                            p("disk.raw")))
    expect(rc == 2 and out == "", f"compare --require-safe: {rc} {out!r} {err!r}")


def case_lists(ctx):
    p = ctx.p
    imgs = [p("disk.qcow2"), p("zlib.qcow2"), p("missing.qcow2"), p("disk.raw")]
    rc, out, err = run(pupa(ctx, "map", "--output=json", "-j2", *imgs))
    lines = [json.loads(x) for x in out.splitlines()]
    expect(rc == 1 and [x["filename"] for x in lines] == imgs, f"map list: {rc} {out!r}")
    want = json.loads(q("map", "--output=json", p("zlib.qcow2"))[1])
    expect(lines[1]["map"] == want and "error" in lines[2], f"map list entries: {lines}")
    listfile = p("list")
    with open(listfile, "w") as f:
        f.write("\n".join(imgs[:2] + imgs[3:]) + "\n")
    got = []
    for k in (1, 2):
        rc, out, err = run(pupa(ctx, "read", "--virtual", "--sha256", f"--files-from={listfile}",
                                f"--shard={k}/2"))
        expect(rc == 0, f"shard {k}: {rc} {err!r}")
        got += out.splitlines()
    want = []
    for img in imgs[:2] + imgs[3:]:
        q("convert", "-O", "raw", img, p("x.raw"))
        want.append(f"{hashlib.sha256(open(p('x.raw'), 'rb').read()).hexdigest()}  {img}")
    expect(sorted(got) == sorted(want), f"shards: {got} / {want}")
    rc, out, err = run(pupa(ctx, "read", "--virtual", "--output=json", p("disk.qcow2")))
    obj = json.loads(out)
    expect(rc == 0 and obj["virtual"] is True and obj["bytes"] == 3145728, f"read json: {out!r}")


def case_usage(ctx):
    p = ctx.p
    for args in (["compare", p("disk.qcow2")],
                 ["compare", p("disk.qcow2"), p("disk.raw"), p("zlib.qcow2")],
                 ["read", "--sector-size=4096", "--virtual", p("disk.qcow2")],
                 ["read", f"--backing={p('disk.raw')}", p("disk.qcow2")],
                 ["map", "-F", "raw", p("disk.qcow2")],
                 ["map", "--start-offset=-1", p("disk.qcow2")],
                 ["map", "--max-length=1x", p("disk.qcow2")],
                 ["map", "--strict", p("disk.qcow2")]):
        rc, out, err = run(pupa(ctx, *args))
        expect(rc == 2 and out == "", f"{args}: {rc} {out!r} {err!r}")
    # qemu-img's size suffixes and ranges
    for start, length in (("1M", "64k"), ("1048577", "3"), ("5M", "1M"), ("0", "0")):
        same_as_qemu(ctx, ["map", "--output=json", f"--start-offset={start}",
                           f"--max-length={length}", p("disk.qcow2")],
                     ["map", "--output=json", f"--start-offset={start}",
                      f"--max-length={length}", p("disk.qcow2")])


CASES = {"compare": case_compare, "backing": case_backing, "errors": case_errors,
         "require-safe": case_require_safe, "lists": case_lists, "usage": case_usage}

if __name__ == "__main__":
    case_main(CASES, setup)
