/* test_protocol_roundtrip.c: every message kind survives encode/decode field by field; helpers,
 * strlcpy, percent. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pb_encode.h>

#include "tests/protocol/samples.h"
#include "testutil.h"

#define GARBAGE 0xa5

/* Encode m, check the frame's shape, decode it into a garbage-filled
 * message (so decoding must set every field) and compare field by field. */
static void roundtrip_guest(const pupa_GuestMessage *m, const char *what)
{
    static uint8_t buf[PUPA_FRAME_MAX + 16];
    static uint8_t again[PUPA_FRAME_MAX];
    static pupa_GuestMessage got;
    size_t payload = 0, n = 0, consumed = 0, n2 = 0;
    const char *detail = "unset";

    ck_assert_msg(pb_get_encoded_size(&payload, pupa_GuestMessage_fields, m), "%s: size", what);
    ck_assert_msg(payload <= pupa_GuestMessage_size, "%s: payload %zu over nanopb's bound %d", what,
                  payload, pupa_GuestMessage_size);
    ck_assert_int_eq(pupa_frame_encode(pupa_GuestMessage_fields, m, buf, sizeof(buf), &n),
                     PUPA_FRAME_OK);
    ck_assert_msg(n == PUPA_FRAME_HEADER + payload, "%s: frame %zu, payload %zu", what, n, payload);
    ck_assert_uint_eq(buf[0] | (buf[1] << 8), payload); /* u16 little-endian length */

    memset(&got, GARBAGE, sizeof(got));
    ck_assert_int_eq(pupa_frame_decode(pupa_GuestMessage_fields, &got, buf, n, &consumed, &detail),
                     PUPA_FRAME_OK);
    ck_assert_uint_eq(consumed, n);
    ck_assert_ptr_null(detail);
    const char *diff = sample_guest_diff(m, &got);
    ck_assert_msg(diff == NULL, "%s: field %s differs after the round trip", what, diff);

    /* bytes after the frame are not part of it */
    memset(buf + n, 0x08, 16);
    memset(&got, GARBAGE, sizeof(got));
    ck_assert_int_eq(
        pupa_frame_decode(pupa_GuestMessage_fields, &got, buf, n + 16, &consumed, NULL),
        PUPA_FRAME_OK);
    ck_assert_uint_eq(consumed, n);
    ck_assert_ptr_null(sample_guest_diff(m, &got));

    /* the decoded message encodes to the very same bytes */
    ck_assert_int_eq(pupa_frame_encode(pupa_GuestMessage_fields, &got, again, sizeof(again), &n2),
                     PUPA_FRAME_OK);
    ck_assert_uint_eq(n2, n);
    ck_assert_mem_eq(again, buf, n);
}

START_TEST(guest_roundtrip)
{
    int kind = _i / SV_COUNT, variant = _i % SV_COUNT;
    static pupa_GuestMessage m;
    char what[64];
    snprintf(what, sizeof(what), "%s/%s", sample_kind_name(kind), sample_variant_name(variant));
    sample_guest(&m, kind, variant);
    roundtrip_guest(&m, what);
}
END_TEST

/* A GuestMessage without payload and at the default Level encodes to
 * nothing at all: a zero-length frame, which decodes back to it. */
