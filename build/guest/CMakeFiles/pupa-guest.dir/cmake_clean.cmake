file(REMOVE_RECURSE
  "CMakeFiles/pupa-guest.dir/main.c.o"
  "CMakeFiles/pupa-guest.dir/main.c.o.d"
  "CMakeFiles/pupa-guest.dir/ops/selftest.c.o"
  "CMakeFiles/pupa-guest.dir/ops/selftest.c.o.d"
  "pupa-guest.elf"
  "pupa-guest.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pupa-guest.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
