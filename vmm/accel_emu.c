/* accel_emu.c: the CPU-emulation backend (Unicorn), for hosts without /dev/kvm.
 * The same RAM is mapped into the emulator; IN/OUT instructions and accesses
 * outside RAM come back through hooks to the same exit handlers as KVM's. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicorn/unicorn.h>

#include "boot_x86.h"
#include "util.h"
#include "vm.h"

/* Unicorn is a 19 MB library: it is loaded only when the emulator backend
 * runs, so KVM runs do not pay for its relocation at every start. */
static struct {
    uc_err (*open)(uc_arch, uc_mode, uc_engine **);
    uc_err (*close)(uc_engine *);
    uc_err (*mem_map_ptr)(uc_engine *, uint64_t, size_t, uint32_t, void *);
    uc_err (*mmio_map)(uc_engine *, uint64_t, size_t, uc_cb_mmio_read_t, void *, uc_cb_mmio_write_t,
                       void *);
    uc_err (*hook_add)(uc_engine *, uc_hook *, int, void *, void *, uint64_t, uint64_t, ...);
    uc_err (*reg_write)(uc_engine *, int, const void *);
    uc_err (*reg_read)(uc_engine *, int, void *);
    uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
    uc_err (*emu_stop)(uc_engine *);
    const char *(*strerror)(uc_err);
} ucf;

int accel_emu_preload(char *err, size_t errlen)
{
    if (ucf.open)
        return 0;
    void *h = dlopen("libunicorn.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "emu: cannot load the CPU emulator: %s", dlerror());
        return -1;
    }
#define SYM(field, name)                                                                           \
    do {                                                                                           \
        *(void **)&ucf.field = dlsym(h, name);                                                     \
        if (!ucf.field) {                                                                          \
            snprintf(err, errlen, "emu: libunicorn.so.2 lacks %s", name);                          \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)
    SYM(close, "uc_close");
    SYM(mem_map_ptr, "uc_mem_map_ptr");
    SYM(mmio_map, "uc_mmio_map");
    SYM(hook_add, "uc_hook_add");
    SYM(reg_write, "uc_reg_write");
    SYM(reg_read, "uc_reg_read");
    SYM(emu_start, "uc_emu_start");
    SYM(emu_stop, "uc_emu_stop");
    SYM(strerror, "uc_strerror");
    SYM(open, "uc_open"); /* last: marks the table complete */
#undef SYM
    return 0;
}

/* All guest-physical space below 4 GiB that is not RAM is one MMIO window;
 * vm_mmio() finds the device or logs an unknown access. */
struct emu_window {
    struct vm *vm;
    uint64_t base;
};

/* The watchdog thread's life: started by set_entry (a worker's sandbox allows
 * no new threads once the guest runs), waiting until the run begins, watching
 * while it lasts, leaving when it ends (or when the VM is destroyed unrun). */
enum emu_phase { EMU_STARTING, EMU_WAITING, EMU_RUNNING, EMU_DONE };

struct emu_state {
    uc_engine *uc;
    pthread_t watchdog;
    bool have_watchdog;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    enum emu_phase phase; /* under lock */
    volatile int stopped_by_watchdog;
    uc_hook hook_in, hook_out, hook_syscall, hook_intr, hook_bad;
    uint64_t rip;
    struct emu_window window;
};

/* Emulation runs in one ucf.emu_start() call: resuming after a stop can
 * replay part of a translation block (seen with Unicorn 2.0.1), so the guest
 * is only ever stopped for good. A watchdog thread stops it on a timeout or
 * an interrupt. */
#define EMU_WATCHDOG_NS 20000000

#define EMU_FAIL(vm, what, err)                                                                    \
    (snprintf((vm)->fail, sizeof((vm)->fail), "emu: %s: %s", what, ucf.strerror(err)), -1)

static void emu_stop_if_done(uc_engine *uc, struct vm *vm)
{
    if (vm->state != VM_RUNNING)
        ucf.emu_stop(uc);
}

static uint32_t emu_in(uc_engine *uc, uint32_t port, int size, void *opaque)
{
    struct vm *vm = opaque;
    uint8_t data[4] = {0};
    vm->exits++;
    vm_pio(vm, (uint16_t)port, data, (uint32_t)size, 1, false);
    emu_stop_if_done(uc, vm);
    uint32_t v = 0;
    memcpy(&v, data, (size_t)size);
    return v;
}

static void emu_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *opaque)
{
    struct vm *vm = opaque;
    uint8_t data[4];
    memcpy(data, &value, 4);
    vm->exits++;
    vm_pio(vm, (uint16_t)port, data, (uint32_t)size, 1, true);
    emu_stop_if_done(uc, vm);
}

