# raw images: empty, odd sizes, sparse large
d=$1
: > "$d/raw-empty.img"
head -c 1000 /dev/zero > "$d/raw-1000.img"
head -c 512 /dev/zero > "$d/raw-512.img"
qemu-img create -q -f raw "$d/raw-1g.img" 1G
qemu-img create -q -f raw "$d/raw-3g.raw" 3G
