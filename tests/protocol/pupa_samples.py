# pupa_samples.py: the protocol test samples built independently in Python (mirror of tests/protocol/samples.c).
"""Sample messages for the Python cross-check.

Built from the protobuf classes protoc generates from proto/guest.proto and
the sizes in proto/guest.options, without looking at the C code: the MAX
variant is derived from the schema (every string at its max_size - 1, every
integer at its widest value), TYPICAL values are spelled out below. The
order of the samples matches tests/protocol/samples.c (sample_guest_stream,
sample_config_stream) so frames written by the C code can be checked one by
one.
"""

import hashlib
import re
import struct

from google.protobuf import descriptor as _d

KINDS = ["none", "init", "capacity", "progress", "error", "complete", "info_result",
         "digest", "info_node", "snapshot", "finding", "map_extents", "compare_result"]
EMPTY, TYPICAL, MAX = "empty", "typical", "max"
STREAM_VARIANTS = [MAX, EMPTY, TYPICAL]  # order of sample_*_stream in samples.c
NDEVICES = [0, 1, 16]

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
E_ACUTE, EURO, GRIN = "\u00e9", "\u20ac", "\U0001F600"

U32, U64, I64_MIN = 2**32 - 1, 2**64 - 1, -2**63


def fill(n, salt):
    """n characters of the max-length pattern, starting at position salt."""
    return "".join(ALNUM[(i + salt) % 62] for i in range(n))


def read_options(path):
    """guest.options -> {"pupa.Msg.field": {"max_size": n, "max_count": n}}"""
    opts = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, *settings = line.split()
            for s in settings:
                key, value = s.split(":", 1)
                opts.setdefault(name, {})[key] = int(value)
    return opts


# Strings whose MAX value is not the alnum pattern (still exactly 4096 bytes).
def _escapes():
    unit = "a\"\\\n\t\x01" + E_ACUTE + EURO + GRIN
    assert len(unit.encode()) == 15
    return unit * 273 + "z"


MAX_OVERRIDES = {
    "pupa.ErrorMessage.message": lambda: GRIN * 1024,
    "pupa.FindingMessage.detail": _escapes,
}


