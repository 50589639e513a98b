/* vm.h: one machine: guest RAM, device table, run loop and exit dispatch.
 * Backend-free: accel_kvm.c / accel_emu.c call the exit handlers below. */
#ifndef PUPA_VM_H
#define PUPA_VM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel.h"
#include "pupa/abi.h"

enum vm_state {
    VM_RUNNING = 0,
    VM_EXITED,  /* the guest wrote its status to PUPA_PORT_EXIT */
    VM_FAILED,  /* the guest crashed, hung, halted or broke the protocol */
    VM_STOPPED, /* the user interrupted it (SIGINT/SIGTERM) */
};

/* Port-mapped device: one callback for reads and writes of `size` bytes,
 * repeated `count` times (string I/O); data holds size*count bytes. */
struct vm_pio_dev {
    uint16_t base, len;
    void *opaque;
    void (*io)(void *opaque, uint16_t offset, uint8_t *data, uint32_t size, uint32_t count,
               bool is_write);
};

/* MMIO device window at base..base+len.
 * posted_writes: the device promises that a write anywhere in the window except
 * the 4-byte register at `doorbell` has no effect the guest can see before its
 * next read of the window or write to the doorbell. A backend may then queue
 * such writes without leaving the guest (KVM's coalesced MMIO) and hand them
 * to io(), in order, before it handles the next exit of any kind. */
struct vm_mmio_dev {
    uint64_t base, len;
    void *opaque;
    void (*io)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
    bool posted_writes;
    uint64_t doorbell;
};

#define VM_MAX_PIO  8
#define VM_MAX_MMIO PUPA_MAX_DEVICES

struct vm {
    uint8_t *ram;
    uint64_t ram_size;
    const struct accel_ops *accel;
    void *accel_state;

    struct vm_pio_dev pio[VM_MAX_PIO];
    int npio;
    struct vm_mmio_dev mmio[VM_MAX_MMIO];
    int nmmio;

    volatile enum vm_state state;
    int exit_status;
    char fail[512];
    uint64_t exits;          /* returns to the VMM (KVM_RUN returns / emulator hook calls) */
    uint64_t posted;         /* device writes queued without an exit (KVM coalesced MMIO) */
    uint64_t unknown_access; /* unknown port / MMIO accesses (logged, not fatal) */
    uint64_t warnings;       /* vm_warn() calls, printed or not */
    uint64_t deadline_ns;    /* 0 = none */
    volatile sig_atomic_t kicked;
    bool verbose; /* log unknown accesses to stderr */
    /* NULL, or a counter the parent watches for its inactivity limit (--timeout):
     * devices bump it with vm_touch() whenever the guest makes progress */
    volatile uint64_t *activity;
};

/* The guest made progress (a device completed a request). */
static inline void vm_touch(struct vm *vm)
{
    if (vm->activity)
        ++*vm->activity;
}

/* Create a machine with ram_size bytes of RAM on the given backend.
 * Returns 0 or -1 with vm->fail set. */
int vm_create(struct vm *vm, const struct accel_ops *accel, uint64_t ram_size);
void vm_destroy(struct vm *vm);

/* The one checked guest-physical accessor: a host pointer to [gpa, gpa+len)
 * when the whole range is guest RAM, NULL otherwise (overflow-safe). */
void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len);

/* Load a static ELF64 (checked against RAM and its ABI note), write the boot
 * structures (boot_x86.c), set the entry. Devices must be attached before:
 * the backend finishes its set-up here (the worker may be confined next). */
int vm_load_guest(struct vm *vm, const uint8_t *elf, size_t elf_len);

void vm_add_pio(struct vm *vm, const struct vm_pio_dev *dev);
void vm_add_mmio(struct vm *vm, const struct vm_mmio_dev *dev);

/* Run until exit, failure, timeout or interruption. timeout_s <= 0: none. */
int vm_run(struct vm *vm, double timeout_s);

/* ---------------------------------------------------------------- exit handlers
 * (called by the backends) */
void vm_pio(struct vm *vm, uint16_t port, uint8_t *data, uint32_t size, uint32_t count,
            bool is_write);
void vm_mmio(struct vm *vm, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);
void vm_fail(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The one way the VMM and its devices complain about what a guest does: a
 * line on stderr for each of the first VM_WARN_LINES, then silence, and one
 * "N more suppressed" line when the run ends. Never include guest strings. */
#define VM_WARN_LINES 20
void vm_warn(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Called when the vCPU comes back for a kick: timeout or user interrupt. */
void vm_check_kick(struct vm *vm);

/* Stop the guest from outside (signal handlers): async-signal-safe. */
void vm_interrupt(struct vm *vm);
/* The machine this process is running right now, or NULL. */
struct vm *vm_running(void);

#endif
