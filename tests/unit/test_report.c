/* test_report.c: the VMM rebuilds reports from hostile frames without
 * trusting them, and prints them the way qemu-img does. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vmm/budget.h"
#include "vmm/output.h"
#include "vmm/report.h"

static pupa_GuestMessage node(pupa_NodeKind kind, const char *key, const char *str)
{
    pupa_GuestMessage m;
    memset(&m, 0, sizeof(m));
    m.which_payload = pupa_GuestMessage_info_node_tag;
    m.payload.info_node.kind = kind;
    PUPA_STRLCPY(m.payload.info_node.key, key);
    PUPA_STRLCPY(m.payload.info_node.str_value, str);
    return m;
}

static pupa_GuestMessage result(uint32_t nodes, const char *type)
{
    pupa_GuestMessage m;
    pupa_msg_info_result(&m, "qcow2", 1 << 30, 65536, PUPA_INFO_F_HAS_DIRTY_FLAG);
    m.payload.info_result.node_count = nodes;
    PUPA_STRLCPY(m.payload.info_result.specific_type, type);
    return m;
}

static struct pupa_error last;

static bool feed(struct report *r, pupa_GuestMessage m)
{
    err_init(&last);
    return report_feed(r, &m, &last) == 0;
}

static bool check_info(struct report *r)
{
    err_init(&last);
    return report_check_info(r, &last) == 0;
}

START_TEST(tree_and_order)
{
    struct report r;
    report_init(&r);
    ck_assert(feed(&r, node(pupa_NodeKind_NODE_DICT, "", "")));
    /* inserted in qemu's source order; qemu prints them in QDict hash order */
    const char *keys[] = {"compat",        "compression-type", "lazy-refcounts",
                          "refcount-bits", "corrupt",          "extended-l2"};
    for (int i = 0; i < 6; i++)
        ck_assert(feed(&r, node(pupa_NodeKind_NODE_STRING, keys[i], "v")));
    ck_assert(feed(&r, node(pupa_NodeKind_NODE_END, "", "")));
    ck_assert(feed(&r, result(7, "qcow2")));
    pupa_GuestMessage done;
    pupa_msg_complete(&done, "info", 1, true);
    ck_assert(feed(&r, done));
    ck_assert(check_info(&r));
    struct strbuf out;
    sb_init(&out);
    output_info_human(&out, &r, "x.qcow2", false);
    ck_assert_ptr_nonnull(strstr(out.s, "Format specific information:\n"
                                        "    compat: v\n    compression type: v\n"
                                        "    lazy refcounts: v\n    refcount bits: v\n"
                                        "    corrupt: v\n    extended l2: v\n"));
    sb_free(&out);
    sb_init(&out);
    output_info_json(&out, &r, "x.qcow2", true);
    /* qemu-img's own top-level order for these keys */
    const char *order[] = {"\"virtual-size\"", "\"filename\"",    "\"cluster-size\"",
                           "\"format\"",       "\"actual-size\"", "\"format-specific\"",
                           "\"dirty-flag\"",   "\"safety\""};
    const char *prev = out.s;
    for (int i = 0; i < 8; i++) {
        const char *at = strstr(out.s, order[i]);
        ck_assert_msg(at && at >= prev, "%s out of qemu's order", order[i]);
        prev = at;
    }
    sb_free(&out);
    report_free(&r);
}
END_TEST

