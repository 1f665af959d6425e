/* test/check_version.c - lust_version() through liblust.so, as a daemon links it. */
#include "lust_test.h"

#include <string.h>

#include <lust.h>

START_TEST(loaded_library_matches_the_headers)
{
    ck_assert_str_eq(lust_version(), LUST_VERSION_STRING);
}
END_TEST

START_TEST(error_is_empty_in_a_fresh_process)
{
    ck_assert_str_eq(lust_error(), "");
}
END_TEST

static Suite *version_suite(void)
{
    Suite *s = suite_create("version");
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, loaded_library_matches_the_headers);
    tcase_add_test(tc, error_is_empty_in_a_fresh_process);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(version_suite)
