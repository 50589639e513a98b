/* boot_x86.c: the x86-64 machine a pupa guest boots into: GDT, TSS, page
 * tables, IDT, the ring-0 exception trampoline and the port it reports on,
 * and the ring-3 entry (the layout: pupa/abi.h; why: docs/security.md). */
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>

#include "boot_x86.h"
#include "util.h"

_Static_assert(PUPA_BOOT_END <= PUPA_RAM_MIN, "the boot structures fit in the smallest RAM");

/* Guest RAM is at least PUPA_RAM_MIN, so every address below is in it. */
static void put(struct vm *vm, uint64_t gpa, const void *data, size_t len)
{
    uint8_t *p = vm_gpa(vm, gpa, len);
    if (p)
        memcpy(p, data, len);
}

static void put64(struct vm *vm, uint64_t gpa, uint64_t v)
{
    put(vm, gpa, &v, 8);
}

/* The exception trampoline (ring 0): one stub per vector pushes the vector
 * and jumps to common code, which pushes rax and cr2 and reports the frame's
 * address on PUPA_PORT_EXCEPTION. General-purpose instructions only. */
static void write_trampoline(struct vm *vm)
{
    static const uint8_t common[] = {
        0x50,                   /* push %rax */
        0x0f, 0x20, 0xd0,       /* mov %cr2,%rax */
        0x50,                   /* push %rax */
        0x48, 0x89, 0xe0,       /* mov %rsp,%rax */
        0x66, 0xba, 0x02, 0x05, /* mov $PUPA_PORT_EXCEPTION,%dx */
        0xef,                   /* out %eax,(%dx) */
        0xf4,                   /* 1: hlt */
        0xeb, 0xfd,             /* jmp 1b */
    };
    _Static_assert(PUPA_PORT_EXCEPTION == 0x502, "trampoline encodes the port");
    const uint64_t common_at = PUPA_BOOT_TRAMPOLINE + 32 * 8;
    for (uint64_t v = 0; v < 32; v++) {
        uint64_t at = PUPA_BOOT_TRAMPOLINE + v * 8;
        int32_t rel = (int32_t)(common_at - (at + 7));
        uint8_t stub[8] = {0x6a, (uint8_t)v, 0xe9, 0, 0, 0, 0, 0x90}; /* push $v; jmp common */
        memcpy(stub + 3, &rel, 4);
        put(vm, at, stub, sizeof(stub));
        /* 64-bit interrupt gate, ring-0 code selector */
        uint8_t gate[16] = {0};
        uint16_t lo = (uint16_t)at, mid = (uint16_t)(at >> 16);
        uint32_t hi = (uint32_t)(at >> 32);
        memcpy(gate, &lo, 2);
        gate[2] = PUPA_GDT_CODE0_SEL;
        gate[5] = 0x8e;
        memcpy(gate + 6, &mid, 2);
        memcpy(gate + 8, &hi, 4);
        put(vm, PUPA_BOOT_IDT + v * 16, gate, sizeof(gate));
    }
    put(vm, common_at, common, sizeof(common));
    static const uint8_t iretq[] = {0x48, 0xcf};
    put(vm, PUPA_BOOT_USER_ENTRY, iretq, sizeof(iretq));
}

uint64_t boot_x86_user_entry_frame(struct vm *vm, uint64_t rip, uint64_t rsp)
{
    const uint64_t frame[5] = {rip, PUPA_GDT_CODE_SEL, PUPA_USER_RFLAGS, rsp, PUPA_GDT_DATA_SEL};
    uint64_t at = PUPA_BOOT_EXC_STACK - sizeof(frame);
    put(vm, at, frame, sizeof(frame));
    return at;
}

/* Page-table entry bits. */
#define PTE_P    0x001ull /* present */
#define PTE_W    0x002ull /* writable */
#define PTE_U    0x004ull /* user (ring 3) may access */
#define PTE_PWT  0x008ull
#define PTE_PCD  0x010ull
#define PTE_HUGE 0x080ull /* 2 MiB page (in a page directory) */

