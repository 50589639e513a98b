# qed images: cluster and table sizes, odd sizes, backing files with and without a format
# (qed keeps only "raw" as a no-probe flag), allocated clusters, a geometry qemu cannot open
d=$1
q() { qemu-img create -q -f qed "$@"; }
q "$d/qed-1g.qed" 1G
q "$d/qed-3g.qed" 3G
q "$d/qed-odd.qed" 1000000000
q -o cluster_size=4k,table_size=16 "$d/qed-c4k-t16.qed" 3G
q -o cluster_size=64k,table_size=2 "$d/qed-c64k-t2.qed" 100M
q -o cluster_size=128k,table_size=8 "$d/qed-c128k-t8.qed" 2G
q -o cluster_size=4k,table_size=1 "$d/qed-t1-refused.qed" 10M
q -b qed-1g.qed -F qed "$d/qed-backed-qed.qed"
qemu-img create -q -f raw "$d/qed-base.raw" 64M
q -b qed-base.raw -F raw "$d/qed-backed-raw.qed" 64M
q -o cluster_size=4k,table_size=4 "$d/qed-data.qed" 64M
qemu-io -f qed -c 'write -P 3 0 8k' -c 'write 50M 4k' "$d/qed-data.qed" >/dev/null
