/* vm.c: a machine: guest RAM, the device table and the dispatch of exits to
 * it, the exit port, the run with its timeout. x86 boot: boot_x86.c. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot_x86.h"
#include "elf.h"
#include "util.h"
#include "vm.h"

/* The machine whose vCPU this process runs; signal handlers kick it. */
static struct vm *volatile running_vm;

/* ---------------------------------------------------------------- exit port */

/* PUPA_PORT_EXIT: the guest's last word, its exit status (the first write wins). */
static void exit_port_io(void *opaque, uint16_t offset, uint8_t *data, uint32_t size,
                         uint32_t count, bool is_write)
{
    struct vm *vm = opaque;
    (void)offset;
    if (!is_write) {
        memset(data, 0xff, (size_t)size * count);
        return;
    }
    uint32_t status = 0;
    memcpy(&status, data, size > 4 ? 4 : size);
    if (vm->state == VM_RUNNING) {
        vm->exit_status = (int)status;
        vm->state = VM_EXITED;
    }
}

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
    struct vm_pio_dev exit_port = {PUPA_PORT_EXIT, 1, vm, exit_port_io};
    vm_add_pio(vm, &exit_port);
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

int vm_load_guest(struct vm *vm, const uint8_t *elf, size_t elf_len)
{
    uint64_t entry;
    char err[256];
    if (elf_load(vm, elf, elf_len, PUPA_BOOT_END, &entry, err, sizeof(err))) {
        snprintf(vm->fail, sizeof(vm->fail), "guest ELF: %s", err);
        return -1;
    }
    boot_x86_setup(vm);
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

void vm_pio(struct vm *vm, uint16_t port, uint8_t *data, uint32_t size, uint32_t count,
            bool is_write)
{
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
