/* test_vmm_elf.c: the guest ELF loader refuses everything but a sane static
 * ELF64 inside guest RAM with pupa's ABI note, and loads that one exactly. */
#include <check.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vmm/elf.h"

#define RAM (4u << 20)
static uint8_t ram[RAM];
static struct vm vm = {.ram = ram, .ram_size = RAM};
static char err[256];

struct image {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[3];
    struct pupa_abi_note note;
    uint8_t code[64];
};

static void make(struct image *im)
{
    memset(im, 0, sizeof(*im));
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS64;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_type = ET_EXEC;
    im->eh.e_machine = EM_X86_64;
    im->eh.e_entry = 0x100000;
    im->eh.e_phoff = offsetof(struct image, ph);
    im->eh.e_phentsize = sizeof(Elf64_Phdr);
    im->eh.e_phnum = 2;
    im->ph[0] = (Elf64_Phdr){PT_LOAD,  PF_R | PF_X, offsetof(struct image, code),
                             0x100000, 0x100000,    sizeof(im->code),
                             0x2000,   0x1000};
    im->ph[1] =
        (Elf64_Phdr){PT_NOTE, PF_R, offsetof(struct image, note), 0, 0, sizeof(im->note), 0, 4};
    im->note = (struct pupa_abi_note){sizeof(PUPA_NOTE_NAME), 4, PUPA_NOTE_ABI, PUPA_NOTE_NAME,
                                      PUPA_ABI_VERSION};
    memset(im->code, 0x90, sizeof(im->code));
}

static int load(struct image *im, uint64_t *entry)
{
    return elf_load(&vm, (const uint8_t *)im, sizeof(*im), 0x10000, entry, err, sizeof(err));
}

START_TEST(loads_and_zero_fills)
{
    struct image im;
    uint64_t entry = 0;
    make(&im);
    memset(ram, 0xaa, sizeof(ram));
    ck_assert_int_eq(load(&im, &entry), 0);
    ck_assert_uint_eq(entry, 0x100000);
    ck_assert_int_eq(memcmp(ram + 0x100000, im.code, sizeof(im.code)), 0);
    for (size_t i = sizeof(im.code); i < 0x2000; i++)
        ck_assert_uint_eq(ram[0x100000 + i], 0);
    ck_assert_uint_eq(ram[0x100000 + 0x2000], 0xaa); /* nothing past memsz */
}
END_TEST

/* each mutation must be refused with a message containing `why` */
static void refused(void (*mutate)(struct image *), const char *why)
{
    struct image im;
    uint64_t entry;
    make(&im);
    mutate(&im);
    memset(ram, 0, sizeof(ram));
    ck_assert_int_eq(load(&im, &entry), -1);
    ck_assert_msg(strstr(err, why) != NULL, "error '%s' does not mention '%s'", err, why);
    ck_assert_uint_eq(ram[0x100000], 0); /* nothing copied before the checks pass */
}

static void bad_magic(struct image *im)
{
    im->eh.e_ident[1] = 'X';
}
static void class32(struct image *im)
{
    im->eh.e_ident[EI_CLASS] = ELFCLASS32;
}
static void big_endian(struct image *im)
{
    im->eh.e_ident[EI_DATA] = ELFDATA2MSB;
}
static void arm(struct image *im)
{
    im->eh.e_machine = EM_AARCH64;
}
static void pie(struct image *im)
{
    im->eh.e_type = ET_DYN;
}
static void phentsize(struct image *im)
{
    im->eh.e_phentsize = 32;
}
static void no_phdrs(struct image *im)
{
    im->eh.e_phnum = 0;
}
static void too_many(struct image *im)
{
    im->eh.e_phnum = 1000;
}
static void phoff_out(struct image *im)
{
    im->eh.e_phoff = 1u << 30;
}
static void phoff_wrap(struct image *im)
{
    im->eh.e_phoff = UINT64_MAX - 8;
}
static void interp(struct image *im)
{
    im->ph[0].p_type = PT_INTERP;
}
static void dynamic(struct image *im)
{
    im->eh.e_phnum = 3;
    im->ph[2] = (Elf64_Phdr){PT_DYNAMIC, PF_R, 0, 0x200000, 0x200000, 0, 0, 8};
}
static void filesz_over_memsz(struct image *im)
{
    im->ph[0].p_memsz = 8;
}
static void data_outside_file(struct image *im)
{
    im->ph[0].p_offset = 1u << 20;
}
static void offset_wrap(struct image *im)
{
    im->ph[0].p_offset = UINT64_MAX - 4;
}
static void outside_ram(struct image *im)
{
    im->ph[0].p_paddr = RAM - 0x1000;
}
static void addr_wrap(struct image *im)
{
    im->ph[0].p_paddr = UINT64_MAX - 0x100;
}
static void over_boot_area(struct image *im)
{
    im->ph[0].p_paddr = 0x1000;
}
static void memsz_huge(struct image *im)
{
    im->ph[0].p_memsz = UINT64_MAX;
}
static void entry_elsewhere(struct image *im)
{
    im->eh.e_entry = 0x300000;
}
static void entry_not_exec(struct image *im)
{
    im->ph[0].p_flags = PF_R | PF_W;
}
static void no_load(struct image *im)
{
    im->ph[0].p_type = PT_NOTE;
}

