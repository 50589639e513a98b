/* rt.c: guest runtime: ABI note, start-up, VmmConfig, frames out, log, exit,
 * panics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

uint64_t rt_ram_top;

/* The ABI this guest was built for: the VMM's loader refuses any other. */
__attribute__((section(PUPA_NOTE_SECTION), aligned(4),
               used)) static const struct pupa_abi_note abi_note = {
    sizeof(PUPA_NOTE_NAME), sizeof(uint32_t), PUPA_NOTE_ABI, PUPA_NOTE_NAME, PUPA_ABI_VERSION};

#define RT_STACK_SIZE (1024 * 1024)
extern char _end[];
static uint64_t heap_next;

/* ------------------------------------------------------------ exit and panic */

void rt_exit(int status)
{
    rt_flush();
    for (;;) {
        outl(PUPA_PORT_EXIT, (uint32_t)status);
        __asm__ volatile("pause"); /* the VMM stops the guest on that write */
    }
}

/* One exit per transfer through the VMM's bulk port (pupa/abi.h). */
static size_t bulk(uint16_t port, uint16_t dir, const void *buf, size_t len)
{
    static volatile struct pupa_bulk desc;
    desc.buf = (uint64_t)(uintptr_t)buf;
    desc.len = (uint32_t)len;
    desc.port = port;
    desc.dir = dir;
    desc.done = 0;
    desc.status = 1;
    __asm__ volatile("" ::: "memory");
    outl(PUPA_PORT_BULK, (uint32_t)(uintptr_t)&desc);
    __asm__ volatile("" ::: "memory");
    return desc.status == 0 ? desc.done : 0;
}

static void serial_send(uint16_t port, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        size_t n = len < PUPA_BULK_MAX ? len : PUPA_BULK_MAX;
        if (bulk(port, PUPA_BULK_TX, p, n) != n) {
            outsb(port, p, n); /* a VMM without the bulk port: plain string I/O */
        }
        p += n;
        len -= n;
    }
}

static void serial_recv(uint16_t port, void *buf, size_t len)
{
    size_t got = bulk(port, PUPA_BULK_RX, buf, len);
    if (got < len)
        insb(port, (uint8_t *)buf + got, len - got);
}

static void log_write(const char *s, size_t n)
{
    serial_send(PUPA_PORT_COM2, s, n);
}

void rt_log_raw(const void *buf, size_t len)
{
    serial_send(PUPA_PORT_COM2, buf, len);
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
        serial_send(PUPA_PORT_COM1, tx_buf, tx_len);
        tx_len = 0;
    }
}

void rt_send_raw(const void *buf, size_t len)
{
    rt_flush();
    serial_send(PUPA_PORT_COM1, buf, len);
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
    /* the whole frame usually arrives in one bulk read */
    size_t got = bulk(PUPA_PORT_COM1, PUPA_BULK_RX, frame, sizeof(frame));
    if (got < PUPA_FRAME_HEADER) {
        insb(PUPA_PORT_COM1, frame + got, PUPA_FRAME_HEADER - got);
        got = PUPA_FRAME_HEADER;
    }
    size_t payload = (size_t)frame[0] | ((size_t)frame[1] << 8);
    if (payload > PUPA_FRAME_MAX_PAYLOAD) {
        rt_log("guest: VmmConfig frame of %zu bytes is over the limit", payload);
        return false;
    }
    if (got < PUPA_FRAME_HEADER + payload)
        serial_recv(PUPA_PORT_COM1, frame + got, PUPA_FRAME_HEADER + payload - got);
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
    heap_next = (uint64_t)(uintptr_t)_end;
    if (!read_config())
        rt_exit(PUPA_EXIT_BAD_CONFIG);
    rt_exit(guest_main(&config));
}
