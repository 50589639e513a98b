file(REMOVE_RECURSE
  "CMakeFiles/pupa-hostinfo.dir/tools/pupa-hostinfo.c.o"
  "CMakeFiles/pupa-hostinfo.dir/tools/pupa-hostinfo.c.o.d"
  "pupa-hostinfo"
  "pupa-hostinfo.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pupa-hostinfo.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
