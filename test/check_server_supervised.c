/*
 * test/check_server_supervised.c - the framework under a process manager, as root, with
 * test/busy_server: the watchdog follows run(), run() and a failed start tell the manager
 * what is going on (STATUS=, ERRNO=), and a foreground server is found by its own commands.
 *
 * The manager is faked by a datagram socket given as $NOTIFY_SOCKET. Timing bounds are wide
 * (the sanitizer builds run slowly): each is several times what the rule under test allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_harness.h"

/* dir/busy.conf: no jail (so it is the same outside and in), and the lines given. */
TEST_PRINTF(1, 2)
static void busy_conf(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    int n = snprintf(text, sizeof text, "jail = none\n");
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    va_end(ap);
    char conf[256], tmp[300];
    snprintf(conf, sizeof conf, "%s", at("busy", "conf"));
    snprintf(tmp, sizeof tmp, "%s.new", conf);
    write_text(tmp, text);
    ck_assert_int_eq(rename(tmp, conf), 0);
}

/* A notify socket at dir/notify.sock, where an earlier one of the same test may have been. */
static int fresh_notify_socket(char *path, size_t size)
{
    char old[256];
    snprintf(old, sizeof old, "%s/notify.sock", dir);
    unlink(old);
    return notify_socket(path, size);
}

struct managed {
    int notify; /* the manager's end of $NOTIFY_SOCKET */
    pid_t pid;
    char out[256]; /* the daemon's stdout and stderr */
    char env[4][300];
};

/* busy_server -f start under a notify socket, with up to two more variables; waits for READY. */
static void start_managed(struct managed *m, const char *var1, const char *var2)
{
    char sock[256];
    int unused;
    m->notify = fresh_notify_socket(sock, sizeof sock);
    snprintf(m->out, sizeof m->out, "%s", at("busy", "out"));
    snprintf(m->env[0], sizeof m->env[0], "NOTIFY_SOCKET=%s", sock);
    snprintf(m->env[1], sizeof m->env[1], "%s", var1 ? var1 : "LUST_TEST_NONE=1");
    snprintf(m->env[2], sizeof m->env[2], "%s", var2 ? var2 : "LUST_TEST_NONE=1");
    struct how how = {.env = {m->env[0], m->env[1], m->env[2]}, .out_file = m->out};
    char *argv[] = {(char *)busy_server, "-c", (char *)at("busy", "conf"), "-f", "start", NULL};
    m->pid = spawn(argv, &how, &unused, &unused);
    expect_notify(m->notify, "READY=1");
}

/* Stops the daemon with TERM and checks that it exited 0. */
static void stop_managed(struct managed *m)
{
    ck_assert_int_eq(kill(m->pid, SIGTERM), 0);
    int code = wait_exit(m->pid, 20000);
    ck_assert_msg(code == 0, "exit %d: %s", code, shown(m->out));
    close(m->notify);
}

/* ---- the watchdog ---- */

START_TEST(pings_follow_run_and_stop_within_watchdog_usec_once_run_hangs)
{
    struct managed m;
    char buf[4096];
    int pings = 0;

    busy_conf("control_socket = none\n");
    /* 400 ms: run() must show life every 200 ms; it stops doing so after 1.5 s. */
    start_managed(&m, "WATCHDOG_USEC=400000", "LUST_TEST_HANG_MS=1500");
    for (;;) {
        ck_assert_msg(notify_recv(m.notify, buf, sizeof buf, 10000) >= 0, "nothing in 10 s");
        pings += has_line(buf, "WATCHDOG=1");
        if (has_line(buf, "STATUS=stuck"))
            break;
    }
    ck_assert_msg(pings >= 5, "only %d pings while run() showed life", pings);

    long long stuck = now_us(), last = 0;
    while (now_us() - stuck < 1600000)
        if (notify_recv(m.notify, buf, sizeof buf, 100) >= 0 && has_line(buf, "WATCHDOG=1"))
            last = now_us() - stuck;
    ck_assert_msg(last <= 400000, "a ping came %lld ms after run() hung", last / 1000);
    char *log = slurp(m.out, NULL);
    ck_assert_msg(strstr(log, "lust_server_alive()"), "%s", worth_showing(log));
    free(log);
    stop_managed(&m);
}
END_TEST

