/* ops.h: the operations the pupa guest runs (VmmConfig.operation). */
#ifndef PUPA_GUEST_OPS_H
#define PUPA_GUEST_OPS_H

#include "pupa/protocol.h"

int op_selftest(const pupa_VmmConfig *cfg);
int op_read(const pupa_VmmConfig *cfg);
int op_info(const pupa_VmmConfig *cfg);
/* block operations (block_ops_guest.c) */
int op_map(const pupa_VmmConfig *cfg);
int op_compare(const pupa_VmmConfig *cfg);
int op_read_virtual(const pupa_VmmConfig *cfg);

#endif
