/*
 * test/check_layout.c - what binaries built against an older header carry: the layout of each
 * public struct and the value of each public constant. A binary fills a struct at these
 * offsets and passes these numbers; the library must read them the same way in every 1.x
 * release. A struct may only grow at its end, in a release that adds its members here.
 */
#include <stddef.h>

#include <lust.h>

#include "lust_test.h"

static const size_t p = sizeof(void *);

/*
 * Read by the library at the caller's size (lust_server_main() passes sizeof): members 0 to 6
 * are liblust 1.0's, 7 to 9 came with 1.2.
 */
START_TEST(server_ops_layout_is_frozen)
{
    ck_assert_uint_eq(offsetof(struct lust_server_ops, options), 0 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, before_daemonize), 1 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, before_jail), 2 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, before_drop_privs), 3 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, run), 4 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, shutdown), 5 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, reload), 6 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, version), 7 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, usage), 8 * p);
    ck_assert_uint_eq(offsetof(struct lust_server_ops, restart_keys), 9 * p);
    ck_assert_uint_eq(sizeof(struct lust_server_ops), 10 * p);
}
END_TEST

/* Read by the library up to opts->size, which LUST_DAEMON_OPTS_INIT sets. */
START_TEST(daemon_opts_layout_and_initializer_are_frozen)
{
    ck_assert_uint_eq(offsetof(struct lust_daemon_opts, size), 0);
    ck_assert_uint_eq(offsetof(struct lust_daemon_opts, flags), 4);
    ck_assert_uint_eq(offsetof(struct lust_daemon_opts, umask), 8);
    ck_assert_uint_eq(offsetof(struct lust_daemon_opts, timeout_ms), 12);
    ck_assert_uint_eq(offsetof(struct lust_daemon_opts, keep_fds), 16);
    ck_assert_uint_eq(offsetof(struct lust_daemon_opts, keep_fds_len), 16 + p);
    ck_assert_uint_eq(sizeof(struct lust_daemon_opts), 16 + 2 * p);
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    ck_assert_uint_eq(o.size, sizeof o);
    ck_assert_uint_eq(o.flags, 0);
    ck_assert_int_eq(o.umask, -1);
    ck_assert_int_eq(o.timeout_ms, 0);
    ck_assert_ptr_null(o.keep_fds);
    ck_assert_uint_eq(o.keep_fds_len, 0);
}
END_TEST

START_TEST(constants_binaries_pass_are_frozen)
{
    ck_assert_int_eq(LUST_LOG_DEBUG, 0);
    ck_assert_int_eq(LUST_LOG_INFO, 1);
    ck_assert_int_eq(LUST_LOG_NOTICE, 2);
    ck_assert_int_eq(LUST_LOG_WARNING, 3);
    ck_assert_int_eq(LUST_LOG_ERROR, 4);
    ck_assert_int_eq(LUST_LOG_TIMESTAMPS_NO, 0);
    ck_assert_int_eq(LUST_LOG_TIMESTAMPS_YES, 1);
    ck_assert_int_eq(LUST_LOG_TIMESTAMPS_AUTO, 2);
    ck_assert_uint_eq(LUST_DAEMON_KEEP_STDIO, 0x1u);
    ck_assert_uint_eq(LUST_DAEMON_ALLOW_CORE, 0x2u);
    ck_assert_int_eq(LUST_DAEMON_DEFAULT_TIMEOUT_MS, 90000);
    ck_assert_int_eq(LUST_DAEMON_DEFAULT_UMASK, 027);
    ck_assert_uint_eq(LUST_PRIVS_USER_GROUPS, 0x1u);
    ck_assert_uint_eq(LUST_PRIVS_KEEP_NET_BIND_SERVICE, 0x1u);
    ck_assert_int_eq(LUST_NOTIFY_UNSET_ENV, 1);
    ck_assert_int_eq(LUST_LISTEN_FDS_START, 3);
    ck_assert_int_eq(LUST_CONFIG_TIMEOUT_MAX, 2147483);
}
END_TEST

/* Returned by the library and compared by binaries. */
START_TEST(enum_values_binaries_compare_are_frozen)
{
    ck_assert_int_eq(LUST_PIDFILE_NONE, 0);
    ck_assert_int_eq(LUST_PIDFILE_RUNNING, 1);
    ck_assert_int_eq(LUST_PIDFILE_RUNNING_UNKNOWN, 2);
    ck_assert_int_eq(LUST_PIDFILE_FOREIGN, 3);
    ck_assert_int_eq(LUST_PIDFILE_STALE, 4);
    ck_assert_int_eq(LUST_PIDFILE_EMPTY, 5);
    ck_assert_int_eq(LUST_PIDFILE_NOT_RUNNING, 0);
    ck_assert_int_eq(LUST_PIDFILE_STOPPED, 1);
    ck_assert_int_eq(LUST_PIDFILE_KILLED, 2);
}
END_TEST

static Suite *layout_suite(void)
{
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("layout");
    tcase_add_test(tc, server_ops_layout_is_frozen);
    tcase_add_test(tc, daemon_opts_layout_and_initializer_are_frozen);
    tcase_add_test(tc, constants_binaries_pass_are_frozen);
    tcase_add_test(tc, enum_values_binaries_compare_are_frozen);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(layout_suite)
