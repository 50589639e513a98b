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
