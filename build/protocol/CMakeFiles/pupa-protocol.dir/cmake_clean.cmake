file(REMOVE_RECURSE
  "../generated/guest.pb.c"
  "../generated/guest.pb.h"
  "CMakeFiles/pupa-protocol.dir/__/generated/guest.pb.c.o"
  "CMakeFiles/pupa-protocol.dir/__/generated/guest.pb.c.o.d"
  "CMakeFiles/pupa-protocol.dir/src/frame.c.o"
  "CMakeFiles/pupa-protocol.dir/src/frame.c.o.d"
  "CMakeFiles/pupa-protocol.dir/src/messages.c.o"
  "CMakeFiles/pupa-protocol.dir/src/messages.c.o.d"
  "CMakeFiles/pupa-protocol.dir/src/reader.c.o"
  "CMakeFiles/pupa-protocol.dir/src/reader.c.o.d"
  "libpupa-protocol.a"
  "libpupa-protocol.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pupa-protocol.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
