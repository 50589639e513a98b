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
