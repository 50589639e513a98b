/* accel_kvm.c: the KVM backend: one VM, one vCPU entered directly in long mode. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot_x86.h"
#include "util.h"
#include "vm.h"

struct kvm_state {
    int kvm_fd, vm_fd, vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
    /* coalesced MMIO: posted device writes KVM queues in a page of the vCPU
     * mapping instead of exiting (NULL when unavailable or not yet set up) */
    struct kvm_coalesced_mmio_ring *ring;
    uint32_t ring_max;
};

#define KVM_FAIL(vm, what)                                                                         \
    (snprintf((vm)->fail, sizeof((vm)->fail), "kvm: %s: %s", what, strerror(errno)), -1)

bool accel_kvm_available(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
    close(fd);
    return ok;
}

/* KVM_GET_SUPPORTED_CPUID costs about 0.3 ms (more than creating the VM), and
 * its answer is the same for every VM on the host: accel_kvm_prepare() asks
 * once in the parent, and every worker forked after it inherits the table. */
#define CPUID_MAX 128
static struct {
    struct kvm_cpuid2 head;
    struct kvm_cpuid_entry2 entries[CPUID_MAX];
} supported;
static bool supported_ok;

static int fetch_supported_cpuid(int kvm_fd)
{
    supported.head.nent = CPUID_MAX;
    if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &supported.head) < 0)
        return -1;
    supported_ok = true;
    return 0;
}

int accel_kvm_prepare(void)
{
    if (supported_ok)
        return 0;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION ? fetch_supported_cpuid(fd) : -1;
    close(fd);
    return rc;
}

static int kvm_set_cpuid(struct vm *vm, struct kvm_state *k)
{
    if (!supported_ok && fetch_supported_cpuid(k->kvm_fd) != 0)
        return KVM_FAIL(vm, "KVM_GET_SUPPORTED_CPUID");
    if (ioctl(k->vcpu_fd, KVM_SET_CPUID2, &supported.head) < 0)
        return KVM_FAIL(vm, "KVM_SET_CPUID2");
    return 0;
}

static int kvm_init(struct vm *vm)
{
    struct kvm_state *k = xcalloc(1, sizeof(*k));
    k->kvm_fd = k->vm_fd = k->vcpu_fd = -1;
    vm->accel_state = k;

    k->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (k->kvm_fd < 0)
        return KVM_FAIL(vm, "open /dev/kvm");
    if (ioctl(k->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        snprintf(vm->fail, sizeof(vm->fail), "kvm: unsupported KVM API version");
        return -1;
    }
    k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
    if (k->vm_fd < 0)
        return KVM_FAIL(vm, "KVM_CREATE_VM");
    /* Intel needs a TSS region below 4 GiB even when never entering real mode */
    ioctl(k->vm_fd, KVM_SET_TSS_ADDR, 0xfffbd000ul);
    struct kvm_userspace_memory_region mem = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = vm->ram_size,
        .userspace_addr = (uint64_t)(uintptr_t)vm->ram,
    };
    if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &mem) < 0)
        return KVM_FAIL(vm, "KVM_SET_USER_MEMORY_REGION");
    k->vcpu_fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, 0);
    if (k->vcpu_fd < 0)
        return KVM_FAIL(vm, "KVM_CREATE_VCPU");
    int sz = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz < (int)sizeof(struct kvm_run))
        return KVM_FAIL(vm, "KVM_GET_VCPU_MMAP_SIZE");
    k->run_size = (size_t)sz;
    k->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->vcpu_fd, 0);
    if (k->run == MAP_FAILED) {
        k->run = NULL;
        return KVM_FAIL(vm, "mmap kvm_run");
    }
    /* the coalesced-MMIO ring: the page KVM_CAP_COALESCED_MMIO names, inside the
     * vCPU mapping (zones are registered in set_entry, once the devices exist) */
    int page = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
    long psz = sysconf(_SC_PAGESIZE);
    if (page > 0 && psz > 0 && (size_t)(page + 1) * (size_t)psz <= k->run_size) {
        k->ring = (struct kvm_coalesced_mmio_ring *)((uint8_t *)k->run + (size_t)page * psz);
        k->ring_max =
            (uint32_t)(((size_t)psz - sizeof(*k->ring)) / sizeof(k->ring->coalesced_mmio[0]));
    }
    return kvm_set_cpuid(vm, k);
}