START_TEST(guest_empty_is_zero_length_frame)
{
    static pupa_GuestMessage m;
    uint8_t buf[8];
    size_t n = 0;
    sample_guest(&m, SK_NONE, SV_EMPTY);
    ck_assert_int_eq(pupa_frame_encode(pupa_GuestMessage_fields, &m, buf, sizeof(buf), &n),
                     PUPA_FRAME_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(buf[0], 0);
    ck_assert_uint_eq(buf[1], 0);
    /* an empty payload member still selects it: tag + zero length */
    sample_guest(&m, SK_INIT, SV_EMPTY);
    ck_assert_int_eq(pupa_frame_encode(pupa_GuestMessage_fields, &m, buf, sizeof(buf), &n),
                     PUPA_FRAME_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_mem_eq(buf, "\x02\x00\x12\x00", 4);
}
END_TEST

/* The largest message (MapExtentsMessage with 256 entries, every field at its
 * maximum) reaches exactly nanopb's computed bound, and that bound fits a frame. */
START_TEST(guest_max_info_result_hits_the_bound)
{
    static pupa_GuestMessage m;
    size_t largest = 0;
    for (int k = 0; k < SK_COUNT; k++) {
        size_t payload = 0;
        sample_guest(&m, k, SV_MAX);
        ck_assert(pb_get_encoded_size(&payload, pupa_GuestMessage_fields, &m));
        if (payload > largest)
            largest = payload;
    }
    ck_assert_uint_eq(largest, pupa_GuestMessage_size);
    ck_assert_uint_le(pupa_GuestMessage_size, PUPA_FRAME_MAX_PAYLOAD);
    ck_assert_uint_le(pupa_VmmConfig_size, PUPA_FRAME_MAX_PAYLOAD);
}
END_TEST

/* guest.options: max_size counts the NUL, so 4097 holds 4096 characters;
 * the MAX samples use every one of them. */
START_TEST(max_strings_fill_guest_options_sizes)
{
    static pupa_GuestMessage m;
    static pupa_VmmConfig c;

    sample_guest(&m, SK_INFO_RESULT, SV_MAX);
    ck_assert_uint_eq(sizeof(m.payload.info_result.backing_file), 4097);
    ck_assert_uint_eq(strlen(m.payload.info_result.backing_file), 4096);
    ck_assert_uint_eq(strlen(m.payload.info_result.external_data_file), 4096);
    ck_assert_uint_eq(strlen(m.payload.info_result.backing_format), 4096);
    ck_assert_uint_eq(sizeof(m.payload.info_result.format), 33);
    ck_assert_uint_eq(strlen(m.payload.info_result.format), 32);
    ck_assert_uint_eq(strlen(m.payload.info_result.device), 32);
    ck_assert_uint_eq(strlen(m.payload.info_result.specific_type), 32);
    sample_guest(&m, SK_ERROR, SV_MAX);
    ck_assert_uint_eq(strlen(m.payload.error.message), 4096); /* 1024 4-byte UTF-8 sequences */
    sample_guest(&m, SK_FINDING, SV_MAX);
    ck_assert_uint_eq(strlen(m.payload.finding.detail), 4096);
    sample_guest(&m, SK_INFO_NODE, SV_MAX);
    ck_assert_uint_eq(sizeof(m.payload.info_node.key), 65);
    ck_assert_uint_eq(strlen(m.payload.info_node.key), 64);
    ck_assert_uint_eq(strlen(m.payload.info_node.str_value), 4096);
    sample_guest(&m, SK_SNAPSHOT, SV_MAX);
    ck_assert_uint_eq(strlen(m.payload.snapshot.id), 127);
    ck_assert_uint_eq(strlen(m.payload.snapshot.name), 255);
    sample_guest(&m, SK_DIGEST, SV_MAX);
    ck_assert_uint_eq(m.payload.digest.sha256.size, 32);
    ck_assert_uint_eq(sizeof(m.payload.digest.sha256.bytes), 32);

    sample_config(&c, 16, SV_MAX);
    ck_assert_uint_eq(sizeof(c.devices) / sizeof(c.devices[0]), 16);
    ck_assert_uint_eq(PUPA_MAX_DEVICES, 16);
    ck_assert_uint_eq(strlen(c.devices[15].name), 32);
    ck_assert_uint_eq(strlen(c.filename), 4096);
    ck_assert_uint_eq(strlen(c.operation), 32);
}
END_TEST

START_TEST(config_roundtrip)
{
    unsigned ndev = sample_ndev[_i / SV_COUNT];
    int variant = _i % SV_COUNT;
    static pupa_VmmConfig c, got;
    static uint8_t buf[PUPA_FRAME_MAX];
    size_t n = 0, consumed = 0, payload = 0;
    const char *detail = "unset";

    sample_config(&c, ndev, variant);
    ck_assert(pb_get_encoded_size(&payload, pupa_VmmConfig_fields, &c));
    ck_assert_uint_le(payload, pupa_VmmConfig_size);
    ck_assert_int_eq(pupa_frame_encode(pupa_VmmConfig_fields, &c, buf, sizeof(buf), &n),
                     PUPA_FRAME_OK);
    ck_assert_uint_eq(n, PUPA_FRAME_HEADER + payload);
    ck_assert_uint_eq(buf[0] | (buf[1] << 8), payload);
    memset(&got, GARBAGE, sizeof(got));
    ck_assert_int_eq(pupa_frame_decode(pupa_VmmConfig_fields, &got, buf, n, &consumed, &detail),
                     PUPA_FRAME_OK);
    ck_assert_uint_eq(consumed, n);
    ck_assert_ptr_null(detail);
    const char *diff = sample_config_diff(&c, &got);
    ck_assert_msg(diff == NULL, "%u devices/%s: field %s differs", ndev,
                  sample_variant_name(variant), diff);
    if (ndev == 0 && variant == SV_EMPTY)
        ck_assert_uint_eq(n, 2); /* all-default config: zero-length frame */
    if (ndev == 16 && variant == SV_MAX)
        ck_assert_uint_eq(payload, pupa_VmmConfig_size); /* the largest config */
}
END_TEST

/* ------------------------------------------------------------ helpers */

#define S32 "abcdefghijklmnopqrstuvwxyz012345" /* 32 characters: fits a max_size:33 field */

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(helpers_set_level_and_payload)
{
    static pupa_GuestMessage m;
    static const uint8_t sha[32] = {1, 2, 3};

    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_init(&m, "boot", "vda", 0x100000));
    ck_assert_int_eq(m.level, pupa_Level_INFO);
    ck_assert_uint_eq(m.which_payload, pupa_GuestMessage_init_tag);
    ck_assert_str_eq(m.payload.init.stage, "boot");
    ck_assert_str_eq(m.payload.init.device, "vda");
    ck_assert_uint_eq(m.payload.init.address, 0x100000);

    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_capacity(&m, "vdb", 8, 4096));
    ck_assert_int_eq(m.level, pupa_Level_INFO);
    ck_assert_uint_eq(m.which_payload, pupa_GuestMessage_capacity_tag);
    ck_assert_str_eq(m.payload.capacity.device, "vdb");
    ck_assert_uint_eq(m.payload.capacity.sectors, 8);
    ck_assert_uint_eq(m.payload.capacity.bytes, 4096);

    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_progress(&m, "read", "vdc", 512, 2048));
    ck_assert_int_eq(m.level, pupa_Level_PROGRESS);
    ck_assert_uint_eq(m.which_payload, pupa_GuestMessage_progress_tag);
    ck_assert_str_eq(m.payload.progress.operation, "read");
    ck_assert_str_eq(m.payload.progress.device, "vdc");
    ck_assert_uint_eq(m.payload.progress.current, 512);
    ck_assert_uint_eq(m.payload.progress.total, 2048);
    ck_assert_uint_eq(m.payload.progress.percent, 25);

    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_error(&m, "read", "vdd", 77, 5, "I/O error"));
    ck_assert_int_eq(m.level, pupa_Level_ERROR);
    ck_assert_uint_eq(m.which_payload, pupa_GuestMessage_error_tag);
    ck_assert_str_eq(m.payload.error.operation, "read");
    ck_assert_str_eq(m.payload.error.device, "vdd");
    ck_assert_uint_eq(m.payload.error.sector, 77);
    ck_assert_uint_eq(m.payload.error.status, 5);
    ck_assert_str_eq(m.payload.error.message, "I/O error");

    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_complete(&m, "info", 3, true));
    ck_assert_int_eq(m.level, pupa_Level_COMPLETE);
    ck_assert_uint_eq(m.which_payload, pupa_GuestMessage_complete_tag);
    ck_assert_str_eq(m.payload.complete.operation, "info");
    ck_assert_uint_eq(m.payload.complete.count, 3);
    ck_assert(m.payload.complete.success);
    ck_assert(pupa_msg_complete(&m, "read", 0, false));
    ck_assert(!m.payload.complete.success);

    /* fields the helper does not take are zero, not left over */
    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_info_result(&m, "qcow2", 1ull << 40, 65536, PUPA_INFO_F_DIRTY));
    ck_assert_int_eq(m.level, pupa_Level_INFO);
    ck_assert_uint_eq(m.which_payload, pupa_GuestMessage_info_result_tag);
    const pupa_InfoResultMessage *i = &m.payload.info_result;
    ck_assert_str_eq(i->format, "qcow2");
    ck_assert_uint_eq(i->virtual_size, 1ull << 40);
    ck_assert_uint_eq(i->cluster_size, 65536);
    ck_assert_uint_eq(i->flags, PUPA_INFO_F_DIRTY);
    ck_assert_uint_eq(i->version, 0);
    ck_assert_uint_eq(i->actual_size, 0);
    ck_assert_str_eq(i->backing_file, "");
    ck_assert_str_eq(i->external_data_file, "");
    ck_assert_str_eq(i->device, "");
    ck_assert_str_eq(i->backing_format, "");
    ck_assert_str_eq(i->specific_type, "");
    ck_assert_uint_eq(i->snapshot_count + i->node_count + i->finding_count, 0);

    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_digest(&m, "vda", sha, 1234));
    ck_assert_int_eq(m.level, pupa_Level_INFO);
    ck_assert_uint_eq(m.which_payload, pupa_GuestMessage_digest_tag);
    ck_assert_str_eq(m.payload.digest.device, "vda");
    ck_assert_uint_eq(m.payload.digest.sha256.size, 32);
    ck_assert_mem_eq(m.payload.digest.sha256.bytes, sha, 32);
    ck_assert_uint_eq(m.payload.digest.bytes, 1234);

    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_finding(&m, "backing-file", "escapes"));
    ck_assert_int_eq(m.level, pupa_Level_INFO);
    ck_assert_uint_eq(m.which_payload, pupa_GuestMessage_finding_tag);
    ck_assert_str_eq(m.payload.finding.check, "backing-file");
    ck_assert_str_eq(m.payload.finding.detail, "escapes");
}
END_TEST

