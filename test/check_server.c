/*
 * test/check_server.c - the server framework's tests that need no root: the frozen v1 layout
 * of struct lust_server_ops. The daemons themselves are tested in check_server_root.c.
 */
#include <stddef.h>

#include <lust/server.h>

#include "lust_test.h"

/*
 * Binaries built against the v1 header pass their struct by its size; the library reads each
 * member at these offsets. Moving, resizing or reordering a member breaks every such binary.
 */
START_TEST(test_ops_v1_layout_is_frozen)
{
    const size_t p = sizeof(void *);

    ck_assert_uint_eq(offsetof(struct lust_server_ops, options), 0 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, before_daemonize), 1 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, before_jail), 2 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, before_drop_privs), 3 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, run), 4 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, shutdown), 5 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, reload), 6 * p);
    /* It may grow at its end, never shrink. */
    ck_assert_uint_ge(sizeof(struct lust_server_ops), 7 * p);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("abi");
    tcase_add_test(tc, test_ops_v1_layout_is_frozen);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(server_suite)
