guest/CMakeFiles/pupa-guest-libc.dir/libc/string.c.o: \
 /work/main/guest/libc/string.c \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint-gcc.h \
 /work/main/guest/libc/include/string.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h
