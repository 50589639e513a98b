file(REMOVE_RECURSE
  "CMakeFiles/pupa-host.dir/__/guest/formats/path.c.o"
  "CMakeFiles/pupa-host.dir/__/guest/formats/path.c.o.d"
  "CMakeFiles/pupa-host.dir/json.c.o"
  "CMakeFiles/pupa-host.dir/json.c.o.d"
  "CMakeFiles/pupa-host.dir/output.c.o"
  "CMakeFiles/pupa-host.dir/output.c.o.d"
  "CMakeFiles/pupa-host.dir/report.c.o"
  "CMakeFiles/pupa-host.dir/report.c.o.d"
  "CMakeFiles/pupa-host.dir/util.c.o"
  "CMakeFiles/pupa-host.dir/util.c.o.d"
  "libpupa-host.a"
  "libpupa-host.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pupa-host.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
