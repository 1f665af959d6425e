/*
 * test/check_args.c - every exported function, given NULL where it takes a pointer (and a bad
 * descriptor where it takes one), answers as its header says, mostly -EINVAL with a sentence,
 * and never crashes. Check's fork mode runs each test in its own process, so a crash is
 * reported as that test's error. The last test holds this file to the export list: a new
 * export must be added here.
 */
#include "lust_test.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <lust.h>

/* Every export this file calls; compared with lib/liblust.map. */
static const char *const covered[] = {
    "lust_config_cfg",
    "lust_config_control",
    "lust_config_foreground",
    "lust_config_free",
    "lust_config_group",
    "lust_config_jail",
    "lust_config_load",
    "lust_config_load_fd",
    "lust_config_log_level",
    "lust_config_log_threshold",
    "lust_config_log_timestamps",
    "lust_config_logfile",
    "lust_config_name",
    "lust_config_notice",
    "lust_config_path",
    "lust_config_pidfile",
    "lust_config_release",
    "lust_config_start_timeout",
    "lust_config_stop_timeout",
    "lust_config_umask",
    "lust_config_user",
    "lust_creds_free",
    "lust_creds_gid",
    "lust_creds_groups",
    "lust_creds_uid",
    "lust_daemon_failed",
    "lust_daemon_ready",
    "lust_daemon_report_fd",
    "lust_daemonize",
    "lust_error",
    "lust_listen_fds",
    "lust_log",
    "lust_log_dropped",
    "lust_log_get_level",
    "lust_log_level_from_name",
    "lust_log_level_from_syslog",
    "lust_log_level_name",
    "lust_log_level_to_syslog",
    "lust_log_open",
    "lust_log_reopen",
    "lust_log_reopen_fd",
    "lust_log_set_level",
    "lust_log_set_timestamps",
    "lust_log_setup",
    "lust_log_setup_fd",
    "lust_log_v",
    "lust_notify_close",
    "lust_notify_fd",
    "lust_notify_mainpid",
    "lust_notify_open",
    "lust_notify_ready",
    "lust_notify_ready_fd",
    "lust_notify_reloading",
    "lust_notify_send",
    "lust_notify_sendf",
    "lust_notify_status",
    "lust_notify_stopping",
    "lust_notify_watchdog",
    "lust_notify_watchdog_usec",
    "lust_pidfile_fd",
    "lust_pidfile_lsb_status",
    "lust_pidfile_open",
    "lust_pidfile_pid",
    "lust_pidfile_query",
    "lust_pidfile_release",
    "lust_pidfile_remove",
    "lust_pidfile_stop",
    "lust_privs_drop",
    "lust_privs_jail_enter",
    "lust_privs_jail_open",
    "lust_privs_jail_scan",
    "lust_privs_lookup",
    "lust_privs_prepare",
    "lust_sandbox_allow_bind",
    "lust_sandbox_allow_connect",
    "lust_sandbox_apply",
    "lust_sandbox_free",
    "lust_sandbox_lock_privs",
    "lust_sandbox_mode_from_name",
    "lust_sandbox_new",
    "lust_sandbox_prepare",
    "lust_sandbox_promise",
    "lust_sandbox_report",
    "lust_sandbox_set_mode",
    "lust_sandbox_unveil",
    "lust_server_alive",
    "lust_server_alive_interval",
    "lust_server_config",
    "lust_server_config_hold",
    "lust_server_fail",
    "lust_server_fail_config",
    "lust_server_foreground",
    "lust_server_main_sized",
    "lust_server_main_versioned",
    "lust_server_name",
    "lust_server_stop_fd",
    "lust_server_status",
    "lust_server_stopping",
    "lust_version",
};

/* -EINVAL, with a sentence that names the function. */
#define EXPECT_EINVAL(call, fn)                                                                   \
    do {                                                                                          \
        ck_assert_int_eq((call), -EINVAL);                                                        \
        ck_assert_msg(strstr(lust_error(), fn) != NULL, "%s: sentence \"%s\"", fn, lust_error()); \
    } while (0)

#define EXPECT_NULL(call, fn)                                                                     \
    do {                                                                                          \
        ck_assert_ptr_null((call));                                                               \
        ck_assert_msg(strstr(lust_error(), fn) != NULL, "%s: sentence \"%s\"", fn, lust_error()); \
    } while (0)

