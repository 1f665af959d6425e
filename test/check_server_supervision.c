/*
 * test/check_server_supervision.c - a server under a supervisor: sd_notify (ready, stopping,
 * MAINPID, the watchdog), the foreground mode and the s6-style readiness descriptor
 * (test/server_harness.h).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "server_harness.h"

START_TEST(notify_socket_gets_ready_once_the_foreground_server_serves)
{
    char buf[64];
    struct result r;
    struct fg fg;
    int port = thread_conf("HI!");
    fg_start(&fg, NULL);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    fg_term(&fg, &r);
}
END_TEST

START_TEST(notify_socket_gets_stopping_when_the_foreground_server_is_told_to_stop)
{
    struct result r;
    struct fg fg;
    thread_conf("HI!");
    fg_start(&fg, NULL);
    ck_assert_int_eq(kill(fg.pid, SIGTERM), 0);
    expect_notify(fg.notify, "STOPPING=1");
    fg_end(&fg, &r);
}
END_TEST

START_TEST(notify_socket_gets_mainpid_and_ready_when_forking)
{
    char sock[256], env[300], want[64];
    struct result r;

    int fd = notify_socket(sock, sizeof sock);
    thread_conf("HI!");
    snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", sock);
    struct how how = {.env = {env}, .fd3 = -1};
    ck_assert_int_eq(run_how(&r, &how, thread_server, "thread_server", "start", (char *)NULL), 0);
    pid_t pid = pid_in(r.out);
    ck_assert_int_gt(pid, 0);
    snprintf(want, sizeof want, "MAINPID=%ld", (long)pid);
    expect_notify2(fd, want, "READY=1");
    stop(thread_server, "thread_server", pid);
    close(fd);
}
END_TEST

/* thread_server -f --ready-fd 3, from a config with no pidfile key, told ready on the pipe. */
struct ready_fd_server {
    pid_t pid;
    int out, err;
    int port;
    int default_pidfile_existed; /* /run/thread_server.pid, before it started */
};

static void ready_fd_start(struct ready_fd_server *s)
{
    char buf[64], text[512];
    int ready[2];
    s->port = free_port();
    s->default_pidfile_existed = access("/run/thread_server.pid", F_OK) == 0;
    /* No pidfile key: the foreground writes none (not even the default /run one). Its control
     * socket stays in the test's directory (check_server_supervised tests the default one). */
    int n = snprintf(text, sizeof text,
                     "jail = \"%s\"\nlisten = {\"127.0.0.1:%d\"}\ncontrol_socket = \"%s\"\n", jail,
                     s->port, at("thread_server", "ctl"));
    write_file(at("thread_server", "conf"), text, (size_t)n, 0644);
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    struct how how = {.fd3 = ready[1]};
    char *argv[] = {(char *)thread_server,
                    "-c",
                    (char *)at("thread_server", "conf"),
                    "-f",
                    "--ready-fd",
                    "3",
                    "start",
                    NULL};
    s->pid = spawn(argv, &how, &s->out, &s->err);
    close(ready[1]);

    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 10000), 1);
    ck_assert_int_eq(read(ready[0], buf, sizeof buf), 1);
    ck_assert_int_eq(buf[0], '\n');
    close(ready[0]);
}

static void ready_fd_stop(struct ready_fd_server *s, struct result *r)
{
    ck_assert_int_eq(kill(s->pid, SIGTERM), 0);
    collect(s->pid, s->out, s->err, r);
}

START_TEST(foreground_tells_the_ready_fd_and_the_process_started_is_the_server)
{
    char buf[64], v[64], status[64];
    struct result r;
    struct ready_fd_server s;
    ready_fd_start(&s);
    snprintf(status, sizeof status, "/proc/%ld/status", (long)s.pid);
    ck_assert_str_eq(status_field(status, "Uid", v, sizeof v), "65534\t65534\t65534\t65534");
    ck_assert_str_eq(greet(s.port, buf, sizeof buf), "HI!\n");
    ready_fd_stop(&s, &r);
}
END_TEST

START_TEST(foreground_logs_to_stderr_and_exits_0_on_term)
{
    char want[64];
    struct result r;
    struct ready_fd_server s;
    ready_fd_start(&s);
    ready_fd_stop(&s, &r);
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    snprintf(want, sizeof want, "started (pid %ld)", (long)s.pid);
    ck_assert_msg(strstr(r.err, want), "stderr: %s", r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "exiting with status 0"));
}
END_TEST

START_TEST(foreground_without_a_pidfile_key_writes_no_pid_file)
{
    struct result r;
    struct stat st;
    struct ready_fd_server s;
    ready_fd_start(&s);
    ready_fd_stop(&s, &r);
    /* Nothing written: no pid file, in the test's directory or the default. */
    ck_assert_int_eq(stat(at("thread_server", "pid"), &st), -1);
    ck_assert_int_eq(access("/run/thread_server.pid", F_OK) == 0, s.default_pidfile_existed);
}
END_TEST

START_TEST(watchdog_pings_keep_coming_from_the_jailed_foreground_server)
{
    struct result r;
    struct fg fg;
    thread_conf("HI!");
    /* 100 ms: a ping every 50 ms, sent by the framework's thread, after the jail and drop. */
    fg_start(&fg, "WATCHDOG_USEC=100000");
    for (int i = 0; i < 3; i++)
        expect_notify(fg.notify, "WATCHDOG=1");
    fg_term(&fg, &r);
}
END_TEST

