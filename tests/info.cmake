# tests/info.cmake: pupa info end to end (safety findings, --format, exit codes, truncation through VMM+guest) and parser fuzzing.

set(PUPA_INFO_TMP ${CMAKE_CURRENT_BINARY_DIR}/tmp/info)

# ---------------------------------------------------------------- crafted images, -f, exit codes
# tests/e2e/test_info.py: one case per test, on the emulator always and on KVM
# when /dev/kvm works (77 otherwise; also 77 without qemu-img or strace).
set(PUPA_INFO_CASES safe backing-passwd backing-trap vmdk-hostname data-file polyglot corrupt
    encrypted out-of-range spoof utf8 snapshots error-words format format-unknown block-device
    qemu-options exits usage)
foreach(accel emu kvm)
  foreach(c ${PUPA_INFO_CASES})
    add_test(NAME info/${c}-${accel}
      COMMAND ${PYTHON3} ${E2E}/test_info.py $<TARGET_FILE:pupa> ${accel} ${c}
              ${PUPA_INFO_TMP}/${c}-${accel})
    # generous: a loaded machine must not turn a correct program red (the 65 536-snapshot
    # case takes minutes on the emulator under ASan)
    set_tests_properties(info/${c}-${accel} PROPERTIES LABELS info SKIP_RETURN_CODE 77
      TIMEOUT 3600)
  endforeach()
endforeach()

# ---------------------------------------------------------------- truncation through VMM + guest
# tests/e2e/test_info_truncate.py: sample corpus images (every format, every committed
# sample, qcow2/qcow made at test time) cut at every sector of their first 64 KiB and at
# sampled lengths past it; pupa info (two -j2 batches per shard) against qemu-img on
# every cut. Four shards: about 10 s each on the emulator (30 s under ASan), 6 s on KVM.
set(PUPA_INFO_TRUNC_SHARDS 4)
foreach(accel emu kvm)
  foreach(k RANGE 1 ${PUPA_INFO_TRUNC_SHARDS})
    set(t info/truncate-${k}of${PUPA_INFO_TRUNC_SHARDS}-${accel})
    add_test(NAME ${t}
      COMMAND ${PYTHON3} ${E2E}/test_info_truncate.py $<TARGET_FILE:pupa> ${accel}
              ${k}/${PUPA_INFO_TRUNC_SHARDS} ${PUPA_INFO_TMP}/truncate-${k}-${accel}
              ${PUPA_CORPUS} ${PROJECT_SOURCE_DIR}/images/samples)
    set_tests_properties(${t} PROPERTIES LABELS info FIXTURES_REQUIRED corpus
      SKIP_RETURN_CODE 77 TIMEOUT 900)
  endforeach()
endforeach()

# ---------------------------------------------------------------- parser fuzzing
# tests/fuzz/fuzz_formats.c: info_run() over an in-memory image (probe, forced formats,
# file names, sizes, I/O errors), its frames through the VMM's report and outputs.
# Seeds: the first 64 KiB of every corpus image and sample (made at test time).
# Known crash reproducers live in tests/fuzz/crashes/ and are replayed by every test.
set(PUPA_FORMAT_SEEDS ${CMAKE_CURRENT_BINARY_DIR}/fuzz-seeds-formats)
set(PUPA_FORMAT_CRASHES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/crashes)
set(PUPA_FUZZ_FORMATS_PY ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_formats.py)
add_test(NAME fuzz/formats-make-seeds
  COMMAND ${PYTHON3} ${PUPA_FUZZ_FORMATS_PY} seeds ${PUPA_FORMAT_SEEDS} ${PUPA_CORPUS}
          ${PROJECT_SOURCE_DIR}/images/samples)
set_tests_properties(fuzz/formats-make-seeds PROPERTIES LABELS "info;fuzz"
  FIXTURES_REQUIRED corpus FIXTURES_SETUP format-seeds TIMEOUT 300)

# The harness with the project compiler and a plain main(): replays the seeds and the
# known crashes everywhere (sanitized in the PUPA_SANITIZE build), no clang needed.
add_executable(info-fuzz-replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_formats.c
               ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_image.c
               ${CMAKE_CURRENT_SOURCE_DIR}/protocol/fuzz_replay_main.c)
target_link_libraries(info-fuzz-replay PRIVATE pupa-formats-host pupa-host)
pupa_host_target(info-fuzz-replay)
add_test(NAME fuzz/formats-replay-seeds
  COMMAND ${PYTHON3} ${PUPA_FUZZ_FORMATS_PY} replay $<TARGET_FILE:info-fuzz-replay>
          ${PUPA_FORMAT_SEEDS} ${PUPA_FORMAT_CRASHES})
