/*
 * test/hostile_util.c - see hostile_util.h.
 */
#include "hostile_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include <lust/pidfile.h>

char top[64], dir[128], jail[160];
const char *const simple_server = SIMPLE_SERVER;
const char *const thread_server = THREAD_SERVER;

/* A jail of these tests may have procfs mounted inside (in a mount namespace of their own). */
static void unmount_and_remove(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "umount -R -l '%s' 2>/dev/null", path);
    if (system(cmd) < 0 || remove_tree(path) < 0)
        fprintf(stderr, "cannot remove %s\n", path);
}

void make_top(void)
{
    snprintf(top, sizeof top, "/run/lust-hostile-XXXXXX");
    if (!mkdtemp(top) || chmod(top, 0755) < 0)
        abort();
}

void remove_top(void)
{
    kill_all(top);
    unmount_and_remove(top);
}

void make_dir(void)
{
    snprintf(dir, sizeof dir, "%s/t-XXXXXX", top);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0755), 0);
    snprintf(jail, sizeof jail, "%s/jail", dir);
    ck_assert_int_eq(mkdir(jail, 0755), 0);
}

void remove_dir(void)
{
    kill_all(dir);
    unmount_and_remove(dir);
}

const char *at(const char *name, const char *ext)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 256, "%s/%s.%s", dir, name, ext);
    return b;
}

void write_conf(const char *name, const char *fmt, ...)
{
    char text[4096];
    int n = snprintf(text, sizeof text,
                     "jail = \"%s\"\npidfile = \"%s\"\nlogfile = \"%s\"\n"
                     "control_socket = \"%s\"\nstop_timeout = 5\nstart_timeout = 10\n",
                     jail, at(name, "pid"), at(name, "log"), at(name, "ctl"));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
    va_end(ap);
    write_text(at(name, "conf"), text);
}

int run(struct result *r, const struct how *how, const char *prog, const char *name, ...)
{
    char *argv[16] = {(char *)prog, "-c", (char *)at(name, "conf")};
    int n = 3, out, err;
    va_list ap;
    va_start(ap, name);
    for (char *a; n < 15 && (a = va_arg(ap, char *)) != NULL;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = spawn(argv, how, &out, &err);
    collect(pid, out, err, r);
    return r->code;
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
    ck_assert_msg(run(&r, NULL, prog, name, "start", NULL) == 0, "start %s: %d: %s%s", name, r.code,
                  r.out, r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_msg(pid > 0 && strstr(r.out, "started"), "start said: %s", r.out);
    ck_assert_int_eq(holder(name), pid);
    return pid;
}

void stop(const char *prog, const char *name, pid_t pid)
{
    struct result r;
    ck_assert_msg(run(&r, NULL, prog, name, "stop", NULL) == 0, "stop: %d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(wait_gone(pid, 2000), "pid %ld still there after stop", (long)pid);
}

int thread_conf(const char *extra)
{
    int port = free_port();
    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\n%s", port, extra ? extra : "");
    return port;
}