START_TEST(helpers_null_strings_are_empty)
{
    static pupa_GuestMessage m;
    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_init(&m, NULL, NULL, 1));
    ck_assert_str_eq(m.payload.init.stage, "");
    ck_assert_str_eq(m.payload.init.device, "");
    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_error(&m, NULL, NULL, 0, 0, NULL));
    ck_assert_str_eq(m.payload.error.operation, "");
    ck_assert_str_eq(m.payload.error.device, "");
    ck_assert_str_eq(m.payload.error.message, "");
    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_progress(&m, NULL, NULL, 0, 0));
    ck_assert_str_eq(m.payload.progress.operation, "");
    memset(&m, GARBAGE, sizeof(m));
    ck_assert(pupa_msg_finding(&m, NULL, NULL));
    ck_assert_str_eq(m.payload.finding.check, "");
    ck_assert_str_eq(m.payload.finding.detail, "");
    ck_assert(pupa_msg_capacity(&m, NULL, 0, 0));
    ck_assert(pupa_msg_complete(&m, NULL, 0, false));
    ck_assert(pupa_msg_info_result(&m, NULL, 0, 0, 0));
    ck_assert_str_eq(m.payload.info_result.format, "");
}
END_TEST

/* Exactly the field size fits; one more character is cut, the result says
 * so, the string stays terminated and the numbers beside it are intact. */