class Samples:
    def __init__(self, pb2, options_path):
        self.pb2 = pb2
        self.opts = read_options(options_path)

    # -------------------------------------------------------- max variant
    def max_string_len(self, field):
        return self.opts[field.full_name]["max_size"] - 1

    def fill_max(self, msg, index=0):
        """Every field of msg at its widest value; salt = field number + index."""
        for field in msg.DESCRIPTOR.fields:
            if field.containing_oneof is not None:
                continue  # the payload member is chosen by the caller
            salt = field.number + index
            if field.label == _d.FieldDescriptor.LABEL_REPEATED:
                continue  # filled by the caller (devices)
            t = field.type
            if t == _d.FieldDescriptor.TYPE_STRING:
                override = MAX_OVERRIDES.get(field.full_name)
                value = override() if override else fill(self.max_string_len(field), salt)
                assert len(value.encode()) == self.max_string_len(field), field.full_name
            elif t == _d.FieldDescriptor.TYPE_BYTES:
                n = self.opts[field.full_name]["max_size"]
                value = bytes((i * 37 + salt) & 0xff for i in range(n))
            elif t in (_d.FieldDescriptor.TYPE_UINT64, _d.FieldDescriptor.TYPE_FIXED64):
                value = U64
            elif t in (_d.FieldDescriptor.TYPE_UINT32, _d.FieldDescriptor.TYPE_FIXED32):
                value = U32
            elif t in (_d.FieldDescriptor.TYPE_INT64, _d.FieldDescriptor.TYPE_SINT64,
                       _d.FieldDescriptor.TYPE_SFIXED64):
                value = I64_MIN
            elif t == _d.FieldDescriptor.TYPE_BOOL:
                value = True
            elif t == _d.FieldDescriptor.TYPE_ENUM:
                value = max(v.number for v in field.enum_type.values)
            elif t == _d.FieldDescriptor.TYPE_MESSAGE:
                self.fill_max(getattr(msg, field.name), index)
                continue
            else:
                raise AssertionError("no MAX rule for %s" % field.full_name)
            setattr(msg, field.name, value)

    # -------------------------------------------------------- GuestMessage
    def guest(self, kind, variant):
        pb = self.pb2
        m = pb.GuestMessage()
        if variant == EMPTY:
            if kind != "none":
                getattr(m, kind).SetInParent()
            return m
        if variant == MAX:
            self.fill_max(m)  # level = COMPLETE, the highest Level
            if kind != "none":
                sub = getattr(m, kind)
                sub.SetInParent()
                self.fill_max(sub)
                if kind == "map_extents":  # the repeated member at its max_count
                    count = self.opts["pupa.MapExtentsMessage.extents"]["max_count"]
                    for i in range(count):
                        self.fill_max(sub.extents.add(), i)
            return m
        assert variant == TYPICAL
        L = pb.Level
        if kind == "none":
            m.level = L.Value("INFO")
        elif kind == "init":
            m.level = L.Value("INFO")
            m.init.stage, m.init.device, m.init.address = "boot", "vda", 0x100000
        elif kind == "capacity":
            m.level = L.Value("INFO")
            c = m.capacity
            c.device, c.sectors, c.bytes = "vdb", 2097152, 1073741824
        elif kind == "progress":
            m.level = L.Value("PROGRESS")
            p = m.progress
            p.operation, p.device, p.current, p.total, p.percent = "read", "vda", 512, 2048, 25
        elif kind == "error":
            m.level = L.Value("ERROR")
            e = m.error
            e.operation, e.device, e.sector, e.status = "read", "vda", 77, 5
            e.message = 'I/O error: "sector" 77\tfailed\n\\ ' + E_ACUTE + EURO + GRIN
        elif kind == "complete":
            m.level = L.Value("COMPLETE")
            m.complete.operation, m.complete.count, m.complete.success = "info", 3, True
        elif kind == "info_result":
            m.level = L.Value("INFO")
            i = m.info_result
            i.format, i.version, i.virtual_size, i.actual_size = "qcow2", 3, 10737418240, 200704
            i.cluster_size, i.flags = 65536, (1 << 0) | (1 << 4)  # backing file, snapshots
            i.backing_file = "base image " + E_ACUTE + EURO + GRIN + ".qcow2"
            i.device, i.backing_format, i.specific_type = "vda", "raw", "qcow2"
            i.snapshot_count, i.node_count, i.finding_count = 2, 12, 1
        elif kind == "digest":
            m.level = L.Value("INFO")
            m.digest.device, m.digest.bytes = "vda", 1048576
            m.digest.sha256 = hashlib.sha256(b"").digest()
        elif kind == "info_node":
            m.level = L.Value("INFO")
            n = m.info_node
            n.kind, n.key, n.str_value = pb.NodeKind.Value("NODE_INT"), "cluster-offset", "x"
            n.int_value, n.uint_value, n.bool_value = -42, 7, True
        elif kind == "snapshot":
            m.level = L.Value("INFO")
            s = m.snapshot
            s.id, s.name, s.date_sec, s.date_nsec = "1", "before upgrade", 1700000000, 123456789
            s.vm_clock_nsec = 5000000000
        elif kind == "finding":
            m.level = L.Value("INFO")
            m.finding.check = "backing-file"
            m.finding.detail = 'backing file "../../etc/passwd" escapes\x01 the image directory'
        elif kind == "map_extents":
            m.level = L.Value("INFO")
            e = m.map_extents.extents.add()
            e.start, e.length, e.depth, e.present, e.data, e.has_offset, e.offset = (
                0, 65536, 0, True, True, True, 327680)
            e = m.map_extents.extents.add()
            e.start, e.length, e.depth, e.zero = 65536, 1048576, 1, True
            m.map_extents.last = True
        elif kind == "compare_result":
            m.level = L.Value("INFO")
            r = m.compare_result
            r.outcome = pb.CompareOutcome.Value("COMPARE_CONTENT_MISMATCH")
            r.offset, r.image, r.size_mismatch = 1536, 1, True
        else:
            raise AssertionError(kind)
        return m

    # -------------------------------------------------------- VmmConfig
    def config(self, ndev, variant):
        c = self.pb2.VmmConfig()
        if variant == EMPTY:
            for _ in range(ndev):
                c.devices.add()
            return c
        if variant == MAX:
            self.fill_max(c)
            for i in range(ndev):
                self.fill_max(c.devices.add(), i)
            return c
        for i in range(ndev):
            d = c.devices.add()
            d.name = "vd" + chr(ord("a") + i)
            d.sector_size = 512 << (i % 4)
            d.size_bytes = 1000000 + i * 1048576
            d.allocated_bytes, d.layer = 4096 * i, i
            d.format = "qcow2" if i == 0 else ""
            d.filename = "disk-%d.img" % i
        c.start_offset, c.max_length, c.has_max_length = 65536, 1048576, True
        c.strict, c.require_safe, c.virtual_disk = ndev == 16, True, ndev == 16
        c.progress_percent = 5
        c.operation = {0: "selftest", 1: "info"}.get(ndev, "read")
        c.format = "qcow2" if ndev == 1 else ""
        c.sha256 = ndev == 16
        c.filename = "/srv/images/disk 1 " + E_ACUTE + ".qcow2"
        return c

    def guest_stream(self):
        """[(label, GuestMessage)] in the order of sample_guest_stream()."""
        return [("%s/%s" % (k, v), self.guest(k, v)) for k in KINDS for v in STREAM_VARIANTS]

    def config_stream(self):
        return [("config %d devices/%s" % (n, v), self.config(n, v))
                for n in NDEVICES for v in STREAM_VARIANTS]