START_TEST(foreground_writes_the_pid_file_the_config_names)
{
    struct result r;
    struct fg fg;
    thread_conf("HI!");
    fg_start(&fg, NULL);
    ck_assert_int_eq(holder("thread_server"), fg.pid);
    /* stop works on a foreground server through its pid file, too. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "stop"), 0);
    fg_end(&fg, &r);
}
END_TEST

/*
 * thread_server -f under $NOTIFY_SOCKET with JOURNAL_STREAM naming its stderr (the harness's
 * pipe), as journald names the stream it connects to a service's stderr: the shell puts the
 * pipe's device and inode in the variable, then becomes the server.
 */
static void journal_fg_start(struct fg *fg)
{
    char sock[256], env[300];
    fg->notify = notify_socket(sock, sizeof sock);
    snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", sock);
    struct how how = {.env = {env}, .fd3 = -1};
    char *argv[] = {"/bin/sh",
                    "-c",
                    "JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec \"$0\" -c \"$1\" -f "
                    "start",
                    (char *)thread_server,
                    (char *)at("thread_server", "conf"),
                    NULL};
    fg->pid = spawn(argv, &how, &fg->out, &fg->err);
    expect_notify(fg->notify, "READY=1");
}

/* The server's "started" and "exiting" lines in text, each checked with line_ok. */
static void expect_start_and_exit_lines(const char *text, int (*line_ok)(const char *))
{
    for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        ck_assert_msg(line_ok(p), "line: %.*s", (int)strcspn(p, "\n"), p);
    ck_assert_msg(strstr(text, "NOTICE thread_server") && strstr(text, "exiting with status 0"),
                  "stderr: %s", text);
}

/* "<N>LEVEL message": journald's priority, then no time. */
static int journal_line_unstamped(const char *line)
{
    return line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>' && line[3] >= 'A' &&
           line[3] <= 'Z';
}

/* "LEVEL message": neither a priority nor a time. */
static int plain_line_unstamped(const char *line)
{
    return line[0] >= 'A' && line[0] <= 'Z';
}

START_TEST(under_journald_foreground_lines_leave_the_time_to_the_journal)
{
    struct result r;
    struct fg fg;
    thread_conf("HI!");
    journal_fg_start(&fg);
    fg_term(&fg, &r);
    expect_start_and_exit_lines(r.err, journal_line_unstamped);
}
END_TEST

START_TEST(log_timestamps_yes_keeps_the_time_under_journald)
{
    struct result r;
    struct fg fg;
    thread_conf_lines("log_timestamps = yes\n");
    journal_fg_start(&fg);
    fg_term(&fg, &r);
    ck_assert_msg(r.err[0] == '<', "stderr: %s", r.err);
    expect_start_and_exit_lines(r.err, log_line_ok);
}
END_TEST

START_TEST(log_timestamps_no_leaves_the_time_to_svlogd_or_s6_log)
{
    struct result r;
    struct fg fg;
    thread_conf_lines("log_timestamps = no\n");
    fg_start(&fg, NULL);
    fg_term(&fg, &r);
    expect_start_and_exit_lines(r.err, plain_line_unstamped);
}
END_TEST

START_TEST(a_reload_applies_log_timestamps)
{
    struct result r;
    struct fg fg;
    int port = thread_conf_lines("log_timestamps = yes\n");
    fg_start(&fg, NULL);
    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\nlog_timestamps = no\n", port);
    ck_assert_int_eq(kill(fg.pid, SIGHUP), 0);
    expect_notify(fg.notify, "RELOADING=1");
    expect_notify(fg.notify, "READY=1");
    fg_term(&fg, &r);
    /* Stamped up to the reload, not after it. */
    ck_assert_msg(log_line_ok(r.err), "stderr: %s", r.err);
    ck_assert_msg(find_line(r.err, "NOTICE SIGHUP: reloaded") &&
                      find_line(r.err, "NOTICE thread_server exiting with status 0"),
                  "stderr: %s", r.err);
}
END_TEST

static Suite *server_supervision_suite(void)
{
    Suite *s = suite_create("server_supervision");
    TCase *tc = server_tcase("sd_notify", 30);
    tcase_add_test(tc, notify_socket_gets_ready_once_the_foreground_server_serves);
    tcase_add_test(tc, notify_socket_gets_stopping_when_the_foreground_server_is_told_to_stop);
    tcase_add_test(tc, notify_socket_gets_mainpid_and_ready_when_forking);
    tcase_add_test(tc, watchdog_pings_keep_coming_from_the_jailed_foreground_server);
    suite_add_tcase(s, tc);

    tc = server_tcase("foreground", 30);
    tcase_add_test(tc, foreground_tells_the_ready_fd_and_the_process_started_is_the_server);
    tcase_add_test(tc, foreground_logs_to_stderr_and_exits_0_on_term);
    tcase_add_test(tc, foreground_without_a_pidfile_key_writes_no_pid_file);
    tcase_add_test(tc, foreground_writes_the_pid_file_the_config_names);
    tcase_add_test(tc, under_journald_foreground_lines_leave_the_time_to_the_journal);
    tcase_add_test(tc, log_timestamps_yes_keeps_the_time_under_journald);
    tcase_add_test(tc, log_timestamps_no_leaves_the_time_to_svlogd_or_s6_log);
    tcase_add_test(tc, a_reload_applies_log_timestamps);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(server_supervision_suite)
