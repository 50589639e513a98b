/* test_fmt_raw.c: the raw driver and probing fallbacks. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

START_TEST(raw_rounds_up_to_sectors)
{
    static uint8_t data[1000];
    struct mem_image m = {data, sizeof(data)};
    struct fmt_io io = mem_image_io(&m, "x.img");
    char *human, *json, *err;
    ck_assert_int_eq(test_info(&io, NULL, &human, &json, &err), 0);
    ck_assert_str_eq(human, "image: x.img\nfile format: raw\n"
                            "virtual size: 1 KiB (1024 bytes)\ndisk size: 0 B\nsafety: safe\n");
    ck_assert_ptr_nonnull(strstr(json, "\"virtual-size\": 1024,"));
    free(human);
    free(json);
}
END_TEST

START_TEST(empty_image_is_raw)
{
    struct mem_image m = {NULL, 0};
    struct fmt_io io = mem_image_io(&m, "empty");
    char *human, *json, *err;
    ck_assert_int_eq(test_info(&io, NULL, &human, &json, &err), 0);
    ck_assert_ptr_nonnull(strstr(human, "file format: raw\nvirtual size: 0 B (0 bytes)\n"));
    free(human);
    free(json);
}
END_TEST

START_TEST(unknown_forced_format_fails)
{
    static uint8_t data[512];
    struct mem_image m = {data, sizeof(data)};
    struct fmt_io io = mem_image_io(&m, "x.img");
    char *human, *json, *err;
    ck_assert_int_eq(test_info(&io, "nosuchformat", &human, &json, &err), -1);
    ck_assert_str_eq(err, "Unknown driver 'nosuchformat'");
    free(err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fmt_raw");
    TCase *tc = tcase_create("raw");
    tcase_add_test(tc, raw_rounds_up_to_sectors);
    tcase_add_test(tc, empty_image_is_raw);
    tcase_add_test(tc, unknown_forced_format_fails);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
