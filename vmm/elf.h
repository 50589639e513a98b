/* elf.h: checked loader for the static ELF64 guests pupa boots. */
#ifndef PUPA_ELF_H
#define PUPA_ELF_H

#include <stddef.h>
#include <stdint.h>

/* Copy every PT_LOAD segment of elf into ram (zero-filling the rest of each
 * segment) after checking the whole file: ELF64, little endian, x86-64,
 * ET_EXEC, no interpreter or dynamic section, segments inside
 * [min_addr, ram_size) without overflow, entry inside an executable segment.
 * Returns 0 and *entry, or -1 with a reason in err. */
int elf_load(const uint8_t *elf, size_t len, uint8_t *ram, uint64_t ram_size, uint64_t min_addr,
             uint64_t *entry, char *err, size_t errlen);

#endif
