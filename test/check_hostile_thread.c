/*
 * test/check_hostile_thread.c - the framework's thread never blocks on others: not on a notify
 * socket nobody reads, not on control-socket clients that say nothing (and a command waits out
 * a full queue), and `stop` never takes the control socket of a server started meanwhile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server_harness.h"

START_TEST(a_notify_socket_nobody_reads_never_holds_reload_or_stop)
{
    char sock[256], env[300], buf[64];
    int out, err, ready[2];
    struct result r;
    int nfd = notify_socket(sock, sizeof sock); /* and never read */
    snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", sock);
    int port = thread_conf_lines("");
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    /* A watchdog ping every millisecond fills the socket's queue at once. */
    struct how how = {.env = {env, "WATCHDOG_USEC=2000"}, .fd3 = ready[1]};
    char *argv[] = {(char *)thread_server,
                    "-c",
                    (char *)at("thread_server", "conf"),
                    "-f",
                    "--ready-fd",
                    "3",
                    "start",
                    NULL};
    pid_t pid = spawn(argv, &how, &out, &err);
    close(ready[1]);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 10000), 1);
    poll(NULL, 0, 200);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(kill(pid, SIGHUP), 0);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_msg(wait_gone(pid, 5000), "TERM not obeyed: the signal thread is stuck in send()");
    collect(pid, out, err, &r);
    ck_assert_msg(r.code == 0, "%d: %s", r.code, r.err);
    ck_assert_msg(strstr(r.err, "notify socket:") && strstr(r.err, "dropped"), "%s", r.err);
    close(ready[0]);
    close(nfd);
}
END_TEST

START_TEST(control_clients_that_never_write_delay_neither_reload_nor_stop)
{
    struct result r;
    int fds[40]; /* control clients that connect and say nothing */
    /* reload waits start_timeout (3 s) for its answer, stop stop_timeout (3 s) for the exit. */
    thread_conf_lines("start_timeout = 3\nstop_timeout = 3\n");
    pid_t pid = start(thread_server, "thread_server");
    for (int i = 0; i < 20; i++)
        fds[i] = dial_control("thread_server");
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%s%s", r.out, r.err);
    for (int i = 20; i < 40; i++)
        fds[i] = dial_control("thread_server");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "stop"), 0);
    ck_assert_msg(!strstr(r.out, "SIGKILL"), "%s", r.out);
    ck_assert(wait_gone(pid, 2000));
    for (int i = 0; i < 40; i++)
        close(fds[i]);
}
END_TEST

/*
 * SIGSTOP to pid, and waits until each of its threads is stopped (state T in /proc): a thread
 * that was running takes the stop only on its way back to user space, and may accept a few
 * connections first.
 */
static void stop_all_threads(pid_t pid)
{
    char path[64], stat_path[384], buf[512];
    ck_assert_int_eq(kill(pid, SIGSTOP), 0);
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    for (int tries = 0; tries < 500; tries++, poll(NULL, 0, 10)) {
        DIR *d = opendir(path);
        ck_assert_ptr_nonnull(d);
        int running = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, e->d_name);
            const char *text = read_text(stat_path, buf, sizeof buf);
            const char *state = text ? strrchr(text, ')') : NULL;
            running += !state || state[1] != ' ' || state[2] != 'T';
        }
        closedir(d);
        if (!running)
            return;
    }
    ck_abort_msg("pid %ld did not stop within 5 s", (long)pid);
}

/*
 * Fills the queue of the control socket of a server stopped with SIGSTOP (its thread takes no
 * connection), as clients that connect and say nothing do when they outrun it. Returns how
 * many sockets it took (closed by the caller).
 */
static int fill_control_queue(int *fds, int max)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", at("thread_server", "ctl"));
    for (int n = 0; n < max; n++) {
        fds[n] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(fds[n], 0);
        if (connect(fds[n], (struct sockaddr *)&a, sizeof a) < 0) {
            ck_assert_msg(errno == EAGAIN, "connect: %s", strerror(errno));
            close(fds[n]);
            return n;
        }
    }
    ck_abort_msg("the control socket's queue never filled (%d connections)", max);
    return max;
}

/*
 * `reload` finds the control socket's queue full: it waits for room as long as it would wait
 * for the answer (start_timeout), so a daemon busy for a moment still takes it; past that it
 * says so and exits 1, and the daemon is untouched.
 */