START_TEST(a_daemon_that_keeps_its_interval_is_pinged_and_never_logged_as_lapsed)
{
    struct fg fg;
    struct result r;
    char buf[4096];
    int pings = 0;

    thread_conf("HI!");
    /* 400 ms: thread_server's idle loop shows life every 200 ms exactly, so every other tick
     * (each 100 ms) sees none since the last ping, and that is no lapse: one needs a loop
     * stalled for 300 ms. */
    fg_start(&fg, "WATCHDOG_USEC=400000");
    long long ready = now_us();
    while (now_us() - ready < 2000000)
        if (notify_recv(fg.notify, buf, sizeof buf, 100) >= 0 && has_line(buf, "WATCHDOG=1"))
            pings++;
    fg_term(&fg, &r);
    ck_assert_msg(pings >= 5, "%d pings in 2 s", pings);
    ck_assert_msg(!strstr(r.err, "withheld"), "%s", worth_showing(r.err));
}
END_TEST

START_TEST(a_daemon_that_never_shows_life_is_pinged_only_while_it_starts)
{
    struct managed m;
    char buf[4096];
    long long last = 0;

    busy_conf("control_socket = none\n");
    start_managed(&m, "WATCHDOG_USEC=200000", "LUST_TEST_HANG_MS=0");
    long long ready = now_us();
    while (now_us() - ready < 1000000)
        if (notify_recv(m.notify, buf, sizeof buf, 100) >= 0 && has_line(buf, "WATCHDOG=1"))
            last = now_us() - ready;
    ck_assert_msg(last <= 300000, "a ping came %lld ms after READY=1", last / 1000);
    char *log = slurp(m.out, NULL);
    ck_assert_msg(strstr(log, "lust_server_alive()"), "%s", worth_showing(log));
    free(log);
    stop_managed(&m);
}
END_TEST

START_TEST(a_binary_built_against_older_headers_is_pinged_as_they_promised)
{
    char sock[256], env[300], buf[4096];
    int out, err, pings = 0;
    struct result r;

    write_conf("old_ops_server", "jail = none\n");
    int fd = fresh_notify_socket(sock, sizeof sock);
    snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", sock);
    /* LUST_TEST_OPS=old enters through lust_server_main_sized(), as a 1.0 or 1.1 binary does:
     * its run() cannot call lust_server_alive(), and the framework pings for it. */
    struct how how = {.env = {env, "WATCHDOG_USEC=200000", "LUST_TEST_OPS=old"}};
    char *argv[] = {
        (char *)old_ops_server, "-c", (char *)at("old_ops_server", "conf"), "-f", "start", NULL};
    pid_t pid = spawn(argv, &how, &out, &err);
    expect_notify(fd, "READY=1");
    long long ready = now_us();
    while (now_us() - ready < 1000000)
        if (notify_recv(fd, buf, sizeof buf, 100) >= 0 && has_line(buf, "WATCHDOG=1"))
            pings++;
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    collect(pid, out, err, &r);
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    ck_assert_msg(pings >= 10, "%d pings in 1 s", pings);
    close(fd);
}
END_TEST

/* ---- STATUS= from the daemon, and from a start that fails ---- */

START_TEST(run_tells_the_manager_its_status_and_its_alive_interval)
{
    struct managed m;

    busy_conf("control_socket = none\n");
    start_managed(&m, "WATCHDOG_USEC=400000", NULL);
    expect_notify(m.notify, "STATUS=serving, alive every 200 ms");
    stop_managed(&m);

    start_managed(&m, NULL, NULL);
    expect_notify(m.notify, "STATUS=serving, alive every -1 ms");
    stop_managed(&m);
}
END_TEST

/* Runs busy_server with argv's command under a notify socket; returns its exit status and
 * leaves the one datagram it sent in buf ("" if none came within 5 s). */
static int start_failing(const char *mode, const char *var, char *buf, size_t size)
{
    char sock[256], env0[300];
    static struct result r;
    int fd = fresh_notify_socket(sock, sizeof sock);
    snprintf(env0, sizeof env0, "NOTIFY_SOCKET=%s", sock);
    struct how how = {.env = {env0, var}};
    char *fg[] = {(char *)busy_server, "-c", (char *)at("busy", "conf"), "-f", "start", NULL};
    char *forking[] = {(char *)busy_server, "-c", (char *)at("busy", "conf"), "start", NULL};
    run_argv(&r, &how, strcmp(mode, "-f") == 0 ? fg : forking);
    int code = r.code;
    if (notify_recv(fd, buf, size, 5000) < 0)
        buf[0] = '\0';
    close(fd);
    unlink(sock);
    return code;
}

