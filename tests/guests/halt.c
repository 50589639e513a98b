/* halt.c: test guest that halts instead of reporting an exit status. */
#include "rt.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    __asm__ volatile("hlt");
    return 0;
}
