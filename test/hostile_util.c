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
extern char **environ;

/* Whether live process pid's argv mentions needle. */
static int mentions(pid_t pid, const char *needle)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!read_text(path, buf, sizeof buf))
        return 0;
    const char *paren = strrchr(buf, ')');
    if (!paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X')
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 && memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
}

static int find_procs(const char *needle, pid_t *pids, int max)
{
    DIR *d = opendir("/proc");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == getpid())
            continue;
        if (mentions((pid_t)pid, needle) && n < max)
            pids[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

int wait_gone(pid_t pid, int ms)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return errno == ESRCH;
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    close(pidfd);
    return r > 0;
}

int count_left(const char *needle)
{
    pid_t pids[64];
    int n = find_procs(needle, pids, 64), left = 0;
    for (int i = 0; i < n; i++)
        left += !wait_gone(pids[i], 2000);
    return left;
}

static void kill_all(const char *needle)
{
    pid_t pids[64];
    int n = find_procs(needle, pids, 64);
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        wait_gone(pids[i], 5000);
}

static void remove_tree(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "umount -R -l '%s' 2>/dev/null; rm -rf '%s'", path, path);
    if (system(cmd) != 0)
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
    remove_tree(top);
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
    remove_tree(dir);
}

const char *at(const char *name, const char *ext)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 256, "%s/%s.%s", dir, name, ext);
    return b;
}

void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_int_eq(close(fd), 0);
}

char *read_text(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return buf;
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
    write_file(at(name, "conf"), text);
}

/* The child's side of spawn(): descriptors, limits, user, then exec. Never returns. */
static void child(char *const argv[], char **env, const struct how *how, int out, int err)
{
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(126);
    if (how && how->fd3 > 0 && dup2(how->fd3, 3) < 0)
        _exit(126);
    if (how && how->fd4 > 0 && dup2(how->fd4, 4) < 0)
        _exit(126);
    if (how && how->nofile > 0) {
        struct rlimit rl = {(rlim_t)how->nofile, (rlim_t)how->nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            _exit(126);
    }
    if (how && how->as_nobody &&
        (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
         setresuid(NOBODY, NOBODY, NOBODY) < 0))
        _exit(126);
    if (how && how->close_stdio) {
        close(0);
        close(1);
        close(2);
    }
    execve(argv[0], argv, env);
    _exit(127);
}

pid_t spawn(char *const argv[], const struct how *how, int *out, int *err)
{
    int po[2], pe[2];
    char *env[256], asan[1024];
    size_t n = 0;
    for (char **e = environ; *e && n < 240; e++)
        if (strncmp(*e, "NOTIFY_SOCKET=", 14) != 0 && strncmp(*e, "LISTEN_", 7) != 0 &&
            strncmp(*e, "JOURNAL_STREAM=", 15) != 0 && strncmp(*e, "WATCHDOG_", 9) != 0 &&
            strncmp(*e, "ASAN_OPTIONS=", 13) != 0)
            env[n++] = *e;
    /* In the jail LeakSanitizer finds no /proc and aborts: only exit statuses count here. */
    const char *old_asan = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sdetect_leaks=0", old_asan ? old_asan : "",
             old_asan && *old_asan ? ":" : "");
    env[n++] = asan;
    for (int i = 0; how && i < 4 && how->env[i]; i++)
        env[n++] = (char *)how->env[i];
    env[n] = NULL;
    ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child(argv, env, how, po[1], pe[1]);
    close(po[1]);
    close(pe[1]);
    *out = po[0];
    *err = pe[0];
    return pid;
}

void collect(pid_t pid, int out, int err, struct result *r)
{
    size_t len[2] = {0, 0};
    char *buf[2] = {r->out, r->err};
    struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = 20000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        ck_assert_msg(left > 0, "pid %ld kept its stdout/stderr open for 20 s", (long)pid);
        int k = poll(p, 2, (int)left);
        if (k < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(k, 0);
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            char sink[512];
            size_t room = sizeof r->out - 1 - len[i];
            ssize_t got = room ? read(p[i].fd, buf[i] + len[i], room) : read(p[i].fd, sink, 512);
            if (got > 0 && room)
                len[i] += (size_t)got;
            if (got == 0 || (got < 0 && errno != EINTR)) {
                close(p[i].fd);
                p[i].fd = -1;
            }
        }
    }
    r->out[len[0]] = '\0';
    r->err[len[1]] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
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

int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

int thread_conf(const char *extra)
{
    int port = free_port();
    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\n%s", port, extra ? extra : "");
    return port;
}

const char *greet(int port, char *buf, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 10};
    size_t len = 0;
    ssize_t n;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
            len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return buf;
}

void wait_in_file(const char *path, const char *needle)
{
    char *text = malloc(1 << 20);
    ck_assert_ptr_nonnull(text);
    for (int i = 0; i < 1000; i++) {
        if (read_text(path, text, 1 << 20) && strstr(text, needle)) {
            free(text);
            return;
        }
        poll(NULL, 0, 10);
    }
    ck_abort_msg("no \"%s\" in %s within 10 s: %s", needle, path, text);
}