static uint64_t emu_mmio_read(uc_engine *uc, uint64_t offset, unsigned size, void *opaque)
{
    struct emu_window *w = opaque;
    uint8_t data[8] = {0};
    w->vm->exits++;
    vm_mmio(w->vm, w->base + offset, data, size > 8 ? 8 : size, false);
    emu_stop_if_done(uc, w->vm);
    uint64_t v = 0;
    memcpy(&v, data, 8);
    return v;
}

static void emu_mmio_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value,
                           void *opaque)
{
    struct emu_window *w = opaque;
    uint8_t data[8];
    memcpy(data, &value, 8);
    w->vm->exits++;
    vm_mmio(w->vm, w->base + offset, data, size > 8 ? 8 : size, true);
    emu_stop_if_done(uc, w->vm);
}

/* Unicorn runs SYSCALL as a call of this hook and nothing else (no entry to
 * ring 0); a pupa guest has no system calls, so it is the guest's end, as on
 * KVM (where it enters ring 0 at LSTAR 0, an absent page, and faults). */
static void emu_syscall(uc_engine *uc, void *opaque)
{
    struct vm *vm = opaque;
    uint64_t rip = 0;
    ucf.reg_read(uc, UC_X86_REG_RIP, &rip);
    vm_fail(vm, "guest crashed: SYSCALL at rip 0x%llx (a pupa guest has no system calls)",
            (unsigned long long)rip);
    ucf.emu_stop(uc);
}

/* The emulator reports CPU exceptions here instead of delivering them. */
static void emu_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
    struct vm *vm = opaque;
    uint64_t rip = 0;
    ucf.reg_read(uc, UC_X86_REG_RIP, &rip);
    const uint8_t *insn = vm_gpa(vm, rip, 1);
    uint64_t cr2 = 0;
    if (intno == 13 && insn && *insn == 0xf4) /* HLT is privileged in ring 3 */
        vm_fail(vm, "guest halted (HLT at rip 0x%llx) without reporting an exit status",
                (unsigned long long)rip);
    else if (intno == 14 && ucf.reg_read(uc, UC_X86_REG_CR2, &cr2) == UC_ERR_OK)
        vm_fail(vm, "guest crashed: CPU exception 14 (%s) at rip 0x%llx, address 0x%llx",
                x86_exception_name(14), (unsigned long long)rip, (unsigned long long)cr2);
    else
        vm_fail(vm, "guest crashed: CPU exception %u (%s) at rip 0x%llx", intno,
                x86_exception_name(intno), (unsigned long long)rip);
    ucf.emu_stop(uc);
}

static bool emu_bad_mem(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                        void *opaque)
{
    (void)value;
    struct vm *vm = opaque;
    uint64_t rip = 0;
    ucf.reg_read(uc, UC_X86_REG_RIP, &rip);
    vm_fail(vm, "guest %s %d bytes at 0x%llx outside its address space (rip 0x%llx)",
            type == UC_MEM_FETCH_UNMAPPED   ? "fetched"
            : type == UC_MEM_WRITE_UNMAPPED ? "wrote"
                                            : "read",
            size, (unsigned long long)addr, (unsigned long long)rip);
    return false;
}

