/* boot_x86.h: the x86-64 machine a pupa guest boots into (GDT, TSS, page
 * tables, IDT, exception trampoline and its port, ring-3 entry), written by
 * the VMM into guest RAM below PUPA_BOOT_END. Like Solo5's hvt_cpu_x86_64.c. */
#ifndef PUPA_BOOT_X86_H
#define PUPA_BOOT_X86_H

#include <stdint.h>

#include "vm.h"

/* RFLAGS the guest starts with: IOPL 3 (port I/O from ring 3), IF clear. */
#define PUPA_USER_RFLAGS (0x2ull | (3ull << 12))

/* Write every boot structure (the guest's pages above PUPA_BOOT_END are not
 * touched) and attach the exception port, which turns a frame the trampoline
 * reports into the guest's crash (vm_fail). */
void boot_x86_setup(struct vm *vm);

/* For a backend that cannot start the vCPU in ring 3 (Unicorn takes the CPL
 * from the SS it loads, and will only load a ring-0 SS in ring 0): writes an
 * iretq frame for (rip, rsp) in ring 3 on the exception stack and returns the
 * ring-0 RSP at which PUPA_BOOT_USER_ENTRY's iretq enters the guest. */
uint64_t boot_x86_user_entry_frame(struct vm *vm, uint64_t rip, uint64_t rsp);

/* "#GP general protection" etc.; "reserved" for vectors without a name. */
const char *x86_exception_name(unsigned vector);

#endif
