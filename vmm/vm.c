/* vm.c: a machine: RAM, boot structures, device table, run loop, exits. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "elf.h"
#include "util.h"
#include "vm.h"

/* The machine whose vCPU this process runs; signal handlers kick it. */
static struct vm *volatile running_vm;

int vm_create(struct vm *vm, const struct accel_ops *accel, uint64_t ram_size)
{
    memset(vm, 0, sizeof(*vm));
    vm->accel = accel;
    if (ram_size < PUPA_RAM_MIN || ram_size > PUPA_RAM_MAX || ram_size % (2 * PUPA_MIB)) {
        snprintf(vm->fail, sizeof(vm->fail),
                 "guest memory must be a multiple of 2 MiB between %llu and %llu MiB",
                 PUPA_RAM_MIN / PUPA_MIB, PUPA_RAM_MAX / PUPA_MIB);
        return -1;
    }
    void *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) {
        snprintf(vm->fail, sizeof(vm->fail), "vm: cannot map %llu MiB of guest memory: %s",
                 (unsigned long long)(ram_size / PUPA_MIB), strerror(errno));
        return -1;
    }
    madvise(ram, ram_size, MADV_DONTFORK);
    vm->ram = ram;
    vm->ram_size = ram_size;
    if (accel->init(vm) != 0) {
        if (vm->accel_state)
            accel->destroy(vm);
        munmap(vm->ram, vm->ram_size);
        vm->ram = NULL;
        return -1;
    }
    return 0;
}

void vm_destroy(struct vm *vm)
{
    if (vm->accel && vm->accel_state)
        vm->accel->destroy(vm);
    if (vm->ram)
        munmap(vm->ram, vm->ram_size);
    vm->ram = NULL;
}

void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
    if (gpa > vm->ram_size || len > vm->ram_size - gpa)
        return NULL;
    return vm->ram + gpa;
}

void vm_fail(struct vm *vm, const char *fmt, ...)
{
    if (vm->state == VM_RUNNING) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(vm->fail, sizeof(vm->fail), fmt, ap);
        va_end(ap);
        vm->state = VM_FAILED;
    }
}

void vm_warn(struct vm *vm, const char *fmt, ...)
{
    if (++vm->warnings > VM_WARN_LINES)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    pupa_err("%s", line);
}

/* After a run: how many warnings the cap swallowed. */
static void warn_summary(const struct vm *vm)
{
    if (vm->warnings > VM_WARN_LINES)
        pupa_err("%llu more warnings about this guest suppressed",
                 (unsigned long long)(vm->warnings - VM_WARN_LINES));
}

/* ---------------------------------------------------------------- boot */

static void put64(struct vm *vm, uint64_t gpa, uint64_t v)
{
    uint8_t *p = vm_gpa(vm, gpa, 8);
    memcpy(p, &v, 8);
}

static void put(struct vm *vm, uint64_t gpa, const void *data, size_t len)
{
    memcpy(vm_gpa(vm, gpa, len), data, len);
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

uint64_t vm_user_entry_frame(struct vm *vm, uint64_t rip, uint64_t rsp)
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

/* GDT (ring-0 and ring-3 flat segments, TSS), TSS, page tables, the
 * trampoline and the TLS page with a random canary. */
static void write_boot_structures(struct vm *vm)
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
    /* TSS: RSP0 for exceptions taken in ring 3, and an I/O bitmap that allows
     * every port (IOPL 3 already does; some hypervisors check the bitmap) */
    put64(vm, PUPA_BOOT_TSS + 4, PUPA_BOOT_EXC_STACK);
    uint16_t iomap = 0x68;
    put(vm, PUPA_BOOT_TSS + 102, &iomap, 2);
    memset(vm_gpa(vm, PUPA_BOOT_TSS + 0x68, 8192), 0, 8192);
    uint8_t end = 0xff;
    put(vm, PUPA_BOOT_TSS + 0x68 + 8192, &end, 1);

    write_page_tables(vm);
    write_trampoline(vm);
    uint64_t canary = 0;
    if (getrandom(&canary, sizeof(canary), 0) != sizeof(canary))
        canary = now_ns() * 0x9e3779b97f4a7c15ull;
    canary &= ~0xffull; /* a NUL byte stops string overflows at the canary */
    put64(vm, PUPA_BOOT_TLS + 0x28, canary);
}

int vm_load_guest(struct vm *vm, const uint8_t *elf, size_t elf_len)
{
    uint64_t entry;
    char err[256];
    if (elf_load(elf, elf_len, vm->ram, vm->ram_size, PUPA_BOOT_END, &entry, err, sizeof(err))) {
        snprintf(vm->fail, sizeof(vm->fail), "guest ELF: %s", err);
        return -1;
    }
    write_boot_structures(vm);
    return vm->accel->set_entry(vm, entry, vm->ram_size);
}

void vm_add_pio(struct vm *vm, const struct vm_pio_dev *dev)
{
    if (vm->npio < VM_MAX_PIO)
        vm->pio[vm->npio++] = *dev;
}

