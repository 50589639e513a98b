# vmdk images: every subformat and create option qemu-img has; multi-file sets in vmdk-multi/
d=$1
q() { qemu-img create -q -f vmdk "$@"; }
q "$d/vmdk-sparse-1g.vmdk" 1G
q "$d/vmdk-sparse-odd.vmdk" 1000000000
q "$d/vmdk-sparse-3g.vmdk" 3G
q -o compat6=on,adapter_type=lsilogic "$d/vmdk-compat6-lsilogic.vmdk" 2G
q -o adapter_type=buslogic,hwversion=10 "$d/vmdk-buslogic-hw10.vmdk" 512M
q -o adapter_type=legacyESX,toolsversion=12345 "$d/vmdk-legacyesx.vmdk" 100M
q -o zeroed_grain=on "$d/vmdk-zeroed-grain.vmdk" 1G
q -o subformat=streamOptimized "$d/vmdk-stream-empty.vmdk" 1G
head -c 200000 /dev/urandom > "$d/vmdk-stream.tmp"
qemu-img convert -O vmdk -o subformat=streamOptimized "$d/vmdk-stream.tmp" "$d/vmdk-stream-data.vmdk"
qemu-img convert -O vmdk "$d/vmdk-stream.tmp" "$d/vmdk-sparse-data.vmdk"
rm -f "$d/vmdk-stream.tmp"
q -b vmdk-sparse-1g.vmdk -F vmdk "$d/vmdk-backed.vmdk" 1G
# descriptor files with extents in other files (compared field by field by test_fmt_vmdk)
m=$d/vmdk-multi
mkdir -p "$m"
q -o subformat=monolithicFlat "$m/vmdk-monoflat.vmdk" 64M
q -o subformat=twoGbMaxExtentSparse "$m/vmdk-2gb-sparse.vmdk" 5G
q -o subformat=twoGbMaxExtentFlat "$m/vmdk-2gb-flat.vmdk" 3G
q -o subformat=twoGbMaxExtentSparse -b ../vmdk-sparse-1g.vmdk -F vmdk "$m/vmdk-2gb-backed.vmdk" 1G