/* every rule a guest can break leaves a protocol error, never a crash */
START_TEST(hostile_frames)
{
    struct report r;
    report_init(&r);
    ck_assert(!feed(&r, node(pupa_NodeKind_NODE_END, "", "")));
    ck_assert_str_eq(last.msg,
                     "guest protocol error: format-specific tree: END without an open container");
    report_free(&r);

    report_init(&r);
    ck_assert(!feed(&r, node(pupa_NodeKind_NODE_STRING, "a", "b")));
    ck_assert_str_eq(last.msg, "guest protocol error: format-specific tree: root is not a dict");
    report_free(&r);

    report_init(&r);
    feed(&r, node(pupa_NodeKind_NODE_DICT, "", ""));
    feed(&r, node(pupa_NodeKind_NODE_BOOL, "k", ""));
    ck_assert(!feed(&r, node(pupa_NodeKind_NODE_BOOL, "k", "")));
    ck_assert_str_eq(last.msg, "guest protocol error: format-specific tree: duplicate key 'k'");
    report_free(&r);

    report_init(&r);
    feed(&r, node(pupa_NodeKind_NODE_DICT, "", ""));
    ck_assert(!feed(&r, node(pupa_NodeKind_NODE_BOOL, "", "")));
    report_free(&r);

    report_init(&r);
    feed(&r, node(pupa_NodeKind_NODE_DICT, "", ""));
    int opened = 1;
    while (feed(&r, node(pupa_NodeKind_NODE_LIST, "l", "")))
        opened++;
    ck_assert_int_eq(opened, BUDGET_DEPTH);
    ck_assert_str_eq(last.msg,
                     "guest result exceeds its budget: format-specific tree deeper than 16");
    report_free(&r);

    report_init(&r);
    ck_assert(!feed(&r, node((pupa_NodeKind)99, "", "")));
    report_free(&r);

    /* the counts announced in the result must match what arrived */
    report_init(&r);
    feed(&r, node(pupa_NodeKind_NODE_DICT, "", ""));
    feed(&r, node(pupa_NodeKind_NODE_END, "", ""));
    ck_assert(!feed(&r, result(5, "qcow2")));
    ck_assert_str_eq(last.msg, "guest protocol error: info result announces 5 nodes, 1 arrived");
    report_free(&r);

    /* a tree without a type, frames after the result, success without a result */
    report_init(&r);
    ck_assert(!feed(&r, result(0, "qcow2")));
    report_free(&r);
    report_init(&r);
    ck_assert(feed(&r, result(0, "")));
    ck_assert(!feed(&r, node(pupa_NodeKind_NODE_DICT, "", "")));
    report_free(&r);
    report_init(&r);
    pupa_GuestMessage done;
    pupa_msg_complete(&done, "info", 1, true);
    feed(&r, done);
    ck_assert(!check_info(&r));
    ck_assert(!feed(&r, done)); /* nothing after complete */
    report_free(&r);

    /* memory: a flood of big strings stops at the budget, not at the host's RAM */
    report_init(&r);
    feed(&r, node(pupa_NodeKind_NODE_DICT, "", ""));
    feed(&r, node(pupa_NodeKind_NODE_LIST, "l", ""));
    static char big[4097];
    memset(big, 'x', 4096);
    size_t n = 0;
    while (feed(&r, node(pupa_NodeKind_NODE_STRING, "", big)))
        n++;
    ck_assert_uint_lt(n, (BUDGET_RESULT_BYTES / 4096) + 1);
    ck_assert_uint_gt(n, (BUDGET_RESULT_BYTES / 4096) * 9 / 10);
    ck_assert_int_eq(last.cls, ERRC_RESULT_TOO_LARGE);
    ck_assert_str_eq(last.msg, "guest result exceeds its budget: it holds more than 256 MiB");
    report_free(&r);
}
END_TEST

START_TEST(sizes_like_qemu)
{
    static const struct {
        uint64_t v;
        const char *s;
    } cases[] = {
        {0, "0 B"},
        {1000, "0.977 KiB"},
        {999, "999 B"},
        {1023, "0.999 KiB"},
        {1024, "1 KiB"},
        {221184, "216 KiB"},
        {1265664, "1.21 MiB"},
        {1ull << 30, "1 GiB"},
        {10ull << 30, "10 GiB"},
        {16781312, "16 MiB"},
        {UINT64_MAX, "16 EiB"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        output_size_str(buf, sizeof(buf), cases[i].v);
        ck_assert_str_eq(buf, cases[i].s);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tree_and_order);
    tcase_add_test(tc, hostile_frames);
    tcase_add_test(tc, sizes_like_qemu);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
