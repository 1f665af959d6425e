/*
 * test/check_hostile_paths.c - a path in the config never turns into damage, and what the
 * operator sees (on the terminal, in the log) is safe to show.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server_harness.h"

static void no_server(void)
{
    ck_assert_int_eq(count_left(dir), 0);
}

static int stop_and_code(pid_t pid)
{
    struct result r;
    int code = RUN(&r, marker_server, "marker_server", "stop");
    ck_assert(wait_gone(pid, 2000));
    return code;
}

START_TEST(a_pidfile_that_is_not_a_pid_file_is_never_written_nor_removed)
{
    static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n";
    struct result r;
    char victim[256], text[256];
    struct stat before, after;
    snprintf(victim, sizeof victim, "%s/passwd-copy", dir);
    write_text(victim, passwd);
    ck_assert_int_eq(chmod(victim, 0644), 0);
    ck_assert_int_eq(stat(victim, &before), 0);
    write_conf("marker_server", "pidfile = \"%s\"\n", victim);

    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 6 && strstr(r.err, "holds something other than a pid"), "%d: %s%s",
                  r.code, r.out, r.err);
    no_server();
    ck_assert_msg(RUN(&r, marker_server, "marker_server", "stop") != 0, "%s", r.out);
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 4);
    ck_assert_int_eq(stat(victim, &after), 0);
    ck_assert_str_eq(read_text(victim, text, sizeof text), passwd);
    ck_assert_int_eq(after.st_mode, before.st_mode);
    ck_assert_int_eq(after.st_ino, before.st_ino);
}
END_TEST

START_TEST(a_pidfile_directory_others_can_write_is_refused_a_sticky_one_warned_about)
{
    struct result r;
    char sub[256], pid[300];
    snprintf(sub, sizeof sub, "%s/run", dir);
    snprintf(pid, sizeof pid, "%s/marker_server.pid", sub);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    ck_assert_int_eq(chown(sub, NOBODY, NOBODY), 0);
    write_conf("marker_server", "pidfile = \"%s\"\n", pid);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 6 && strstr(r.err, "is owned by uid 65534"), "%d: %s%s", r.code, r.out,
                  r.err);
    no_server();

    ck_assert_int_eq(chown(sub, 0, 0), 0);
    ck_assert_int_eq(chmod(sub, 0777), 0);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 6 && strstr(r.err, "writable by group or others"), "%d: %s%s", r.code,
                  r.out, r.err);
    no_server();

    ck_assert_int_eq(chmod(sub, 01777), 0);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 0 && strstr(r.err, "warning") && strstr(r.err, sub), "%d: %s%s", r.code,
                  r.out, r.err);
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "stop"), 0);
}
END_TEST

/* A symlink on the way is followed where only root could have put it (Debian's /var/run). */
START_TEST(a_symlinked_pidfile_directory_counts_only_where_nobody_else_could_replace_it)
{
    struct result r;
    char real[256], link[256], open_dir[256], link2[300];
    snprintf(real, sizeof real, "%s/real", dir);
    snprintf(link, sizeof link, "%s/var-run", dir);
    ck_assert_int_eq(mkdir(real, 0755), 0);
    ck_assert_int_eq(symlink("real", link), 0);
    write_conf("marker_server", "pidfile = \"%s/x.pid\"\n", link);
    ck_assert_msg(RUN(&r, marker_server, "marker_server", "start") == 0, "%s%s", r.out, r.err);
    pid_t pid = pid_in(r.out);
    snprintf(link2, sizeof link2, "%s/x.pid", real);
    ck_assert_int_eq(access(link2, F_OK), 0);
    ck_assert_int_eq(stop_and_code(pid), 0);
    snprintf(open_dir, sizeof open_dir, "%s/open", dir);
    ck_assert_int_eq(mkdir(open_dir, 0755), 0);
    ck_assert_int_eq(chown(open_dir, NOBODY, NOBODY), 0);
    snprintf(link2, sizeof link2, "%s/run", open_dir);
    ck_assert_int_eq(symlink(real, link2), 0);
    write_conf("marker_server", "pidfile = \"%s/x.pid\"\n", link2);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 6 && strstr(r.err, open_dir), "%d: %s%s", r.code, r.out, r.err);
    no_server();
}
END_TEST

START_TEST(a_config_others_could_write_or_owned_by_another_user_is_refused)
{
    struct result r;
    write_conf("marker_server", "%s", "");
    ck_assert_int_eq(chmod(at("marker_server", "conf"), 0664), 0);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 6 && strstr(r.err, "writable by group or others"), "%d: %s%s", r.code,
                  r.out, r.err);
    ck_assert_int_eq(chmod(at("marker_server", "conf"), 0644), 0);
    ck_assert_int_eq(chown(at("marker_server", "conf"), NOBODY, NOBODY), 0);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 6 && strstr(r.err, "owned by uid 65534"), "%d: %s%s", r.code, r.out,
                  r.err);
    no_server();
    ck_assert_int_eq(access(at("marker_server", "log"), F_OK), -1);
}
END_TEST

