/* test/check_error.c - lust_error() and lust_version(): the foundation's own module. */
#include "lust_test.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <lust.h>

#include "internal.h"

START_TEST(error_is_empty_before_any_failure)
{
    ck_assert_str_eq(lust_error(), "");
}
END_TEST

START_TEST(fail_returns_negative_errno_and_names_the_object)
{
    int r = lust__fail(ENOENT, "chroot %s", "/run/web");
    ck_assert_int_eq(r, -ENOENT);
    ck_assert_str_eq(lust_error(), "chroot /run/web: No such file or directory");
}
END_TEST

START_TEST(fail_accepts_a_negative_errno)
{
    ck_assert_int_eq(lust__fail(-EACCES, "open %s", "x"), -EACCES);
    ck_assert_str_eq(lust_error(), "open x: Permission denied");
}
END_TEST

START_TEST(fail_plain_keeps_the_sentence_as_given)
{
    ck_assert_int_eq(lust__fail_plain(ENOENT, "user \"%s\" not found", "nobdy"), -ENOENT);
    ck_assert_str_eq(lust_error(), "user \"nobdy\" not found");
}
END_TEST

START_TEST(fail_leaves_errno_alone)
{
    errno = EXDEV;
    lust__fail(ENOENT, "x");
    ck_assert_int_eq(errno, EXDEV);
    (void)lust_error();
    ck_assert_int_eq(errno, EXDEV);
}
END_TEST

START_TEST(an_overlong_sentence_is_cut_not_overflowed)
{
    char big[4096];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    lust__fail(EIO, "%s", big);
    size_t n = strlen(lust_error());
    ck_assert_uint_gt(n, 512);
    ck_assert_uint_lt(n, sizeof big);
}
END_TEST

START_TEST(clear_forgets_the_sentence)
{
    lust__fail(ENOENT, "x");
    lust__error_clear();
    ck_assert_str_eq(lust_error(), "");
}
END_TEST

static void *fail_in_thread(void *arg)
{
    (void)arg;
    lust__fail(EPERM, "thread sentence");
    return strdup(lust_error());
}

START_TEST(each_thread_has_its_own_sentence)
{
    lust__fail(ENOENT, "main sentence");
    pthread_t t;
    void *theirs;
    ck_assert_int_eq(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &theirs), 0);
    ck_assert_str_eq(theirs, "thread sentence: Operation not permitted");
    ck_assert_str_eq(lust_error(), "main sentence: No such file or directory");
    free(theirs);
}
END_TEST

START_TEST(version_fields_agree)
{
    ck_assert_str_eq(lust_version(), LUST_VERSION_STRING);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LUST_VERSION_MAJOR, LUST_VERSION_MINOR,
             LUST_VERSION_PATCH);
    ck_assert_str_eq(lust_version(), want);
    ck_assert_int_eq(LUST_VERSION_HEX >> 16, LUST_VERSION_MAJOR);
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("error");
    tcase_add_test(tc, error_is_empty_before_any_failure);
    tcase_add_test(tc, fail_returns_negative_errno_and_names_the_object);
    tcase_add_test(tc, fail_accepts_a_negative_errno);
    tcase_add_test(tc, fail_plain_keeps_the_sentence_as_given);
    tcase_add_test(tc, fail_leaves_errno_alone);
    tcase_add_test(tc, an_overlong_sentence_is_cut_not_overflowed);
    tcase_add_test(tc, clear_forgets_the_sentence);
    tcase_add_test(tc, each_thread_has_its_own_sentence);
    tcase_add_test(tc, version_fields_agree);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(error_suite)
