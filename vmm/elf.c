/* elf.c: ELF64 loader with bounds checks on every header and segment, and
 * the guest's ABI note; guest memory only through vm_gpa(). */
#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "elf.h"

#define ELF_MAX_PHDRS 64

/* The first error wins; every check returns through it. */
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)

static int check_header(const uint8_t *elf, size_t len, Elf64_Ehdr *eh, char *err, size_t errlen)
{
    if (len < sizeof(*eh))
        FAIL("file too small for an ELF header");
    memcpy(eh, elf, sizeof(*eh));
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        FAIL("not an ELF file");
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
        FAIL("not a little-endian ELF64 file");
    if (eh->e_machine != EM_X86_64)
        FAIL("not an x86-64 ELF file");
    if (eh->e_type != ET_EXEC)
        FAIL("not a static executable (ELF type %u)", eh->e_type);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        FAIL("unexpected program header size %u", eh->e_phentsize);
    if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS)
        FAIL("%u program headers (1..%d accepted)", eh->e_phnum, ELF_MAX_PHDRS);
    if (eh->e_phoff > len || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
        FAIL("program headers outside the file");
    return 0;
}

static Elf64_Phdr phdr(const uint8_t *elf, const Elf64_Ehdr *eh, unsigned i)
{
    Elf64_Phdr ph;
    memcpy(&ph, elf + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
    return ph;
}

/* The PUPA ABI note in [p, p + n), if there: 1 and *version, else 0; -1 when
 * the notes are malformed. Notes are 4-byte aligned (ELF64 x86-64 as built). */
static int find_abi_note(const uint8_t *p, uint64_t n, uint32_t *version)
{
    while (n > 0) {
        uint32_t hdr[3]; /* namesz, descsz, type */
        if (n < sizeof(hdr))
            return -1;
        memcpy(hdr, p, sizeof(hdr));
        uint64_t name_room = ((uint64_t)hdr[0] + 3) & ~3ull,
                 desc_room = ((uint64_t)hdr[1] + 3) & ~3ull;
        if (name_room > n - sizeof(hdr) || desc_room > n - sizeof(hdr) - name_room)
            return -1;
        const uint8_t *name = p + sizeof(hdr), *desc = name + name_room;
        if (hdr[0] == sizeof(PUPA_NOTE_NAME) && memcmp(name, PUPA_NOTE_NAME, hdr[0]) == 0 &&
            hdr[2] == PUPA_NOTE_ABI && hdr[1] >= 4) {
            memcpy(version, desc, 4);
            return 1;
        }
        p += sizeof(hdr) + name_room + desc_room;
        n -= sizeof(hdr) + name_room + desc_room;
    }
    return 0;
}

/* Every PT_NOTE segment inside the file is searched; one ABI note of this
 * pupa's version is required. */
static int check_abi_note(const uint8_t *elf, size_t len, const Elf64_Ehdr *eh, char *err,
                          size_t errlen)
{
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph = phdr(elf, eh, i);
        if (ph.p_type != PT_NOTE)
            continue;
        if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
            FAIL("note segment %u outside the file", i);
        uint32_t version = 0;
        int found = find_abi_note(elf + ph.p_offset, ph.p_filesz, &version);
        if (found < 0)
            FAIL("note segment %u is malformed", i);
        if (found && version != PUPA_ABI_VERSION)
            FAIL("built for pupa ABI version %u; this pupa runs version %u guests", version,
                 PUPA_ABI_VERSION);
        if (found)
            return 0;
    }
    FAIL("not a pupa guest: no ABI note (%s, built with guest/rt and guest/link.ld)",
         PUPA_NOTE_SECTION);
}

/* Each PT_LOAD segment: inside the file and inside [min_addr, RAM). */
static int check_segments(struct vm *vm, const uint8_t *elf, size_t len, const Elf64_Ehdr *eh,
                          uint64_t min_addr, char *err, size_t errlen)
{
    bool entry_ok = false;
    int nload = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph = phdr(elf, eh, i);
        if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
            FAIL("dynamic executables are not accepted");
        if (ph.p_type != PT_LOAD)
            continue;
        if (ph.p_filesz > ph.p_memsz)
            FAIL("segment %u: file size over memory size", i);
        if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
            FAIL("segment %u: data outside the file", i);
        if (ph.p_paddr < min_addr || !vm_gpa(vm, ph.p_paddr, ph.p_memsz))
            FAIL("segment %u: [0x%llx, +0x%llx) outside guest RAM [0x%llx, 0x%llx)", i,
                 (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
                 (unsigned long long)min_addr, (unsigned long long)vm->ram_size);
        nload++;
        if ((ph.p_flags & PF_X) && eh->e_entry >= ph.p_paddr &&
            eh->e_entry - ph.p_paddr < ph.p_memsz)
            entry_ok = true;
    }
    if (nload == 0)
        FAIL("no loadable segment");
    if (!entry_ok)
        FAIL("entry point 0x%llx is not in an executable segment", (unsigned long long)eh->e_entry);
    return 0;
}

int elf_load(struct vm *vm, const uint8_t *elf, size_t len, uint64_t min_addr, uint64_t *entry,
             char *err, size_t errlen)
{
    Elf64_Ehdr eh;
    /* check everything before copying anything */
    if (check_header(elf, len, &eh, err, errlen) ||
        check_segments(vm, elf, len, &eh, min_addr, err, errlen) ||
        check_abi_note(elf, len, &eh, err, errlen))
        return -1;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph = phdr(elf, &eh, i);
        uint8_t *dst = ph.p_type == PT_LOAD ? vm_gpa(vm, ph.p_paddr, ph.p_memsz) : NULL;
        if (!dst)
            continue;
        memcpy(dst, elf + ph.p_offset, ph.p_filesz);
        memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    }
    *entry = eh.e_entry;
    return 0;
}
