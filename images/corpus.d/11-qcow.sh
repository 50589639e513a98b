# qcow (version 1) images: plain, odd and large sizes, backing files, AES
d=$1
q() { qemu-img create -q -f qcow "$@"; }

q "$d/qcow1-plain.qcow" 1G
q "$d/qcow1-odd-size.qcow" 1000001
q "$d/qcow1-3t.qcow" 3T
q "$d/qcow1-base.qcow" 1G
q -b qcow1-base.qcow -F qcow "$d/qcow1-backing-rel.qcow"
q -b "$d/qcow1-base.qcow" -F qcow "$d/qcow1-backing-abs.qcow"
q -u -b missing/base.raw -F raw "$d/qcow1-backing-missing.qcow" 2G
q --object secret,id=s0,data=pw -o encrypt.format=aes,encrypt.key-secret=s0 \
    "$d/qcow1-aes.qcow" 1G
exit 0