START_TEST(config_functions_refuse_a_null_config_or_name)
{
    struct lust_config *c = NULL;
    ck_assert_int_eq(lust_config_load(NULL, NULL, NULL, &c), -EINVAL);
    ck_assert_int_eq(lust_config_load("web", NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(lust_config_load_fd(NULL, 0, NULL, NULL, &c), -EINVAL);
    ck_assert_int_eq(lust_config_load_fd("web", 0, NULL, NULL, NULL), -EINVAL);
    ck_assert_int_lt(lust_config_load_fd("web", -1, "/x.conf", NULL, &c), 0);
    ck_assert_ptr_null(c);
    lust_config_free(NULL);
    lust_config_release(NULL);
    EXPECT_NULL(lust_config_cfg(NULL), "lust_config_cfg");
    EXPECT_NULL(lust_config_name(NULL), "lust_config_name");
    EXPECT_NULL(lust_config_path(NULL), "lust_config_path");
    EXPECT_NULL(lust_config_notice(NULL), "lust_config_notice");
    EXPECT_NULL(lust_config_user(NULL), "lust_config_user");
    EXPECT_NULL(lust_config_group(NULL), "lust_config_group");
    EXPECT_NULL(lust_config_jail(NULL), "lust_config_jail");
    EXPECT_NULL(lust_config_pidfile(NULL), "lust_config_pidfile");
    EXPECT_NULL(lust_config_logfile(NULL), "lust_config_logfile");
    EXPECT_NULL(lust_config_control(NULL), "lust_config_control");
    EXPECT_EINVAL(lust_config_log_level(NULL), "lust_config_log_level");
    EXPECT_EINVAL(lust_config_log_threshold(NULL), "lust_config_log_threshold");
    EXPECT_EINVAL(lust_config_log_timestamps(NULL), "lust_config_log_timestamps");
    EXPECT_EINVAL(lust_config_start_timeout(NULL), "lust_config_start_timeout");
    EXPECT_EINVAL(lust_config_stop_timeout(NULL), "lust_config_stop_timeout");
    ck_assert_uint_eq(lust_config_umask(NULL), (mode_t)-1);
    ck_assert_ptr_nonnull(strstr(lust_error(), "lust_config_umask"));
    ck_assert(!lust_config_foreground(NULL));
    ck_assert_ptr_nonnull(strstr(lust_error(), "lust_config_foreground"));
}
END_TEST

START_TEST(privs_functions_refuse_null_handles_and_paths)
{
    struct lust_creds *c = NULL;
    int fd = -1;
    ck_assert_int_eq(lust_privs_lookup(NULL, NULL, 0, &c), -EINVAL);
    ck_assert_int_eq(lust_privs_lookup("root", NULL, 0, NULL), -EINVAL);
    lust_creds_free(NULL);
    ck_assert_uint_eq(lust_creds_uid(NULL), (unsigned)-1);
    ck_assert_uint_eq(lust_creds_gid(NULL), (unsigned)-1);
    EXPECT_EINVAL(lust_creds_groups(NULL, NULL, 0), "lust_creds_groups");
    ck_assert_int_eq(lust_privs_lookup("nobody", "nogroup", 0, &c), 0);
    EXPECT_EINVAL(lust_creds_groups(c, NULL, 4), "lust_creds_groups");
    lust_creds_free(c);
    ck_assert_int_eq(lust_privs_jail_open(NULL, &fd), -EINVAL);
    EXPECT_EINVAL(lust_privs_jail_open("/", NULL), "lust_privs_jail_open");
    EXPECT_EINVAL(lust_privs_jail_scan(NULL, 0, 0), "lust_privs_jail_scan");
    ck_assert_int_eq(lust_privs_jail_enter(-1), -EBADF);
    ck_assert_int_eq(lust_privs_drop(NULL, 0), -EINVAL);
    ck_assert_int_eq(lust_privs_prepare(), 0);
}
END_TEST

START_TEST(pidfile_functions_refuse_null_paths_and_accept_null_handles)
{
    struct lust_pidfile *pf = NULL;
    EXPECT_EINVAL(lust_pidfile_open(NULL, &pf, NULL), "lust_pidfile_open");
    EXPECT_EINVAL(lust_pidfile_open("/tmp/x.pid", NULL, NULL), "lust_pidfile_open");
    EXPECT_EINVAL(lust_pidfile_query(NULL, NULL), "lust_pidfile_query");
    EXPECT_EINVAL(lust_pidfile_remove(NULL), "lust_pidfile_remove");
    EXPECT_EINVAL(lust_pidfile_stop(NULL, 0, NULL), "lust_pidfile_stop");
    /* 1.0 answers for a NULL handle, kept: */
    ck_assert_int_eq(lust_pidfile_fd(NULL), -1);
    ck_assert_int_eq(lust_pidfile_pid(NULL), -1);
    ck_assert_int_eq(lust_pidfile_release(NULL), 0);
    ck_assert_int_eq(lust_pidfile_lsb_status(-EINVAL), 4);
}
END_TEST

START_TEST(daemon_functions_refuse_a_null_keep_list_and_format)
{
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.keep_fds_len = 2;
    ck_assert_int_eq(lust_daemonize(&o), -EINVAL);
    EXPECT_EINVAL(lust_daemon_failed(EIO, NULL), "lust_daemon_failed");
    ck_assert_int_eq(lust_daemon_report_fd(), -1);
    ck_assert_int_eq(lust_daemon_ready(), 0);
}
END_TEST

/* Called through pointers without the format attribute: the NULL format is the point. */
static void (*const log_fn)(int, const char *, ...) = lust_log;
static void (*const log_v_fn)(int, const char *, va_list) = lust_log_v;

static void log_v_null(int unused, ...)
{
    va_list ap;
    va_start(ap, unused);
    log_v_fn(LUST_LOG_ERROR, NULL, ap);
    va_end(ap);
}

START_TEST(log_functions_refuse_null_lists_and_write_nothing_for_a_null_format)
{
    int fd = dup(2);
    ck_assert_int_ge(fd, 0);
    EXPECT_EINVAL(lust_log_setup("/tmp/x.log", NULL, 3), "lust_log_setup");
    EXPECT_EINVAL(lust_log_setup_fd(fd, NULL, 3), "lust_log_setup_fd");
    close(fd);
    ck_assert_int_eq(lust_log_open(NULL), -EINVAL);
    ck_assert_int_eq(lust_log_reopen_fd(-1), -EBADF);
    ck_assert_int_eq(lust_log_reopen(), 0);
    ck_assert_int_eq(lust_log_level_from_name(NULL), -EINVAL);
    ck_assert_int_eq(lust_log_level_from_syslog(-3), -EINVAL);
    ck_assert_int_eq(lust_log_level_to_syslog(-3), -EINVAL);
    ck_assert_ptr_null(lust_log_level_name(-3));
    ck_assert_int_eq(lust_log_set_level(-3), -EINVAL);
    ck_assert_int_eq(lust_log_set_timestamps(-3), -EINVAL);
    ck_assert_int_eq(lust_log_get_level(), LUST_LOG_INFO);
    uint64_t dropped = lust_log_dropped();
    log_fn(LUST_LOG_ERROR, NULL);
    log_v_null(0);
    ck_assert_uint_eq(lust_log_dropped(), dropped);
}
END_TEST

START_TEST(notify_functions_take_null_as_no_manager_and_refuse_null_text)
{
    struct lust_notify *n = (struct lust_notify *)&n;
    ck_assert_int_eq(lust_notify_open(NULL, 0), -EINVAL);
    unsetenv("NOTIFY_SOCKET");
    ck_assert_int_eq(lust_notify_open(&n, 0), 0);
    ck_assert_ptr_null(n);
    /* A NULL handle is "no manager" (1.0): every call is a no-op returning 0. */
    lust_notify_close(NULL);
    ck_assert_int_eq(lust_notify_send(NULL, NULL), 0);
    ck_assert_int_eq(lust_notify_sendf(NULL, NULL), 0);
    ck_assert_int_eq(lust_notify_status(NULL, NULL), 0);
    ck_assert_int_eq(lust_notify_ready(NULL), 0);
    ck_assert_int_eq(lust_notify_reloading(NULL), 0);
    ck_assert_int_eq(lust_notify_stopping(NULL), 0);
    ck_assert_int_eq(lust_notify_mainpid(NULL, 1), 0);
    ck_assert_int_eq(lust_notify_watchdog(NULL), 0);
    ck_assert_uint_eq(lust_notify_watchdog_usec(NULL), 0);
    ck_assert_int_eq(lust_notify_fd(NULL), -1);
    ck_assert_int_eq(lust_notify_ready_fd(-1), -EBADF);
    ck_assert_int_ge(lust_listen_fds(0), 0);

    char sock[] = "/tmp/lust-args-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(sock));
    char path[64];
    snprintf(path, sizeof path, "%s/n", sock);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int manager = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(bind(manager, (struct sockaddr *)&sa, sizeof sa), 0);
    setenv("NOTIFY_SOCKET", path, 1);
    ck_assert_int_eq(lust_notify_open(&n, 0), 1);
    ck_assert_int_eq(lust_notify_send(n, NULL), -EINVAL);
    EXPECT_EINVAL(lust_notify_sendf(n, NULL), "lust_notify_sendf");
    EXPECT_EINVAL(lust_notify_status(n, NULL), "lust_notify_status");
    lust_notify_close(n);
    close(manager);
    unlink(path);
    rmdir(sock);
}
END_TEST

START_TEST(server_functions_refuse_a_null_handle_and_argv)
{
    static const struct lust_server_ops ops = {.run = NULL};
    char *argv[] = {"t", "status", NULL};
    EXPECT_NULL(lust_server_name(NULL), "lust_server_name");
    EXPECT_NULL(lust_server_config(NULL), "lust_server_config");
    EXPECT_NULL(lust_server_config_hold(NULL), "lust_server_config_hold");
    EXPECT_EINVAL(lust_server_alive_interval(NULL), "lust_server_alive_interval");
    EXPECT_EINVAL(lust_server_status(NULL, "x"), "lust_server_status");
    lust_server_alive(NULL); /* nothing to say from a signal handler: ignored */
    EXPECT_EINVAL(lust_server_stop_fd(NULL), "lust_server_stop_fd");
    EXPECT_EINVAL(lust_server_foreground(NULL), "lust_server_foreground");
    ck_assert_int_eq(lust_server_stopping(NULL), -EINVAL);
    EXPECT_EINVAL(lust_server_fail(NULL, EIO, NULL), "lust_server_fail");
    EXPECT_EINVAL(lust_server_fail_config(NULL, "x"), "lust_server_fail_config");
    /* lust_server_main returns exit statuses: 2 for bad usage, 1 for a bad callback struct. */
    ck_assert_int_eq(lust_server_main_sized(NULL, &ops, sizeof ops, NULL, 2, argv), 2);
    ck_assert_int_eq(lust_server_main_sized("t", NULL, sizeof ops, NULL, 2, argv), 1);
    ck_assert_int_eq(lust_server_main_sized("t", &ops, sizeof ops, NULL, 1, NULL), 2);
    ck_assert_int_eq(lust_server_main_sized("t", &ops, sizeof ops, NULL, 0, argv), 2);
    ck_assert_int_eq(
        lust_server_main_versioned(NULL, &ops, sizeof ops, LUST_VERSION_HEX, NULL, 2, argv), 2);
    ck_assert_int_eq(
        lust_server_main_versioned("t", NULL, sizeof ops, LUST_VERSION_HEX, NULL, 2, argv), 1);
    ck_assert_int_eq(
        lust_server_main_versioned("t", &ops, sizeof ops, LUST_VERSION_HEX, NULL, 1, NULL), 2);
}
END_TEST

static int is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/*
 * One rule for a descriptor passed in (lust/error.h): the caller's, unless taken, and taken on
 * success only; lust_notify_ready_fd() keeps its 1.0 exception, as its header says.
 */
START_TEST(descriptors_passed_in_are_taken_on_success_only)
{
    struct lust_config *c;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_eq(lust_config_load_fd("web", fd, "/x.conf", NULL, &c), 0);
    ck_assert(is_open(fd));
    lust_config_free(c);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_lt(lust_config_load_fd("web", dir, "/x.conf", NULL, &c), 0);
    ck_assert(is_open(dir));
    close(dir);

    int unchecked = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_eq(lust_privs_jail_enter(unchecked), -EBADF);
    ck_assert(is_open(unchecked));
    close(unchecked);

    int file = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ck_assert_int_eq(lust_notify_ready_fd(file), -ENOTSOCK);
    ck_assert(!is_open(file));
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(lust_notify_ready_fd(p[1]), 0);
    ck_assert(!is_open(p[1]));
    close(p[0]);

    int log = dup(fd);
    ck_assert_int_gt(log, 2);
    ck_assert_int_eq(lust_log_reopen_fd(log), 0);
    ck_assert(!is_open(log));
    close(fd);
}
END_TEST

START_TEST(sandbox_functions_refuse_a_null_handle)
{
    struct lust_sandbox *sb = NULL;
    ck_assert_int_eq(lust_sandbox_new(NULL), -EINVAL);
    lust_sandbox_free(NULL);
    ck_assert_int_eq(lust_sandbox_promise(NULL, "stdio"), -EINVAL);
    ck_assert_int_eq(lust_sandbox_unveil(NULL, "/", "r"), -EINVAL);
    ck_assert_int_eq(lust_sandbox_allow_bind(NULL, 80), -EINVAL);
    ck_assert_int_eq(lust_sandbox_allow_connect(NULL, 80), -EINVAL);
    ck_assert_int_eq(lust_sandbox_set_mode(NULL, LUST_SANDBOX_BEST), -EINVAL);
    ck_assert_int_eq(lust_sandbox_mode_from_name(NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_prepare(NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_lock_privs(NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_apply(NULL), -EINVAL);
    ck_assert_str_eq(lust_sandbox_report(NULL), "");
    ck_assert_int_eq(lust_sandbox_new(&sb), 0);
    ck_assert_int_eq(lust_sandbox_promise(sb, NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_unveil(sb, NULL, "r"), -EINVAL);
    ck_assert_int_eq(lust_sandbox_unveil(sb, "/", NULL), -EINVAL);
    lust_sandbox_free(sb);
}
END_TEST

START_TEST(error_and_version_need_no_argument)
{
    ck_assert_ptr_nonnull(lust_error());
    ck_assert_str_eq(lust_version(), LUST_VERSION_STRING);
}
END_TEST

/* Each name of lib/liblust.map is in covered[], so a new export gets its NULL test here. */
START_TEST(every_export_is_covered)
{
    FILE *f = fopen(LUST_MAP, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    int in_comment = 0, names = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128];
        if (strstr(line, "/*"))
            in_comment = 1;
        if (in_comment) {
            in_comment = strstr(line, "*/") == NULL;
            continue;
        }
        if (sscanf(line, " %127[a-z0-9_];", name) != 1 || strncmp(name, "lust_", 5) != 0)
            continue;
        names++;
        size_t i = 0;
        while (i < sizeof covered / sizeof covered[0] && strcmp(covered[i], name) != 0)
            i++;
        ck_assert_msg(i < sizeof covered / sizeof covered[0],
                      "%s is exported but check_args.c does not call it with NULLs", name);
    }
    fclose(f);
    ck_assert_int_eq(names, (int)(sizeof covered / sizeof covered[0]));
}
END_TEST

static Suite *args_suite(void)
{
    Suite *s = suite_create("args");
    TCase *tc = tcase_create("args");
    tcase_add_test(tc, config_functions_refuse_a_null_config_or_name);
    tcase_add_test(tc, privs_functions_refuse_null_handles_and_paths);
    tcase_add_test(tc, pidfile_functions_refuse_null_paths_and_accept_null_handles);
    tcase_add_test(tc, daemon_functions_refuse_a_null_keep_list_and_format);
    tcase_add_test(tc, log_functions_refuse_null_lists_and_write_nothing_for_a_null_format);
    tcase_add_test(tc, notify_functions_take_null_as_no_manager_and_refuse_null_text);
    tcase_add_test(tc, server_functions_refuse_a_null_handle_and_argv);
    tcase_add_test(tc, descriptors_passed_in_are_taken_on_success_only);
    tcase_add_test(tc, sandbox_functions_refuse_a_null_handle);
    tcase_add_test(tc, error_and_version_need_no_argument);
    tcase_add_test(tc, every_export_is_covered);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(args_suite)
