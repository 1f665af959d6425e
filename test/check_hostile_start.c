/*
 * test/check_hostile_start.c - `start` exits 0 only when a server runs, whatever the process
 * that runs it was given: closed stdio, stray descriptors, a bad --ready-fd, few descriptors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server_harness.h"

START_TEST(start_with_stdin_stdout_and_stderr_closed_runs_a_server)
{
    struct result r;
    struct how closed = {.close_stdio = 1};
    char buf[64];
    int port = thread_conf_lines("");
    ck_assert_int_eq(run_how(&r, &closed, thread_server, "thread_server", "start", (char *)NULL),
                     0);
    pid_t pid = holder("thread_server");
    ck_assert_int_gt(pid, 0);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    stop(thread_server, "thread_server", pid);
}
END_TEST

/* The link behind /proc/PID/fd/N, or "" when N is not open. */
static const char *fd_link(pid_t pid, int fd, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd/%d", (long)pid, fd);
    ssize_t n = readlink(path, buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

START_TEST(the_foreground_server_closes_what_it_inherited_but_socket_activation)
{
    char buf[64], link[PATH_MAX], script[PATH_MAX];
    int out, err, ready[2];
    struct result r;
    int port = thread_conf_lines("");
    /* Descriptor 3: a listening socket passed by "systemd"; 4: a directory, a way out. */
    int passed_port = 0;
    int lfd = tcp_listener(&passed_port);
    int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(root, 0);
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    struct how how = {.fd3 = lfd, .fd4 = root};
    /* LISTEN_PID must be the server's pid: a shell sets it to its own, then execs. */
    int keep = fcntl(ready[1], F_DUPFD, 10); /* not close-on-exec: the shell passes it on */
    ck_assert_int_ge(keep, 0);
    snprintf(script, sizeof script,
             "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" -c \"$1\" -f --ready-fd %d start", keep);
    char *argv[] = {
        "/bin/sh", "-c", script, (char *)thread_server, (char *)at("thread_server", "conf"), NULL};
    pid_t pid = spawn(argv, &how, &out, &err);
    close(keep);
    close(ready[1]);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 10000), 1);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    ck_assert_msg(strncmp(fd_link(pid, 3, link, sizeof link), "socket:", 7) == 0, "fd 3: %s", link);
    /* No directory among its descriptors: the one passed as 4 was closed. */
    for (int fd = 0; fd < 64; fd++) {
        struct stat st;
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/fd/%d", (long)pid, fd);
        ck_assert_msg(stat(path, &st) < 0 || !S_ISDIR(st.st_mode), "fd %d is a directory: %s", fd,
                      fd_link(pid, fd, link, sizeof link));
    }
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    collect(pid, out, err, &r);
    ck_assert_msg(r.code == 0, "%d: %s", r.code, r.err);
    close(ready[0]);
    close(lfd);
    close(root);
}
END_TEST

START_TEST(a_ready_fd_not_open_stdio_or_not_a_pipe_is_refused_exit_2)
{
    struct result r;
    char file[256];
    thread_conf_lines("");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "--ready-fd", "7", "start"), 2);
    ck_assert_msg(strstr(r.err, "--ready-fd 7"), "%s", r.err);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "--ready-fd", "2", "start"), 2);
    snprintf(file, sizeof file, "%s/plain", dir);
    write_text(file, "");
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct how how = {.fd3 = fd};
    ck_assert_int_eq(
        run_how(&r, &how, thread_server, "thread_server", "--ready-fd", "3", "start", (char *)NULL),
        2);
    close(fd);
    ck_assert_int_eq(count_left(dir), 0);
    ck_assert_int_eq(access(at("thread_server", "pid"), F_OK), -1);
}
END_TEST