static void no_note(struct image *im)
{
    im->ph[1].p_type = PT_NULL;
}
static void old_version(struct image *im)
{
    im->note.abi_version = PUPA_ABI_VERSION - 1;
}
static void other_owner(struct image *im)
{
    memcpy(im->note.name, "GNU", 4);
}
static void other_type(struct image *im)
{
    im->note.type = PUPA_NOTE_ABI + 1;
}
static void short_desc(struct image *im)
{
    im->note.descsz = 2;
}
static void note_outside_file(struct image *im)
{
    im->ph[1].p_offset = 1u << 20;
}
static void note_namesz_huge(struct image *im)
{
    im->note.namesz = UINT32_MAX;
}
static void note_descsz_huge(struct image *im)
{
    im->note.descsz = UINT32_MAX - 2;
}
static void note_cut(struct image *im)
{
    im->ph[1].p_filesz = 8;
}

START_TEST(refuses_bad_files)
{
    refused(bad_magic, "not an ELF file");
    refused(class32, "ELF64");
    refused(big_endian, "little-endian");
    refused(arm, "x86-64");
    refused(pie, "static executable");
    refused(phentsize, "program header size");
    refused(no_phdrs, "program headers");
    refused(too_many, "program headers");
    refused(phoff_out, "outside the file");
    refused(phoff_wrap, "outside the file");
    refused(interp, "dynamic");
    refused(dynamic, "dynamic");
    refused(filesz_over_memsz, "file size over memory size");
    refused(data_outside_file, "outside the file");
    refused(offset_wrap, "outside the file");
    refused(outside_ram, "outside guest RAM");
    refused(addr_wrap, "outside guest RAM");
    refused(over_boot_area, "outside guest RAM");
    refused(memsz_huge, "outside guest RAM");
    refused(entry_elsewhere, "entry point");
    refused(entry_not_exec, "entry point");
    refused(no_load, "no loadable segment");
    refused(no_note, "not a pupa guest: no ABI note (.note.pupa.abi");
    refused(old_version, "built for pupa ABI version");
    refused(other_owner, "no ABI note");
    refused(other_type, "no ABI note");
    refused(short_desc, "no ABI note");
    refused(note_outside_file, "note segment 1 outside the file");
    refused(note_namesz_huge, "note segment 1 is malformed");
    refused(note_descsz_huge, "note segment 1 is malformed");
    refused(note_cut, "note segment 1 is malformed");
}
END_TEST

START_TEST(short_files)
{
    struct image im;
    uint64_t entry;
    make(&im);
    for (size_t n = 0; n < sizeof(im); n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any over-read */
        memcpy(copy, &im, n);
        int rc = elf_load(&vm, copy, n, 0x10000, &entry, err, sizeof(err));
        ck_assert_int_eq(rc, -1);
        free(copy);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vmm_elf");
    TCase *tc = tcase_create("elf");
    tcase_add_test(tc, loads_and_zero_fills);
    tcase_add_test(tc, refuses_bad_files);
    tcase_add_test(tc, short_files);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
