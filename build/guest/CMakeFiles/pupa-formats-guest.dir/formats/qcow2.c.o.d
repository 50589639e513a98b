guest/CMakeFiles/pupa-formats-guest.dir/formats/qcow2.c.o: \
 /work/main/guest/formats/qcow2.c /work/main/guest/formats/format.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdbool.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stdint-gcc.h
