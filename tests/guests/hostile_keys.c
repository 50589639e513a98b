/* hostile_keys.c: a taken-over guest sends one dict with 5 000 keys (over the
 * keys-per-dict budget), or with -f qcow2 4000 keys and then a duplicate of the first:
 * found at once, not by comparing against every key before it. */
#include <stdio.h>

#include "hostile.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    bool dup = strcmp(cfg->format, "qcow2") == 0;
    uint32_t n = dup ? 4000 : 5000;
    char key[32];
    hostile_node(pupa_NodeKind_NODE_DICT, "", "");
    for (uint32_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "key-%u", i);
        hostile_node(pupa_NodeKind_NODE_BOOL, key, "");
    }
    if (dup)
        hostile_node(pupa_NodeKind_NODE_BOOL, "key-0", "");
    hostile_node(pupa_NodeKind_NODE_END, "", "");
    hostile_result("raw", n + 1 + dup, 0, 0, "raw", NULL, NULL, 0);
    hostile_complete("info", true);
    return PUPA_EXIT_OK;
}
