guest/CMakeFiles/pupa-guest-libc.dir/libc/stdlib.c.o: \
 /work/main/guest/libc/stdlib.c \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdarg.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint-gcc.h \
 /work/main/guest/libc/include/stdio.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/main/guest/libc/include/stdlib.h /work/main/guest/libc/pupa_libc.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdbool.h
