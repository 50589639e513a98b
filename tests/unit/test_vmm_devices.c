/* test_vmm_devices.c: the UART and the virtio-mmio/virtio-blk devices driven
 * directly through the machine's exit handlers, without any CPU. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "vmm/serial.h"
#include "vmm/virtio_blk.h"
#include "vmm/vm.h"

#define RAM (4u << 20)

static struct vm *fake_vm(void)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    vm->ram = calloc(1, RAM);
    vm->ram_size = RAM;
    return vm;
}

static void free_vm(struct vm *vm)
{
    free(vm->ram);
    free(vm);
}

/* ---------------------------------------------------------------- UART */

static uint8_t tx_seen[256];
static size_t tx_len;
static void capture(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    memcpy(tx_seen + tx_len, d, n);
    tx_len += n;
}

static uint8_t inb_(struct vm *vm, uint16_t port)
{
    uint8_t v = 0;
    vm_pio(vm, port, &v, 1, 1, false);
    return v;
}

static void outb_(struct vm *vm, uint16_t port, uint8_t v)
{
    vm_pio(vm, port, &v, 1, 1, true);
}

START_TEST(uart_registers)
{
    struct vm *vm = fake_vm();
    struct serial s;
    static const uint8_t rx[] = {1, 2, 3};
    serial_init(&s, "COM1", capture, NULL);
    serial_set_rx(&s, rx, sizeof(rx));
    serial_attach(&s, vm, 0x3f8);
    tx_len = 0;

    ck_assert_uint_eq(inb_(vm, 0x3fd) & 0x61, 0x61); /* THRE, TEMT, data ready */
    ck_assert_uint_eq(inb_(vm, 0x3f8), 1);
    outb_(vm, 0x3ff, 0x5a); /* scratch */
    ck_assert_uint_eq(inb_(vm, 0x3ff), 0x5a);
    outb_(vm, 0x3fb, 0x83); /* DLAB: divisor latch */
    outb_(vm, 0x3f8, 12);
    outb_(vm, 0x3f9, 0);
    ck_assert_uint_eq(inb_(vm, 0x3f8), 12);
    ck_assert_uint_eq(inb_(vm, 0x3fb), 0x83);
    outb_(vm, 0x3fb, 0x03);
    outb_(vm, 0x3f8, 'x'); /* transmit */
    ck_assert_uint_eq(tx_len, 1);
    ck_assert_uint_eq(tx_seen[0], 'x');
    ck_assert_uint_eq(inb_(vm, 0x3fa) & 0x0f, 0x01); /* IIR: no interrupt pending */
    ck_assert_uint_eq(inb_(vm, 0x3fe) & 0xb0, 0xb0); /* MSR: CTS DSR DCD */

    /* string I/O: rep insb of 4 bytes when 2 remain reads 2, then zeros */
    uint8_t buf[4] = {9, 9, 9, 9};
    vm_pio(vm, 0x3f8, buf, 1, 4, false);
    ck_assert_uint_eq(buf[0], 2);
    ck_assert_uint_eq(buf[1], 3);
    ck_assert_uint_eq(buf[2], 0);
    ck_assert_uint_eq(inb_(vm, 0x3fd) & 1, 0); /* nothing left */
    /* rep outsb of a whole frame in one call */
    uint8_t frame[100];
    memset(frame, 'f', sizeof(frame));
    vm_pio(vm, 0x3f8, frame, 1, sizeof(frame), true);
    ck_assert_uint_eq(tx_len, 101);
    ck_assert_uint_eq(s.tx_bytes, 101);
    free_vm(vm);
}
END_TEST

