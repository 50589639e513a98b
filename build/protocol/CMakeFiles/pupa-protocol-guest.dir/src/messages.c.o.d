protocol/CMakeFiles/pupa-protocol-guest.dir/src/messages.c.o: \
 /work/main/protocol/src/messages.c \
 /work/main/guest/libc/include/string.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/main/protocol/include/pupa/protocol.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdbool.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint-gcc.h \
 /work/main/build/guest-nanopb-include/pb.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/limits.h \
 /work/main/build/generated/guest.pb.h \
 /work/main/protocol/include/pupa/abi.h
