protocol/CMakeFiles/pupa-protocol-guest.dir/src/frame.c.o: \
 /work/main/protocol/src/frame.c \
 /work/main/build/guest-nanopb-include/pb_decode.h \
 /work/main/build/guest-nanopb-include/pb.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint-gcc.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdbool.h \
 /work/main/guest/libc/include/string.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/limits.h \
 /work/main/build/guest-nanopb-include/pb_encode.h \
 /work/main/protocol/include/pupa/protocol.h \
 /work/main/build/guest-nanopb-include/pb.h \
 /work/main/build/generated/guest.pb.h \
 /work/main/protocol/include/pupa/abi.h
