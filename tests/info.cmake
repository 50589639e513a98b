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