# ------------------------------------------------------------ frames

def frame(payload):
    assert len(payload) <= 0xffff
    return struct.pack("<H", len(payload)) + payload


def split_frames(data):
    """A frame stream -> [payload bytes]; raises on a truncated stream."""
    out, off = [], 0
    while off < len(data):
        if off + 2 > len(data):
            raise ValueError("byte %d: truncated length prefix" % off)
        (n,) = struct.unpack_from("<H", data, off)
        if off + 2 + n > len(data):
            raise ValueError("byte %d: truncated frame" % off)
        out.append(data[off + 2:off + 2 + n])
        off += 2 + n
    return out


# ------------------------------------------------------------ comparison

def diff_messages(want, got, path=""):
    """Field-by-field differences between two messages of the same type."""
    diffs = []
    if want.DESCRIPTOR.full_name != got.DESCRIPTOR.full_name:
        return ["%s: type %s != %s" % (path or ".", want.DESCRIPTOR.full_name,
                                        got.DESCRIPTOR.full_name)]
    for oneof in want.DESCRIPTOR.oneofs:
        a, b = want.WhichOneof(oneof.name), got.WhichOneof(oneof.name)
        if a != b:
            diffs.append("%s%s: member %s != %s" % (path, oneof.name, a, b))
    for field in want.DESCRIPTOR.fields:
        p = path + field.name
        a, b = getattr(want, field.name), getattr(got, field.name)
        if field.label == _d.FieldDescriptor.LABEL_REPEATED:
            if len(a) != len(b):
                diffs.append("%s: %d elements != %d" % (p, len(a), len(b)))
                continue
            for i, (x, y) in enumerate(zip(a, b)):
                if field.type == _d.FieldDescriptor.TYPE_MESSAGE:
                    diffs += diff_messages(x, y, "%s[%d]." % (p, i))
                elif x != y:
                    diffs.append("%s[%d]: %r != %r" % (p, i, x, y))
        elif field.type == _d.FieldDescriptor.TYPE_MESSAGE:
            if field.containing_oneof is not None and \
                    want.WhichOneof(field.containing_oneof.name) != field.name:
                continue
            diffs += diff_messages(a, b, p + ".")
        elif a != b:
            diffs.append("%s: %s != %s" % (p, short(a), short(b)))
    return diffs


def short(v):
    r = repr(v)
    return r if len(r) < 80 else r[:60] + "...(%d)" % len(v)


# ------------------------------------------------------------ expected JSON

def expected_json(msg):
    """What pupa-frames must print for msg, derived from the schema alone:
    every field by its guest.proto name (defaults included), enums by name
    (the number when unknown), the oneof member by its field name (absent
    members omitted), 64-bit integers as numbers, bytes as lowercase hex."""
    out = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if field.containing_oneof is not None and \
                msg.WhichOneof(field.containing_oneof.name) != field.name:
            continue
        if field.label == _d.FieldDescriptor.LABEL_REPEATED:
            out[field.name] = [expected_json(x) if field.type == _d.FieldDescriptor.TYPE_MESSAGE
                               else x for x in value]
        elif field.type == _d.FieldDescriptor.TYPE_MESSAGE:
            out[field.name] = expected_json(value)
        elif field.type == _d.FieldDescriptor.TYPE_ENUM:
            v = field.enum_type.values_by_number.get(value)
            out[field.name] = v.name if v is not None else value
        elif field.type == _d.FieldDescriptor.TYPE_BYTES:
            out[field.name] = value.hex()
        else:
            out[field.name] = value
    return out


def diff_json(want, got, path=""):
    diffs = []
    if isinstance(want, dict) and isinstance(got, dict):
        for k in want:
            if k not in got:
                diffs.append("%s%s: missing" % (path, k))
        for k in got:
            if k not in want:
                diffs.append("%s%s: not in guest.proto / not expected" % (path, k))
        for k in want:
            if k in got:
                diffs += diff_json(want[k], got[k], path + k + ".")
    elif isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            diffs.append("%s: %d elements != %d" % (path.rstrip("."), len(want), len(got)))
        for i, (a, b) in enumerate(zip(want, got)):
            diffs += diff_json(a, b, "%s[%d]." % (path.rstrip("."), i))
    elif type(want) is not type(got) or want != got:
        # bool vs int matters: JSON true is not 1
        diffs.append("%s: %s != %s" % (path.rstrip("."), short(want), short(got)))
    return diffs


_WS_OUTSIDE_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|(\s)')


def is_compact(line):
    """No whitespace outside JSON strings."""
    return not any(m.group(1) for m in _WS_OUTSIDE_STRINGS.finditer(line))