void vm_add_mmio(struct vm *vm, const struct vm_mmio_dev *dev)
{
    if (vm->nmmio < VM_MAX_MMIO)
        vm->mmio[vm->nmmio++] = *dev;
}

/* ---------------------------------------------------------------- exits */

static void unknown_access(struct vm *vm, const char *what, uint64_t addr, uint32_t size,
                           bool is_write)
{
    vm->unknown_access++;
    if (vm->verbose || vm->unknown_access <= 1)
        vm_warn(vm, "guest %s %s of %u bytes at 0x%llx: no device there (ignored)",
                is_write ? "wrote" : "read", what, size, (unsigned long long)addr);
}

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

const char *vm_exception_name(unsigned vector)
{
    return vector < 32 && exception_names[vector] ? exception_names[vector] : "reserved";
}

/* The trampoline reported an exception: decode its frame (guest memory,
 * checked) into one line. */
static void guest_exception(struct vm *vm, uint32_t frame_gpa)
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
                (unsigned long long)vector, vm_exception_name((unsigned)vector),
                (unsigned long long)rip, (unsigned long long)w[0]);
    else if (has_error)
        vm_fail(vm, "guest crashed: CPU exception %llu (%s) at rip 0x%llx, error code 0x%llx",
                (unsigned long long)vector, vm_exception_name((unsigned)vector),
                (unsigned long long)rip, (unsigned long long)error);
    else
        vm_fail(vm, "guest crashed: CPU exception %llu (%s) at rip 0x%llx",
                (unsigned long long)vector, vm_exception_name((unsigned)vector),
                (unsigned long long)rip);
}

void vm_pio(struct vm *vm, uint16_t port, uint8_t *data, uint32_t size, uint32_t count,
            bool is_write)
{
    if (port == PUPA_PORT_EXCEPTION && is_write && size == 4 && count == 1) {
        uint32_t frame;
        memcpy(&frame, data, 4);
        guest_exception(vm, frame);
        return;
    }
    if (port == PUPA_PORT_EXIT && is_write && count >= 1) {
        uint32_t status = 0;
        memcpy(&status, data, size > 4 ? 4 : size);
        if (vm->state == VM_RUNNING) {
            vm->exit_status = (int)status;
            vm->state = VM_EXITED;
        }
        return;
    }
    for (int i = 0; i < vm->npio; i++) {
        struct vm_pio_dev *d = &vm->pio[i];
        if (port >= d->base && port < d->base + d->len) {
            d->io(d->opaque, (uint16_t)(port - d->base), data, size, count, is_write);
            return;
        }
    }
    if (!is_write)
        memset(data, 0xff, (size_t)size * count);
    unknown_access(vm, "port", port, size, is_write);
}

void vm_mmio(struct vm *vm, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
    for (int i = 0; i < vm->nmmio; i++) {
        struct vm_mmio_dev *d = &vm->mmio[i];
        if (addr >= d->base && addr - d->base < d->len) {
            d->io(d->opaque, addr - d->base, data, len, is_write);
            return;
        }
    }
    if (!is_write)
        memset(data, 0xff, len);
    unknown_access(vm, "MMIO", addr, len, is_write);
}

void vm_check_kick(struct vm *vm)
{
    if (!vm->kicked)
        return;
    vm->kicked = 0;
    if (vm->state != VM_RUNNING)
        return;
    if (vm->deadline_ns && now_ns() >= vm->deadline_ns)
        vm_fail(vm, "guest did not finish within the timeout");
}

void vm_interrupt(struct vm *vm)
{
    if (vm->state == VM_RUNNING)
        vm->state = VM_STOPPED;
    vm->kicked = 1;
    vm->accel->kick(vm);
}

/* ---------------------------------------------------------------- run */

static void on_deadline(int sig)
{
    (void)sig;
    struct vm *vm = running_vm;
    if (vm) {
        vm->kicked = 1;
        vm->accel->kick(vm);
    }
}

int vm_run(struct vm *vm, double timeout_s)
{
    timer_t timer;
    bool have_timer = false;

    if (timeout_s > 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_deadline;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGRTMIN, &sa, NULL); /* no SA_RESTART: KVM_RUN must return */
        struct sigevent sev;
        memset(&sev, 0, sizeof(sev));
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = SIGRTMIN;
        sev._sigev_un._tid = gettid();
        if (timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0) {
            have_timer = true;
            vm->deadline_ns = now_ns() + (uint64_t)(timeout_s * 1e9);
            /* fire at the deadline, then every 50 ms in case a kick is missed */
            struct itimerspec its = {
                {0, 50000000},
                {(time_t)timeout_s, (long)((timeout_s - (double)(time_t)timeout_s) * 1e9)}};
            if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
                its.it_value.tv_nsec = 1;
            timer_settime(timer, 0, &its, NULL);
        }
    }
    running_vm = vm;
    int rc = vm->accel->run(vm);
    running_vm = NULL;
    if (have_timer)
        timer_delete(timer);
    if (rc != 0 && vm->state == VM_RUNNING)
        vm->state = VM_FAILED;
    warn_summary(vm);
    return vm->state == VM_EXITED ? 0 : -1;
}

struct vm *vm_running(void)
{
    return running_vm;
}
