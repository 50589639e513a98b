# Images with contents, for the block drivers (map, compare, read --virtual):
# data, holes and explicit zeros, compressed clusters (zlib and zstd), extended
# L2 subclusters, zero clusters, data in the last, odd-sized cluster, qcow v1
# compressed, qed, and backing chains (the names say "chain": each image's
# backing files are the ones it names, nearest first).
d=$1
io() { qemu-io -f "$1" -c "$2" "$3" >/dev/null; }

# the source disk: 5 MiB + 1536 bytes (not a multiple of any cluster size), data
# at scattered offsets, a run of explicit zero bytes, data in the last 512 bytes
src="$d/contents-src.raw"
rm -f "$src"
qemu-img create -q -f raw "$src" 5244416
for at in 0 70000 1048576 2097152 3200000; do
    io raw "write -P 0x5a $at 20000" "$src"
done
io raw "write -P 0x00 4194304 131072" "$src"
io raw "write -P 0xa5 5243904 512" "$src"

qemu-img convert -O qcow2 "$src" "$d/contents.qcow2"
qemu-img convert -O qcow2 -o compat=0.10,cluster_size=4k "$src" "$d/contents-v2-c4k.qcow2"
qemu-img convert -O qcow2 -o cluster_size=2M "$src" "$d/contents-c2m.qcow2"
qemu-img convert -O qcow2 -o cluster_size=512 "$src" "$d/contents-c512.qcow2"
qemu-img convert -c -O qcow2 "$src" "$d/contents-zlib.qcow2"
qemu-img convert -c -O qcow2 -o cluster_size=4k "$src" "$d/contents-zlib-c4k.qcow2"
qemu-img convert -c -O qcow2 -o cluster_size=2M "$src" "$d/contents-zlib-c2m.qcow2"
qemu-img convert -c -O qcow2 -o compression_type=zstd "$src" "$d/contents-zstd.qcow2"
qemu-img convert -c -O qcow2 -o compression_type=zstd,cluster_size=2M "$src" \
    "$d/contents-zstd-c2m.qcow2"
# qcow v1: qemu-img 7.2 cannot convert with -c to it, qemu-io writes compressed clusters
c1="$d/contents-zlib.qcow"
qemu-img convert -O qcow "$src" "$c1"
io qcow "write -c -P 0x3c 8192 4096" "$c1"
io qcow "write -c -P 0x00 65536 4096" "$c1"
io qcow "write -c -P 0xc3 5238784 4096" "$c1"
qemu-img convert -O qcow "$src" "$d/contents.qcow"
qemu-img convert -O qed "$src" "$d/contents.qed"

# zero clusters and subclusters written in place
z="$d/contents-zero.qcow2"
qemu-img convert -O qcow2 "$src" "$z"
io qcow2 "write -z 65536 131072" "$z"
io qcow2 "write -z -u 1048576 65536" "$z"
x="$d/contents-extl2.qcow2"
qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=64k "$x" 5244416
io qcow2 "write -P 0x11 4096 2048" "$x"
io qcow2 "write -P 0x22 131072 65536" "$x"
io qcow2 "write -z 200704 8192" "$x"
io qcow2 "write -P 0x33 262144 100000" "$x"
io qcow2 "write -z 270336 4096" "$x"
io qcow2 "write -P 0x44 5242880 1536" "$x"
xz="$d/contents-extl2-zstd.qcow2"
qemu-img convert -c -O qcow2 -o extended_l2=on,compression_type=zstd "$src" "$xz"
io qcow2 "write -P 0x66 10000 3000" "$xz"

# chains: a qcow2 over a qcow2 over a raw disk, a larger top over a smaller base,
# a qed over a raw file, qcow v1 over qcow v1
base="$d/contents-chain-base.raw"
qemu-img convert -O raw "$src" "$base"
mid="$d/contents-chain-mid.qcow2"
qemu-img create -q -f qcow2 -b contents-chain-base.raw -F raw "$mid"
io qcow2 "write -P 0x77 65536 65536" "$mid"
io qcow2 "write -z 1048576 4096" "$mid"
top="$d/contents-chain-top.qcow2"
qemu-img create -q -f qcow2 -b contents-chain-mid.qcow2 -F qcow2 "$top" 8M
io qcow2 "write -P 0x88 100000 5000" "$top"
io qcow2 "write -P 0x99 7340032 4096" "$top"
qd="$d/contents-chain-qed.qed"
qemu-img create -q -f qed -b contents-chain-base.raw -F raw "$qd"
io qed "write -P 0xab 2097152 70000" "$qd"
q1="$d/contents-chain-v1.qcow"
qemu-img create -q -f qcow -b contents.qcow -F qcow "$q1"
io qcow "write -P 0xcd 300000 9000" "$q1"