START_TEST(helpers_truncate_safely)
{
    static pupa_GuestMessage m;
    char *s4096 = repeat('p', 4096), *s4097 = repeat('q', 4097), *s5000 = repeat('r', 5000);

    ck_assert(pupa_msg_init(&m, S32, S32, 9));
    ck_assert_str_eq(m.payload.init.stage, S32);
    ck_assert(!pupa_msg_init(&m, S32 "x", "vda", 9));
    ck_assert_str_eq(m.payload.init.stage, S32);
    ck_assert_str_eq(m.payload.init.device, "vda"); /* the other field is still set */
    ck_assert_uint_eq(m.payload.init.address, 9);
    ck_assert(!pupa_msg_init(&m, "boot", S32 "x", 9));
    ck_assert_str_eq(m.payload.init.stage, "boot");
    ck_assert_str_eq(m.payload.init.device, S32);

    ck_assert(!pupa_msg_capacity(&m, S32 "yy", 11, 12));
    ck_assert_str_eq(m.payload.capacity.device, S32);
    ck_assert_uint_eq(m.payload.capacity.sectors, 11);
    ck_assert_uint_eq(m.payload.capacity.bytes, 12);

    ck_assert(!pupa_msg_progress(&m, S32 "z", "vda", 1, 2));
    ck_assert_str_eq(m.payload.progress.operation, S32);
    ck_assert_str_eq(m.payload.progress.device, "vda");
    ck_assert_uint_eq(m.payload.progress.current, 1);
    ck_assert(!pupa_msg_progress(&m, "read", S32 "z", 1, 2));
    ck_assert_str_eq(m.payload.progress.device, S32);

    ck_assert(pupa_msg_error(&m, S32, S32, 1, 2, s4096));
    ck_assert_str_eq(m.payload.error.message, s4096);
    ck_assert(!pupa_msg_error(&m, "read", "vda", 1, 2, s4097));
    ck_assert_uint_eq(strlen(m.payload.error.message), 4096);
    ck_assert_uint_eq(m.payload.error.message[4096], '\0');
    ck_assert_str_eq(m.payload.error.operation, "read");
    ck_assert_str_eq(m.payload.error.device, "vda");
    ck_assert_uint_eq(m.payload.error.sector, 1);
    ck_assert_uint_eq(m.payload.error.status, 2);
    ck_assert(!pupa_msg_error(&m, S32 "!", "vda", 1, 2, "msg"));
    ck_assert_str_eq(m.payload.error.message, "msg");
    ck_assert(!pupa_msg_error(&m, "read", S32 "!", 1, 2, "msg"));
    ck_assert_str_eq(m.payload.error.device, S32);

    ck_assert(!pupa_msg_complete(&m, S32 "a", 5, true));
    ck_assert_str_eq(m.payload.complete.operation, S32);
    ck_assert_uint_eq(m.payload.complete.count, 5);
    ck_assert(m.payload.complete.success);

    ck_assert(!pupa_msg_info_result(&m, S32 "b", 7, 8, 9));
    ck_assert_str_eq(m.payload.info_result.format, S32);
    ck_assert_uint_eq(m.payload.info_result.version, 0); /* right after format: untouched */
    ck_assert_uint_eq(m.payload.info_result.virtual_size, 7);

    static const uint8_t sha[32] = {0};
    ck_assert(!pupa_msg_digest(&m, S32 "c", sha, 3));
    ck_assert_str_eq(m.payload.digest.device, S32);
    ck_assert_uint_eq(m.payload.digest.sha256.size, 32);
    ck_assert_uint_eq(m.payload.digest.bytes, 3);

    ck_assert(pupa_msg_finding(&m, S32, s4096));
    ck_assert(!pupa_msg_finding(&m, "check", s5000));
    ck_assert_str_eq(m.payload.finding.check, "check");
    ck_assert_uint_eq(strlen(m.payload.finding.detail), 4096);
    ck_assert(!pupa_msg_finding(&m, S32 "d", "detail"));
    ck_assert_str_eq(m.payload.finding.check, S32);
    ck_assert_str_eq(m.payload.finding.detail, "detail");

    /* a truncated message is still a valid message */
    static uint8_t buf[PUPA_FRAME_MAX];
    size_t n = 0;
    ck_assert(!pupa_msg_error(&m, s5000, s5000, 1, 2, s5000));
    ck_assert_int_eq(pupa_frame_encode(pupa_GuestMessage_fields, &m, buf, sizeof(buf), &n),
                     PUPA_FRAME_OK);
    free(s4096);
    free(s4097);
    free(s5000);
}
END_TEST