START_TEST(a_bad_config_tells_the_manager_file_line_and_errno)
{
    char buf[4096], want[300];
    busy_conf("no_such_key = 1\n");
    ck_assert_int_eq(start_failing("-f", NULL, buf, sizeof buf), 6);
    snprintf(want, sizeof want, "STATUS=%s:2: no such option 'no_such_key'", at("busy", "conf"));
    ck_assert_msg(has_line(buf, want) && has_line(buf, "ERRNO=22"), "datagram: %s", buf);
}
END_TEST

START_TEST(an_unknown_user_tells_the_manager)
{
    char buf[4096];
    busy_conf("user = nobdy\n");
    ck_assert_int_eq(start_failing("-f", NULL, buf, sizeof buf), 6);
    ck_assert_msg(has_line(buf, "STATUS=user \"nobdy\" not found") && has_line(buf, "ERRNO=2"),
                  "datagram: %s", buf);
}
END_TEST

START_TEST(a_failing_hook_tells_the_manager_in_the_foreground_and_when_forking)
{
    char buf[4096];
    const char *mode[] = {"-f", "start"};
    /* The same words as on the terminal, after "busy_server: ". */
    const char *want[] = {"STATUS=bind 127.0.0.1:1: Address already in use",
                          "STATUS=start failed: bind 127.0.0.1:1: Address already in use"};
    busy_conf("pidfile = \"%s\"\nlogfile = \"%s\"\ncontrol_socket = none\n", at("busy", "pid"),
              at("busy", "log"));
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(start_failing(mode[i], "LUST_TEST_FAIL=1", buf, sizeof buf), 1);
        ck_assert_msg(has_line(buf, want[i]) && has_line(buf, "ERRNO=98"), "%s: datagram: %s",
                      mode[i], buf);
    }
}
END_TEST

/* ---- the foreground server found by its own commands ---- */

/* Runs busy_server -c dir/busy.conf COMMAND as harness_name(); returns its exit status, with
 * what it printed (stdout, then stderr) in out. */
static int command(const char *cmd, char *out, size_t size)
{
    static struct result r;
    char name[128];
    snprintf(name, sizeof name, "LUST_TEST_NAME=%s", harness_name());
    struct how how = {.env = {name}};
    char *argv[] = {(char *)busy_server, "-c", (char *)at("busy", "conf"), (char *)cmd, NULL};
    run_argv(&r, &how, argv);
    snprintf(out, size, "%s%s", r.out, r.err);
    return r.code;
}

/* Starts busy_server -f as harness_name() (with /run read-only when asked); returns once it
 * is ready. */
static pid_t start_foreground(int run_ro, char *out_path, size_t size)
{
    char name[128], c;
    int ready[2], unused;
    snprintf(name, sizeof name, "LUST_TEST_NAME=%s", harness_name());
    snprintf(out_path, size, "%s", at("busy", "out"));
    char *argv[] = {(char *)busy_server,
                    "-c",
                    (char *)at("busy", "conf"),
                    "-f",
                    "--ready-fd",
                    "3",
                    "start",
                    NULL};
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    struct how how = {
        .env = {name}, .fd3 = ready[1], .out_file = out_path, .run_read_only = run_ro};
    pid_t pid = spawn(argv, &how, &unused, &unused);
    close(ready[1]);
    ck_assert_msg(read(ready[0], &c, 1) == 1, "not ready: %s", shown(out_path));
    close(ready[0]);
    return pid;
}

