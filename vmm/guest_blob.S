/* guest_blob.S: the guest ELF, embedded so that pupa is one file. */
    .section .rodata.pupa_guest, "a"
    .balign 64
    .globl pupa_guest_elf
pupa_guest_elf:
    .incbin PUPA_GUEST_ELF_PATH
    .globl pupa_guest_elf_end
pupa_guest_elf_end:
    .section .note.GNU-stack, "", @progbits