START_TEST(strlcpy_edges)
{
    char dst[8];

    memset(dst, 'X', sizeof(dst));
    ck_assert(pupa_strlcpy(dst, "", 0)); /* nothing to copy, nothing written */
    ck_assert(pupa_strlcpy(dst, NULL, 0));
    ck_assert(!pupa_strlcpy(dst, "a", 0)); /* cut to nothing */
    ck_assert_mem_eq(dst, "XXXXXXXX", 8);

    ck_assert(!pupa_strlcpy(dst, "a", 1));
    ck_assert_str_eq(dst, "");
    ck_assert(pupa_strlcpy(dst, NULL, sizeof(dst)));
    ck_assert_str_eq(dst, "");
    ck_assert(pupa_strlcpy(dst, "1234567", sizeof(dst))); /* exactly fits */
    ck_assert_str_eq(dst, "1234567");
    memset(dst, 'X', sizeof(dst));
    ck_assert(!pupa_strlcpy(dst, "12345678", sizeof(dst)));
    ck_assert_str_eq(dst, "1234567");
    ck_assert(!pupa_strlcpy(dst, "123456789abcdef", sizeof(dst)));
    ck_assert_str_eq(dst, "1234567");

    /* PUPA_STRLCPY uses the array size */
    char small[4];
    ck_assert(!PUPA_STRLCPY(small, "abcd"));
    ck_assert_str_eq(small, "abc");
}
END_TEST

