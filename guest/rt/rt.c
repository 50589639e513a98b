/* rt.c: guest runtime: start-up, VmmConfig, frames out, log, exit, panics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

uint64_t rt_ram_top;

/* FS points here: nanopb's runtime (Debian's hosted build) keeps its stack
 * canary at %fs:0x28. */
__attribute__((aligned(64))) uint64_t rt_tls[8] = {0, 0, 0, 0, 0, 0x7075706163616e72ull, 0, 0};

#define RT_STACK_SIZE (1024 * 1024)
extern char _end[];
static uint64_t heap_next;

/* ------------------------------------------------------------ exit and panic */

void rt_exit(int status)
{
    rt_flush();
    for (;;) {
        outl(PUPA_PORT_EXIT, (uint32_t)status);
        __asm__ volatile("cli; hlt");
    }
}

static void log_write(const char *s, size_t n)
{
    outsb(PUPA_PORT_COM2, s, n);
}

void rt_log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) - 2 ? (size_t)n : sizeof(line) - 2;
    line[len++] = '\n';
    log_write(line, len);
}

void rt_panic(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    rt_log("guest panic: %s", line);
    rt_exit(PUPA_EXIT_PANIC);
}

void abort(void)
{
    rt_panic("abort");
}

void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
    rt_panic("stack smashing detected");
}

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
    "coprocessor segment overrun", "#TS invalid TSS", "#NP segment not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
    "#MF x87 floating point", "#AC alignment check", "#MC machine check",
    "#XM SIMD floating point", "#VE virtualization", "#CP control protection",
};

void rt_exception(uint64_t vector, uint64_t error, uint64_t rip);
void rt_exception(uint64_t vector, uint64_t error, uint64_t rip)
{
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    const char *name = vector < 32 && exception_names[vector] ? exception_names[vector] : "reserved";
    if (vector == 14)
        rt_log("guest: CPU exception %llu (%s) at rip 0x%llx, error 0x%llx, address 0x%llx",
               (unsigned long long)vector, name, (unsigned long long)rip,
               (unsigned long long)error, (unsigned long long)cr2);
    else
        rt_log("guest: CPU exception %llu (%s) at rip 0x%llx, error 0x%llx",
               (unsigned long long)vector, name, (unsigned long long)rip,
               (unsigned long long)error);
    rt_exit(PUPA_EXIT_EXCEPTION + (int)(vector & 0x1f));
}

/* ------------------------------------------------------------ IDT */

struct idt_entry {
    uint16_t off0;
    uint16_t sel;
    uint8_t ist;
    uint8_t type;
    uint16_t off1;
    uint32_t off2;
    uint32_t zero;
} __attribute__((packed));

static struct idt_entry idt[32] __attribute__((aligned(16)));
extern const uint64_t rt_exception_stubs[32];

static void idt_setup(void)
{
    for (int i = 0; i < 32; i++) {
        uint64_t a = rt_exception_stubs[i];
        idt[i] = (struct idt_entry){(uint16_t)a,         PUPA_GDT_CODE_SEL, 0, 0x8e,
                                    (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0};
    }
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* ------------------------------------------------------------ allocation */

void *rt_alloc(size_t size, size_t align)
{
    if (align == 0)
        align = 16;
    uint64_t p = (heap_next + align - 1) & ~(uint64_t)(align - 1);
    uint64_t limit = rt_ram_top - RT_STACK_SIZE;
    if (p > limit || size > limit - p)
        rt_panic("out of guest memory (%llu bytes wanted, %llu free)", (unsigned long long)size,
                 (unsigned long long)(limit > heap_next ? limit - heap_next : 0));
    heap_next = p + size;
    return (void *)(uintptr_t)p;
}

size_t rt_free_bytes(void)
{
    uint64_t limit = rt_ram_top - RT_STACK_SIZE;
    return limit > heap_next ? (size_t)(limit - heap_next) : 0;
}

/* ------------------------------------------------------------ frames out */

/* Frames are batched here and leave in one transfer when the buffer fills,
 * on rt_flush() and before exit. */
#define TX_CAP (64 * 1024)
static uint8_t tx_buf[TX_CAP] __attribute__((aligned(4096)));
static size_t tx_len;

void rt_flush(void)
{
    if (tx_len) {
        outsb(PUPA_PORT_COM1, tx_buf, tx_len);
        tx_len = 0;
    }
}

void rt_send_raw(const void *buf, size_t len)
{
    rt_flush();
    outsb(PUPA_PORT_COM1, buf, len);
}

void rt_send(const pupa_GuestMessage *m)
{
    size_t len = 0;
    pupa_frame_status st =
        pupa_frame_encode(pupa_GuestMessage_fields, m, tx_buf + tx_len, TX_CAP - tx_len, &len);
    if (st == PUPA_FRAME_NO_SPACE && tx_len > 0) {
        rt_flush();
        st = pupa_frame_encode(pupa_GuestMessage_fields, m, tx_buf, TX_CAP, &len);
    }
    if (st != PUPA_FRAME_OK)
        rt_panic("cannot encode a frame: %s", pupa_frame_status_str(st));
    tx_len += len;
}

void rt_send_now(const pupa_GuestMessage *m)
{
    rt_send(m);
    rt_flush();
}

/* ------------------------------------------------------------ start */

static pupa_VmmConfig config;

static bool read_config(void)
{
    static uint8_t frame[PUPA_FRAME_MAX];
    insb(PUPA_PORT_COM1, frame, PUPA_FRAME_HEADER);
    size_t payload = (size_t)frame[0] | ((size_t)frame[1] << 8);
    if (payload > PUPA_FRAME_MAX_PAYLOAD) {
        rt_log("guest: VmmConfig frame of %zu bytes is over the limit", payload);
        return false;
    }
    insb(PUPA_PORT_COM1, frame + PUPA_FRAME_HEADER, payload);
    size_t used = 0;
    const char *why = NULL;
    pupa_frame_status st = pupa_frame_decode(pupa_VmmConfig_fields, &config, frame,
                                             PUPA_FRAME_HEADER + payload, &used, &why);
    if (st != PUPA_FRAME_OK) {
        rt_log("guest: VmmConfig does not decode: %s%s%s", pupa_frame_status_str(st),
               why ? ": " : "", why ? why : "");
        return false;
    }
    return true;
}

void rt_start(void);
void rt_start(void)
{
    idt_setup();
    heap_next = (uint64_t)(uintptr_t)_end;
    if (!read_config())
        rt_exit(PUPA_EXIT_BAD_CONFIG);
    rt_exit(guest_main(&config));
}