static int emu_init(struct vm *vm)
{
    if (accel_emu_preload(vm->fail, sizeof(vm->fail)) != 0)
        return -1;
    struct emu_state *e = xcalloc(1, sizeof(*e));
    vm->accel_state = e;
    uc_err err = ucf.open(UC_ARCH_X86, UC_MODE_64, &e->uc);
    if (err != UC_ERR_OK)
        return EMU_FAIL(vm, "uc_open", err);
    err = ucf.mem_map_ptr(e->uc, 0, vm->ram_size, UC_PROT_ALL, vm->ram);
    if (err != UC_ERR_OK)
        return EMU_FAIL(vm, "uc_mem_map_ptr", err);
    e->window = (struct emu_window){vm, vm->ram_size};
    err = ucf.mmio_map(e->uc, vm->ram_size, PUPA_IDENTITY_MAP_TOP - vm->ram_size, emu_mmio_read,
                       &e->window, emu_mmio_write, &e->window);
    if (err != UC_ERR_OK)
        return EMU_FAIL(vm, "uc_mmio_map", err);
    err = ucf.hook_add(e->uc, &e->hook_in, UC_HOOK_INSN, (void *)emu_in, vm, 1, 0, UC_X86_INS_IN);
    if (err == UC_ERR_OK)
        err = ucf.hook_add(e->uc, &e->hook_out, UC_HOOK_INSN, (void *)emu_out, vm, 1, 0,
                           UC_X86_INS_OUT);
    if (err == UC_ERR_OK)
        err = ucf.hook_add(e->uc, &e->hook_syscall, UC_HOOK_INSN, (void *)emu_syscall, vm, 1, 0,
                           UC_X86_INS_SYSCALL);
    if (err == UC_ERR_OK)
        err = ucf.hook_add(e->uc, &e->hook_intr, UC_HOOK_INTR, (void *)emu_intr, vm, 1, 0);
    if (err == UC_ERR_OK)
        err = ucf.hook_add(e->uc, &e->hook_bad, UC_HOOK_MEM_INVALID, (void *)emu_bad_mem, vm, 1, 0);
    if (err != UC_ERR_OK)
        return EMU_FAIL(vm, "uc_hook_add", err);
    return 0;
}

static void *emu_watchdog(void *arg)
{
    struct vm *vm = arg;
    struct emu_state *e = vm->accel_state;
    pthread_mutex_lock(&e->lock);
    if (e->phase == EMU_STARTING) { /* the thread's own start-up calls are over */
        e->phase = EMU_WAITING;
        pthread_cond_signal(&e->wake);
    }
    while (e->phase == EMU_WAITING)
        pthread_cond_wait(&e->wake, &e->lock);
    while (e->phase == EMU_RUNNING) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += EMU_WATCHDOG_NS;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&e->wake, &e->lock, &until);
        bool late = vm->deadline_ns && now_ns() >= vm->deadline_ns;
        if (e->phase == EMU_RUNNING && (vm->kicked || late || vm->state != VM_RUNNING)) {
            e->stopped_by_watchdog = 1;
            ucf.emu_stop(e->uc);
            break;
        }
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static void emu_set_phase(struct emu_state *e, enum emu_phase phase)
{
    pthread_mutex_lock(&e->lock);
    e->phase = phase;
    pthread_cond_signal(&e->wake);
    pthread_mutex_unlock(&e->lock);
}

/* Start the watchdog now, while the worker may still create threads, and
 * wait until the thread is past glibc's start-up (rseq, robust list), which
 * the sandbox would not allow. */
