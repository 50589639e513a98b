/* serial.h: a 16550A UART: COM1 carries protocol frames, COM2 the guest log. */
#ifndef PUPA_SERIAL_H
#define PUPA_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

/* Receives what the guest transmits, in chunks of any size. */
typedef void (*serial_tx_fn)(void *ctx, const uint8_t *data, size_t len);

struct serial {
    const char *name;
    /* registers */
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    /* bytes waiting for the guest to read (RBR) */
    const uint8_t *rx;
    size_t rx_len, rx_pos;
    serial_tx_fn tx;
    void *tx_ctx;
    uint64_t tx_bytes;
};

void serial_init(struct serial *s, const char *name, serial_tx_fn tx, void *tx_ctx);
/* Bytes the guest can read; the buffer must outlive the VM run. */
void serial_set_rx(struct serial *s, const uint8_t *data, size_t len);
/* Attach as a port device at base (8 ports). */
void serial_attach(struct serial *s, struct vm *vm, uint16_t base);

/* pupa's bulk-transfer port (PUPA_PORT_BULK) for COM1 and COM2. */
struct serial_bulk {
    struct vm *vm;
    struct serial *com1, *com2;
};
void serial_bulk_attach(struct serial_bulk *b, struct vm *vm, struct serial *com1,
                        struct serial *com2);

#endif
