/* ring0.c: test guest that tries to leave ring 3 through its own tables, as a
 * taken-over parser would. VmmConfig.operation names the attack:
 *   idt         write a DPL-3 gate for int3 to its own code in ring 0, run
 *               int3, read CR0 there (the attack that once worked on KVM)
 *   gdt         write a DPL-3 64-bit call gate to ring 0 into the GDT
 *   tss         point the TSS's ring-0 stack (RSP0) at its own memory
 *   pagetable   make its first 2 MiB page writable through the page tables
 *   trampoline  patch the VMM's exception trampoline
 *   read-pml4   just read the top-level page table
 *   cr0, lidt, wrmsr, cr3   privileged instructions, from ring 3
 *   syscall, sysenter       the fast system-call entries to ring 0
 * The table attacks must end in a page fault at the table's address, the
 * privileged instructions in #GP. If an attack gets through, the guest says
 * so in an Init frame ("ring0", with CR0 when it was read) and exits 0. */
#include <string.h>

#include "rt.h"

extern char ring0_handler[];
volatile uint64_t ring0_cr0; /* written by ring0_handler, in ring 0 */

/* reached through the forged gate: CPL 0 here, so reading CR0 works */
__asm__(".text\n"
        ".globl ring0_handler\n"
        "ring0_handler:\n"
        "    mov %cr0, %rax\n"
        "    mov %rax, ring0_cr0(%rip)\n"
        "    iretq\n");

/* A 16-byte gate (interrupt: type 0xe, call: 0xc) to ring0_handler, DPL 3. */
static void forge_gate(uint64_t at, uint8_t type)
{
    uint64_t target = (uint64_t)(uintptr_t)ring0_handler;
    uint8_t gate[16] = {0};
    uint16_t lo = (uint16_t)target, mid = (uint16_t)(target >> 16);
    uint32_t hi = (uint32_t)(target >> 32);
    memcpy(gate, &lo, 2);
    gate[2] = PUPA_GDT_CODE0_SEL;
    gate[5] = (uint8_t)(0xe0 | type); /* present, DPL 3 */
    memcpy(gate + 6, &mid, 2);
    memcpy(gate + 8, &hi, 4);
    memcpy((void *)(uintptr_t)at, gate, sizeof(gate));
}

static void report(const char *how)
{
    pupa_GuestMessage m;
    pupa_msg_init(&m, "ring0", how, ring0_cr0);
    rt_send(&m);
}

int guest_main(const pupa_VmmConfig *cfg)
{
    const char *op = cfg->operation;
    if (strcmp(op, "gdt") == 0) {
        /* the slot after the TSS descriptor; lcall through it would enter ring 0 */
        forge_gate(PUPA_BOOT_GDT + PUPA_GDT_ENTRIES * 8, 0xc);
        report("gdt gate written");
    } else if (strcmp(op, "tss") == 0) {
        static uint8_t stack[4096];
        uint64_t top = (uint64_t)(uintptr_t)(stack + sizeof(stack));
        memcpy((void *)(uintptr_t)(PUPA_BOOT_TSS + 4), &top, 8);
        report("tss rsp0 written");
    } else if (strcmp(op, "pagetable") == 0) {
        volatile uint64_t *pd = (volatile uint64_t *)(uintptr_t)PUPA_BOOT_PD;
        *pd |= 0x6; /* writable, user */
        report("page table written");
    } else if (strcmp(op, "trampoline") == 0) {
        *(volatile uint8_t *)(uintptr_t)PUPA_BOOT_TRAMPOLINE = 0x90;
        report("trampoline written");
    } else if (strcmp(op, "cr0") == 0) {
        __asm__ volatile("mov %%cr0, %0" : "=r"(ring0_cr0));
        report("cr0 read without an attack");
    } else if (strcmp(op, "lidt") == 0) {
        /* its own IDT, with a gate to its code: lidt is privileged */
        static uint8_t idt[32 * 16] __attribute__((aligned(16)));
        forge_gate((uint64_t)(uintptr_t)&idt[3 * 16], 0xe);
        struct __attribute__((packed)) {
            uint16_t limit;
            uint64_t base;
        } idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
        __asm__ volatile("lidt %0\n\tint3" : : "m"(idtr) : "rax", "memory");
        report("lidt and int3 ran");
    } else if (strcmp(op, "wrmsr") == 0) {
        /* LSTAR (the syscall entry) := its own code: wrmsr is privileged */
        uint64_t target = (uint64_t)(uintptr_t)ring0_handler;
        __asm__ volatile("wrmsr"
                         :
                         : "c"(0xc0000082u), "a"((uint32_t)target), "d"((uint32_t)(target >> 32)));
        report("wrmsr ran");
    } else if (strcmp(op, "cr3") == 0) {
        /* its own page tables: writing CR3 is privileged */
        static uint64_t pml4[512] __attribute__((aligned(4096)));
        __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)pml4) : "memory");
        report("cr3 written");
    } else if (strcmp(op, "syscall") == 0) {
        __asm__ volatile("syscall" ::: "rcx", "r11", "memory");
        report("syscall returned");
    } else if (strcmp(op, "sysenter") == 0) {
        __asm__ volatile("sysenter" ::: "memory");
        report("sysenter returned");
    } else if (strcmp(op, "read-pml4") == 0) {
        uint64_t v = *(volatile uint64_t *)(uintptr_t)PUPA_BOOT_PML4;
        pupa_GuestMessage m;
        pupa_msg_init(&m, "ring0", "pml4 read", v);
        rt_send(&m);
    } else {
        forge_gate(PUPA_BOOT_IDT + 3 * 16, 0xe);
        __asm__ volatile("int3" ::: "rax", "memory");
        report("int3 ran in ring 0");
    }
    pupa_GuestMessage m;
    pupa_msg_complete(&m, op, 0, true);
    rt_send(&m);
    return PUPA_EXIT_OK;
}