/* ------------------------------------------------------------ percent */

/* floor(current * 100 / total) computed exactly in 128 bits */
static uint32_t percent_exact(uint64_t c, uint64_t t)
{
    if (t == 0 || c >= t)
        return 100;
    return (uint32_t)((unsigned __int128)c * 100 / t);
}

START_TEST(percent_edges)
{
    ck_assert_uint_eq(pupa_percent(0, 0), 100); /* total 0 counts as done */
    ck_assert_uint_eq(pupa_percent(5, 0), 100);
    ck_assert_uint_eq(pupa_percent(UINT64_MAX, 0), 100);
    ck_assert_uint_eq(pupa_percent(0, 10), 0);
    ck_assert_uint_eq(pupa_percent(1, 3), 33);
    ck_assert_uint_eq(pupa_percent(2, 3), 66);
    ck_assert_uint_eq(pupa_percent(99, 100), 99);
    ck_assert_uint_eq(pupa_percent(10, 10), 100);
    ck_assert_uint_eq(pupa_percent(11, 10), 100); /* over the total: done */
    ck_assert_uint_eq(pupa_percent(0, UINT64_MAX), 0);
    ck_assert_uint_eq(pupa_percent(1, UINT64_MAX), 0);
    ck_assert_uint_eq(pupa_percent(UINT64_MAX, UINT64_MAX), 100);
    ck_assert_uint_eq(pupa_percent(UINT64_MAX - 1, UINT64_MAX), 99); /* never 100 before the end */
    ck_assert_uint_eq(pupa_percent(UINT64_MAX / 100, UINT64_MAX),
                      0); /* 0.99...%: the product still fits */
    ck_assert_uint_eq(pupa_percent(UINT64_MAX / 100, UINT64_MAX / 50 + 1),
                      49); /* largest product that fits */
    /* products that overflow 64 bits */
    ck_assert_uint_eq(pupa_percent(1ull << 62, 1ull << 63), 50);
    ck_assert_uint_eq(pupa_percent(3ull << 61, 1ull << 63), 75);
    ck_assert_uint_eq(pupa_percent((1ull << 63) - 1, 1ull << 63), 99);
}
END_TEST

/* Against an exact 128-bit computation: always 0..100, 100 only at or past
 * the total, exact while current * 100 fits 64 bits, and at most one point
 * above the exact floor when it does not (the library divides first there). */
