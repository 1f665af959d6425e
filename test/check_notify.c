/* test/check_notify.c - sd_notify datagrams, s6 readiness and socket activation. */
#include "lust_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include <lust/error.h>
#include <lust/notify.h>

static char *dir;

/* A receiving socket as a manager would bind it; abstract when name starts with '@'. */
static int bind_receiver(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    ck_assert_int_eq(
        bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
        0);
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* A receiver bound at dir/notify, named by $NOTIFY_SOCKET. */
static int receiver_in_dir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/notify", dir);
    int rx = bind_receiver(path);
    setenv("NOTIFY_SOCKET", path, 1);
    return rx;
}

static void receive(int fd, char *buf, size_t size)
{
    ssize_t k = recv(fd, buf, size - 1, 0);
    ck_assert_int_gt(k, 0);
    buf[k] = '\0';
}

static void setup(void)
{
    dir = new_dir("/tmp", "lust-notify", 0700);
    ck_assert_ptr_nonnull(dir);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

START_TEST(without_notify_socket_every_call_is_a_no_op)
{
    struct lust_notify *n = (struct lust_notify *)1;
    ck_assert_int_eq(lust_notify_open(&n, 0), 0);
    ck_assert_ptr_null(n);
    ck_assert_int_eq(lust_notify_ready(n), 0);
    ck_assert_int_eq(lust_notify_status(n, "x"), 0);
    ck_assert_int_eq(lust_notify_reloading(n), 0);
    ck_assert_uint_eq(lust_notify_watchdog_usec(n), 0);
    ck_assert_int_eq(lust_notify_fd(n), -1);
    lust_notify_close(n);
}
END_TEST

START_TEST(ready_and_stopping_reach_a_path_socket)
{
    char buf[256];
    struct lust_notify *n;
    int rx = receiver_in_dir();
    ck_assert_int_eq(lust_notify_open(&n, 0), 1);
    int fl = fcntl(lust_notify_fd(n), F_GETFD);
    ck_assert(fl & FD_CLOEXEC);
    ck_assert_int_gt(lust_notify_ready(n), 0);
    receive(rx, buf, sizeof buf);
    ck_assert_str_eq(buf, "READY=1");
    ck_assert_int_gt(lust_notify_stopping(n), 0);
    receive(rx, buf, sizeof buf);
    ck_assert_str_eq(buf, "STOPPING=1");
    ck_assert_int_gt(lust_notify_mainpid(n, 1234), 0);
    receive(rx, buf, sizeof buf);
    ck_assert_str_eq(buf, "MAINPID=1234");
    lust_notify_close(n);
    close(rx);
}
END_TEST

START_TEST(abstract_socket_is_reached_with_its_exact_length)
{
    char name[64], buf[256];
    struct lust_notify *n;
    snprintf(name, sizeof name, "@lust-test-%ld", (long)getpid());
    int rx = bind_receiver(name);
    setenv("NOTIFY_SOCKET", name, 1);
    ck_assert_int_eq(lust_notify_open(&n, LUST_NOTIFY_UNSET_ENV), 1);
    ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
    ck_assert_int_gt(lust_notify_ready(n), 0);
    receive(rx, buf, sizeof buf);
    ck_assert_str_eq(buf, "READY=1");
    lust_notify_close(n);
    close(rx);
}
END_TEST

START_TEST(reloading_carries_the_monotonic_clock)
{
    char buf[256];
    struct lust_notify *n;
    struct timespec ts;
    int rx = receiver_in_dir();
    ck_assert_int_eq(lust_notify_open(&n, 0), 1);
    ck_assert_int_gt(lust_notify_reloading(n), 0);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    receive(rx, buf, sizeof buf);
    unsigned long long usec;
    ck_assert_int_eq(sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%llu", &usec), 1);
    unsigned long long now = (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
    ck_assert(usec <= now && now - usec < 1000000ULL);
    lust_notify_close(n);
    close(rx);
}
END_TEST

START_TEST(status_newlines_cannot_inject_assignments)
{
    char buf[256];
    struct lust_notify *n;
    int rx = receiver_in_dir();
    ck_assert_int_eq(lust_notify_open(&n, 0), 1);
    ck_assert_int_gt(lust_notify_status(n, "serving\nREADY=1"), 0);
    receive(rx, buf, sizeof buf);
    ck_assert_str_eq(buf, "STATUS=serving READY=1");
    lust_notify_close(n);
    close(rx);
}
END_TEST

START_TEST(watchdog_interval_only_for_this_pid)
{
    char pid[32];
    struct lust_notify *n;
    int rx = receiver_in_dir();
    setenv("WATCHDOG_USEC", "200000", 1);
    ck_assert_int_eq(lust_notify_open(&n, 0), 1);
    ck_assert_uint_eq(lust_notify_watchdog_usec(n), 200000);
    lust_notify_close(n);

    snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    ck_assert_int_eq(lust_notify_open(&n, 0), 1);
    ck_assert_uint_eq(lust_notify_watchdog_usec(n), 0);
    lust_notify_close(n);

    setenv("WATCHDOG_PID", "", 1);
    setenv("WATCHDOG_USEC", "junk", 1);
    ck_assert_int_eq(lust_notify_open(&n, LUST_NOTIFY_UNSET_ENV), 1);
    ck_assert_uint_eq(lust_notify_watchdog_usec(n), 0);
    ck_assert_ptr_null(getenv("WATCHDOG_USEC"));
    lust_notify_close(n);
    close(rx);
}
END_TEST

START_TEST(unsupported_or_missing_socket_is_an_error)
{
    struct lust_notify *n = NULL;
    setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
    ck_assert_int_eq(lust_notify_open(&n, 0), -EAFNOSUPPORT);
    ck_assert_ptr_null(n);
    setenv("NOTIFY_SOCKET", "/nonexistent/lust-notify", 1);
    ck_assert_int_eq(lust_notify_open(&n, 0), -ENOENT);
    ck_assert_ptr_nonnull(strstr(lust_error(), "/nonexistent/lust-notify"));
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    setenv("NOTIFY_SOCKET", longname, 1);
    ck_assert_int_eq(lust_notify_open(&n, 0), -E2BIG);
    ck_assert_ptr_null(n);
}
END_TEST

START_TEST(ready_fd_writes_a_newline_and_closes)
{
    int p[2];
    char buf[8];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(lust_notify_ready_fd(p[1]), 0);
    ck_assert_int_eq(fcntl(p[1], F_GETFD), -1);
    ck_assert_int_eq(read(p[0], buf, sizeof buf), 1);
    ck_assert_int_eq(buf[0], '\n');
    ck_assert_int_eq(read(p[0], buf, sizeof buf), 0); /* EOF: the write end is gone */
}
END_TEST

START_TEST(ready_fd_refuses_a_regular_file)
{
    char path[128];
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(lust_notify_ready_fd(fd), -ENOTSOCK);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    ck_assert_int_eq(lust_notify_ready_fd(fd), -EBADF);
}
END_TEST

/*
 * Socket activation hands descriptors 3 and up, where Check keeps its own channel to the runner,
 * so these tests run in a child that reports through its exit status: 0 when every expectation
 * held, otherwise the number of the first one that failed.
 */
static int put_socket_at(int target)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    if (s != target) {
        if (dup2(s, target) != target)
            return -1;
        close(s);
    }
    return 0;
}

static int take_two_sockets(void *arg)
{
    (void)arg;
    char pid[32];
    if (put_socket_at(3) < 0 || put_socket_at(4) < 0)
        return 1;
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "2", 1);
    setenv("LISTEN_FDNAMES", "a:b", 1);
    if (lust_listen_fds(LUST_NOTIFY_UNSET_ENV) != 2)
        return 2;
    if (!(fcntl(3, F_GETFD) & FD_CLOEXEC) || !(fcntl(4, F_GETFD) & FD_CLOEXEC))
        return 3;
    if (getenv("LISTEN_PID") || getenv("LISTEN_FDS") || getenv("LISTEN_FDNAMES"))
        return 4;
    return 0;
}

START_TEST(listen_fds_takes_sockets_meant_for_this_pid)
{
    ck_assert_int_eq(exit_code(in_child(take_two_sockets, NULL)), 0);
}
END_TEST

static int refuse_what_is_not_ours(void *arg)
{
    (void)arg;
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "2", 1);
    if (lust_listen_fds(0) != 0 || !getenv("LISTEN_PID"))
        return 1;
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "-1", 1);
    if (lust_listen_fds(0) != -EINVAL)
        return 2;
    setenv("LISTEN_FDS", "1", 1);
    close(3);
    if (lust_listen_fds(0) != -EINVAL || !strstr(lust_error(), "descriptor 3"))
        return 3;
    return 0;
}

START_TEST(listen_fds_ignores_another_pid_and_rejects_junk)
{
    ck_assert_int_eq(exit_code(in_child(refuse_what_is_not_ours, NULL)), 0);
}
END_TEST

static Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("sd_notify");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, without_notify_socket_every_call_is_a_no_op);
    tcase_add_test(tc, ready_and_stopping_reach_a_path_socket);
    tcase_add_test(tc, abstract_socket_is_reached_with_its_exact_length);
    tcase_add_test(tc, reloading_carries_the_monotonic_clock);
    tcase_add_test(tc, status_newlines_cannot_inject_assignments);
    tcase_add_test(tc, watchdog_interval_only_for_this_pid);
    tcase_add_test(tc, unsupported_or_missing_socket_is_an_error);
    suite_add_tcase(s, tc);

    tc = tcase_create("readiness and activation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ready_fd_writes_a_newline_and_closes);
    tcase_add_test(tc, ready_fd_refuses_a_regular_file);
    tcase_add_test(tc, listen_fds_takes_sockets_meant_for_this_pid);
    tcase_add_test(tc, listen_fds_ignores_another_pid_and_rejects_junk);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(notify_suite)
