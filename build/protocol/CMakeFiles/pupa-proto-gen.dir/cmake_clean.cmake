file(REMOVE_RECURSE
  "../generated/guest.pb.c"
  "../generated/guest.pb.h"
  "CMakeFiles/pupa-proto-gen"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/pupa-proto-gen.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
