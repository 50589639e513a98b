# qcow2 images: v2/v3, cluster sizes, features, preallocation, backing files,
# snapshots, bitmaps, external data file, encryption, large virtual sizes
d=$1
q() { qemu-img create -q -f qcow2 "$@"; }

q "$d/qcow2-v3.qcow2" 1G
q -o compat=0.10 "$d/qcow2-v2.qcow2" 1G
q -o compat=1.1 "$d/qcow2-v3-explicit.qcow2" 300M
q -o cluster_size=512 "$d/qcow2-c512.qcow2" 64M
q -o cluster_size=4k "$d/qcow2-c4k.qcow2" 3G
q -o cluster_size=2M "$d/qcow2-c2m.qcow2" 5G
q -o compat=0.10,cluster_size=4k "$d/qcow2-v2-c4k.qcow2" 1G
q -o lazy_refcounts=on "$d/qcow2-lazy.qcow2" 1G
q -o compression_type=zstd "$d/qcow2-zstd.qcow2" 1G
q -o extended_l2=on "$d/qcow2-extl2.qcow2" 1G
q -o extended_l2=on,cluster_size=16k "$d/qcow2-extl2-c16k.qcow2" 1G
for b in 1 2 4 8 16 32 64; do
    q -o refcount_bits=$b "$d/qcow2-refcount$b.qcow2" 1G
done
q -o preallocation=off "$d/qcow2-prealloc-off.qcow2" 1G
q -o preallocation=metadata "$d/qcow2-prealloc-metadata.qcow2" 256M
q -o preallocation=falloc "$d/qcow2-prealloc-falloc.qcow2" 4M
q -o preallocation=full "$d/qcow2-prealloc-full.qcow2" 1M
q "$d/qcow2-2t.qcow2" 2T
q -o cluster_size=2M "$d/qcow2-64t-c2m.qcow2" 64T
q "$d/qcow2-odd-size.qcow2" 1000000001

# backing files: relative, absolute, in a subdirectory, with and without a format
q "$d/qcow2-base.qcow2" 1G
q -b qcow2-base.qcow2 -F qcow2 "$d/qcow2-backing-rel.qcow2"
q -b "$d/qcow2-base.qcow2" -F qcow2 "$d/qcow2-backing-abs.qcow2"
mkdir -p "$d/qcow2-sub"
q "$d/qcow2-sub/base.qcow2" 2G
q -b qcow2-sub/base.qcow2 -F qcow2 "$d/qcow2-backing-subdir.qcow2"
q -u -b ../elsewhere/missing.raw -F raw "$d/qcow2-backing-missing.qcow2" 1G
q -o compat=0.10 -b qcow2-base.qcow2 -F qcow2 "$d/qcow2-v2-backing.qcow2"
# qemu-img 7.2 insists on a backing format: drop the extension afterwards by
# renaming its magic (0xe2792aca) to an unknown one, which qemu skips
q -b qcow2-base.qcow2 -F qcow2 "$d/qcow2-backing-nofmt.qcow2"
printf '\000\000\000\001' | dd of="$d/qcow2-backing-nofmt.qcow2" bs=1 seek=112 conv=notrunc status=none
q -o compat=0.10 -b qcow2-base.qcow2 -F qcow2 "$d/qcow2-v2-backing-nofmt.qcow2"
printf '\000\000\000\001' | dd of="$d/qcow2-v2-backing-nofmt.qcow2" bs=1 seek=72 conv=notrunc status=none

# external data file: the data file itself is skipped by the compare (-extent)
q -o data_file=qcow2-data-extent.raw "$d/qcow2-datafile.qcow2" 64M
q -o data_file=qcow2-dataraw-extent.raw,data_file_raw=on "$d/qcow2-datafile-raw.qcow2" 64M

# internal snapshots
q "$d/qcow2-snapshots.qcow2" 1G
qemu-img snapshot -c first "$d/qcow2-snapshots.qcow2"
qemu-img snapshot -c "second, with a longer name than the column" "$d/qcow2-snapshots.qcow2"
q -o compat=0.10 "$d/qcow2-v2-snapshot.qcow2" 1G
qemu-img snapshot -c v2snap "$d/qcow2-v2-snapshot.qcow2"

# persistent bitmaps
q "$d/qcow2-bitmaps.qcow2" 1G
qemu-img bitmap --add "$d/qcow2-bitmaps.qcow2" nightly
qemu-img bitmap --add -g 1M "$d/qcow2-bitmaps.qcow2" coarse
qemu-img bitmap --add --disable "$d/qcow2-bitmaps.qcow2" disabled

# encryption: LUKS and AES. Creating LUKS costs qemu-img ~4 s of PBKDF2
# benchmarking whatever the iter-time, so an existing one is kept; its
# CPU-time measurement also fails now and then: retry.
for i in 1 2 3 4 5; do
    [ -s "$d/qcow2-luks.qcow2" ] && break
    q --object secret,id=s0,data=pw \
        -o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 \
        "$d/qcow2-luks.qcow2" 64M 2>/dev/null || rm -f "$d/qcow2-luks.qcow2"
done
q --object secret,id=s0,data=pw -o encrypt.format=aes,encrypt.key-secret=s0 \
    "$d/qcow2-aes.qcow2" 64M 2>/dev/null
q -o compat=0.10 --object secret,id=s0,data=pw -o encrypt.format=aes,encrypt.key-secret=s0 \
    "$d/qcow2-v2-aes.qcow2" 64M 2>/dev/null
exit 0
