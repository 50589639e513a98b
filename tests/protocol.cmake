# tests/protocol.cmake: the protocol suite: Check tests, Python cross-check, pupa-frames CLI, fuzzing.

set(PUPA_PROTO_TESTS ${CMAKE_CURRENT_SOURCE_DIR}/protocol)
set(PUPA_PROTO_SAMPLES ${PUPA_PROTO_TESTS}/samples.c)

# The Check programs (built by tests/CMakeLists.txt from tests/unit/) share the samples.
foreach(t test_protocol_roundtrip test_protocol_reader test_protocol_errors)
  if(TARGET ${t})
    target_sources(${t} PRIVATE ${PUPA_PROTO_SAMPLES})
    set_tests_properties(unit/${t} PROPERTIES LABELS protocol TIMEOUT 600)
  endif()
endforeach()

# ---------------------------------------------------------------- C frames for other implementations
# write_frames: the C samples as frame streams, and the fuzz seed corpus.
add_executable(protocol-write-frames ${PUPA_PROTO_TESTS}/write_frames.c ${PUPA_PROTO_SAMPLES})
target_link_libraries(protocol-write-frames PRIVATE pupa-protocol)
pupa_host_target(protocol-write-frames)

# ---------------------------------------------------------------- pupa-frames command line
add_test(NAME protocol/pupa-frames-cli
  COMMAND ${PYTHON3} ${PUPA_PROTO_TESTS}/frames_cli.py $<TARGET_FILE:pupa-frames>
          ${CMAKE_CURRENT_BINARY_DIR}/tmp/frames-cli)
set_tests_properties(protocol/pupa-frames-cli PROPERTIES LABELS protocol TIMEOUT 300)