START_TEST(a_failed_start_leaves_no_pid_file_with_or_without_notify_socket)
{
    struct result r;
    char sock[256], env[300];
    int nfd = notify_socket(sock, sizeof sock);
    snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", sock);
    struct how notify = {.env = {env}};
    int port = thread_conf_lines("");
    int busy = tcp_listener(&port);
    for (int i = 0; i < 2; i++) {
        run_how(&r, i ? &notify : NULL, thread_server, "thread_server", "start", (char *)NULL);
        ck_assert_msg(r.code != 0 && strstr(r.err, "Address already in use"), "%d: %s%s", r.code,
                      r.out, r.err);
        ck_assert_int_eq(count_left(dir), 0);
        ck_assert_msg(access(at("thread_server", "pid"), F_OK) == -1, "pid file left (%s)",
                      i ? "with NOTIFY_SOCKET" : "without");
        ck_assert_int_eq(access(at("thread_server", "ctl"), F_OK), -1);
    }
    close(busy);
    close(nfd);
}
END_TEST

/*
 * Under any `ulimit -n`, start either fails or gives a server that obeys TERM: what the daemon
 * needs for its signals exists before it reports ready.
 */
START_TEST(a_low_descriptor_limit_fails_start_or_leaves_a_server_that_obeys_term)
{
    struct result r;
    int started = 0;
    if (under_valgrind()) {
        /* valgrind needs descriptors of its own above the limit: no daemon starts at 24. */
        printf("SKIP %s: valgrind cannot run a program under so low a descriptor limit\n",
               __func__);
        return;
    }
    thread_conf_lines("stop_timeout = 3\n");
    for (int n = 6; n <= 24; n++) {
        struct how how = {.nofile = n};
        if (run_how(&r, &how, thread_server, "thread_server", "start", (char *)NULL) != 0) {
            ck_assert_msg(!strstr(r.out, "started"), "%d: %s", n, r.out);
            ck_assert_int_eq(count_left(dir), 0);
            continue;
        }
        started++;
        pid_t pid = pid_in(r.out);
        ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "stop"), 0);
        ck_assert_msg(!strstr(r.out, "SIGKILL"), "ulimit -n %d: TERM ignored: %s", n, r.out);
        ck_assert(wait_gone(pid, 2000));
    }
    ck_assert_int_gt(started, 0);
}
END_TEST

/* The jailed server holds no writable descriptor of a file outside its jail but these two. */
START_TEST(the_running_server_writes_outside_its_jail_only_to_its_log_and_pid_file)
{
    char path[PATH_MAX], link[PATH_MAX], info[1024];
    thread_conf_lines("");
    pid_t pid = start(thread_server, "thread_server");
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int writable = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        fd_link(pid, atoi(e->d_name), link, sizeof link);
        if (link[0] != '/' || strncmp(link, jail, strlen(jail)) == 0 ||
            strcmp(link, "/dev/null") == 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/fdinfo/%s", (long)pid, e->d_name);
        ck_assert_ptr_nonnull(read_text(path, info, sizeof info));
        const char *flags = strstr(info, "flags:");
        ck_assert_ptr_nonnull(flags);
        long fl = strtol(flags + 6, NULL, 8);
        if ((fl & O_ACCMODE) == O_RDONLY)
            continue;
        ck_assert_msg(strcmp(link, at("thread_server", "log")) == 0 ||
                          strcmp(link, at("thread_server", "pid")) == 0,
                      "fd %s open for writing on %s", e->d_name, link);
        writable++;
    }
    closedir(d);
    ck_assert_int_ge(writable, 3); /* stdout, stderr, the pid file */
    stop(thread_server, "thread_server", pid);
}
END_TEST

static Suite *hostile_start_suite(void)
{
    Suite *s = suite_create("hostile_start");
    TCase *tc = server_tcase("start", 120);
    tcase_add_test(tc, start_with_stdin_stdout_and_stderr_closed_runs_a_server);
    tcase_add_test(tc, the_foreground_server_closes_what_it_inherited_but_socket_activation);
    tcase_add_test(tc, a_ready_fd_not_open_stdio_or_not_a_pipe_is_refused_exit_2);
    tcase_add_test(tc, a_failed_start_leaves_no_pid_file_with_or_without_notify_socket);
    tcase_add_test(tc, a_low_descriptor_limit_fails_start_or_leaves_a_server_that_obeys_term);
    tcase_add_test(tc, the_running_server_writes_outside_its_jail_only_to_its_log_and_pid_file);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(hostile_start_suite)
