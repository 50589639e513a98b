/* start.S: guest entry. The VMM enters here in 64-bit mode, ring 3, with RSP
 * at the top of RAM, FS pointing at its TLS page and the IDT already set. */
    .section .text.start, "ax"
    .code64
    .globl _start
_start:
    cld
    mov %rsp, rt_ram_top(%rip)
    and $-16, %rsp
    xor %ebp, %ebp
    call rt_start                    /* never returns */
1:  pause
    jmp 1b

    .section .note.GNU-stack, "", @progbits
