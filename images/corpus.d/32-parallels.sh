# parallels images: cluster sizes, odd and large sizes, allocated clusters
d=$1
q() { qemu-img create -q -f parallels "$@"; }
q "$d/parallels-1g.prl" 1G
q "$d/parallels-3g.prl" 3G
q "$d/parallels-odd.prl" 1000000000
q -o cluster_size=4k "$d/parallels-c4k.prl" 100M
q -o cluster_size=64k "$d/parallels-c64k.prl" 2G
q -o cluster_size=64k "$d/parallels-data.prl" 64M
qemu-io -f parallels -c 'write -P 5 0 64k' -c 'write 10M 4k' "$d/parallels-data.prl" >/dev/null