# ---------------------------------------------------------------- independent implementation
# python3-protobuf classes generated from guest.proto at test time decode the
# C frames, and pupa-frames decodes the Python frames. 77 = protoc or
# python3-protobuf missing.
add_test(NAME protocol/python-crosscheck
  COMMAND ${PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/protocol_crosscheck.py
          --protoc ${PROTOC} --proto-dir ${PROJECT_SOURCE_DIR}/proto
          --pupa-frames $<TARGET_FILE:pupa-frames>
          --write-frames $<TARGET_FILE:protocol-write-frames>)
set_tests_properties(protocol/python-crosscheck PROPERTIES LABELS protocol TIMEOUT 300
  SKIP_RETURN_CODE 77)

# ---------------------------------------------------------------- fuzzing
# The seed corpus: one frame of every sample, a typical stream, error cases.
set(PUPA_FUZZ_SEEDS ${CMAKE_CURRENT_BINARY_DIR}/fuzz-seeds-frame-reader)
add_test(NAME protocol/fuzz-seeds
  COMMAND protocol-write-frames seeds ${PUPA_FUZZ_SEEDS})
set_tests_properties(protocol/fuzz-seeds PROPERTIES LABELS protocol FIXTURES_SETUP fuzz-seeds)

# The harness built with the project compiler and a plain main(): replays the
# seeds everywhere (sanitized in the PUPA_SANITIZE build), no clang needed.
add_executable(protocol-fuzz-replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_frame_reader.c
               ${PUPA_PROTO_TESTS}/fuzz_replay_main.c)
target_link_libraries(protocol-fuzz-replay PRIVATE pupa-protocol)
pupa_host_target(protocol-fuzz-replay)
add_test(NAME protocol/fuzz-replay-seeds COMMAND protocol-fuzz-replay ${PUPA_FUZZ_SEEDS})
set_tests_properties(protocol/fuzz-replay-seeds PROPERTIES LABELS protocol
  FIXTURES_REQUIRED fuzz-seeds)

# The libFuzzer build: clang, called directly (the project compiler is gcc),
# on the protocol sources, the generated guest.pb.c and Debian's nanopb.
# Configure-time probe: can clang link -fsanitize=fuzzer (libclang-rt-14-dev)?
find_program(CLANG NAMES clang clang-14)
set(PUPA_FUZZER_OK FALSE)
if(CLANG)
  set(probe ${CMAKE_CURRENT_BINARY_DIR}/fuzz-probe)
  file(WRITE ${probe}/probe.c
    "#include <stddef.h>\n#include <stdint.h>\n"
    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\n"
    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
  execute_process(COMMAND ${CLANG} -fsanitize=fuzzer,address,undefined ${probe}/probe.c
                          -o ${probe}/probe
                  RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_VARIABLE probe_err)
  if(probe_rc EQUAL 0)
    set(PUPA_FUZZER_OK TRUE)
  else()
    message(STATUS "libFuzzer: ${CLANG} cannot link -fsanitize=fuzzer (install libclang-rt-14-dev); fuzz run skipped")
  endif()
else()
  message(STATUS "libFuzzer: no clang; fuzz run skipped")
endif()

set(PUPA_FUZZER -)
if(PUPA_FUZZER_OK)
  set(PUPA_FUZZER ${CMAKE_CURRENT_BINARY_DIR}/fuzz_frame_reader)
  set(gen ${PROJECT_BINARY_DIR}/generated)
  set_source_files_properties(${gen}/guest.pb.c ${gen}/guest.pb.h PROPERTIES GENERATED TRUE)
  set(fuzz_sources ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_frame_reader.c
      ${PROJECT_SOURCE_DIR}/protocol/src/frame.c ${PROJECT_SOURCE_DIR}/protocol/src/reader.c
      ${PROJECT_SOURCE_DIR}/protocol/src/messages.c ${gen}/guest.pb.c)
  set(fuzz_includes -I${PROJECT_SOURCE_DIR}/protocol/include -I${gen})
  if(NOT NANOPB_INCLUDE_DIR STREQUAL "/usr/include")
    list(APPEND fuzz_includes -I${NANOPB_INCLUDE_DIR})
  endif()
  add_custom_command(OUTPUT ${PUPA_FUZZER}
    COMMAND ${CLANG} -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=all -fno-omit-frame-pointer -D_GNU_SOURCE
            ${PUPA_WARNINGS} ${fuzz_includes} ${fuzz_sources} ${NANOPB_LIBRARY} -o ${PUPA_FUZZER}
    DEPENDS ${fuzz_sources} ${gen}/guest.pb.h ${PROJECT_SOURCE_DIR}/protocol/include/pupa/protocol.h
            ${PROJECT_SOURCE_DIR}/protocol/include/pupa/abi.h pupa-proto-gen
    COMMENT "clang: libFuzzer harness fuzz_frame_reader"
    VERBATIM)
  add_custom_target(fuzz-frame-reader ALL DEPENDS ${PUPA_FUZZER})
endif()

# 400 000 inputs from a fixed seed (77 without the libFuzzer build; about 30 s on a loaded
# 2-CPU machine), and a fast seed replay.
add_test(NAME protocol/fuzz-frame-reader
  COMMAND ${PUPA_PROTO_TESTS}/run_fuzz.sh ${PUPA_FUZZER} fuzz ${PUPA_FUZZ_SEEDS}
          ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/frame_reader 400000)
set_tests_properties(protocol/fuzz-frame-reader PROPERTIES LABELS "protocol;fuzz" TIMEOUT 180
  SKIP_RETURN_CODE 77 FIXTURES_REQUIRED fuzz-seeds)
add_test(NAME protocol/fuzz-frame-reader-seeds
  COMMAND ${PUPA_PROTO_TESTS}/run_fuzz.sh ${PUPA_FUZZER} replay ${PUPA_FUZZ_SEEDS}
          ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/frame_reader-seeds)
set_tests_properties(protocol/fuzz-frame-reader-seeds PROPERTIES LABELS "protocol;fuzz" TIMEOUT 120
  SKIP_RETURN_CODE 77 FIXTURES_REQUIRED fuzz-seeds)
