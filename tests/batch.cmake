# tests/batch.cmake: issue 7: 200 mixed images, order, human blocks, shards, -j and --summary, --files-from/-0, Ctrl-C, output errors, 20000 entries, the GNU parallel example of docs/scaling.md.
foreach(accel emu kvm)
  foreach(c mixed order human shards jobs files-from sigint output-errors many)
    add_test(NAME batch/${c}-${accel}
      COMMAND ${PYTHON3} ${E2E}/test_batch.py $<TARGET_FILE:pupa> ${accel} ${c})
    set_tests_properties(batch/${c}-${accel} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
      LABELS batch)
  endforeach()
  add_test(NAME batch/scaling-example-${accel}
    COMMAND ${PYTHON3} ${E2E}/test_batch.py $<TARGET_FILE:pupa> ${accel} scaling
            ${E2E}/scaling_example.sh)
  set_tests_properties(batch/scaling-example-${accel} PROPERTIES SKIP_RETURN_CODE 77
    TIMEOUT 600 LABELS batch)
endforeach()
