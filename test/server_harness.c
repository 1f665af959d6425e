/* test/server_harness.c - the example daemons run for real; test/server_harness.h says how. */
#include "server_harness.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <lust/pidfile.h>

const char *const simple_server = SIMPLE_SERVER;
const char *const marker_server = MARKER_SERVER;
const char *const thread_server = THREAD_SERVER;
const char *const old_ops_server = OLD_OPS_SERVER;
const char *const skeleton = SKELETON;

char *dir, *jail, *markers;

static void make_dir(void)
{
    dir = new_dir(jail_top, "t", 0755);
    ck_assert_ptr_nonnull(dir);
    jail = path_in(dir, "jail");
    ck_assert_int_eq(mkdir(jail, 0755), 0);
    markers = path_in(jail, "m");
    ck_assert_int_eq(mkdir(markers, 0755), 0);
    ck_assert_int_eq(chown(markers, NOBODY, NOGROUP), 0);
}

static void remove_dir(void)
{
    kill_all(dir);
    unmount_below(dir);
    if (remove_tree(dir) < 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    free(markers);
    free(jail);
    free(dir);
}

TCase *server_tcase(const char *name, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, jail_top_make, jail_top_remove);
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_set_timeout(tc, timeout);
    return tc;
}

const char *at(const char *name, const char *ext)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 256, "%s/%s.%s", dir, name, ext);
    return b;
}

TEST_PRINTF(4, 0)
static void format_conf(char *text, size_t size, const char *name, const char *fmt, va_list ap)
{
    int n = snprintf(text, size,
                     "jail = \"%s\"\npidfile = \"%s\"\nlogfile = \"%s\"\n"
                     "control_socket = \"%s\"\nstop_timeout = 5\nstart_timeout = 10\n",
                     jail, at(name, "pid"), at(name, "log"), at(name, "ctl"));
    vsnprintf(text + n, size - (size_t)n, fmt, ap);
}

void write_conf(const char *name, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    format_conf(text, sizeof text, name, fmt, ap);
    va_end(ap);
    write_file(at(name, "conf"), text, strlen(text), 0644);
}

void rename_conf(const char *name, const char *fmt, ...)
{
    char text[2048], conf[256];
    struct stat before, after;
    va_list ap;
    va_start(ap, fmt);
    format_conf(text, sizeof text, name, fmt, ap);
    va_end(ap);
    snprintf(conf, sizeof conf, "%s", at(name, "conf"));
    ck_assert_int_eq(stat(conf, &before), 0);
    write_file(at(name, "conf-new"), text, strlen(text), 0644);
    ck_assert_int_eq(rename(at(name, "conf-new"), conf), 0);
    ck_assert_int_eq(stat(conf, &after), 0);
    ck_assert_int_ne(before.st_ino, after.st_ino);
}

int thread_conf_lines(const char *lines)
{
    int port = free_port();
    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\n%s", port, lines);
    return port;
}

int thread_conf(const char *greeting)
{
    char line[300];
    snprintf(line, sizeof line, "greeting = \"%s\"\n", greeting);
    return thread_conf_lines(line);
}

void marker_conf(void)
{
    write_conf("marker_server", "markers = \"%s\"\ninterval = 60\n", markers);
}

int run_how(struct result *r, const struct how *how, const char *prog, const char *name, ...)
{
    char *argv[16] = {(char *)prog, "-c", (char *)at(name, "conf")};
    int n = 3;
    va_list ap;
    va_start(ap, name);
    for (char *a; n < 15 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    run_argv(r, how, argv);
    return r->code;
}

int run_ops(struct result *r, const char *mode, const char *cmd)
{
    char env[64];
    snprintf(env, sizeof env, "LUST_TEST_OPS=%s", mode);
    struct how how = {.env = {env}, .fd3 = -1};
    return run_how(r, &how, old_ops_server, "old_ops_server", cmd, (char *)NULL);
}

pid_t pid_in(const char *text)
{
    const char *p = strstr(text, "(pid ");
    return p ? (pid_t)strtol(p + 5, NULL, 10) : 0;
}

pid_t holder(const char *name)
{
    pid_t pid = 0;
    return lust_pidfile_query(at(name, "pid"), &pid) == LUST_PIDFILE_RUNNING ? pid : 0;
}

pid_t start(const char *prog, const char *name)
{
    struct result r;
    ck_assert_msg(RUN(&r, prog, name, "start") == 0, "start %s: %d: %s%s", name, r.code, r.out,
                  r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_msg(pid > 0 && strstr(r.out, "started"), "start said: %s", r.out);
    ck_assert_int_eq(holder(name), pid);
    return pid;
}

void stop(const char *prog, const char *name, pid_t pid)
{
    struct result r;
    ck_assert_msg(RUN(&r, prog, name, "stop") == 0, "stop: %d: %s%s", r.code, r.out, r.err);
    ck_assert_msg(wait_gone(pid, 2000), "pid %ld still there after stop", (long)pid);
}

int dial_control(const char *name)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", at(name, "ctl"));
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

int notify_socket(char *path, size_t size)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 10};
    snprintf(path, size, "%s/notify.sock", dir);
    ck_assert_uint_lt(strlen(path), sizeof a.sun_path);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    return fd;
}

void expect_notify2(int fd, const char *want, const char *also)
{
    char buf[4096];
    int seen = 0, seen_also = also == NULL;
    while (!seen || !seen_also) {
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        ck_assert_msg(n >= 0, "no %s%s%s on the notify socket: %s", want, also ? " and " : "",
                      also ? also : "", strerror(errno));
        buf[n] = '\0';
        seen |= has_line(buf, want);
        seen_also |= also && has_line(buf, also);
    }
}

void expect_notify(int fd, const char *want)
{
    expect_notify2(fd, want, NULL);
}

void fg_start(struct fg *fg, const char *extra_env)
{
    char sock[256], env[300];
    fg->notify = notify_socket(sock, sizeof sock);
    snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", sock);
    struct how how = {.env = {env, extra_env}, .fd3 = -1};
    char *argv[] = {
        (char *)thread_server, "-c", (char *)at("thread_server", "conf"), "-f", "start", NULL};
    fg->pid = spawn(argv, &how, &fg->out, &fg->err);
    expect_notify(fg->notify, "READY=1");
}

void fg_end(struct fg *fg, struct result *r)
{
    collect(fg->pid, fg->out, fg->err, r);
    ck_assert_msg(r->code == 0, "exit %d: %s", r->code, r->err);
    close(fg->notify);
}

void fg_term(struct fg *fg, struct result *r)
{
    ck_assert_int_eq(kill(fg->pid, SIGTERM), 0);
    fg_end(fg, r);
}