/* What ring 3 may do with each 4 KiB page below PUPA_BOOT_END: the VMM's
 * structures are supervisor-only (and read-only but for the exception stack),
 * page 0 is absent, the TLS page is read-only. Everything else in the first
 * 2 MiB is the guest's (its image loads at 1 MiB). */
static uint64_t low_page_flags(uint64_t addr)
{
    if (addr == 0)
        return 0;
    if (addr >= PUPA_BOOT_END)
        return PTE_P | PTE_W | PTE_U;
    if (addr == PUPA_BOOT_TLS)
        return PTE_P | PTE_U;
    if (addr >= PUPA_BOOT_EXC_STACK - 0x2000)
        return PTE_P | PTE_W;
    return PTE_P; /* GDT, page tables, IDT + trampoline, TSS + I/O bitmap */
}

/* Identity map of the first 4 GiB: 4 KiB pages for the first 2 MiB (so that
 * the boot structures can be supervisor-only), 2 MiB user pages above (RAM and
 * the virtio-mmio window both reachable, device space uncached). */
static void write_page_tables(struct vm *vm)
{
    _Static_assert(PUPA_BOOT_TSS + PUPA_BOOT_TSS_LIMIT < PUPA_BOOT_PT &&
                       PUPA_BOOT_PT + 0x1000 <= PUPA_BOOT_EXC_STACK - 0x2000 &&
                       PUPA_BOOT_EXC_STACK == PUPA_BOOT_END && PUPA_BOOT_END < 0x200000,
                   "boot structures overlap the exception stack or the guest");
    put64(vm, PUPA_BOOT_PML4, PUPA_BOOT_PDPT | PTE_P | PTE_W | PTE_U);
    for (uint64_t i = 0; i < 4; i++) {
        put64(vm, PUPA_BOOT_PDPT + i * 8, (PUPA_BOOT_PD + i * 0x1000) | PTE_P | PTE_W | PTE_U);
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t addr = (i << 30) | (j << 21);
            uint64_t entry = addr | PTE_P | PTE_W | PTE_U | PTE_HUGE;
            if (addr >= vm->ram_size)
                entry |= PTE_PCD | PTE_PWT; /* device space: cache disabled, write-through */
            if (addr == 0)
                entry = PUPA_BOOT_PT | PTE_P | PTE_W | PTE_U; /* the PT decides */
            put64(vm, PUPA_BOOT_PD + i * 0x1000 + j * 8, entry);
        }
    }
    for (uint64_t k = 0; k < 512; k++) {
        uint64_t flags = low_page_flags(k << 12);
        put64(vm, PUPA_BOOT_PT + k * 8, flags ? (k << 12) | flags : 0);
    }
}

/* GDT: null, flat ring-0 code and data, flat ring-3 code and data (accessed
 * bits preset: the CPU never writes these read-only pages), the TSS. */
static void write_gdt(struct vm *vm)
{
    put64(vm, PUPA_BOOT_GDT + 0x00, 0);
    put64(vm, PUPA_BOOT_GDT + PUPA_GDT_CODE0_SEL, 0x00af9b000000ffffull);
    put64(vm, PUPA_BOOT_GDT + PUPA_GDT_DATA0_SEL, 0x00cf93000000ffffull);
    put64(vm, PUPA_BOOT_GDT + (PUPA_GDT_CODE_SEL & ~3), 0x00affb000000ffffull);
    put64(vm, PUPA_BOOT_GDT + (PUPA_GDT_DATA_SEL & ~3), 0x00cff3000000ffffull);
    uint64_t tss = PUPA_BOOT_TSS, limit = PUPA_BOOT_TSS_LIMIT;
    put64(vm, PUPA_BOOT_GDT + PUPA_GDT_TSS_SEL,
          limit | ((tss & 0xffffff) << 16) | (0x89ull << 40) | (((tss >> 24) & 0xff) << 56));
    put64(vm, PUPA_BOOT_GDT + PUPA_GDT_TSS_SEL + 8, tss >> 32);
}

/* TSS: RSP0 for exceptions taken in ring 3, and an I/O bitmap that allows
 * every port (IOPL 3 already does; some hypervisors check the bitmap). */
