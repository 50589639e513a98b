
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  "ASM"
  )
# The set of files for implicit dependencies of each language:
set(CMAKE_DEPENDS_CHECK_ASM
  "/work/main/guest/rt/start.S" "/work/main/build/guest/CMakeFiles/pupa-guest-rt.dir/rt/start.S.o"
  )
set(CMAKE_ASM_COMPILER_ID "GNU")

# Preprocessor definitions for this target.
set(CMAKE_TARGET_DEFINITIONS_ASM
  "PUPA_GUEST=1"
  "_LIBC_LIMITS_H_"
  )

# The include file search paths:
set(CMAKE_ASM_TARGET_INCLUDE_PATH
  "/work/main/guest/libc/include"
  "guest-nanopb-include"
  "/work/main/guest/rt"
  "/work/main/protocol/include"
  "generated"
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/guest/rt/rt.c" "guest/CMakeFiles/pupa-guest-rt.dir/rt/rt.c.o" "gcc" "guest/CMakeFiles/pupa-guest-rt.dir/rt/rt.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/protocol/CMakeFiles/pupa-protocol-guest.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
