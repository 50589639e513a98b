/* test_vmm_boot.c: the boot structures boot_x86.c writes (what ring 3 may do
 * with each low page, the gates, the ring-3 entry frame) and the machine's
 * two port devices, the exit port and the exception port, driven through
 * vm_pio() on a machine without a CPU. */
#include <check.h>
#include <string.h>

#include "testutil.h"
#include "vmm/boot_x86.h"
#include "vmm/vm.h"

#define RAM (8ull << 20)

/* A backend that runs nothing: the machine's RAM, devices and ports only. */
static int none_init(struct vm *vm)
{
    (void)vm;
    return 0;
}
static void none_destroy(struct vm *vm)
{
    (void)vm;
}
static const struct accel_ops no_cpu = {.name = "none", .init = none_init, .destroy = none_destroy};

static struct vm vm;

static void setup(void)
{
    ck_assert_int_eq(vm_create(&vm, &no_cpu, RAM), 0);
    boot_x86_setup(&vm);
}

static void teardown(void)
{
    vm_destroy(&vm);
}

static uint64_t get64(uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, vm_gpa(&vm, gpa, 8), 8);
    return v;
}

START_TEST(low_pages_are_supervisor_only)
{
    /* the first 2 MiB through a page table, user-reachable */
    ck_assert_uint_eq(get64(PUPA_BOOT_PD), PUPA_BOOT_PT | 0x7);
    ck_assert_uint_eq(get64(PUPA_BOOT_PD + 8), 0x200000 | 0x87); /* 2 MiB, user, writable */
    uint64_t pt[512];
    memcpy(pt, vm_gpa(&vm, PUPA_BOOT_PT, sizeof(pt)), sizeof(pt));
    ck_assert_uint_eq(pt[0], 0); /* page 0 absent */
    for (uint64_t a = 0x1000; a < PUPA_BOOT_END; a += 0x1000) {
        uint64_t want = a | 0x1; /* present, supervisor, read-only */
        if (a == PUPA_BOOT_TLS)
            want = a | 0x5; /* user, read-only */
        else if (a >= PUPA_BOOT_EXC_STACK - 0x2000)
            want = a | 0x3; /* supervisor, writable */
        ck_assert_msg(pt[a >> 12] == want, "page 0x%llx: entry 0x%llx, want 0x%llx",
                      (unsigned long long)a, (unsigned long long)pt[a >> 12],
                      (unsigned long long)want);
    }
    for (uint64_t a = PUPA_BOOT_END; a < 0x200000; a += 0x1000)
        ck_assert_uint_eq(pt[a >> 12], a | 0x7);
    /* device space above RAM: uncached */
    ck_assert_uint_eq(get64(PUPA_BOOT_PD + 8 * (RAM >> 21)), RAM | 0x9f);
}
END_TEST

START_TEST(gates_are_ring0_only)
{
    for (unsigned v = 0; v < 32; v++) {
        uint8_t gate[16];
        memcpy(gate, vm_gpa(&vm, PUPA_BOOT_IDT + v * 16, 16), 16);
        ck_assert_uint_eq(gate[5], 0x8e); /* present, DPL 0, interrupt gate */
        ck_assert_uint_eq(gate[2], PUPA_GDT_CODE0_SEL);
        uint64_t target = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 | (uint64_t)gate[6] << 16 |
                          (uint64_t)gate[7] << 24;
        ck_assert_uint_eq(target, PUPA_BOOT_TRAMPOLINE + v * 8);
    }
    ck_assert_uint_eq(get64(PUPA_BOOT_TSS + 4), PUPA_BOOT_EXC_STACK); /* RSP0 */
}
END_TEST

START_TEST(user_entry_frame)
{
    uint64_t rsp0 = boot_x86_user_entry_frame(&vm, 0x100000, RAM);
    ck_assert_uint_eq(rsp0, PUPA_BOOT_EXC_STACK - 40);
    ck_assert_uint_eq(get64(rsp0), 0x100000);
    ck_assert_uint_eq(get64(rsp0 + 8), PUPA_GDT_CODE_SEL);
    ck_assert_uint_eq(get64(rsp0 + 16), PUPA_USER_RFLAGS);
    ck_assert_uint_eq(get64(rsp0 + 24), RAM);
    ck_assert_uint_eq(get64(rsp0 + 32), PUPA_GDT_DATA_SEL);
    const uint8_t *iretq = vm_gpa(&vm, PUPA_BOOT_USER_ENTRY, 2);
    ck_assert(iretq[0] == 0x48 && iretq[1] == 0xcf);
}
END_TEST

START_TEST(exit_port_first_write_wins)
{
    uint8_t b = 0;
    vm_pio(&vm, PUPA_PORT_EXIT, &b, 1, 1, false);
    ck_assert_uint_eq(b, 0xff);
    ck_assert_int_eq(vm.state, VM_RUNNING);
    uint32_t status = 7;
    vm_pio(&vm, PUPA_PORT_EXIT, (uint8_t *)&status, 4, 1, true);
    ck_assert_int_eq(vm.state, VM_EXITED);
    ck_assert_int_eq(vm.exit_status, 7);
    status = 0;
    vm_pio(&vm, PUPA_PORT_EXIT, (uint8_t *)&status, 4, 1, true);
    ck_assert_int_eq(vm.exit_status, 7);
}
END_TEST

/* The trampoline's frame: [cr2, rax, vector, (error,) rip, cs, rflags, rsp, ss]. */
static void exception(uint32_t frame_gpa, const uint64_t *words, size_t n)
{
    if (words)
        memcpy(vm_gpa(&vm, frame_gpa, n * 8), words, n * 8);
    vm_pio(&vm, PUPA_PORT_EXCEPTION, (uint8_t *)&frame_gpa, 4, 1, true);
}

START_TEST(exception_port_reports)
{
    const uint64_t pf[10] = {0x8030, 0, 14, 7, 0x105c3d, 0x1b, 0x3002, 0x1ffff00, 0x23, 0};
    exception(0xff00, pf, 10);
    ck_assert_int_eq(vm.state, VM_FAILED);
    ck_assert_str_eq(vm.fail, "guest crashed: CPU exception 14 (#PF page fault) at rip "
                              "0x105c3d, address 0x8030");
}
END_TEST

START_TEST(exception_port_hlt_and_bounds)
{
    const uint64_t gp[10] = {0, 0, 13, 0, 0x100000, 0x1b, 0x3002, 0x1ffff00, 0x23, 0};
    *(uint8_t *)vm_gpa(&vm, 0x100000, 1) = 0xf4;
    exception(0xff00, gp, 10);
    ck_assert_str_eq(vm.fail,
                     "guest halted (HLT at rip 0x100000) without reporting an exit status");
    teardown();
    setup();
    exception((uint32_t)(RAM - 8), NULL, 0); /* a frame that runs past RAM */
    ck_assert_str_eq(vm.fail, "guest crashed: CPU exception (frame outside RAM)");
    teardown();
    setup();
    uint16_t narrow = 0x1234; /* not the trampoline's 32-bit write: ignored */
    vm_pio(&vm, PUPA_PORT_EXCEPTION, (uint8_t *)&narrow, 2, 1, true);
    ck_assert_int_eq(vm.state, VM_RUNNING);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmm_boot");
    TCase *tc = tcase_create("boot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, low_pages_are_supervisor_only);
    tcase_add_test(tc, gates_are_ring0_only);
    tcase_add_test(tc, user_entry_frame);
    tcase_add_test(tc, exit_port_first_write_wins);
    tcase_add_test(tc, exception_port_reports);
    tcase_add_test(tc, exception_port_hlt_and_bounds);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
