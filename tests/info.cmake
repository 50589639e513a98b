# tests/info.cmake: pupa info end to end (safety findings, --format, exit codes, truncation through VMM+guest) and parser fuzzing.

set(PUPA_INFO_TMP ${CMAKE_CURRENT_BINARY_DIR}/tmp/info)

# ---------------------------------------------------------------- crafted images, --format, exit codes
# tests/e2e/test_info.py: one case per test, on the emulator always and on KVM
# when /dev/kvm works (77 otherwise; also 77 without qemu-img or strace).
set(PUPA_INFO_CASES safe backing-passwd backing-trap vmdk-hostname data-file polyglot corrupt
    encrypted out-of-range format format-unknown usage)
foreach(accel emu kvm)
  foreach(c ${PUPA_INFO_CASES})
    add_test(NAME info/${c}-${accel}
      COMMAND ${PYTHON3} ${E2E}/test_info.py $<TARGET_FILE:pupa> ${accel} ${c}
              ${PUPA_INFO_TMP}/${c}-${accel})
    set_tests_properties(info/${c}-${accel} PROPERTIES LABELS info SKIP_RETURN_CODE 77
      TIMEOUT 300)
  endforeach()
endforeach()

# ---------------------------------------------------------------- truncation through VMM + guest
# tests/e2e/test_info_truncate.py: sample corpus images (every format, every committed
# sample, qcow2/qcow made at test time) cut at every sector of their first 64 KiB and at
# sampled lengths past it; pupa info (two -j2 batches per shard) against qemu-img on
# every cut. Four shards keep each under a minute or so on the emulator.
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
