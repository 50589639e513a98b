file(REMOVE_RECURSE
  "../generated/guest.pb.c"
  "../generated/guest.pb.h"
  "CMakeFiles/pupa-protocol-guest.dir/__/generated/guest.pb.c.o"
  "CMakeFiles/pupa-protocol-guest.dir/__/generated/guest.pb.c.o.d"
  "CMakeFiles/pupa-protocol-guest.dir/src/frame.c.o"
  "CMakeFiles/pupa-protocol-guest.dir/src/frame.c.o.d"
  "CMakeFiles/pupa-protocol-guest.dir/src/messages.c.o"
  "CMakeFiles/pupa-protocol-guest.dir/src/messages.c.o.d"
  "CMakeFiles/pupa-protocol-guest.dir/src/reader.c.o"
  "CMakeFiles/pupa-protocol-guest.dir/src/reader.c.o.d"
  "libpupa-protocol-guest.a"
  "libpupa-protocol-guest.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pupa-protocol-guest.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
