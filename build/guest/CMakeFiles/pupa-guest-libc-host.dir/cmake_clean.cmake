file(REMOVE_RECURSE
  "CMakeFiles/pupa-guest-libc-host.dir/libc/format.c.o"
  "CMakeFiles/pupa-guest-libc-host.dir/libc/format.c.o.d"
  "libpupa-guest-libc-host.a"
  "libpupa-guest-libc-host.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pupa-guest-libc-host.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
