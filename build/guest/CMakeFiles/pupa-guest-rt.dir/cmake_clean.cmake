file(REMOVE_RECURSE
  "CMakeFiles/pupa-guest-rt.dir/rt/rt.c.o"
  "CMakeFiles/pupa-guest-rt.dir/rt/rt.c.o.d"
  "CMakeFiles/pupa-guest-rt.dir/rt/start.S.o"
  "libpupa-guest-rt.a"
  "libpupa-guest-rt.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang ASM C)
  include(CMakeFiles/pupa-guest-rt.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
