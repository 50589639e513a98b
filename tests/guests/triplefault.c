/* triplefault.c: test guest that wipes the IDT the VMM gave it and then
 * faults: under KVM the CPU cannot deliver the exception (triple fault);
 * under the emulator the fault itself is reported. */
#include <string.h>

#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    memset((void *)(uintptr_t)PUPA_BOOT_IDT, 0, 32 * 16);
    __asm__ volatile("ud2");
    return 0;
}
