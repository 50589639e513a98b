protocol/CMakeFiles/pupa-protocol-guest.dir/__/generated/guest.pb.c.o: \
 /work/main/build/generated/guest.pb.c \
 /work/main/build/generated/guest.pb.h \
 /work/main/build/guest-nanopb-include/pb.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint-gcc.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdbool.h \
 /work/main/guest/libc/include/string.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/limits.h
