guest/CMakeFiles/pupa-guest-rt.dir/rt/rt.c.o: /work/main/guest/rt/rt.c \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg.h \
 /work/main/guest/libc/include/stdio.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/main/guest/libc/include/stdlib.h \
 /work/main/guest/libc/include/string.h /work/main/guest/rt/rt.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdbool.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint-gcc.h \
 /work/main/protocol/include/pupa/protocol.h \
 /work/main/build/guest-nanopb-include/pb.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/limits.h \
 /work/main/build/generated/guest.pb.h \
 /work/main/protocol/include/pupa/abi.h