static void emu_start_watchdog(struct vm *vm, struct emu_state *e)
{
    if (e->have_watchdog)
        return;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    e->phase = EMU_STARTING;
    e->have_watchdog = pthread_create(&e->watchdog, NULL, emu_watchdog, vm) == 0;
    if (!e->have_watchdog) {
        pthread_cond_destroy(&e->wake);
        pthread_mutex_destroy(&e->lock);
        return;
    }
    pthread_mutex_lock(&e->lock);
    while (e->phase == EMU_STARTING)
        pthread_cond_wait(&e->wake, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

static void emu_stop_watchdog(struct emu_state *e)
{
    if (!e->have_watchdog)
        return;
    emu_set_phase(e, EMU_DONE);
    pthread_join(e->watchdog, NULL);
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->lock);
    e->have_watchdog = false;
}

static int emu_set_entry(struct vm *vm, uint64_t rip, uint64_t rsp)
{
    struct emu_state *e = vm->accel_state;
    uc_engine *uc = e->uc;
    /* The same GDT, page tables and ring 3 as under KVM: paging on, so the
     * emulator checks the user/supervisor and write bits of every access. The
     * CPL comes from SS, which Unicorn loads only as a ring-0 selector here, so
     * the vCPU starts in ring 0 at an iretq into the guest's ring 3. SSE on. */
    uint64_t cr0 = 0, cr4 = 0, cr3 = PUPA_BOOT_PML4;
    ucf.reg_read(uc, UC_X86_REG_CR0, &cr0);
    ucf.reg_read(uc, UC_X86_REG_CR4, &cr4);
    cr0 = (cr0 & ~((1ull << 2) | (1ull << 3))) | (1ull << 1); /* clear EM, TS; set MP */
    cr0 |= (1ull << 16) | (1ull << 31);                       /* WP, PG */
    cr4 |= (1ull << 5) | (1ull << 9) | (1ull << 10);          /* PAE, OSFXSR, OSXMMEXCPT */
    uc_x86_mmr gdtr = {0, PUPA_BOOT_GDT, PUPA_GDT_ENTRIES * 8 - 1, 0};
    uc_x86_mmr idtr = {0, PUPA_BOOT_IDT, 32 * 16 - 1, 0};
    uint64_t fs_base = PUPA_BOOT_TLS, rflags = 0x2;
    uint64_t cs = PUPA_GDT_CODE0_SEL, ss = PUPA_GDT_DATA0_SEL, ds = PUPA_GDT_DATA_SEL;
    uint64_t ksp = boot_x86_user_entry_frame(vm, rip, rsp);
    struct {
        int reg;
        const void *val;
    } writes[] = {
        {UC_X86_REG_CR3, &cr3},         {UC_X86_REG_CR4, &cr4},   {UC_X86_REG_CR0, &cr0},
        {UC_X86_REG_GDTR, &gdtr},       {UC_X86_REG_IDTR, &idtr}, {UC_X86_REG_CS, &cs},
        {UC_X86_REG_SS, &ss},           {UC_X86_REG_DS, &ds},     {UC_X86_REG_ES, &ds},
        {UC_X86_REG_FS_BASE, &fs_base}, {UC_X86_REG_RSP, &ksp},   {UC_X86_REG_EFLAGS, &rflags},
    };
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        uc_err err = ucf.reg_write(uc, writes[i].reg, writes[i].val);
        if (err != UC_ERR_OK) {
            char what[48];
            snprintf(what, sizeof(what), "uc_reg_write(%d)", writes[i].reg);
            return EMU_FAIL(vm, what, err);
        }
    }
    e->rip = PUPA_BOOT_USER_ENTRY;
    emu_start_watchdog(vm, e);
    return 0;
}

static void emu_kick(struct vm *vm)
{
    (void)vm; /* the watchdog sees vm->kicked within EMU_WATCHDOG_NS */
}

static int emu_run(struct vm *vm)
{
    struct emu_state *e = vm->accel_state;
    e->stopped_by_watchdog = 0;
    if (e->have_watchdog)
        emu_set_phase(e, EMU_RUNNING);
    uc_err err = ucf.emu_start(e->uc, e->rip, 0, 0, 0);
    emu_stop_watchdog(e);
    ucf.reg_read(e->uc, UC_X86_REG_RIP, &e->rip);
    if (vm->state != VM_RUNNING)
        return 0;
    if (err == UC_ERR_INSN_INVALID) {
        vm_fail(vm, "guest crashed: CPU exception 6 (%s) at rip 0x%llx", x86_exception_name(6),
                (unsigned long long)e->rip);
        return 0;
    }
    if (err != UC_ERR_OK) {
        vm_fail(vm, "guest stopped in the emulator at rip 0x%llx: %s", (unsigned long long)e->rip,
                ucf.strerror(err));
        return 0;
    }
    if (e->stopped_by_watchdog) {
        vm->kicked = 1;
        vm_check_kick(vm);
        if (vm->state == VM_RUNNING)
            vm_fail(vm, "guest stopped");
        return 0;
    }
    const uint8_t *op = vm_gpa(vm, e->rip - 1, 1);
    if (op && *op == 0xf4)
        vm_fail(vm, "guest halted (HLT at rip 0x%llx) without reporting an exit status",
                (unsigned long long)(e->rip - 1));
    else
        vm_fail(vm, "guest stopped unexpectedly in the emulator at rip 0x%llx",
                (unsigned long long)e->rip);
    return 0;
}

static void emu_destroy(struct vm *vm)
{
    struct emu_state *e = vm->accel_state;
    if (!e)
        return;
    emu_stop_watchdog(e);
    if (e->uc)
        ucf.close(e->uc);
    free(e);
    vm->accel_state = NULL;
}

const struct accel_ops accel_emu_ops = {
    .name = "emu",
    .init = emu_init,
    .set_entry = emu_set_entry,
    .run = emu_run,
    .kick = emu_kick,
    .destroy = emu_destroy,
};