START_TEST(a_full_control_queue_is_waited_out_for_start_timeout)
{
    struct result r;
    int fds[64], out, err;
    int port = thread_conf_lines("start_timeout = 5\n");
    pid_t pid = start(thread_server, "thread_server");
    char *argv[] = {(char *)thread_server, "-c", (char *)at("thread_server", "conf"), "reload",
                    NULL};

    stop_all_threads(pid);
    int n = fill_control_queue(fds, 64);
    pid_t cmd = spawn(argv, NULL, &out, &err);
    poll(NULL, 0, 500);
    ck_assert_msg(waitpid(cmd, NULL, WNOHANG) == 0, "reload gave up on a full queue at once");
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    collect(cmd, out, err, &r);
    ck_assert_msg(r.code == 0, "%d: %s%s", r.code, r.out, r.err);
    for (int i = 0; i < n; i++)
        close(fds[i]);

    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\nstart_timeout = 1\n", port);
    stop_all_threads(pid);
    n = fill_control_queue(fds, 64);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    ck_assert_msg(strstr(r.err, "took no connection within start_timeout"), "%s", r.err);
    ck_assert_int_eq(kill(pid, SIGCONT), 0);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    ck_assert_int_eq(holder("thread_server"), pid);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/*
 * `stop` and a `start` right behind it: every unlink of `stop` is held back 1 s (strace), and
 * the new server is started as soon as the old pid file is gone. The socket `stop` removes
 * must be the stopped server's, never the new one's.
 */
START_TEST(stop_never_removes_the_control_socket_of_a_server_started_meanwhile)
{
    static const char *const strace = "/usr/bin/strace";
    struct result r, sr;
    char name[64];
    int out, err;
    ck_assert_msg(access(strace, X_OK) == 0, "%s is missing: apt-get install strace", strace);
    thread_conf_lines("");
    pid_t first = start(thread_server, "thread_server");
    int ifd = inotify_init1(IN_CLOEXEC);
    ck_assert_int_ge(ifd, 0);
    ck_assert_int_ge(inotify_add_watch(ifd, dir, IN_DELETE), 0);
    char *argv[] = {(char *)strace,
                    "-f",
                    "-qq",
                    "-o",
                    "/dev/null",
                    "-e",
                    "trace=unlink,unlinkat",
                    "-e",
                    "inject=unlink,unlinkat:delay_enter=1000000",
                    (char *)thread_server,
                    "-c",
                    (char *)at("thread_server", "conf"),
                    "stop",
                    NULL};
    pid_t stopper = spawn(argv, NULL, &out, &err);
    ck_assert(wait_gone(first, 10000));
    /* Wait for the pid file to go, then start again at once. */
    snprintf(name, sizeof name, "thread_server.pid");
    for (int found = 0; !found;) {
        char ev[4096] __attribute__((aligned(8)));
        ssize_t n = read(ifd, ev, sizeof ev);
        ck_assert_int_gt(n, 0);
        for (char *p = ev; p < ev + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            found |= e->len && strcmp(e->name, name) == 0;
            p += sizeof *e + e->len;
        }
    }
    RUN(&r, thread_server, "thread_server", "start");
    collect(stopper, out, err, &sr);
    ck_assert_msg(sr.code == 0, "stop: %d: %s%s", sr.code, sr.out, sr.err);
    pid_t second = holder("thread_server");
    if (r.code != 0 || second == 0) /* the old lock was still held: start again now */
        second = start(thread_server, "thread_server");
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0,
                  "the new server lost its control socket: %s%s", r.out, r.err);
    stop(thread_server, "thread_server", second);
    close(ifd);
}
END_TEST

static Suite *hostile_thread_suite(void)
{
    Suite *s = suite_create("hostile_thread");
    TCase *tc = server_tcase("thread", 60);
    tcase_add_test(tc, a_notify_socket_nobody_reads_never_holds_reload_or_stop);
    tcase_add_test(tc, control_clients_that_never_write_delay_neither_reload_nor_stop);
    tcase_add_test(tc, a_full_control_queue_is_waited_out_for_start_timeout);
    tcase_add_test(tc, stop_never_removes_the_control_socket_of_a_server_started_meanwhile);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(hostile_thread_suite)
