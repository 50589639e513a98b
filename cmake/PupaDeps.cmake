# PupaDeps.cmake: Debian packages pupa builds against (see tools/setup).

find_package(PkgConfig REQUIRED)
find_program(NANOPB_GENERATOR NAMES nanopb_generator.py nanopb_generator REQUIRED)
find_program(PROTOC protoc REQUIRED)
find_package(nanopb CONFIG QUIET)
if(TARGET nanopb::protobuf-nanopb-static)
  get_target_property(NANOPB_LIBRARY nanopb::protobuf-nanopb-static IMPORTED_LOCATION_NONE)
endif()
if(NOT NANOPB_LIBRARY)
  find_library(NANOPB_LIBRARY NAMES libprotobuf-nanopb.a protobuf-nanopb REQUIRED)
endif()
find_path(NANOPB_INCLUDE_DIR pb.h REQUIRED)
message(STATUS "nanopb runtime: ${NANOPB_LIBRARY}")
# nanopb's headers for the guest, which must not see the rest of /usr/include
foreach(h pb.h pb_common.h pb_decode.h pb_encode.h)
  configure_file(${NANOPB_INCLUDE_DIR}/${h} ${PROJECT_BINARY_DIR}/guest-nanopb-include/${h} COPYONLY)
endforeach()

pkg_check_modules(UNICORN REQUIRED IMPORTED_TARGET unicorn)
if(PUPA_BUILD_TESTS)
  pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)
endif()
find_package(Threads REQUIRED)
