
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/guest/formats/path.c" "vmm/CMakeFiles/pupa-host.dir/__/guest/formats/path.c.o" "gcc" "vmm/CMakeFiles/pupa-host.dir/__/guest/formats/path.c.o.d"
  "/work/main/vmm/json.c" "vmm/CMakeFiles/pupa-host.dir/json.c.o" "gcc" "vmm/CMakeFiles/pupa-host.dir/json.c.o.d"
  "/work/main/vmm/output.c" "vmm/CMakeFiles/pupa-host.dir/output.c.o" "gcc" "vmm/CMakeFiles/pupa-host.dir/output.c.o.d"
  "/work/main/vmm/report.c" "vmm/CMakeFiles/pupa-host.dir/report.c.o" "gcc" "vmm/CMakeFiles/pupa-host.dir/report.c.o.d"
  "/work/main/vmm/util.c" "vmm/CMakeFiles/pupa-host.dir/util.c.o" "gcc" "vmm/CMakeFiles/pupa-host.dir/util.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/protocol/CMakeFiles/pupa-protocol.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
