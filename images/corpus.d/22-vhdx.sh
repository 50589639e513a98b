# vhdx images: dynamic and fixed, block and log sizes, block_state_zero
d=$1
q() { qemu-img create -q -f vhdx "$@"; }
q "$d/vhdx-dynamic-1g.vhdx" 1G
q "$d/vhdx-dynamic-3g.vhdx" 3G
q -o block_size=1M "$d/vhdx-bs1m.vhdx" 2G
q -o block_size=256M "$d/vhdx-bs256m.vhdx" 4G
q -o log_size=4M "$d/vhdx-log4m.vhdx" 1G
q -o block_state_zero=off "$d/vhdx-nozero.vhdx" 1G
q -o subformat=fixed,block_size=1M "$d/vhdx-fixed.vhdx" 16M
q "$d/vhdx-odd.vhdx" 1000000000
head -c 300000 /dev/urandom > "$d/vhdx-data.tmp"
qemu-img convert -O vhdx "$d/vhdx-data.tmp" "$d/vhdx-data.vhdx"
rm -f "$d/vhdx-data.tmp"
