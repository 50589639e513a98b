/* accel.h: execution backends (KVM, CPU emulator) behind one small interface.
 * A backend runs the vCPU and turns guest port and MMIO accesses into calls of
 * the machine's exit handlers (vm_pio, vm_mmio, ...); devices never know which
 * backend runs. */
#ifndef PUPA_ACCEL_H
#define PUPA_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct vm;

struct accel_ops {
    const char *name; /* "kvm", "emu" */
    /* Create the VM/engine and map vm->ram at guest address 0. 0 or -1 (vm->fail set). */
    int (*init)(struct vm *vm);
    /* Long-mode entry: boot structures are already in RAM (vm_boot). */
    int (*set_entry)(struct vm *vm, uint64_t rip, uint64_t rsp);
    /* Run until the guest stops (vm->state leaves VM_RUNNING). 0 or -1. */
    int (*run)(struct vm *vm);
    /* Async-signal-safe: make a running vCPU return to the run loop soon. */
    void (*kick)(struct vm *vm);
    void (*destroy)(struct vm *vm);
};

extern const struct accel_ops accel_kvm_ops;
extern const struct accel_ops accel_emu_ops;

/* Load the emulator library now (before forking workers, so they share it);
 * 0, or -1 with a message in err. */
int accel_emu_preload(char *err, size_t errlen);

/* Ask KVM for the CPUID it supports now (before forking workers, so they
 * inherit the answer instead of each asking); 0, or -1 (workers then ask). */
int accel_kvm_prepare(void);

/* True when /dev/kvm opens and speaks the API pupa needs. */
bool accel_kvm_available(void);

/* ---------------------------------------------------------------- choice (accel.c) */

/* The backend for --accel=NAME ("auto", "kvm", "emu"; NULL = auto). 0 with *out set,
 * or -1: class usage for a name that is none of these (exit 2), unsupported for a
 * backend this machine cannot run (exit 1). */
PUPA_MUST_CHECK int accel_choose(const char *name, const struct accel_ops **out,
                                 struct pupa_error *err);
/* Set-up every worker of a run shares, done once before forking (KVM's CPUID table;
 * loading the emulator library). 0, or -1 with err set. */
PUPA_MUST_CHECK int accel_prepare(const struct accel_ops *ops, struct pupa_error *err);

#endif
