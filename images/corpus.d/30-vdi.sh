# vdi images: dynamic and static (preallocated, sparse on disk), odd sizes, allocated blocks
d=$1
q() { qemu-img create -q -f vdi "$@"; }
q "$d/vdi-dynamic-1g.vdi" 1G
q "$d/vdi-dynamic-3g.vdi" 3G
q "$d/vdi-dynamic-odd.vdi" 1000000000
q "$d/vdi-dynamic-tiny.vdi" 1000
q "$d/vdi-empty.vdi" 0
q -o static=on "$d/vdi-static-5m.vdi" 5M
q -o static=on "$d/vdi-static-odd.vdi" 1536K
q "$d/vdi-data.vdi" 64M
qemu-io -f vdi -c 'write -P 7 3M 1M' -c 'write 40M 4k' "$d/vdi-data.vdi" >/dev/null