START_TEST(bulk_port_checks_addresses)
{
    struct vm *vm = fake_vm();
    struct serial com1, com2;
    struct serial_bulk bulk;
    static const uint8_t rx[] = "config";
    serial_init(&com1, "COM1", capture, NULL);
    serial_init(&com2, "COM2", capture, NULL);
    serial_set_rx(&com1, rx, 6);
    serial_bulk_attach(&bulk, vm, &com1, &com2);
    tx_len = 0;

    struct pupa_bulk d = {0x2000, 5, PUPA_PORT_COM1, PUPA_BULK_TX, 0, 9};
    memcpy(vm->ram + 0x2000, "hello", 5);
    memcpy(vm->ram + 0x1000, &d, sizeof(d));
    uint32_t at = 0x1000;
    vm_pio(vm, PUPA_PORT_BULK, (uint8_t *)&at, 4, 1, true);
    memcpy(&d, vm->ram + 0x1000, sizeof(d));
    ck_assert_uint_eq(d.status, 0);
    ck_assert_uint_eq(d.done, 5);
    ck_assert_int_eq(memcmp(tx_seen, "hello", 5), 0);

    d = (struct pupa_bulk){0x3000, 100, PUPA_PORT_COM1, PUPA_BULK_RX, 0, 9};
    memcpy(vm->ram + 0x1000, &d, sizeof(d));
    vm_pio(vm, PUPA_PORT_BULK, (uint8_t *)&at, 4, 1, true);
    memcpy(&d, vm->ram + 0x1000, sizeof(d));
    ck_assert_uint_eq(d.done, 6);
    ck_assert_int_eq(memcmp(vm->ram + 0x3000, "config", 6), 0);

    /* buffers outside RAM, wrapping, too long, unknown port: refused, nothing moved */
    struct pupa_bulk bad[] = {
        {RAM - 2, 5, PUPA_PORT_COM1, PUPA_BULK_TX, 0, 0},
        {UINT64_MAX - 1, 5, PUPA_PORT_COM1, PUPA_BULK_TX, 0, 0},
        {0x2000, PUPA_BULK_MAX + 1, PUPA_PORT_COM1, PUPA_BULK_TX, 0, 0},
        {0x2000, 5, 0x80, PUPA_BULK_TX, 0, 0},
        {0x2000, 5, PUPA_PORT_COM1, 7, 0, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tx_len = 0;
        memcpy(vm->ram + 0x1000, &bad[i], sizeof(bad[i]));
        vm_pio(vm, PUPA_PORT_BULK, (uint8_t *)&at, 4, 1, true);
        memcpy(&d, vm->ram + 0x1000, sizeof(d));
        ck_assert_uint_eq(d.status, 1);
        ck_assert_uint_eq(d.done, 0);
        ck_assert_uint_eq(tx_len, 0);
    }
    /* a descriptor address outside RAM is ignored */
    at = RAM - 4;
    vm_pio(vm, PUPA_PORT_BULK, (uint8_t *)&at, 4, 1, true);
    free_vm(vm);
}
END_TEST

/* ---------------------------------------------------------------- virtio */

#define BASE PUPA_MMIO_BASE
static uint32_t rd(struct vm *vm, uint32_t reg)
{
    uint32_t v = 0;
    vm_mmio(vm, BASE + reg, (uint8_t *)&v, 4, false);
    return v;
}
static void wr(struct vm *vm, uint32_t reg, uint32_t v)
{
    vm_mmio(vm, BASE + reg, (uint8_t *)&v, 4, true);
}

#define DESC  0x10000
#define AVAIL 0x11000
#define USED  0x12000
#define QN    8

static void setup_queue(struct vm *vm)
{
    wr(vm, 0x070, 0);
    wr(vm, 0x070, 3);
    wr(vm, 0x024, 1);
    wr(vm, 0x020, 1); /* VERSION_1 */
    wr(vm, 0x070, 11);
    ck_assert_uint_eq(rd(vm, 0x070) & 8, 8);
    wr(vm, 0x030, 0);
    ck_assert_uint_eq(rd(vm, 0x034), PUPA_VIRTQ_MAX);
    wr(vm, 0x038, QN);
    wr(vm, 0x080, DESC);
    wr(vm, 0x090, AVAIL);
    wr(vm, 0x0a0, USED);
    wr(vm, 0x044, 1);
    ck_assert_uint_eq(rd(vm, 0x044), 1);
    wr(vm, 0x070, 15);
}

static void desc(struct vm *vm, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = vm->ram + DESC + 16 * i;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static uint16_t avail_idx;
static uint16_t used_idx(struct vm *vm)
{
    uint16_t v;
    memcpy(&v, vm->ram + USED + 2, 2);
    return v;
}

static void post(struct vm *vm, uint16_t head)
{
    memcpy(vm->ram + AVAIL + 4 + 2 * (avail_idx % QN), &head, 2);
    avail_idx++;
    memcpy(vm->ram + AVAIL + 2, &avail_idx, 2);
    wr(vm, 0x050, 0);
}

/* a read of `len` bytes at `sector` into 0x20000, status at 0x30000 */
static uint8_t read_req(struct vm *vm, uint64_t sector, uint32_t len)
{
    uint8_t hdr[16] = {0};
    memcpy(hdr + 8, &sector, 8);
    memcpy(vm->ram + 0x40000, hdr, 16);
    vm->ram[0x30000] = 0xee;
    desc(vm, 0, 0x40000, 16, 1, 1);
    desc(vm, 1, 0x20000, len, 3, 2);
    desc(vm, 2, 0x30000, 1, 2, 0);
    uint16_t before = used_idx(vm);
    post(vm, 0);
    ck_assert_uint_eq(used_idx(vm), (uint16_t)(before + 1));
    return vm->ram[0x30000];
}

START_TEST(virtio_blk_reads_and_refuses)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/disk.img", test_tmpdir());
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 1000; i++)
        fputc(i & 0xff, f);
    fclose(f);
    int fd = open(path, O_RDONLY);
    struct vm *vm = fake_vm();
    struct virtio_blk *b = virtio_blk_create(vm, 0, fd, 1000, 512);
    avail_idx = 0;

    ck_assert_uint_eq(rd(vm, 0x000), 0x74726976);
    ck_assert_uint_eq(rd(vm, 0x004), 2);
    ck_assert_uint_eq(rd(vm, 0x008), 2);
    wr(vm, 0x014, 0);
    ck_assert_uint_eq(rd(vm, 0x010) & (1u << 5), 1u << 5); /* RO */
    wr(vm, 0x014, 1);
    ck_assert_uint_eq(rd(vm, 0x010) & 1, 1); /* VERSION_1 */
    ck_assert_uint_eq(rd(vm, 0x100), 2);     /* capacity: 1000 bytes -> 2 sectors */
    ck_assert_uint_eq(rd(vm, 0x114), 512);   /* blk_size */
    setup_queue(vm);

    ck_assert_uint_eq(read_req(vm, 0, 1024), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(vm->ram[0x20000 + i], i & 0xff);
    for (int i = 1000; i < 1024; i++)
        ck_assert_uint_eq(vm->ram[0x20000 + i], 0); /* padded last sector */
    ck_assert_uint_eq(read_req(vm, 1, 512), 0);
    ck_assert_uint_eq(read_req(vm, 2, 512), 1); /* past the end */
    ck_assert_uint_eq(read_req(vm, 0, 100), 1); /* not a multiple of 512 */
    ck_assert_uint_eq(read_req(vm, UINT64_MAX, 512), 1);

    /* a write: refused, the file unchanged */
    uint8_t hdr[16] = {1};
    memcpy(vm->ram + 0x40000, hdr, 16);
    memset(vm->ram + 0x20000, 0x77, 512);
    desc(vm, 1, 0x20000, 512, 1, 2);
    vm->ram[0x30000] = 0xee;
    post(vm, 0);
    ck_assert_uint_eq(vm->ram[0x30000], 1);
    uint8_t first;
    ck_assert_int_eq(pread(fd, &first, 1, 0), 1);
    ck_assert_uint_eq(first, 0);

    /* queue notify before/after reset: a reset device ignores it */
    wr(vm, 0x070, 0);
    ck_assert_uint_eq(rd(vm, 0x044), 0);
    uint16_t before = used_idx(vm);
    post(vm, 0);
    ck_assert_uint_eq(used_idx(vm), before);

    /* rings outside RAM are refused when the queue is made ready */
    wr(vm, 0x070, 3);
    wr(vm, 0x030, 0);
    wr(vm, 0x038, QN);
    wr(vm, 0x080, RAM - 16);
    wr(vm, 0x044, 1);
    ck_assert_uint_eq(rd(vm, 0x044), 0);
    ck_assert_uint_eq(rd(vm, 0x070) & 64, 64); /* DEVICE_NEEDS_RESET */
    /* a queue size that is not a power of two */
    wr(vm, 0x070, 0);
    wr(vm, 0x030, 0);
    wr(vm, 0x038, 3);
    wr(vm, 0x080, DESC);
    wr(vm, 0x044, 1);
    ck_assert_uint_eq(rd(vm, 0x044), 0);

    struct virtio_blk_stats st;
    virtio_blk_stats(b, &st);
    ck_assert_uint_eq(st.bytes_read, 1536);
    ck_assert_uint_ge(st.errors, 4);
    virtio_blk_destroy(b);
    close(fd);
    free_vm(vm);
}
END_TEST

START_TEST(gpa_accessor_bounds)
{
    struct vm *vm = fake_vm();
    ck_assert_ptr_eq(vm_gpa(vm, 0, RAM), vm->ram);
    ck_assert_ptr_nonnull(vm_gpa(vm, RAM, 0));
    ck_assert_ptr_null(vm_gpa(vm, RAM, 1));
    ck_assert_ptr_null(vm_gpa(vm, RAM - 1, 2));
    ck_assert_ptr_null(vm_gpa(vm, 1, UINT64_MAX));
    ck_assert_ptr_null(vm_gpa(vm, UINT64_MAX, 2));
    ck_assert_ptr_null(vm_gpa(vm, RAM + 1, 0));
    free_vm(vm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmm_devices");
    TCase *tc = tcase_create("devices");
    tcase_add_test(tc, uart_registers);
    tcase_add_test(tc, bulk_port_checks_addresses);
    tcase_add_test(tc, virtio_blk_reads_and_refuses);
    tcase_add_test(tc, gpa_accessor_bounds);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
