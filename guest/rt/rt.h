/* rt.h: the guest runtime every pupa guest links (the real guest and the
 * test guests): entry, exceptions, serial frames, log, allocation, exit. */
#ifndef PUPA_GUEST_RT_H
#define PUPA_GUEST_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pupa/protocol.h"

/* Each guest program provides this; its return value is the exit status. */
int guest_main(const pupa_VmmConfig *cfg);

/* Queue one frame on COM1; frames go out in order, in as few exits as the
 * buffer allows. rt_send_now() also flushes (for progress the user waits on). */
void rt_send(const pupa_GuestMessage *m);
void rt_send_now(const pupa_GuestMessage *m);
void rt_flush(void);
/* Raw bytes on COM1, bypassing the frame encoder (test guests only). */
void rt_send_raw(const void *buf, size_t len);

/* Bytes on COM2 as they are (no formatting, no newline added). */
void rt_log_raw(const void *buf, size_t len);

/* One line of text on COM2, the guest log. */
void rt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void rt_exit(int status) __attribute__((noreturn));
void rt_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Bump allocation from the free RAM between the image and the stack;
 * panics when RAM runs out. Memory is zeroed (fresh guest RAM). */
void *rt_alloc(size_t size, size_t align);
size_t rt_free_bytes(void);

/* Top of guest RAM (RSP at entry). */
extern uint64_t rt_ram_top;

/* ------------------------------------------------------------ port I/O */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outsb(uint16_t port, const void *buf, size_t len)
{
    __asm__ volatile("rep outsb" : "+S"(buf), "+c"(len) : "d"(port) : "memory");
}
static inline void insb(uint16_t port, void *buf, size_t len)
{
    __asm__ volatile("rep insb" : "+D"(buf), "+c"(len) : "d"(port) : "memory");
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}

#endif
