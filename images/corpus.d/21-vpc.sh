# vpc (VHD) images: dynamic with CHS and current_size sizing, fixed (which qemu probes as raw)
d=$1
q() { qemu-img create -q -f vpc "$@"; }
q "$d/vpc-dynamic-1g.vhd" 1G
q "$d/vpc-dynamic-odd.vhd" 1000M
q "$d/vpc-dynamic-tiny.vhd" 10M
q "$d/vpc-dynamic-3g.vhd" 3G
q -o force_size=on "$d/vpc-force-size.vhd" 1000M
q -o force_size=on "$d/vpc-force-size-odd.vhd" 12345678
q -o subformat=fixed "$d/vpc-fixed.vhd" 8M
q -o subformat=fixed,force_size=on "$d/vpc-fixed-force.vhd" 5M
