# luks images. qemu-img needs seconds per LUKS image (PBKDF calibration), so these LUKS1
# headers are written the way qemu-img lays them out (8 key slots of 4000 stripes after a
# 4 KiB header), with the key material left empty: qemu-img info never decrypts. Variants
# cover ciphers, modes, IV generators, hashes, active slots and sizes; a LUKS2 header (which
# qemu 7.2 probes as raw) and a corrupt slot (refused) are included.
d=$1
/usr/bin/python3 - "$d" <<'PY'
import struct, sys
d = sys.argv[1]

def luks(name, size, cipher=b"aes", mode=b"xts-plain64", hash_=b"sha256", key=64,
         active=(0,), iters=10000, mk_iters=1000, stripes=4000, version=1, extra=0):
    split = -(-key * 4000 // 512)
    split = -(-split // 8) * 8
    payload = 8 + 8 * split
    h = bytearray(592)
    h[0:6] = b"LUKS\xba\xbe"
    struct.pack_into(">H", h, 6, version)
    h[8:40] = cipher.ljust(32, b"\0")
    h[40:72] = mode.ljust(32, b"\0")
    h[72:104] = hash_.ljust(32, b"\0")
    struct.pack_into(">II", h, 104, payload, key)
    struct.pack_into(">I", h, 164, mk_iters)
    h[168:208] = ("%08x-1111-4222-8333-%012x" % (len(name), size)).encode().ljust(40, b"\0")
    for i in range(8):
        on = i in active
        struct.pack_into(">II", h, 208 + 48 * i, 0x00AC71F3 if on else 0x0000DEAD,
                         iters + i if on else 0)
        struct.pack_into(">II", h, 208 + 48 * i + 40, 8 + i * split,
                         stripes if i != 7 else 4000)
    with open("%s/%s" % (d, name), "wb") as f:
        f.write(h)
        f.truncate(payload * 512 + size + extra)

luks("luks-aes256-xts-16m.luks", 16 << 20)
luks("luks-aes128-xts-1g.luks", 1 << 30, key=32)
luks("luks-3g.luks", 3 << 30, active=(0, 3, 7))
luks("luks-empty.luks", 0)
luks("luks-odd.luks", 1 << 20, extra=100)
luks("luks-twofish-cbc-essiv.luks", 8 << 20, cipher=b"twofish", mode=b"cbc-essiv:sha256",
     key=32)
luks("luks-aes128-essiv-sha256.luks", 8 << 20, mode=b"cbc-essiv:sha256", key=16)
luks("luks-serpent-ctr-plain.luks", 8 << 20, cipher=b"serpent", mode=b"ctr-plain", key=24,
     hash_=b"sha512")
luks("luks-cast5-cbc.luks", 8 << 20, cipher=b"cast5", mode=b"cbc-plain64", key=16,
     hash_=b"sha1")
luks("luks-ecb-ivhash.luks", 8 << 20, mode=b"ecb-plain:sha1", key=32, hash_=b"ripemd160")
luks("luks-no-active.luks", 8 << 20, active=())
luks("luks-bad-stripes.luks", 8 << 20, stripes=3999)
luks("luks2-header.img", 8 << 20, version=2)
PY
