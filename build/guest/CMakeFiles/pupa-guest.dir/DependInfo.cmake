
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/guest/main.c" "guest/CMakeFiles/pupa-guest.dir/main.c.o" "gcc" "guest/CMakeFiles/pupa-guest.dir/main.c.o.d"
  "/work/main/guest/ops/selftest.c" "guest/CMakeFiles/pupa-guest.dir/ops/selftest.c.o" "gcc" "guest/CMakeFiles/pupa-guest.dir/ops/selftest.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/guest/CMakeFiles/pupa-guest-rt.dir/DependInfo.cmake"
  "/work/main/build/guest/CMakeFiles/pupa-formats-guest.dir/DependInfo.cmake"
  "/work/main/build/protocol/CMakeFiles/pupa-protocol-guest.dir/DependInfo.cmake"
  "/work/main/build/guest/CMakeFiles/pupa-guest-libc.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