static void write_tss(struct vm *vm)
{
    static const uint8_t all_ports[8192]; /* every bit clear */
    uint16_t iomap = 0x68;
    uint8_t end = 0xff;
    put64(vm, PUPA_BOOT_TSS + 4, PUPA_BOOT_EXC_STACK);
    put(vm, PUPA_BOOT_TSS + 102, &iomap, 2);
    put(vm, PUPA_BOOT_TSS + 0x68, all_ports, sizeof(all_ports));
    put(vm, PUPA_BOOT_TSS + 0x68 + 8192, &end, 1);
}

/* The TLS page: %fs:0x28 holds a random stack canary. */
static void write_tls(struct vm *vm)
{
    uint64_t canary = 0;
    if (getrandom(&canary, sizeof(canary), 0) != sizeof(canary))
        canary = now_ns() * 0x9e3779b97f4a7c15ull;
    canary &= ~0xffull; /* a NUL byte stops string overflows at the canary */
    put64(vm, PUPA_BOOT_TLS + 0x28, canary);
}

/* ---------------------------------------------------------------- exceptions */

static const char *const exception_names[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    NULL,
    "#MF x87 floating point",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD floating point",
    "#VE virtualization",
    "#CP control protection",
};

const char *x86_exception_name(unsigned vector)
{
    return vector < 32 && exception_names[vector] ? exception_names[vector] : "reserved";
}

/* The trampoline reported an exception: decode its frame (guest memory,
 * checked) into one line. */
static void report_exception(struct vm *vm, uint32_t frame_gpa)
{
    const uint8_t *f = vm_gpa(vm, frame_gpa, 10 * 8);
    uint64_t w[10];
    if (!f) {
        vm_fail(vm, "guest crashed: CPU exception (frame outside RAM)");
        return;
    }
    memcpy(w, f, sizeof(w));
    uint64_t vector = w[2];
    /* vectors 8, 10-14, 17, 21, 29, 30 push an error code */
    bool has_error = vector < 32 && ((0x60227d00u >> vector) & 1);
    uint64_t error = has_error ? w[3] : 0, rip = has_error ? w[4] : w[3];
    const uint8_t *insn = vm_gpa(vm, rip, 1);
    if (vector == 13 && insn && *insn == 0xf4) /* HLT is privileged in ring 3 */
        vm_fail(vm, "guest halted (HLT at rip 0x%llx) without reporting an exit status",
                (unsigned long long)rip);
    else if (vector == 14)
        vm_fail(vm, "guest crashed: CPU exception %llu (%s) at rip 0x%llx, address 0x%llx",
                (unsigned long long)vector, x86_exception_name((unsigned)vector),
                (unsigned long long)rip, (unsigned long long)w[0]);
    else if (has_error)
        vm_fail(vm, "guest crashed: CPU exception %llu (%s) at rip 0x%llx, error code 0x%llx",
                (unsigned long long)vector, x86_exception_name((unsigned)vector),
                (unsigned long long)rip, (unsigned long long)error);
    else
        vm_fail(vm, "guest crashed: CPU exception %llu (%s) at rip 0x%llx",
                (unsigned long long)vector, x86_exception_name((unsigned)vector),
                (unsigned long long)rip);
}

/* PUPA_PORT_EXCEPTION: the trampoline writes the frame's address (32 bits). */
static void exception_port_io(void *opaque, uint16_t offset, uint8_t *data, uint32_t size,
                              uint32_t count, bool is_write)
{
    (void)offset;
    if (!is_write) {
        memset(data, 0xff, (size_t)size * count);
        return;
    }
    if (size == 4 && count == 1) {
        uint32_t frame;
        memcpy(&frame, data, 4);
        report_exception(opaque, frame);
    }
}

void boot_x86_setup(struct vm *vm)
{
    write_gdt(vm);
    write_tss(vm);
    write_page_tables(vm);
    write_trampoline(vm);
    write_tls(vm);
    struct vm_pio_dev port = {PUPA_PORT_EXCEPTION, 1, vm, exception_port_io};
    vm_add_pio(vm, &port);
}
