/* serial.c: 16550A UART, always ready to transmit, string I/O in one call. */
#include <stddef.h>
#include <string.h>

#include "serial.h"

enum {
    UART_RBR_THR = 0, /* DLL when DLAB */
    UART_IER = 1,     /* DLM when DLAB */
    UART_IIR_FCR = 2,
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_MSR = 6,
    UART_SCR = 7,
};
#define LCR_DLAB   0x80
#define LSR_DR     0x01
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define MSR_CTS    0x10
#define MSR_DSR    0x20
#define MSR_DCD    0x80
#define IIR_NO_INT 0x01
#define IIR_FIFO   0xc0
#define FCR_ENABLE 0x01

void serial_init(struct serial *s, const char *name, serial_tx_fn tx, void *tx_ctx)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->tx = tx;
    s->tx_ctx = tx_ctx;
    s->lcr = 0x03; /* 8N1 */
    s->dll = 1;    /* 115200 baud */
}

void serial_set_rx(struct serial *s, const uint8_t *data, size_t len)
{
    s->rx = data;
    s->rx_len = len;
    s->rx_pos = 0;
}

static uint8_t serial_read_reg(struct serial *s, uint16_t reg)
{
    bool dlab = s->lcr & LCR_DLAB;
    switch (reg) {
    case UART_RBR_THR:
        if (dlab)
            return s->dll;
        if (s->rx_pos < s->rx_len)
            return s->rx[s->rx_pos++];
        return 0;
    case UART_IER:
        return dlab ? s->dlm : s->ier;
    case UART_IIR_FCR:
        return IIR_NO_INT | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
    case UART_LCR:
        return s->lcr;
    case UART_MCR:
        return s->mcr;
    case UART_LSR:
        return LSR_THRE | LSR_TEMT | (s->rx_pos < s->rx_len ? LSR_DR : 0);
    case UART_MSR:
        return MSR_CTS | MSR_DSR | MSR_DCD;
    case UART_SCR:
        return s->scr;
    }
    return 0xff;
}

static void serial_write_reg(struct serial *s, uint16_t reg, uint8_t v)
{
    bool dlab = s->lcr & LCR_DLAB;
    switch (reg) {
    case UART_RBR_THR:
        if (dlab) {
            s->dll = v;
        } else {
            s->tx_bytes++;
            s->tx(s->tx_ctx, &v, 1);
        }
        break;
    case UART_IER:
        if (dlab)
            s->dlm = v;
        else
            s->ier = v & 0x0f;
        break;
    case UART_IIR_FCR:
        s->fcr = v & ~0x06; /* the FIFO-reset bits self-clear */
        break;
    case UART_LCR:
        s->lcr = v;
        break;
    case UART_MCR:
        s->mcr = v & 0x1f;
        break;
    case UART_SCR:
        s->scr = v;
        break;
    default:
        break; /* LSR and MSR are read-only */
    }
}

static void serial_io(void *opaque, uint16_t reg, uint8_t *data, uint32_t size, uint32_t count,
                      bool is_write)
{
    struct serial *s = opaque;
    bool dlab = s->lcr & LCR_DLAB;

    /* string I/O on the data register: the whole transfer in one go */
    if (reg == UART_RBR_THR && !dlab && size == 1) {
        if (is_write) {
            s->tx_bytes += count;
            s->tx(s->tx_ctx, data, count);
        } else {
            size_t avail = s->rx_len - s->rx_pos;
            size_t n = count < avail ? count : avail;
            memcpy(data, s->rx + s->rx_pos, n);
            memset(data + n, 0, count - n);
            s->rx_pos += n;
        }
        return;
    }
    /* wider or repeated accesses elsewhere: byte by byte, like the bus would */
    for (uint32_t i = 0; i < count; i++) {
        for (uint32_t b = 0; b < size; b++) {
            uint16_t r = (uint16_t)(reg + b);
            uint8_t *p = &data[(size_t)i * size + b];
            if (r > UART_SCR) {
                if (!is_write)
                    *p = 0xff;
                continue;
            }
            if (is_write)
                serial_write_reg(s, r, *p);
            else
                *p = serial_read_reg(s, r);
        }
    }
}

void serial_attach(struct serial *s, struct vm *vm, uint16_t base)
{
    struct vm_pio_dev dev = {base, PUPA_UART_NPORTS, s, serial_io};
    vm_add_pio(vm, &dev);
}

/* ---------------------------------------------------------------- bulk port */

static void bulk_io(void *opaque, uint16_t offset, uint8_t *data, uint32_t size, uint32_t count,
                    bool is_write)
{
    struct serial_bulk *b = opaque;
    (void)offset;
    if (!is_write) {
        memset(data, 0xff, (size_t)size * count);
        return;
    }
    if (size != 4 || count != 1)
        return;
    uint32_t desc_gpa;
    memcpy(&desc_gpa, data, 4);
    uint8_t *dp = vm_gpa(b->vm, desc_gpa, sizeof(struct pupa_bulk));
    if (!dp)
        return;
    struct pupa_bulk d;
    memcpy(&d, dp, sizeof(d));
    d.done = 0;
    d.status = 1;
    struct serial *s = d.port == PUPA_PORT_COM1   ? b->com1
                       : d.port == PUPA_PORT_COM2 ? b->com2
                                                  : NULL;
    uint8_t *buf = d.len <= PUPA_BULK_MAX ? vm_gpa(b->vm, d.buf, d.len) : NULL;
    if (s && buf) {
        d.status = 0;
        if (d.dir == PUPA_BULK_TX) {
            s->tx_bytes += d.len;
            s->tx(s->tx_ctx, buf, d.len);
            d.done = d.len;
        } else if (d.dir == PUPA_BULK_RX) {
            size_t avail = s->rx_len - s->rx_pos;
            size_t n = d.len < avail ? d.len : avail;
            memcpy(buf, s->rx + s->rx_pos, n);
            s->rx_pos += n;
            d.done = (uint32_t)n;
        } else {
            d.status = 1;
        }
    }
    /* dp still points into guest RAM: the tx callback may have stopped the VM, but
     * RAM stays mapped for the whole run (done and status are adjacent u32s) */
    memcpy(dp + offsetof(struct pupa_bulk, done), &d.done, 8);
}

void serial_bulk_attach(struct serial_bulk *b, struct vm *vm, struct serial *com1,
                        struct serial *com2)
{
    b->vm = vm;
    b->com1 = com1;
    b->com2 = com2;
    struct vm_pio_dev dev = {PUPA_PORT_BULK, 1, b, bulk_io};
    vm_add_pio(vm, &dev);
}