START_TEST(percent_matches_exact)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t t = x >> (x & 63), c;
        uint64_t y = x * 0x2545f4914f6cdd1dull;
        switch (i % 4) {
        case 0:
            c = t ? y % t : y;
            break; /* below the total */
        case 1:
            c = t - (y & 0xff);
            break; /* near the total (may wrap: past it) */
        case 2:
            c = y >> (y & 63);
            break; /* anything */
        default:
            c = t / 100 * (y % 101);
            break; /* near whole percents */
        }
        uint32_t got = pupa_percent(c, t), want = percent_exact(c, t);
        ck_assert_uint_le(got, 100);
        if (c < t)
            ck_assert_msg(got <= 99, "percent(%llu, %llu) = %u before the end",
                          (unsigned long long)c, (unsigned long long)t, got);
        if (c <= UINT64_MAX / 100)
            ck_assert_msg(got == want, "percent(%llu, %llu) = %u, exact %u", (unsigned long long)c,
                          (unsigned long long)t, got, want);
        else
            ck_assert_msg(got == want || got == want + 1, "percent(%llu, %llu) = %u, exact %u",
                          (unsigned long long)c, (unsigned long long)t, got, want);
    }
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(pupa_level_name(pupa_Level_DEBUG), "DEBUG");
    ck_assert_str_eq(pupa_level_name(pupa_Level_INFO), "INFO");
    ck_assert_str_eq(pupa_level_name(pupa_Level_PROGRESS), "PROGRESS");
    ck_assert_str_eq(pupa_level_name(pupa_Level_ERROR), "ERROR");
    ck_assert_str_eq(pupa_level_name(pupa_Level_COMPLETE), "COMPLETE");
    ck_assert_ptr_null(pupa_level_name((pupa_Level)5));
    ck_assert_ptr_null(pupa_level_name((pupa_Level)-1));
    ck_assert_str_eq(pupa_node_kind_name(pupa_NodeKind_NODE_STRING), "NODE_STRING");
    ck_assert_str_eq(pupa_node_kind_name(pupa_NodeKind_NODE_END), "NODE_END");
    ck_assert_ptr_null(pupa_node_kind_name((pupa_NodeKind)7));
    ck_assert_ptr_null(pupa_node_kind_name((pupa_NodeKind)-3));

    static const pupa_frame_status all[] = {PUPA_FRAME_OK,       PUPA_FRAME_NEED_MORE,
                                            PUPA_FRAME_TOO_LONG, PUPA_FRAME_BAD_PAYLOAD,
                                            PUPA_FRAME_NO_SPACE, PUPA_FRAME_ENCODE_FAILED};
    const char *unknown = pupa_frame_status_str((pupa_frame_status)42);
    ck_assert_str_eq(unknown, "unknown frame status");
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        const char *s = pupa_frame_status_str(all[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, unknown);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(s, pupa_frame_status_str(all[j]));
    }
    ck_assert_str_eq(pupa_frame_status_str(PUPA_FRAME_TOO_LONG), "length prefix over the limit");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("protocol_roundtrip");

    TCase *tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, guest_roundtrip, 0, SK_COUNT * SV_COUNT);
    tcase_add_test(tc, guest_empty_is_zero_length_frame);
    tcase_add_test(tc, guest_max_info_result_hits_the_bound);
    tcase_add_test(tc, max_strings_fill_guest_options_sizes);
    tcase_add_loop_test(tc, config_roundtrip, 0, SAMPLE_NDEV_COUNT * SV_COUNT);
    suite_add_tcase(s, tc);

    tc = tcase_create("helpers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, helpers_set_level_and_payload);
    tcase_add_test(tc, helpers_null_strings_are_empty);
    tcase_add_test(tc, helpers_truncate_safely);
    tcase_add_test(tc, strlcpy_edges);
    tcase_add_test(tc, percent_edges);
    tcase_add_test(tc, percent_matches_exact);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);

    return test_run_suite(s);
}
