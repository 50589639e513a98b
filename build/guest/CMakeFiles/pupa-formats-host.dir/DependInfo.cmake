
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/guest/formats/bochs.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/bochs.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/bochs.c.o.d"
  "/work/main/guest/formats/cloop.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/cloop.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/cloop.c.o.d"
  "/work/main/guest/formats/common.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/common.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/common.c.o.d"
  "/work/main/guest/formats/dmg.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/dmg.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/dmg.c.o.d"
  "/work/main/guest/formats/drivers.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/drivers.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/drivers.c.o.d"
  "/work/main/guest/formats/luks.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/luks.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/luks.c.o.d"
  "/work/main/guest/formats/parallels.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/parallels.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/parallels.c.o.d"
  "/work/main/guest/formats/path.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/path.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/path.c.o.d"
  "/work/main/guest/formats/qcow.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/qcow.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/qcow.c.o.d"
  "/work/main/guest/formats/qcow2.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/qcow2.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/qcow2.c.o.d"
  "/work/main/guest/formats/qed.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/qed.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/qed.c.o.d"
  "/work/main/guest/formats/raw.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/raw.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/raw.c.o.d"
  "/work/main/guest/formats/vdi.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/vdi.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/vdi.c.o.d"
  "/work/main/guest/formats/vhdx.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/vhdx.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/vhdx.c.o.d"
  "/work/main/guest/formats/vmdk.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/vmdk.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/vmdk.c.o.d"
  "/work/main/guest/formats/vpc.c" "guest/CMakeFiles/pupa-formats-host.dir/formats/vpc.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/formats/vpc.c.o.d"
  "/work/main/guest/ops/info.c" "guest/CMakeFiles/pupa-formats-host.dir/ops/info.c.o" "gcc" "guest/CMakeFiles/pupa-formats-host.dir/ops/info.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/protocol/CMakeFiles/pupa-protocol.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