/* Register every device's posted-write ranges (all of its window but the
 * doorbell). Without them, or when KVM refuses, writes simply exit. */
static void kvm_register_zones(struct vm *vm, struct kvm_state *k)
{
    if (!k->ring)
        return;
    for (int i = 0; i < vm->nmmio; i++) {
        const struct vm_mmio_dev *d = &vm->mmio[i];
        if (!d->posted_writes || d->doorbell > d->len || d->len - d->doorbell < 4)
            continue;
        struct kvm_coalesced_mmio_zone below = {.addr = d->base, .size = (uint32_t)d->doorbell};
        struct kvm_coalesced_mmio_zone above = {.addr = d->base + d->doorbell + 4,
                                                .size = (uint32_t)(d->len - d->doorbell - 4)};
        if ((below.size && ioctl(k->vm_fd, KVM_REGISTER_COALESCED_MMIO, &below) < 0) ||
            (above.size && ioctl(k->vm_fd, KVM_REGISTER_COALESCED_MMIO, &above) < 0)) {
            /* a zone that did register still works: its writes are drained below */
            return;
        }
    }
}

/* Hand the queued writes to the devices, oldest first, before anything else
 * the exit brings. The ring is written by KVM, not the guest, but its indexes
 * are checked all the same; entries are plain MMIO writes (checked by vm_mmio). */
static int kvm_drain_coalesced(struct vm *vm, struct kvm_state *k)
{
    struct kvm_coalesced_mmio_ring *ring = k->ring;
    if (!ring)
        return 0;
    uint32_t first = ring->first;
    while (first != __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
        if (first >= k->ring_max || ring->last >= k->ring_max) {
            vm_fail(vm, "kvm: coalesced MMIO ring out of range");
            return -1;
        }
        struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[first];
        uint8_t data[8];
        uint32_t len = e->len <= sizeof(data) ? e->len : 0;
        memcpy(data, e->data, sizeof(data));
        if (len)
            vm_mmio(vm, e->phys_addr, data, len, true);
        vm->posted++;
        first = (first + 1) % k->ring_max;
        __atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
    }
    return 0;
}