set_tests_properties(fuzz/formats-replay-seeds PROPERTIES LABELS "info;fuzz"
  FIXTURES_REQUIRED format-seeds TIMEOUT 300)

# The libFuzzer build: clang called directly, as tests/protocol.cmake does (its
# configure-time probe sets PUPA_FUZZER_OK and CLANG), on the parsers, the info
# operation, the VMM's report/output/json/util, the protocol sources, the generated
# guest.pb.c and Debian's nanopb. (clang's -Wformat=2 also flags vprintf-style
# helpers, which gcc accepts: -Wno-format-nonliteral.)
set(PUPA_FORMAT_FUZZER -)
if(PUPA_FUZZER_OK)
  set(PUPA_FORMAT_FUZZER ${CMAKE_CURRENT_BINARY_DIR}/fuzz_formats)
  set(gen ${PROJECT_BINARY_DIR}/generated)
  set_source_files_properties(${gen}/guest.pb.c ${gen}/guest.pb.h PROPERTIES GENERATED TRUE)
  file(GLOB format_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/guest/formats/*.c)
  set(ffuzz_sources ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_formats.c
      ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_image.c ${format_sources}
      ${PROJECT_SOURCE_DIR}/guest/ops/info.c ${PROJECT_SOURCE_DIR}/guest/lib/md5.c
      ${PROJECT_SOURCE_DIR}/guest/lib/crc32c.c
      ${PROJECT_SOURCE_DIR}/vmm/report.c ${PROJECT_SOURCE_DIR}/vmm/output.c
      ${PROJECT_SOURCE_DIR}/vmm/json.c ${PROJECT_SOURCE_DIR}/vmm/util.c
      ${PROJECT_SOURCE_DIR}/vmm/error.c
      ${PROJECT_SOURCE_DIR}/protocol/src/frame.c ${PROJECT_SOURCE_DIR}/protocol/src/reader.c
      ${PROJECT_SOURCE_DIR}/protocol/src/messages.c ${PROJECT_SOURCE_DIR}/protocol/src/path.c
      ${gen}/guest.pb.c)
  file(GLOB ffuzz_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/guest/formats/*.h
       ${PROJECT_SOURCE_DIR}/vmm/*.h ${PROJECT_SOURCE_DIR}/protocol/include/pupa/*.h)
  set(ffuzz_includes -I${PROJECT_SOURCE_DIR}/protocol/include -I${PROJECT_SOURCE_DIR}/guest
      -I${gen})
  if(NOT NANOPB_INCLUDE_DIR STREQUAL "/usr/include")
    list(APPEND ffuzz_includes -I${NANOPB_INCLUDE_DIR})
  endif()
  add_custom_command(OUTPUT ${PUPA_FORMAT_FUZZER}
    COMMAND ${CLANG} -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=all -fno-omit-frame-pointer -D_GNU_SOURCE
            ${PUPA_WARNINGS} -Wno-format-nonliteral ${ffuzz_includes} ${ffuzz_sources}
            ${NANOPB_LIBRARY} -lz -lzstd -lm
            -o ${PUPA_FORMAT_FUZZER}
    DEPENDS ${ffuzz_sources} ${ffuzz_headers} ${gen}/guest.pb.h pupa-proto-gen
    COMMENT "clang: libFuzzer harness fuzz_formats"
    VERBATIM)
  add_custom_target(fuzz-formats ALL DEPENDS ${PUPA_FORMAT_FUZZER})
endif()

# 20 000 inputs from a fixed seed (77 without the libFuzzer build; about a minute on a
# loaded 2-CPU machine), and a seed replay.
add_test(NAME fuzz/formats
  COMMAND ${PYTHON3} ${PUPA_FUZZ_FORMATS_PY} fuzz ${PUPA_FORMAT_FUZZER} ${PUPA_FORMAT_SEEDS}
          ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/formats 20000 ${PUPA_FORMAT_CRASHES})
set_tests_properties(fuzz/formats PROPERTIES LABELS "info;fuzz" TIMEOUT 300
  SKIP_RETURN_CODE 77 FIXTURES_REQUIRED format-seeds)
add_test(NAME fuzz/formats-seeds
  COMMAND ${PYTHON3} ${PUPA_FUZZ_FORMATS_PY} replay-fuzzer ${PUPA_FORMAT_FUZZER}
          ${PUPA_FORMAT_SEEDS} ${PUPA_FORMAT_CRASHES})
set_tests_properties(fuzz/formats-seeds PROPERTIES LABELS "info;fuzz" TIMEOUT 300
  SKIP_RETURN_CODE 77 FIXTURES_REQUIRED format-seeds)
