/* triplefault.c: test guest that wipes the IDT the VMM gave it and then
 * faults. Once that made KVM triple-fault; the IDT is supervisor-only now, so
 * the wipe itself is a page fault at PUPA_BOOT_IDT, reported as a crash. */
#include <string.h>

#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    memset((void *)(uintptr_t)PUPA_BOOT_IDT, 0, 32 * 16);
    __asm__ volatile("ud2");
    return 0;
}
