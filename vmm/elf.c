/* elf.c: ELF64 loader with bounds checks on every header and segment. */
#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "elf.h"

#define ELF_MAX_PHDRS 64

int elf_load(const uint8_t *elf, size_t len, uint8_t *ram, uint64_t ram_size, uint64_t min_addr,
             uint64_t *entry, char *err, size_t errlen)
{
    Elf64_Ehdr eh;
    bool entry_ok = false;
    int nload = 0;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)

    if (len < sizeof(eh))
        FAIL("file too small for an ELF header");
    memcpy(&eh, elf, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        FAIL("not an ELF file");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        FAIL("not a little-endian ELF64 file");
    if (eh.e_machine != EM_X86_64)
        FAIL("not an x86-64 ELF file");
    if (eh.e_type != ET_EXEC)
        FAIL("not a static executable (ELF type %u)", eh.e_type);
    if (eh.e_phentsize != sizeof(Elf64_Phdr))
        FAIL("unexpected program header size %u", eh.e_phentsize);
    if (eh.e_phnum == 0 || eh.e_phnum > ELF_MAX_PHDRS)
        FAIL("%u program headers (1..%d accepted)", eh.e_phnum, ELF_MAX_PHDRS);
    if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
        FAIL("program headers outside the file");

    /* check everything before copying anything */
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            memcpy(&ph, elf + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
            if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
                FAIL("dynamic executables are not accepted");
            if (ph.p_type != PT_LOAD)
                continue;
            uint64_t end;
            if (ph.p_filesz > ph.p_memsz)
                FAIL("segment %u: file size over memory size", i);
            if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
                FAIL("segment %u: data outside the file", i);
            if (__builtin_add_overflow(ph.p_paddr, ph.p_memsz, &end) || ph.p_paddr < min_addr ||
                end > ram_size)
                FAIL("segment %u: [0x%llx, +0x%llx) outside guest RAM [0x%llx, 0x%llx)", i,
                     (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
                     (unsigned long long)min_addr, (unsigned long long)ram_size);
            if (pass == 0) {
                nload++;
                if ((ph.p_flags & PF_X) && eh.e_entry >= ph.p_paddr && eh.e_entry < end)
                    entry_ok = true;
                continue;
            }
            memcpy(ram + ph.p_paddr, elf + ph.p_offset, ph.p_filesz);
            memset(ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
        }
        if (pass == 0 && nload == 0)
            FAIL("no loadable segment");
        if (pass == 0 && !entry_ok)
            FAIL("entry point 0x%llx is not in an executable segment",
                 (unsigned long long)eh.e_entry);
    }
#undef FAIL
    *entry = eh.e_entry;
    return 0;
}