START_TEST(status_reload_and_stop_find_a_foreground_server_by_its_default_socket)
{
    char out[16384], log[256], want[128], sock[128];
    busy_conf(
        "value = 1\ntext = \"1\"\nwords = {\"1\", \"1\", \"1\"}\n"); /* no pidfile, no socket */
    pid_t pid = start_foreground(0, log, sizeof log);
    snprintf(sock, sizeof sock, "%s", default_path("ctl"));

    ck_assert_msg(command("status", out, sizeof out) == 0, "%s", out);
    snprintf(want, sizeof want, "running (pid %ld", (long)pid);
    ck_assert_msg(strstr(out, want) && strstr(out, sock), "status said: %s", out);

    busy_conf("value = 2\ntext = \"2\"\nwords = {\"2\", \"2\", \"2\"}\n");
    ck_assert_msg(command("reload", out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "reloaded"), "reload said: %s", out);

    /* Its supervisor would start it again at once: stop says so rather than signal it. */
    ck_assert_int_eq(command("stop", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "supervisor"), "stop said: %s", out);
    ck_assert_int_eq(kill(pid, 0), 0);

    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int code = wait_exit(pid, 20000);
    ck_assert_msg(code == 0, "exit %d: %s", code, shown(log));
    ck_assert_msg(command("status", out, sizeof out) == 3, "%s", out);
    ck_assert_msg(strstr(out, "not running"), "status said: %s", out);
    ck_assert_int_eq(command("reload", out, sizeof out), 7);
}
END_TEST

START_TEST(a_foreground_server_that_cannot_make_its_default_socket_serves_without_it)
{
    char log[256];
    struct stat st;
    busy_conf("value = 0\n");
    /* A read-only /run (a container's, say); a server started as another user than root meets
     * the same refusal, EACCES instead of EROFS. */
    pid_t pid = start_foreground(1, log, sizeof log);
    char *text = slurp(log, NULL);
    ck_assert_msg(strstr(text, "serving without it"), "%s", worth_showing(text));
    free(text);
    char sock[128];
    snprintf(sock, sizeof sock, "%s", default_path("ctl"));
    ck_assert_int_eq(stat(sock, &st), -1);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(wait_exit(pid, 20000), 0);
}
END_TEST

START_TEST(reload_falls_back_to_sighup_when_the_default_socket_is_gone)
{
    char out[16384], sock[128];
    busy_conf("pidfile = \"%s\"\nlogfile = \"%s\"\n", at("busy", "pid"), at("busy", "log"));
    ck_assert_msg(command("start", out, sizeof out) == 0, "%s", out);
    snprintf(sock, sizeof sock, "%s", default_path("ctl"));
    ck_assert_int_eq(unlink(sock), 0);
    ck_assert_msg(command("reload", out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "SIGHUP"), "reload said: %s", out);
    ck_assert_msg(command("stop", out, sizeof out) == 0, "%s", out);
    char *text = slurp(at("busy", "log"), NULL);
    ck_assert_msg(strstr(text, "SIGHUP: reloaded"), "%s", worth_showing(text));
    free(text);
}
END_TEST

static Suite *server_supervised_suite(void)
{
    Suite *s = suite_create("server_supervised");
    TCase *wd = busy_tcase("watchdog", 60);
    tcase_add_test(wd, pings_follow_run_and_stop_within_watchdog_usec_once_run_hangs);
    tcase_add_test(wd, a_daemon_that_keeps_its_interval_is_pinged_and_never_logged_as_lapsed);
    tcase_add_test(wd, a_daemon_that_never_shows_life_is_pinged_only_while_it_starts);
    tcase_add_test(wd, a_binary_built_against_older_headers_is_pinged_as_they_promised);
    suite_add_tcase(s, wd);

    TCase *st = busy_tcase("status", 60);
    tcase_add_test(st, run_tells_the_manager_its_status_and_its_alive_interval);
    tcase_add_test(st, a_bad_config_tells_the_manager_file_line_and_errno);
    tcase_add_test(st, an_unknown_user_tells_the_manager);
    tcase_add_test(st, a_failing_hook_tells_the_manager_in_the_foreground_and_when_forking);
    suite_add_tcase(s, st);

    TCase *fd = busy_tcase("found", 60);
    tcase_add_test(fd, status_reload_and_stop_find_a_foreground_server_by_its_default_socket);
    tcase_add_test(fd, a_foreground_server_that_cannot_make_its_default_socket_serves_without_it);
    tcase_add_test(fd, reload_falls_back_to_sighup_when_the_default_socket_is_gone);
    suite_add_tcase(s, fd);
    return s;
}

LUST_TEST_MAIN_ROOT(server_supervised_suite)
