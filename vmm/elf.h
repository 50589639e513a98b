/* elf.h: checked loader for the static ELF64 guests pupa boots. */
#ifndef PUPA_ELF_H
#define PUPA_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

/* Copy every PT_LOAD segment of elf into guest RAM through vm_gpa()
 * (zero-filling the rest of each segment) after checking the whole file:
 * ELF64, little endian, x86-64, ET_EXEC, no interpreter or dynamic section,
 * segments inside [min_addr, RAM) without overflow, entry inside an
 * executable segment, and an ABI note (PUPA_NOTE_SECTION in a PT_NOTE
 * segment) of version PUPA_ABI_VERSION. Returns 0 and *entry, or -1 with one
 * line saying why in err (nothing copied then). */
int elf_load(struct vm *vm, const uint8_t *elf, size_t len, uint64_t min_addr, uint64_t *entry,
             char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
