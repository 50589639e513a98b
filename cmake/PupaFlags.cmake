# PupaFlags.cmake: compile flags for host targets and for the freestanding guest.

set(PUPA_WARNINGS -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wvla -Wformat=2)
set(PUPA_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)

# Host code: the VMM, tools, tests. Sanitizers only here, never in the guest.
function(pupa_host_target tgt)
  target_compile_options(${tgt} PRIVATE ${PUPA_WARNINGS})
  target_compile_definitions(${tgt} PRIVATE _GNU_SOURCE)
  if(PUPA_SANITIZE)
    target_compile_options(${tgt} PRIVATE ${PUPA_SANITIZE_FLAGS})
    get_target_property(type ${tgt} TYPE)
    if(NOT type STREQUAL "STATIC_LIBRARY" AND NOT type STREQUAL "OBJECT_LIBRARY")
      target_link_options(${tgt} PRIVATE ${PUPA_SANITIZE_FLAGS})
    endif()
  endif()
endfunction()

# Guest code: freestanding, no libc, no red zone, not position independent.
# SSE is on in the guest (the VMM enables it) and used by nanopb's runtime.
set(PUPA_GUEST_CFLAGS -ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie
    -mno-red-zone -fno-asynchronous-unwind-tables -fno-omit-frame-pointer -O2 -g
    -fcf-protection=none -U_FORTIFY_SOURCE)
# The guest sees no host headers at all: only gcc's freestanding ones, its
# own libc subset (guest/libc/include) and a build-time copy of nanopb's.
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
                OUTPUT_VARIABLE PUPA_CC_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)
set(PUPA_GUEST_NANOPB_INCLUDE ${PROJECT_BINARY_DIR}/guest-nanopb-include)
function(pupa_guest_target tgt)
  target_compile_options(${tgt} PRIVATE ${PUPA_WARNINGS} ${PUPA_GUEST_CFLAGS}
                         -nostdinc -isystem ${PUPA_CC_INCLUDE})
  target_include_directories(${tgt} BEFORE PRIVATE ${PROJECT_SOURCE_DIR}/guest/libc/include
                             ${PUPA_GUEST_NANOPB_INCLUDE})
  # _LIBC_LIMITS_H_: gcc's limits.h alone, without reaching for a libc one
  target_compile_definitions(${tgt} PRIVATE PUPA_GUEST=1 _LIBC_LIMITS_H_)
endfunction()
