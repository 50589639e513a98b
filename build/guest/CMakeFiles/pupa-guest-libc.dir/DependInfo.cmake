
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/guest/libc/format.c" "guest/CMakeFiles/pupa-guest-libc.dir/libc/format.c.o" "gcc" "guest/CMakeFiles/pupa-guest-libc.dir/libc/format.c.o.d"
  "/work/main/guest/libc/stdlib.c" "guest/CMakeFiles/pupa-guest-libc.dir/libc/stdlib.c.o" "gcc" "guest/CMakeFiles/pupa-guest-libc.dir/libc/stdlib.c.o.d"
  "/work/main/guest/libc/string.c" "guest/CMakeFiles/pupa-guest-libc.dir/libc/string.c.o" "gcc" "guest/CMakeFiles/pupa-guest-libc.dir/libc/string.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
