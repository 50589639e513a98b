file(REMOVE_RECURSE
  "CMakeFiles/pupa-guest-libc.dir/libc/format.c.o"
  "CMakeFiles/pupa-guest-libc.dir/libc/format.c.o.d"
  "CMakeFiles/pupa-guest-libc.dir/libc/stdlib.c.o"
  "CMakeFiles/pupa-guest-libc.dir/libc/stdlib.c.o.d"
  "CMakeFiles/pupa-guest-libc.dir/libc/string.c.o"
  "CMakeFiles/pupa-guest-libc.dir/libc/string.c.o.d"
  "libpupa-guest-libc.a"
  "libpupa-guest-libc.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pupa-guest-libc.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
