/* abi.h: every number the pupa VMM and its guest agree on, in one place.
 *
 * C99 types only; guest addresses are plain uint64_t on the host so the host
 * can never dereference one by accident. Bump PUPA_ABI_VERSION on any change. */
#ifndef PUPA_ABI_H
#define PUPA_ABI_H

#include <stdint.h>

#define PUPA_ABI_VERSION 3

/* ------------------------------------------------------------ guest memory */

#define PUPA_MIB         (1024ull * 1024ull)
#define PUPA_RAM_DEFAULT (32ull * PUPA_MIB)
#define PUPA_RAM_MIN     (4ull * PUPA_MIB)
#define PUPA_RAM_MAX     (2048ull * PUPA_MIB) /* must stay below PUPA_MMIO_BASE */

/* The guest ELF is static, non-PIE and linked at 1 MiB. */
#define PUPA_GUEST_LOAD_ADDR 0x100000ull

/* Every guest carries this ELF note (in a PT_NOTE segment; guest/rt emits it,
 * guest/link.ld keeps it), naming the ABI version it was built for. The VMM
 * refuses a guest without it or with another version. */
#define PUPA_NOTE_SECTION ".note.pupa.abi"
#define PUPA_NOTE_NAME    "PUPA"
#define PUPA_NOTE_ABI     1 /* note type */
struct pupa_abi_note {
    uint32_t namesz;      /* sizeof(PUPA_NOTE_NAME) */
    uint32_t descsz;      /* sizeof(abi_version) */
    uint32_t type;        /* PUPA_NOTE_ABI */
    char name[8];         /* PUPA_NOTE_NAME, NUL-padded to a multiple of 4 */
    uint32_t abi_version; /* PUPA_ABI_VERSION */
};

/* Boot structures the VMM writes below the guest image before entry. The
 * guest runs in ring 3 (CPL 3, IOPL 3: port I/O allowed, privileged
 * instructions not): some KVM implementations (e.g. PVM) only run user mode
 * natively, and a guest that cannot touch its own descriptor tables is a
 * smaller target. Ring 0 exists only for the VMM's exception trampoline.
 *
 * The first 2 MiB are mapped with 4 KiB pages so that these structures are
 * supervisor-only: the guest can neither write nor read the GDT, IDT, TSS,
 * page tables, trampoline or exception stack (a write or read faults, and the
 * fault is reported as a crash); page 0 is not mapped; the TLS page is
 * read-only. Everything else below 4 GiB is user read-write (2 MiB pages). */
#define PUPA_BOOT_GDT         0x1000ull /* null, code0, data0, code3, data3, TSS (16 bytes) */
#define PUPA_BOOT_PML4        0x2000ull /* identity map of the first 4 GiB */
#define PUPA_BOOT_PDPT        0x3000ull
#define PUPA_BOOT_PD          0x4000ull     /* four pages: 0x4000..0x7fff, 2 MiB pages */
#define PUPA_BOOT_IDT         0x8000ull     /* 32 gates to the trampoline, DPL 0 */
#define PUPA_BOOT_TRAMPOLINE  0x8800ull     /* exception stubs: report to PUPA_PORT_EXCEPTION */
#define PUPA_BOOT_USER_ENTRY  0x8c00ull     /* iretq into ring 3 (for the emulator) */
#define PUPA_BOOT_TLS         0x9000ull     /* FS base; %fs:0x28 holds a random stack canary */
#define PUPA_BOOT_TSS         0xa000ull     /* 64-bit TSS (RSP0) + I/O bitmap allowing every port */
#define PUPA_BOOT_TSS_LIMIT   (0x68 + 8192) /* the bitmap's last byte is the 0xff terminator */
#define PUPA_BOOT_PT          0xd000ull     /* 4 KiB pages of the first 2 MiB */
#define PUPA_BOOT_EXC_STACK   0x10000ull    /* top of the ring-0 exception stack (8 KiB) */
#define PUPA_BOOT_END         0x10000ull
#define PUPA_IDENTITY_MAP_TOP 0x100000000ull
#define PUPA_GDT_CODE0_SEL    0x08
#define PUPA_GDT_DATA0_SEL    0x10
#define PUPA_GDT_CODE_SEL     0x1b /* ring-3 code, RPL 3 */
#define PUPA_GDT_DATA_SEL     0x23 /* ring-3 data, RPL 3 */
#define PUPA_GDT_TSS_SEL      0x28
#define PUPA_GDT_ENTRIES      7

/* RSP at entry = top of RAM. Everything from PUPA_BOOT_END to the ELF's first
 * segment and above its last one (minus the stack) is free for the guest. */

/* ------------------------------------------------------------ I/O ports */

#define PUPA_PORT_COM1      0x3f8 /* protocol frames, both directions */
#define PUPA_PORT_COM2      0x2f8 /* guest text log */
#define PUPA_UART_NPORTS    8
#define PUPA_PORT_EXIT      0x501 /* guest writes its exit status here */
/* The trampoline writes the guest-physical address of an exception frame
 * here (32 bits): [cr2, rax, vector, (error code,) rip, cs, rflags, rsp, ss]. */
#define PUPA_PORT_EXCEPTION 0x502
/* pupa's UART extension: bulk transfer to or from a UART's byte stream in
 * one exit (string I/O costs one exit per byte under KVM's emulator). The
 * guest writes the 32-bit guest-physical address of a struct pupa_bulk. */
