/* hostile_findings.c: a taken-over guest reports fields that imply findings (a backing
 * file with a control character, a data file, encryption, corruption, a vmdk extent
 * naming another file, a format nobody knows) and leaves every finding out. The parent
 * derives them itself: the verdict stays UNSAFE. */
#include "hostile.h"

int guest_main(const pupa_VmmConfig *cfg)
{
    (void)cfg;
    hostile_node(pupa_NodeKind_NODE_DICT, "", "");
    hostile_node(pupa_NodeKind_NODE_LIST, "extents", "");
    hostile_node(pupa_NodeKind_NODE_DICT, "", "");
    hostile_node(pupa_NodeKind_NODE_STRING, "filename", "/etc/shadow");
    hostile_node(pupa_NodeKind_NODE_END, "", "");
    hostile_node(pupa_NodeKind_NODE_END, "", "");
    hostile_node(pupa_NodeKind_NODE_END, "", "");
    hostile_result("evilfmt", 4, 0, 0, "vmdk", "/etc/passwd\n", "/dev/sda",
                   PUPA_INFO_F_ENCRYPTED | PUPA_INFO_F_CORRUPT | PUPA_INFO_F_BACKING);
    hostile_complete("info", true);
    return PUPA_EXIT_OK;
}
