# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit/test_fmt_raw "/work/main/build/tests/test_fmt_raw")
set_tests_properties(unit/test_fmt_raw PROPERTIES  ENVIRONMENT "PUPA_TEST_TMP=/work/main/build/tests/tmp;QEMU_IMG=/usr/bin/qemu-img" SKIP_RETURN_CODE "77" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;23;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(corpus/make "/work/main/images/make-corpus" "/work/main/build/tests/corpus")
set_tests_properties(corpus/make PROPERTIES  FIXTURES_SETUP "corpus" SKIP_RETURN_CODE "77" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;30;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(corpus/hostinfo-vs-qemu-img "/work/main/tests/e2e/run-corpus-compare" "/work/main/build/tests/corpus" "/work/main/build/tests/pupa-hostinfo")
set_tests_properties(corpus/hostinfo-vs-qemu-img PROPERTIES  FIXTURES_REQUIRED "corpus" SKIP_RETURN_CODE "77" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;34;add_test;/work/main/tests/CMakeLists.txt;0;")