#define PUPA_PORT_BULK      0x503
#define PUPA_BULK_TX        0 /* guest -> UART transmit stream */
#define PUPA_BULK_RX        1 /* UART receive buffer -> guest */
#define PUPA_BULK_MAX       (1u << 20)
struct pupa_bulk {
    uint64_t buf;    /* guest-physical address of the bytes */
    uint32_t len;    /* bytes to move, at most PUPA_BULK_MAX */
    uint16_t port;   /* PUPA_PORT_COM1 or PUPA_PORT_COM2 */
    uint16_t dir;    /* PUPA_BULK_TX or PUPA_BULK_RX */
    uint32_t done;   /* written by the VMM: bytes moved */
    uint32_t status; /* written by the VMM: 0 ok, 1 refused (bad address/port) */
};

/* Exit status the guest writes to PUPA_PORT_EXIT. */
#define PUPA_EXIT_OK         0
#define PUPA_EXIT_FAILURE    1 /* the operation failed; frames say why */
#define PUPA_EXIT_BAD_CONFIG 2 /* VmmConfig missing or did not decode */
#define PUPA_EXIT_PANIC      3 /* guest runtime gave up (see COM2) */

/* ------------------------------------------------------------ virtio-mmio */

#define PUPA_MMIO_BASE   0xd0000000ull
#define PUPA_MMIO_STRIDE 0x1000ull
#define PUPA_MAX_DEVICES 16
#define PUPA_MMIO_END    (PUPA_MMIO_BASE + PUPA_MAX_DEVICES * PUPA_MMIO_STRIDE)

/* Queue size the VMM offers (QueueNumMax) for every virtio-blk queue. */
#define PUPA_VIRTQ_MAX    256
/* Largest data segment and segment count per request (virtio-blk config). */
#define PUPA_BLK_SEG_MAX  64
#define PUPA_BLK_SIZE_MAX (1u << 20)

/* pupa's vendor virtio-blk request: where the host file behind a disk holds
 * data. The device answers with what lseek(SEEK_DATA) and lseek(SEEK_HOLE) on
 * its own descriptor say from a byte offset on: what qemu's file layer asks for
 * qemu-img map (raw images, preallocated qcow2, ...), which the guest cannot see.
 * Read-only information about the host file; the host parses nothing but the
 * request itself, checked like every request.
 *   header (16 device-readable bytes): type PUPA_VIRTIO_BLK_T_ALLOC, reserved 0,
 *       and in the 64-bit field the BYTE offset to start from (not a sector),
 *       at most the disk's capacity in bytes
 *   data (device-writable, a multiple of sizeof(struct pupa_blk_alloc), from one
 *       to PUPA_BLK_ALLOC_MAX entries): entries filled in order from the offset,
 *       each starting where the previous ended; the last one may have length 0,
 *       meaning "from here on" (a hole to the end of the file and past it, or no
 *       information)
 *   status (1 device-writable byte): VIRTIO_BLK_S_OK, or IOERR for a bad request
 * The used length is the entry bytes written plus the status byte. */
#define PUPA_VIRTIO_BLK_T_ALLOC 0x70750001u
#define PUPA_BLK_ALLOC_MAX      64
#define PUPA_BLK_ALLOC_DATA     0u
#define PUPA_BLK_ALLOC_HOLE     1u
#define PUPA_BLK_ALLOC_UNKNOWN  2u /* lseek failed: qemu then assumes data */
struct pupa_blk_alloc {
    uint64_t offset; /* bytes */
    uint64_t length; /* bytes; 0 = from offset on */
    uint32_t kind;   /* PUPA_BLK_ALLOC_* */
    uint32_t reserved;
};

/* ------------------------------------------------------------ frames */

/* [u16 LE payload length][payload]. Payloads longer than this are a protocol
 * error in either direction; guest.options keeps every message below it. */
#define PUPA_FRAME_HEADER      2u
#define PUPA_FRAME_MAX_PAYLOAD 16384u
#define PUPA_FRAME_MAX         (PUPA_FRAME_HEADER + PUPA_FRAME_MAX_PAYLOAD)

/* InfoResultMessage.flags bits */
#define PUPA_INFO_F_BACKING        (1u << 0)
#define PUPA_INFO_F_DATA_FILE      (1u << 1)
#define PUPA_INFO_F_ENCRYPTED      (1u << 2)
#define PUPA_INFO_F_COMPRESSED     (1u << 3)
#define PUPA_INFO_F_SNAPSHOTS      (1u << 4)
#define PUPA_INFO_F_DIRTY          (1u << 5)
#define PUPA_INFO_F_CORRUPT        (1u << 6)
/* pupa additions */
#define PUPA_INFO_F_HAS_DIRTY_FLAG (1u << 16) /* qemu-img prints dirty-flag */
#define PUPA_INFO_F_HAS_ENCRYPTED  (1u << 17) /* qemu-img prints encrypted */

/* Sector sizes the guest accepts in DeviceConfig.sector_size. */
#define PUPA_SECTOR_SIZE_OK(s) ((s) == 512 || (s) == 1024 || (s) == 2048 || (s) == 4096)

#endif
