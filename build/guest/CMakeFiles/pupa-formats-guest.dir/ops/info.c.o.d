guest/CMakeFiles/pupa-formats-guest.dir/ops/info.c.o: \
 /work/main/guest/ops/info.c /work/main/guest/libc/include/stdio.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/main/guest/libc/include/string.h /work/main/guest/ops/info.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdbool.h \
 /work/main/guest/ops/../formats/format.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint-gcc.h \
 /work/main/protocol/include/pupa/protocol.h \
 /work/main/build/guest-nanopb-include/pb.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/limits.h \
 /work/main/build/generated/guest.pb.h \
 /work/main/protocol/include/pupa/abi.h
