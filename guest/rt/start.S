/* start.S: guest entry in 64-bit long mode, exception stubs, I/O helpers. */

    .section .text.start, "ax"
    .code64
    .globl _start
_start:
    cli
    cld
    mov %rsp, rt_ram_top(%rip)       /* the VMM puts RSP at the top of RAM */
    and $-16, %rsp
    /* FS base -> rt_tls: nanopb's runtime (built hosted) reads its stack
     * canary from %fs:0x28 */
    lea rt_tls(%rip), %rax
    mov %rax, %rdx
    shr $32, %rdx
    mov $0xc0000100, %ecx
    wrmsr
    xor %ebp, %ebp
    call rt_start                    /* never returns */
1:  hlt
    jmp 1b

/* Exception stubs: push a dummy error code where the CPU pushes none, then
 * the vector, then go to the common handler. */
.macro EXC_NOERR n
    .p2align 4
exc_\n:
    pushq $0
    pushq $\n
    jmp exc_common
.endm
.macro EXC_ERR n
    .p2align 4
exc_\n:
    pushq $\n
    jmp exc_common
.endm

    .text
EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR 8
EXC_NOERR 9
EXC_ERR 10
EXC_ERR 11
EXC_ERR 12
EXC_ERR 13
EXC_ERR 14
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR 17
EXC_NOERR 18
EXC_NOERR 19
EXC_NOERR 20
EXC_ERR 21
EXC_NOERR 22
EXC_NOERR 23
EXC_NOERR 24
EXC_NOERR 25
EXC_NOERR 26
EXC_NOERR 27
EXC_NOERR 28
EXC_ERR 29
EXC_ERR 30
EXC_NOERR 31

exc_common:
    /* stack: vector, error code, rip, cs, rflags, rsp, ss */
    mov 0(%rsp), %rdi
    mov 8(%rsp), %rsi
    mov 16(%rsp), %rdx
    and $-16, %rsp
    call rt_exception                /* never returns */
2:  hlt
    jmp 2b

    .section .rodata
    .globl rt_exception_stubs
    .p2align 3
rt_exception_stubs:
    .quad exc_0, exc_1, exc_2, exc_3, exc_4, exc_5, exc_6, exc_7
    .quad exc_8, exc_9, exc_10, exc_11, exc_12, exc_13, exc_14, exc_15
    .quad exc_16, exc_17, exc_18, exc_19, exc_20, exc_21, exc_22, exc_23
    .quad exc_24, exc_25, exc_26, exc_27, exc_28, exc_29, exc_30, exc_31

    .section .note.GNU-stack, "", @progbits