START_TEST(a_fifo_at_the_log_path_held_open_by_someone_is_refused)
{
    struct result r;
    write_conf("marker_server", "%s", "");
    ck_assert_int_eq(mkfifo(at("marker_server", "log"), 0600), 0);
    int reader = open(at("marker_server", "log"), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ck_assert_int_ge(reader, 0);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code != 0 && strstr(r.err, "not a regular file"), "%d: %s%s", r.code, r.out,
                  r.err);
    no_server();
    close(reader);
}
END_TEST

/* A file, a directory, the pid file itself at control_socket: refused on stderr, not "running". */
START_TEST(a_control_socket_path_that_is_no_socket_fails_start_on_stderr)
{
    struct result r;
    char other[256];
    snprintf(other, sizeof other, "%s/plain", dir);
    write_text(other, "x");
    const char *bad[3] = {other, dir, at("marker_server", "pid")};
    for (int i = 0; i < 3; i++) {
        write_conf("marker_server", "control_socket = \"%s\"\n", bad[i]);
        RUN(&r, marker_server, "marker_server", "start");
        ck_assert_msg(r.code != 0, "%s: exit 0: %s%s", bad[i], r.out, r.err);
        ck_assert_msg(strstr(r.err, bad[i]) && !strstr(r.out, "running"), "%s: %s%s", bad[i], r.out,
                      r.err);
        no_server();
    }
}
END_TEST

START_TEST(a_missing_directory_is_named_not_a_temporary_socket)
{
    struct result r;
    char missing[256], want[300];
    snprintf(missing, sizeof missing, "%s/gone", dir);
    snprintf(want, sizeof want, "%s: No such file or directory", missing);
    write_conf("marker_server", "control_socket = \"%s/x.ctl\"\n", missing);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 5 && strstr(r.err, want) && !strstr(r.err, ".ctl."), "%d: %s%s", r.code,
                  r.out, r.err);
    write_conf("marker_server", "pidfile = \"%s/x.pid\"\n", missing);
    RUN(&r, marker_server, "marker_server", "start");
    ck_assert_msg(r.code == 5 && strstr(r.err, want), "%d: %s%s", r.code, r.out, r.err);
    no_server();
}
END_TEST

START_TEST(status_on_a_broken_config_cannot_tell_exit_4)
{
    struct result r;
    write_text(at("marker_server", "conf"), "user = = nobody\n");
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 4);
}
END_TEST

static void assert_no_controls(const char *text, const char *where)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        ck_assert_msg(*p >= 0x20 || *p == '\n', "control byte 0x%02x in %s: %s", *p, where, text);
    ck_assert_msg(!strstr(text, "\xc2\x9b") && !strstr(text, "\x1b"), "escape in %s: %s", where,
                  text);
}

START_TEST(config_text_reaches_the_terminal_and_the_log_without_control_bytes)
{
    struct result r;
    /* A user name with an OSC title sequence, BEL, CSI as a C1 control, a broken byte. */
    write_conf("marker_server", "user = \"\x1b]0;pwned\x07nob\xc2\x9b"
                                "31m\xff"
                                "ody\"\n");
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "start"), 6);
    assert_no_controls(r.err, "stderr");
    ck_assert_msg(strstr(r.err, "not found"), "%s", r.err);

    /* In the log: a SIGHUP re-reading a file with such a key logs libconfuse's sentence. */
    int port = thread_conf_lines("");
    pid_t pid = start(thread_server, "thread_server");
    write_conf("thread_server",
               "listen = {\"127.0.0.1:%d\"}\nbad\x1b[2Jkey\xc2\x9b = \"caf\xc3\xa9\"\n", port);
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    wait_in_file(at("thread_server", "log"), "SIGHUP: ");
    char log[16384];
    ck_assert_ptr_nonnull(read_text(at("thread_server", "log"), log, sizeof log));
    assert_no_controls(log, "the log");
    ck_assert_msg(strstr(log, "bad\\x1b[2Jkey\\xc2\\x9b"), "log: %s", log);
    /* And `reload` prints the same sentence on the terminal, filtered. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    assert_no_controls(r.err, "reload's stderr");
    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\n", port);
    stop(thread_server, "thread_server", pid);
}
END_TEST

static Suite *hostile_paths_suite(void)
{
    Suite *s = suite_create("hostile_paths");
    TCase *tc = server_tcase("paths", 60);
    tcase_add_test(tc, a_pidfile_that_is_not_a_pid_file_is_never_written_nor_removed);
    tcase_add_test(tc, a_pidfile_directory_others_can_write_is_refused_a_sticky_one_warned_about);
    tcase_add_test(tc,
                   a_symlinked_pidfile_directory_counts_only_where_nobody_else_could_replace_it);
    tcase_add_test(tc, a_config_others_could_write_or_owned_by_another_user_is_refused);
    tcase_add_test(tc, a_fifo_at_the_log_path_held_open_by_someone_is_refused);
    tcase_add_test(tc, a_control_socket_path_that_is_no_socket_fails_start_on_stderr);
    tcase_add_test(tc, a_missing_directory_is_named_not_a_temporary_socket);
    tcase_add_test(tc, status_on_a_broken_config_cannot_tell_exit_4);
    tcase_add_test(tc, config_text_reaches_the_terminal_and_the_log_without_control_bytes);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(hostile_paths_suite)
