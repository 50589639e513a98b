#!/bin/sh
# check_guest_elf.sh ELF...: the freestanding guests reference no symbol they
# do not define (no libc, nothing left for a dynamic loader), have no
# interpreter, load at 1 MiB and carry pupa's ABI note in a PT_NOTE segment.
set -eu
for elf in "$@"; do
    undefined=$(nm -u "$elf")
    [ -z "$undefined" ] || { echo "$elf: undefined symbols:"; echo "$undefined"; exit 1; }
    if readelf -lW "$elf" | grep -q INTERP; then echo "$elf: has an interpreter"; exit 1; fi
    readelf -hW "$elf" | grep -q 'Type:.*EXEC' || { echo "$elf: not a static executable"; exit 1; }
    readelf -lW "$elf" | grep -q '^ *NOTE ' && readelf -nW "$elf" | grep -q '^ *PUPA ' ||
        { echo "$elf: no PUPA ABI note in a PT_NOTE segment"; exit 1; }
    readelf -lW "$elf" | awk '$1 == "LOAD" { print $3 }' | head -n 1 | grep -q '0x0*100000$' ||
        { echo "$elf: first segment not at 1 MiB"; exit 1; }
done
echo "OK: $# guest(s) self-contained"
