/* abi.h: every number the pupa VMM and its guest agree on, in one place.
 *
 * C99 types only; guest addresses are plain uint64_t on the host so the host
 * can never dereference one by accident. Bump PUPA_ABI_VERSION on any change. */
#ifndef PUPA_ABI_H
#define PUPA_ABI_H

#include <stdint.h>

#define PUPA_ABI_VERSION 1

/* ------------------------------------------------------------ guest memory */

#define PUPA_MIB (1024ull * 1024ull)
#define PUPA_RAM_DEFAULT (32ull * PUPA_MIB)
#define PUPA_RAM_MIN (4ull * PUPA_MIB)
#define PUPA_RAM_MAX (2048ull * PUPA_MIB) /* must stay below PUPA_MMIO_BASE */

/* The guest ELF is static, non-PIE and linked at 1 MiB. */
#define PUPA_GUEST_LOAD_ADDR 0x100000ull

/* Boot structures the VMM writes below the guest image before entry:
 * a GDT and identity page tables mapping the first 4 GiB with 2 MiB pages. */
#define PUPA_BOOT_GDT 0x1000ull
#define PUPA_BOOT_PML4 0x2000ull
#define PUPA_BOOT_PDPT 0x3000ull
#define PUPA_BOOT_PD 0x4000ull /* four pages: 0x4000..0x7fff */
#define PUPA_BOOT_END 0x8000ull
#define PUPA_IDENTITY_MAP_TOP 0x100000000ull
#define PUPA_GDT_CODE_SEL 0x08
#define PUPA_GDT_DATA_SEL 0x10

/* RSP at entry = top of RAM. Everything from PUPA_BOOT_END to the ELF's first
 * segment and above its last one (minus the stack) is free for the guest. */

/* ------------------------------------------------------------ I/O ports */

#define PUPA_PORT_COM1 0x3f8 /* protocol frames, both directions */
#define PUPA_PORT_COM2 0x2f8 /* guest text log */
#define PUPA_UART_NPORTS 8
#define PUPA_PORT_EXIT 0x501 /* guest writes its exit status here */

/* Exit status the guest writes to PUPA_PORT_EXIT. */
#define PUPA_EXIT_OK 0
#define PUPA_EXIT_FAILURE 1      /* the operation failed; frames say why */
#define PUPA_EXIT_BAD_CONFIG 2   /* VmmConfig missing or did not decode */
#define PUPA_EXIT_PANIC 3        /* guest runtime gave up (see COM2) */
#define PUPA_EXIT_EXCEPTION 0x80 /* + vector: unexpected CPU exception */

/* ------------------------------------------------------------ virtio-mmio */

#define PUPA_MMIO_BASE 0xd0000000ull
#define PUPA_MMIO_STRIDE 0x1000ull
#define PUPA_MAX_DEVICES 16
#define PUPA_MMIO_END (PUPA_MMIO_BASE + PUPA_MAX_DEVICES * PUPA_MMIO_STRIDE)

/* Queue size the VMM offers (QueueNumMax) for every virtio-blk queue. */
#define PUPA_VIRTQ_MAX 256
/* Largest data segment and segment count per request (virtio-blk config). */
#define PUPA_BLK_SEG_MAX 64
#define PUPA_BLK_SIZE_MAX (1u << 20)

/* ------------------------------------------------------------ frames */

/* [u16 LE payload length][payload]. Payloads longer than this are a protocol
 * error in either direction; guest.options keeps every message below it. */
#define PUPA_FRAME_HEADER 2u
#define PUPA_FRAME_MAX_PAYLOAD 16384u
#define PUPA_FRAME_MAX (PUPA_FRAME_HEADER + PUPA_FRAME_MAX_PAYLOAD)

/* InfoResultMessage.flags bits */
#define PUPA_INFO_F_BACKING (1u << 0)
#define PUPA_INFO_F_DATA_FILE (1u << 1)
#define PUPA_INFO_F_ENCRYPTED (1u << 2)
#define PUPA_INFO_F_COMPRESSED (1u << 3)
#define PUPA_INFO_F_SNAPSHOTS (1u << 4)
#define PUPA_INFO_F_DIRTY (1u << 5)
#define PUPA_INFO_F_CORRUPT (1u << 6)
/* pupa additions */
#define PUPA_INFO_F_HAS_DIRTY_FLAG (1u << 16) /* qemu-img prints dirty-flag */
#define PUPA_INFO_F_HAS_ENCRYPTED (1u << 17)  /* qemu-img prints encrypted */

/* Sector sizes the guest accepts in DeviceConfig.sector_size. */
#define PUPA_SECTOR_SIZE_OK(s) ((s) == 512 || (s) == 1024 || (s) == 2048 || (s) == 4096)

#endif