static int kvm_set_entry(struct vm *vm, uint64_t rip, uint64_t rsp)
{
    struct kvm_state *k = vm->accel_state;
    struct kvm_sregs sregs;
    if (ioctl(k->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return KVM_FAIL(vm, "KVM_GET_SREGS");

    /* ring 3, flat; ring 0 is only reached through the trampoline's gates */
    struct kvm_segment code = {
        .base = 0,
        .limit = 0xffffffff,
        .selector = PUPA_GDT_CODE_SEL,
        .type = 0xb,
        .present = 1,
        .dpl = 3,
        .db = 0,
        .s = 1,
        .l = 1,
        .g = 1,
    };
    struct kvm_segment data = code;
    data.selector = PUPA_GDT_DATA_SEL;
    data.type = 0x3;
    data.l = 0;
    data.db = 1;
    sregs.cs = code;
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.fs.base = PUPA_BOOT_TLS;
    sregs.tr = (struct kvm_segment){.base = PUPA_BOOT_TSS,
                                    .limit = PUPA_BOOT_TSS_LIMIT,
                                    .selector = PUPA_GDT_TSS_SEL,
                                    .type = 0xb,
                                    .present = 1};
    sregs.ldt = (struct kvm_segment){.type = 0x2, .present = 0, .unusable = 1};
    sregs.gdt.base = PUPA_BOOT_GDT;
    sregs.gdt.limit = PUPA_GDT_ENTRIES * 8 - 1;
    sregs.idt.base = PUPA_BOOT_IDT;
    sregs.idt.limit = 32 * 16 - 1;
    sregs.cr3 = PUPA_BOOT_PML4;
    sregs.cr4 = (1u << 5) | (1u << 9) | (1u << 10); /* PAE, OSFXSR, OSXMMEXCPT */
    sregs.cr0 = (1u << 0) | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 16) | (1u << 31);
    /* PE, MP, ET, NE, WP, PG; EM and TS clear so SSE works */
    sregs.efer = (1u << 8) | (1u << 10); /* LME, LMA */
    if (ioctl(k->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
        return KVM_FAIL(vm, "KVM_SET_SREGS");

    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = rip;
    regs.rsp = rsp;
    regs.rflags = PUPA_USER_RFLAGS;
    if (ioctl(k->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return KVM_FAIL(vm, "KVM_SET_REGS");
    /* the devices are attached by now; the run loop itself may be confined to
     * KVM_RUN (the worker's sandbox), so nothing else is left for it to set up */
    kvm_register_zones(vm, k);
    return 0;
}

static void kvm_kick(struct vm *vm)
{
    struct kvm_state *k = vm->accel_state;
    if (k && k->run)
        k->run->immediate_exit = 1;
}

static int kvm_handle_io(struct vm *vm, struct kvm_state *k)
{
    struct kvm_run *run = k->run;
    uint64_t bytes = (uint64_t)run->io.size * run->io.count;
    if (run->io.size == 0 || run->io.size > 4 || run->io.data_offset > k->run_size ||
        bytes > k->run_size - run->io.data_offset) {
        vm_fail(vm, "kvm: malformed I/O exit");
        return -1;
    }
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    vm_pio(vm, run->io.port, data, run->io.size, run->io.count,
           run->io.direction == KVM_EXIT_IO_OUT);
    return 0;
}

static int kvm_run_loop(struct vm *vm)
{
    struct kvm_state *k = vm->accel_state;
    struct kvm_run *run = k->run;

    while (vm->state == VM_RUNNING) {
        int rc = ioctl(k->vcpu_fd, KVM_RUN, 0);
        vm->exits++;
        if (kvm_drain_coalesced(vm, k) != 0)
            return -1;
        if (rc < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                run->immediate_exit = 0;
                vm_check_kick(vm);
                continue;
            }
            vm_fail(vm, "kvm: KVM_RUN: %s", strerror(errno));
            return -1;
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (kvm_handle_io(vm, k) != 0)
                return -1;
            break;
        case KVM_EXIT_MMIO:
            if (run->mmio.len > sizeof(run->mmio.data)) {
                vm_fail(vm, "kvm: malformed MMIO exit");
                return -1;
            }
            vm_mmio(vm, run->mmio.phys_addr, run->mmio.data, run->mmio.len, run->mmio.is_write);
            break;
        case KVM_EXIT_HLT:
            vm_fail(vm, "guest halted (HLT) without reporting an exit status");
            break;
        case KVM_EXIT_SHUTDOWN:
            vm_fail(vm, "guest triple fault (shutdown): the CPU could not handle an exception");
            break;
        case KVM_EXIT_FAIL_ENTRY:
            vm_fail(vm, "kvm: guest entry failed (hardware reason 0x%llx)",
                    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
            break;
        case KVM_EXIT_INTERNAL_ERROR: {
            struct kvm_regs regs;
            memset(&regs, 0, sizeof(regs));
            ioctl(k->vcpu_fd, KVM_GET_REGS, &regs);
            vm_fail(vm,
                    "kvm: internal error (suberror %u) at rip 0x%llx: the guest executed "
                    "something KVM cannot emulate",
                    run->internal.suberror, (unsigned long long)regs.rip);
            if (getenv("PUPA_DEBUG_KVM"))
                for (unsigned i = 0; i < run->internal.ndata && i < 16; i++)
                    vm_warn(vm, "kvm internal data[%u] = 0x%llx", i,
                            (unsigned long long)run->internal.data[i]);
            break;
        }
        case KVM_EXIT_INTR:
            vm_check_kick(vm);
            break;
        default:
            vm_fail(vm, "kvm: unexpected exit reason %u", run->exit_reason);
            break;
        }
        if (vm->kicked)
            vm_check_kick(vm);
    }
    return 0;
}

static void kvm_destroy(struct vm *vm)
{
    struct kvm_state *k = vm->accel_state;
    if (!k)
        return;
    if (k->run)
        munmap(k->run, k->run_size);
    if (k->vcpu_fd >= 0)
        close(k->vcpu_fd);
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->kvm_fd >= 0)
        close(k->kvm_fd);
    free(k);
    vm->accel_state = NULL;
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .init = kvm_init,
    .set_entry = kvm_set_entry,
    .run = kvm_run_loop,
    .kick = kvm_kick,
    .destroy = kvm_destroy,
};
