/*
 * test/check_server_root.c - the server framework seen from outside, as an operator sees it:
 * the example daemons (and test/old_ops_server) are started for real, as root, by fork+exec,
 * with their stdout, stderr and exit codes captured.
 *
 * Each test gets its own directory under a root-owned 0755 directory in /run (a jail must not
 * have /tmp's 1777 above it): TEST/jail (0755), TEST/jail/m (the markers, owned by nobody),
 * TEST/NAME.conf, NAME.pid, NAME.log. Every command names its config by that path, so the
 * processes a test started are found by their command line: the checked teardown kills them
 * and removes the directory; the unchecked teardown, in the runner, does the same for the whole
 * suite, which also covers a test that failed half-way (Check's fork mode skips the checked
 * teardown of a failed test). Sockets are on 127.0.0.1 only, on ports the kernel picked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lust/pidfile.h>
#include <lust/version.h>

#include "lust_test.h"

#define NOBODY            65534
#define TEST_PRINTF(f, a) __attribute__((format(printf, f, a)))

static char top[64];      /* the suite's directory, made in the runner */
static char dir[128];     /* this test's directory */
static char jail[160];    /* dir/jail */
static char markers[192]; /* dir/jail/m, writable by nobody */
extern char **environ;

/* ---- processes found by command line ---- */

/* Whether process pid's argv mentions needle; 0 for a process that is gone or a zombie. */
static int mentions(pid_t pid, const char *needle)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    if (!paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X')
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 && memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
}

/* The live processes whose argv mentions needle (the test itself excepted), into pids. */
static int find_procs(const char *needle, pid_t *pids, int max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
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

/*
 * Waits until pid has exited (a zombie counts: init reaps orphans late here), at most ms.
 * A pidfd where there is one; valgrind has none, then /proc is looked at every 10 ms.
 */
static int wait_gone(pid_t pid, int ms)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd >= 0) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int r;
        do
            r = poll(&p, 1, ms);
        while (r < 0 && errno == EINTR);
        close(pidfd);
        return r > 0;
    }
    if (errno == ESRCH)
        return 1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    for (int waited = 0; waited <= ms; waited += 10) {
        char buf[512];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return 1;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            return 1;
        buf[n] = '\0';
        const char *paren = strrchr(buf, ')');
        if (paren && (paren[2] == 'Z' || paren[2] == 'X'))
            return 1;
        poll(NULL, 0, 10);
    }
    return 0;
}

/* How many processes mentioning needle are still there once the exiting ones are gone. */
static int count_left(const char *needle)
{
    pid_t pids[64];
    int n = find_procs(needle, pids, 64);
    int left = 0;
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
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", path);
}

/* ---- fixtures ---- */

static void make_top(void)
{
    snprintf(top, sizeof top, "/run/lust-test-XXXXXX");
    if (!mkdtemp(top) || chmod(top, 0755) < 0)
        abort();
}

static void remove_top(void)
{
    kill_all(top);
    remove_tree(top);
}

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "%s/t-XXXXXX", top);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chmod(dir, 0755), 0);
    snprintf(jail, sizeof jail, "%s/jail", dir);
    ck_assert_int_eq(mkdir(jail, 0755), 0);
    snprintf(markers, sizeof markers, "%s/m", jail);
    ck_assert_int_eq(mkdir(markers, 0755), 0);
    ck_assert_int_eq(chown(markers, NOBODY, NOBODY), 0);
}

static void remove_dir(void)
{
    kill_all(dir);
    remove_tree(dir);
}

/* ---- files and paths ---- */

/* dir/NAME.EXT, in one of a few rotating buffers: use it at once, copy it to keep it. */
static const char *at(const char *name, const char *ext)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 256, "%s/%s.%s", dir, name, ext);
    return b;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* The config text: the jail, dir/NAME.{pid,log,ctl} on lines 1-6, then the caller's lines. */
TEST_PRINTF(4, 0)
static void format_conf(char *text, size_t size, const char *name, const char *fmt, va_list ap)
{
    int n = snprintf(text, size,
                     "jail = \"%s\"\npidfile = \"%s\"\nlogfile = \"%s\"\n"
                     "control_socket = \"%s\"\nstop_timeout = 5\nstart_timeout = 10\n",
                     jail, at(name, "pid"), at(name, "log"), at(name, "ctl"));
    vsnprintf(text + n, size - (size_t)n, fmt, ap);
}

/* Writes dir/NAME.conf in place (the same file, truncated). */
TEST_PRINTF(2, 3)
static void write_conf(const char *name, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    format_conf(text, sizeof text, name, fmt, ap);
    va_end(ap);
    write_file(at(name, "conf"), text);
}

/* Replaces dir/NAME.conf by a new file renamed over it, as editors and sed -i do. */
TEST_PRINTF(2, 3)
static void rename_conf(const char *name, const char *fmt, ...)
{
    char text[2048], conf[256];
    struct stat before, after;
    va_list ap;
    va_start(ap, fmt);
    format_conf(text, sizeof text, name, fmt, ap);
    va_end(ap);
    snprintf(conf, sizeof conf, "%s", at(name, "conf"));
    ck_assert_int_eq(stat(conf, &before), 0);
    write_file(at(name, "conf-new"), text);
    ck_assert_int_eq(rename(at(name, "conf-new"), conf), 0);
    ck_assert_int_eq(stat(conf, &after), 0);
    ck_assert_int_ne(before.st_ino, after.st_ino);
}

static char *read_text(const char *path, char *buf, size_t size)
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

/* The value of a "Key:\t..." line of a /proc status text, tabs kept. */
static const char *field_in(const char *text, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            while (*v == '\t' || *v == ' ')
                v++;
            size_t len = strcspn(v, "\n");
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            snprintf(out, size, "%.*s", (int)len, v);
            return out;
        }
    }
    ck_abort_msg("no %s line in:\n%s", key, text);
    return NULL;
}

/* The same from the file /proc/PID/status. */
static const char *status_field(const char *status_path, const char *key, char *out, size_t size)
{
    char buf[8192];
    ck_assert_ptr_nonnull(read_text(status_path, buf, sizeof buf));
    return field_in(buf, key, out, size);
}

/* ---- running the programs ---- */

struct result {
    int code; /* exit status, or 128 + signal */
    char out[4096];
    char err[4096];
};

/* How a child is started: extra environment, a descriptor to pass as 3, a uid to become. */
struct how {
    const char *env[4]; /* "NAME=VALUE", NULL-terminated */
    int fd3;            /* passed as descriptor 3 when >= 0 */
    int as_nobody;
    int keep_stdio_pipes; /* the caller reads stdout/stderr itself (foreground servers) */
};

/*
 * fork+exec argv[0] with stdin from /dev/null and stdout/stderr into pipes (*out, *err). The
 * environment is the test's without anything a supervisor may have set for it.
 */
static pid_t spawn(char *const argv[], const struct how *how, int *out, int *err)
{
    int po[2], pe[2];
    char *env[256];
    size_t n = 0;

    for (char **e = environ; *e && n < 240; e++)
        if (strncmp(*e, "NOTIFY_SOCKET=", 14) != 0 && strncmp(*e, "LISTEN_", 7) != 0 &&
            strncmp(*e, "JOURNAL_STREAM=", 15) != 0 && strncmp(*e, "WATCHDOG_", 9) != 0 &&
            strncmp(*e, "LUST_TEST_OPS=", 14) != 0 && strncmp(*e, "ASAN_OPTIONS=", 13) != 0)
            env[n++] = *e;
    /*
     * In an ASan build the daemons would end in LeakSanitizer, which needs /proc: inside the
     * jail there is none, and it aborts (exit 134) instead of exiting with run()'s status.
     * Leaks are the ASan runs of the unit tests' business; here only the exit status counts.
     */
    char asan[1024];
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
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
            _exit(126);
        if (how && how->fd3 >= 0 && dup2(how->fd3, 3) < 0)
            _exit(126);
        if (how && how->as_nobody &&
            (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
             setresuid(NOBODY, NOBODY, NOBODY) < 0))
            _exit(126);
        execve(argv[0], argv, env);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    *out = po[0];
    *err = pe[0];
    return pid;
}

/* Reads out and err to their end (at most 20 s), then reaps pid into r->code. */
static void collect(pid_t pid, int out, int err, struct result *r)
{
    size_t lo = 0, le = 0;
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
            char *buf = i == 0 ? r->out : r->err;
            size_t *len = i == 0 ? &lo : &le;
            char sink[512];
            size_t room = sizeof r->out - 1 - *len;
            ssize_t got = room ? read(p[i].fd, buf + *len, room) : read(p[i].fd, sink, sizeof sink);
            if (got > 0 && room)
                *len += (size_t)got;
            if (got == 0 || (got < 0 && errno != EINTR)) {
                close(p[i].fd);
                p[i].fd = -1;
            }
        }
    }
    r->out[lo] = '\0';
    r->err[le] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs argv (NULL-terminated) to its end. */
static void run_argv(struct result *r, const struct how *how, char *const argv[])
{
    int out, err;
    pid_t pid = spawn(argv, how, &out, &err);
    collect(pid, out, err, r);
}

/* Runs PROG -c dir/NAME.conf ARGS... (NULL-terminated) and returns its exit status. */
static int run_how(struct result *r, const struct how *how, const char *prog, const char *name, ...)
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

#define RUN(r, prog, name, ...) run_how((r), NULL, (prog), (name), __VA_ARGS__, (char *)NULL)

/* The pid in "NAME started (pid N)" / "already running (pid N)", or 0. */
static pid_t pid_in(const char *text)
{
    const char *p = strstr(text, "(pid ");
    return p ? (pid_t)strtol(p + 5, NULL, 10) : 0;
}

/* The holder of dir/NAME.pid's lock, or 0 when none. */
static pid_t holder(const char *name)
{
    pid_t pid = 0;
    return lust_pidfile_query(at(name, "pid"), &pid) == LUST_PIDFILE_RUNNING ? pid : 0;
}

/* Starts PROG as NAME, checks the verdict, returns the server's pid. */
static pid_t start(const char *prog, const char *name)
{
    struct result r;
    ck_assert_msg(RUN(&r, prog, name, "start") == 0, "start %s: %d: %s%s", name, r.code, r.out,
                  r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_msg(pid > 0 && strstr(r.out, "started"), "start said: %s", r.out);
    ck_assert_int_eq(holder(name), pid);
    return pid;
}

static void stop(const char *prog, const char *name, pid_t pid)
{
    struct result r;
    ck_assert_msg(RUN(&r, prog, name, "stop") == 0, "stop: %d: %s%s", r.code, r.out, r.err);
    ck_assert_msg(wait_gone(pid, 2000), "pid %ld still there after stop", (long)pid);
}

static int free_port(void)
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

/* Connects to 127.0.0.1:port and returns what the server says before closing. */
static const char *greet(int port, char *buf, size_t size)
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
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return buf;
}

static const char *const simple_server = SIMPLE_SERVER;
static const char *const thread_server = THREAD_SERVER;
static const char *const old_ops_server = OLD_OPS_SERVER;

/* A thread_server config on a fresh port; returns the port. */
static int thread_conf(const char *greeting)
{
    int port = free_port();
    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"%s\"\n", port, greeting);
    return port;
}

static void simple_conf(void)
{
    write_conf("simple_server", "markers = \"%s\"\ninterval = 60\n", markers);
}

/* The "PID UID" a marker file holds; 0 when it does not exist. */
static int read_marker(const char *stage, long *pid, long *uid, struct timespec *mtime)
{
    char path[256], buf[64];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", markers, stage);
    if (!read_text(path, buf, sizeof buf) || stat(path, &st) < 0)
        return 0;
    if (sscanf(buf, "%ld %ld\n", pid, uid) != 2 || !strchr(buf, '\n'))
        return 0; /* being written */
    if (mtime)
        *mtime = st.st_mtim;
    return 1;
}

/*
 * Waits (at most 10 s) for a marker written after `start` returned: run() is called once the
 * daemon told it was ready, so its marker may come a moment later. inotify, not a sleep loop.
 */
static void wait_marker(const char *stage, long *pid, long *uid, struct timespec *mtime)
{
    int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ck_assert_int_ge(ifd, 0);
    ck_assert_int_ge(inotify_add_watch(ifd, markers, IN_CLOSE_WRITE | IN_MOVED_TO), 0);
    while (!read_marker(stage, pid, uid, mtime)) {
        struct pollfd p = {.fd = ifd, .events = POLLIN};
        char ev[4096];
        ck_assert_msg(poll(&p, 1, 10000) == 1, "no marker %s within 10 s", stage);
        while (read(ifd, ev, sizeof ev) > 0)
            continue;
    }
    close(ifd);
}

static int ts_le(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

/* ---- the life of a server ---- */

START_TEST(start_runs_each_hook_in_order_then_status_request_stop_status)
{
    static const char *const stages[] = {"1-before_daemonize", "2-before_jail",
                                         "3-before_drop_privs", "4-run"};
    struct result r;
    char buf[256];
    long mpid[4], muid[4];
    struct timespec mt[4];

    simple_conf();
    pid_t pid = start(simple_server, "simple_server");
    /* The first three ran before the daemon was ready, so before start returned. */
    for (int i = 0; i < 3; i++)
        ck_assert_msg(read_marker(stages[i], &mpid[i], &muid[i], &mt[i]), "no marker %s",
                      stages[i]);
    wait_marker(stages[3], &mpid[3], &muid[3], &mt[3]);
    /* Who ran each hook: the started process, then the daemon as root, then as nobody. */
    ck_assert_int_ne(mpid[0], pid);
    ck_assert_int_eq(muid[0], 0);
    ck_assert_int_eq(mpid[1], pid);
    ck_assert_int_eq(muid[1], 0);
    ck_assert_int_eq(mpid[2], pid);
    ck_assert_int_eq(muid[2], 0);
    ck_assert_int_eq(mpid[3], pid);
    ck_assert_int_eq(muid[3], NOBODY);
    for (int i = 1; i < 4; i++)
        ck_assert_msg(ts_le(mt[i - 1], mt[i]), "%s written before %s", stages[i], stages[i - 1]);
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "status"), 0);
    ck_assert_int_eq(pid_in(r.out), pid);

    int port = thread_conf("hello from the test");
    pid_t tpid = start(thread_server, "thread_server");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "hello from the test\n");

    stop(simple_server, "simple_server", pid);
    long spid, suid;
    ck_assert(read_marker("5-shutdown", &spid, &suid, NULL));
    ck_assert_int_eq(spid, pid);
    ck_assert(read_marker("6-run_returns", &spid, &suid, NULL));
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "status"), 3);
    ck_assert_int_eq(access(at("simple_server", "pid"), F_OK), -1);
    stop(thread_server, "thread_server", tpid);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 3);
    ck_assert_int_eq(count_left(dir), 0);
}
END_TEST

/* One thread's /proc status text: nobody's ids, no privileges, the framework's signals. */
/* 1 when link ("socket:[INODE]") is a unix socket bound to path, from /proc/net/unix. */
static int is_unix_socket_at(const char *link, const char *path)
{
    unsigned long want = strtoul(link + 8, NULL, 10), inode;
    char line[512], name[300];
    int found = 0;
    FILE *f = fopen("/proc/net/unix", "re");
    ck_assert_ptr_nonnull(f);
    while (!found && fgets(line, sizeof line, f)) {
        name[0] = '\0';
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %299s", &inode, name) >= 1 && inode == want)
            found = strcmp(name, path) == 0;
    }
    fclose(f);
    return found;
}

static void check_ids(const char *status, const char *tid)
{
    char v[256];
    ck_assert_str_eq(field_in(status, "Uid", v, sizeof v), "65534\t65534\t65534\t65534");
    ck_assert_str_eq(field_in(status, "Gid", v, sizeof v), "65534\t65534\t65534\t65534");
    ck_assert_str_eq(field_in(status, "Groups", v, sizeof v), "");
    ck_assert_str_eq(field_in(status, "NoNewPrivs", v, sizeof v), "1");
    ck_assert_str_eq(field_in(status, "CapEff", v, sizeof v), "0000000000000000");
    ck_assert_str_eq(field_in(status, "CapPrm", v, sizeof v), "0000000000000000");
    unsigned long long blk = strtoull(field_in(status, "SigBlk", v, sizeof v), NULL, 16);
    unsigned long long cgt = strtoull(field_in(status, "SigCgt", v, sizeof v), NULL, 16);
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(blk & (1ULL << (sigs[i] - 1)), "task %s: signal %d not blocked", tid,
                      sigs[i]);
        ck_assert_msg(!(cgt & (1ULL << (sigs[i] - 1))), "task %s: handler for signal %d", tid,
                      sigs[i]);
    }
}

START_TEST(running_server_seen_from_proc_is_jailed_nobody_with_only_its_descriptors)
{
    char path[256], link[PATH_MAX];
    int port = thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    char buf[64];
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n"); /* its serving threads exist */

    /* Every thread, not only the main one: a drop that missed one would show there. */
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int threads = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char text[8192];
        snprintf(path, sizeof path, "/proc/%ld/task/%s/status", (long)pid, e->d_name);
        if (!read_text(path, text, sizeof text))
            continue; /* a client's thread that has just finished */
        check_ids(text, e->d_name);
        threads++;
    }
    closedir(d);
    ck_assert_int_ge(threads, 2); /* main and the signal thread */

    snprintf(path, sizeof path, "/proc/%ld/root", (long)pid);
    ssize_t n = readlink(path, link, sizeof link - 1);
    ck_assert_int_gt(n, 0);
    link[n] = '\0';
    ck_assert_str_eq(link, jail);
    pid_t sid = getsid(pid);
    ck_assert_int_gt(sid, 0);
    ck_assert_int_ne(sid, pid);
    ck_assert_int_ne(sid, getsid(0));

    /*
     * Descriptors: stdio, the log, the pid file, the config file (for SIGHUP), the listening
     * socket and the control socket, eventfds, signalfd. None is a directory: a jailed process
     * holding one outside its jail could fchdir() out of it.
     */
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int sockets = 0, pidfiles = 0, logs = 0, confs = 0, controls = 0;
    char bound[300];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char fdpath[300];
        struct stat st;
        snprintf(fdpath, sizeof fdpath, "/proc/%ld/fd/%s", (long)pid, e->d_name);
        n = readlink(fdpath, link, sizeof link - 1);
        ck_assert_int_gt(n, 0);
        link[n] = '\0';
        ck_assert_int_eq(stat(fdpath, &st), 0);
        ck_assert_msg(!S_ISDIR(st.st_mode), "fd %s is a directory: %s", e->d_name, link);
        int fd = atoi(e->d_name);
        if (fd == 0 && strcmp(link, "/dev/null") == 0)
            continue;
        if (strcmp(link, at("thread_server", "log")) == 0) {
            logs++;
            continue;
        }
        if (strcmp(link, at("thread_server", "pid")) == 0) {
            pidfiles++;
            continue;
        }
        if (strcmp(link, at("thread_server", "conf")) == 0) {
            confs++;
            continue;
        }
        if (strncmp(link, "socket:", 7) == 0) {
            /* Bound under a temporary name (PATH.PID), then renamed into place. */
            snprintf(bound, sizeof bound, "%s.%ld", at("thread_server", "ctl"), (long)pid);
            controls += is_unix_socket_at(link, bound);
            sockets++;
            continue;
        }
        if (strcmp(link, "anon_inode:[eventfd]") == 0 || strcmp(link, "anon_inode:[signalfd]") == 0)
            continue;
        ck_abort_msg("unexpected descriptor %d -> %s", fd, link);
    }
    closedir(d);
    ck_assert_int_eq(pidfiles, 1);
    ck_assert_int_eq(confs, 1);
    ck_assert_int_ge(logs, 2); /* stdout and stderr at least */
    ck_assert_int_eq(sockets, 2);
    ck_assert_int_eq(controls, 1);
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(kill9_then_status_is_1_and_start_works_again)
{
    struct result r;
    simple_conf();
    pid_t pid = start(simple_server, "simple_server");
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert(wait_gone(pid, 5000));
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "status"), 1);
    ck_assert_ptr_nonnull(strstr(r.out, "dead"));
    pid_t again = start(simple_server, "simple_server");
    ck_assert_int_ne(again, pid);
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "status"), 0);
    stop(simple_server, "simple_server", again);
}
END_TEST

START_TEST(twenty_concurrent_starts_make_exactly_one_server)
{
    enum { N = 20 };
    char conf[256];
    snprintf(conf, sizeof conf, "%s", at("simple_server", "conf"));
    char *argv[] = {(char *)simple_server, "-c", conf, "start", NULL};
    pid_t pids[N];
    int outs[N], errs[N];
    static struct result r[N];

    simple_conf();
    for (int i = 0; i < N; i++)
        pids[i] = spawn(argv, NULL, &outs[i], &errs[i]);
    for (int i = 0; i < N; i++)
        collect(pids[i], outs[i], errs[i], &r[i]);
    pid_t server = holder("simple_server");
    ck_assert_int_gt(server, 0);
    int started = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_msg(r[i].code == 0, "start %d: %d: %s%s", i, r[i].code, r[i].out, r[i].err);
        ck_assert_msg(pid_in(r[i].out) == server, "start %d names another server: %s", i, r[i].out);
        started += strstr(r[i].out, "started") != NULL;
    }
    ck_assert_int_eq(started, 1);
    ck_assert_int_eq(count_left(dir), 1);
    pid_t left[4];
    ck_assert_int_eq(find_procs(dir, left, 4), 1);
    ck_assert_int_eq(left[0], server);
    stop(simple_server, "simple_server", server);
}
END_TEST

/* ---- starts that fail ---- */

/* After a failed start: no process left, no pid file locked, the markers of no later stage. */
static void nothing_left(const char *name)
{
    pid_t pid = 0;
    int q = lust_pidfile_query(at(name, "pid"), &pid);
    ck_assert_msg(q != LUST_PIDFILE_RUNNING && q != LUST_PIDFILE_RUNNING_UNKNOWN,
                  "pid file %s still locked (%d, pid %ld)", at(name, "pid"), q, (long)pid);
    ck_assert_int_eq(count_left(dir), 0);
}

START_TEST(bad_config_exits_6_naming_file_and_line_and_starts_nothing)
{
    struct result r;
    char want[300];

    simple_conf();
    write_file(at("bad", "conf"), "# a comment\nuser = = nobody\n");
    ck_assert_int_eq(RUN(&r, simple_server, "bad", "start"), 6);
    snprintf(want, sizeof want, "%s:2", at("bad", "conf"));
    ck_assert_msg(strstr(r.err, want), "stderr: %s", r.err);

    write_file(at("bad", "conf"), "# a comment\n\ninterval = 2\nintreval = 3\n");
    ck_assert_int_eq(RUN(&r, simple_server, "bad", "start"), 6);
    snprintf(want, sizeof want, "%s:4", at("bad", "conf"));
    ck_assert_msg(strstr(r.err, want), "stderr: %s", r.err);
    ck_assert_msg(strstr(r.err, "intreval"), "stderr: %s", r.err);
    ck_assert_str_eq(r.out, "");
    nothing_left("bad");
    ck_assert_int_eq(access(at("bad", "pid"), F_OK), -1);
    ck_assert_int_eq(access(at("bad", "log"), F_OK), -1);
}
END_TEST

START_TEST(unknown_user_exits_6_naming_the_user)
{
    struct result r;
    write_conf("simple_server", "user = \"lust-no-such-user\"\nmarkers = \"%s\"\n", markers);
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "start"), 6);
    ck_assert_msg(strstr(r.err, "user \"lust-no-such-user\" not found"), "stderr: %s", r.err);
    nothing_left("simple_server");
    long p, u;
    ck_assert(!read_marker("1-before_daemonize", &p, &u, NULL));
}
END_TEST

START_TEST(missing_jail_exits_5_naming_the_jail)
{
    struct result r;
    char missing[256];
    snprintf(missing, sizeof missing, "%s/no-such-jail", dir);
    FILE *f = fopen(at("simple_server", "conf"), "we");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "jail = \"%s\"\npidfile = \"%s\"\nlogfile = \"%s\"\n", missing,
            at("simple_server", "pid"), at("simple_server", "log"));
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "start"), 5);
    ck_assert_msg(strstr(r.err, missing), "stderr: %s", r.err);
    nothing_left("simple_server");
}
END_TEST

START_TEST(port_in_use_fails_with_the_daemons_bind_sentence)
{
    struct result r;
    char want[128];
    int port = thread_conf("HI!");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 1), 0);

    ck_assert_int_ne(RUN(&r, thread_server, "thread_server", "start"), 0);
    snprintf(want, sizeof want, "listen 127.0.0.1:%d: Address already in use", port);
    ck_assert_msg(strstr(r.err, want), "stderr: %s", r.err);
    nothing_left("thread_server");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 3);
    close(fd);
}
END_TEST

/*
 * A mistake in the daemon's own keys, found by its hook in the daemon (before_drop_privs),
 * exits 6 like a file the framework cannot parse: the hook said so with
 * lust_server_fail_config(), and the verdict carried it to the starting process.
 */
START_TEST(a_hook_blaming_the_config_exits_6_in_both_modes)
{
    struct result r;
    write_conf("thread_server", "listen = {\"nonsense\"}\n");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "start"), 6);
    ck_assert_msg(strstr(r.err, "listen \"nonsense\": not HOST:PORT"), "stderr: %s", r.err);
    nothing_left("thread_server");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "-f", "start"), 6);
    ck_assert_msg(strstr(r.err, "listen \"nonsense\": not HOST:PORT"), "stderr: %s", r.err);
    nothing_left("thread_server");
}
END_TEST

/* ---- neighbours ---- */

/* The device and inode of liblust.so.1 as mapped in pid. */
static void liblust_mapping(pid_t pid, char *out, size_t size)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    FILE *f = fopen(path, "re");
    ck_assert_ptr_nonnull(f);
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "/liblust.so.1"))
            continue;
        char dev[32];
        unsigned long inode;
        ck_assert_int_eq(sscanf(line, "%*s %*s %*s %31s %lu", dev, &inode), 2);
        snprintf(out, size, "%s %lu", dev, inode);
        break;
    }
    fclose(f);
    ck_assert_msg(out[0], "pid %ld maps no liblust.so.1", (long)pid);
}

START_TEST(two_different_daemons_share_liblust_and_collide_in_nothing)
{
    struct result r;
    char m1[64], m2[64], buf[64];

    simple_conf();
    int port = thread_conf("two");
    pid_t s = start(simple_server, "simple_server");
    pid_t t = start(thread_server, "thread_server");
    liblust_mapping(s, m1, sizeof m1);
    liblust_mapping(t, m2, sizeof m2);
    ck_assert_str_eq(m1, m2);
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "status"), 0);
    ck_assert_int_eq(pid_in(r.out), s);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 0);
    ck_assert_int_eq(pid_in(r.out), t);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "two\n");
    stop(simple_server, "simple_server", s);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 0);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "two\n");
    stop(thread_server, "thread_server", t);
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "status"), 3);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 3);
}
END_TEST

static const char *start_stop_daemon(void)
{
    if (access("/sbin/start-stop-daemon", X_OK) == 0)
        return "/sbin/start-stop-daemon";
    return "/usr/sbin/start-stop-daemon";
}

START_TEST(debian_start_stop_daemon_reads_and_stops_through_our_pid_file)
{
    struct result r;
    char *ssd = (char *)start_stop_daemon();
    char pidf[256];
    snprintf(pidf, sizeof pidf, "%s", at("thread_server", "pid"));
    char *status[] = {ssd, "--status", "--pidfile", pidf, NULL};
    char *stop_argv[] = {ssd, "--stop", "--pidfile", pidf, NULL};

    thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    run_argv(&r, NULL, status);
    ck_assert_msg(r.code == 0, "--status: %d: %s", r.code, r.err);
    run_argv(&r, NULL, stop_argv);
    ck_assert_msg(r.code == 0, "--stop: %d: %s", r.code, r.err);
    ck_assert_msg(wait_gone(pid, 5000), "still running after start-stop-daemon --stop");
    /* The daemon left an empty pid file: "not running" to us, "cannot tell" (4) to dpkg's. */
    run_argv(&r, NULL, status);
    ck_assert_msg(r.code == 1 || r.code == 3 || r.code == 4, "--status: %d", r.code);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 3);
    /* And after our own stop removed the file: 3, not running. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "stop"), 0);
    run_argv(&r, NULL, status);
    ck_assert_int_eq(r.code, 3);
}
END_TEST

/* ---- callback structs of other sizes ---- */

static int run_ops(struct result *r, const char *mode, const char *cmd)
{
    char env[64];
    snprintf(env, sizeof env, "LUST_TEST_OPS=%s", mode);
    struct how how = {.env = {env}, .fd3 = -1};
    return run_how(r, &how, old_ops_server, "old_ops_server", cmd, (char *)NULL);
}

START_TEST(older_smaller_callback_struct_still_works)
{
    struct result r;
    write_conf("old_ops_server", "");
    ck_assert_msg(run_ops(&r, "old", "start") == 0, "%s%s", r.out, r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_int_eq(holder("old_ops_server"), pid);
    ck_assert_int_eq(run_ops(&r, "old", "status"), 0);
    /* The bytes after the old struct are not taken for a reload hook... */
    ck_assert_int_eq(run_ops(&r, "old", "reload"), 3);
    /* ...nor for a shutdown hook: the daemon would crash on TERM calling it. */
    ck_assert_msg(run_ops(&r, "old", "stop") == 0, "%s%s", r.out, r.err);
    ck_assert(wait_gone(pid, 2000));
    char log[4096];
    ck_assert_ptr_nonnull(read_text(at("old_ops_server", "log"), log, sizeof log));
    ck_assert_ptr_nonnull(strstr(log, "old_ops_server running"));
    ck_assert_ptr_nonnull(strstr(log, "exiting with status 0"));
}
END_TEST

START_TEST(larger_struct_with_unknown_members_set_is_refused)
{
    struct result r;
    write_conf("old_ops_server", "");
    ck_assert_int_ne(run_ops(&r, "big-set", "start"), 0);
    ck_assert_msg(strstr(r.err, "newer liblust"), "stderr: %s", r.err);
    nothing_left("old_ops_server");
    ck_assert_int_eq(access(at("old_ops_server", "pid"), F_OK), -1);
}
END_TEST

START_TEST(larger_struct_with_zero_tail_works)
{
    struct result r;
    write_conf("old_ops_server", "");
    ck_assert_msg(run_ops(&r, "big-zero", "start") == 0, "%s%s", r.out, r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_int_eq(holder("old_ops_server"), pid);
    ck_assert_msg(run_ops(&r, "big-zero", "stop") == 0, "%s%s", r.out, r.err);
    ck_assert(wait_gone(pid, 2000));
}
END_TEST

/* ---- supervisors: sd_notify, foreground, readiness descriptor ---- */

/* A datagram socket bound at dir/notify.sock, with a receive timeout. */
static int notify_socket(char *path, size_t size)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 10};
    snprintf(path, size, "%s/notify.sock", dir);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    return fd;
}

/* Whether the datagram text has the line want ("READY=1") among its lines. */
static int has_line(const char *text, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, want, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Receives datagrams until the lines want and also (when not NULL) were seen; fails after
 * the socket's timeout. */
static void expect_notify2(int fd, const char *want, const char *also)
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

static void expect_notify(int fd, const char *want)
{
    expect_notify2(fd, want, NULL);
}

/* A thread_server started with -f under a notify socket (as systemd runs a Type=notify unit). */
struct fg {
    int notify; /* our end of $NOTIFY_SOCKET */
    pid_t pid;
    int out, err;
};

/* Starts thread_server -f with dir/thread_server.conf, $NOTIFY_SOCKET and extra_env (or NULL)
 * in its environment, and waits for READY=1. */
static void fg_start(struct fg *fg, const char *extra_env)
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

/* Collects the foreground server after something asked it to stop; checks it exited 0. */
static void fg_end(struct fg *fg, struct result *r)
{
    collect(fg->pid, fg->out, fg->err, r);
    ck_assert_msg(r->code == 0, "exit %d: %s", r->code, r->err);
    close(fg->notify);
}

START_TEST(notify_socket_gets_ready_then_stopping_in_the_foreground)
{
    char buf[64];
    struct result r;
    struct fg fg;
    int port = thread_conf("HI!");
    fg_start(&fg, NULL);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
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

START_TEST(foreground_does_not_fork_writes_no_pid_file_logs_to_stderr_and_tells_ready_fd)
{
    char buf[64], v[64], status[64];
    int out, err, ready[2];
    struct result r;
    struct stat st;
    int port = free_port();
    int default_pidfile_existed = access("/run/thread_server.pid", F_OK) == 0;

    /* No pidfile key: the foreground writes none (not even the default /run one). */
    FILE *f = fopen(at("thread_server", "conf"), "we");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "jail = \"%s\"\nlisten = {\"127.0.0.1:%d\"}\n", jail, port);
    ck_assert_int_eq(fclose(f), 0);
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
    pid_t child = spawn(argv, &how, &out, &err);
    close(ready[1]);

    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 10000), 1);
    ck_assert_int_eq(read(ready[0], buf, sizeof buf), 1);
    ck_assert_int_eq(buf[0], '\n');
    /* The process we started is the server itself. */
    snprintf(status, sizeof status, "/proc/%ld/status", (long)child);
    ck_assert_str_eq(status_field(status, "Uid", v, sizeof v), "65534\t65534\t65534\t65534");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    ck_assert_int_eq(kill(child, SIGTERM), 0);
    collect(child, out, err, &r);
    ck_assert_msg(r.code == 0, "exit %d: %s", r.code, r.err);
    char want[64];
    snprintf(want, sizeof want, "started (pid %ld)", (long)child);
    ck_assert_msg(strstr(r.err, want), "stderr: %s", r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "exiting with status 0"));
    /* Nothing written: no pid file, no log file, in the test's directory or the default. */
    ck_assert_int_eq(stat(at("thread_server", "pid"), &st), -1);
    ck_assert_int_eq(access("/run/thread_server.pid", F_OK) == 0, default_pidfile_existed);
    close(ready[0]);
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
    ck_assert_int_eq(kill(fg.pid, SIGTERM), 0);
    fg_end(&fg, &r);
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

/* ---- exit codes ---- */

START_TEST(usage_errors_exit_2)
{
    struct result r;
    simple_conf();
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "frobnicate"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "frobnicate"));
    char *none[] = {(char *)simple_server, "-c", (char *)at("simple_server", "conf"), NULL};
    run_argv(&r, NULL, none);
    ck_assert_int_eq(r.code, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "Usage"));
    ck_assert_int_eq(count_left(dir), 0);
}
END_TEST

START_TEST(stopped_server_reload_exits_7_and_stop_exits_0)
{
    struct result r;
    simple_conf();
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "reload"), 7);
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "stop"), 0);
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "status"), 3);
}
END_TEST

START_TEST(start_on_running_server_exits_0_saying_already_running)
{
    struct result r;
    simple_conf();
    pid_t pid = start(simple_server, "simple_server");
    ck_assert_int_eq(RUN(&r, simple_server, "simple_server", "start"), 0);
    ck_assert_msg(strstr(r.out, "already running"), "stdout: %s", r.out);
    ck_assert_int_eq(pid_in(r.out), pid);
    ck_assert_int_eq(holder("simple_server"), pid);
    stop(simple_server, "simple_server", pid);
}
END_TEST

START_TEST(status_as_nobody_on_roots_pid_file_exits_4_and_changes_nothing)
{
    struct result r;
    struct stat before, after;
    char text1[64], text2[64];

    simple_conf();
    ck_assert_int_eq(chmod(at("simple_server", "conf"), 0644), 0);
    pid_t pid = start(simple_server, "simple_server");
    ck_assert_int_eq(stat(at("simple_server", "pid"), &before), 0);
    ck_assert_ptr_nonnull(read_text(at("simple_server", "pid"), text1, sizeof text1));
    struct how how = {.fd3 = -1, .as_nobody = 1};
    ck_assert_int_eq(run_how(&r, &how, simple_server, "simple_server", "status", (char *)NULL), 4);
    ck_assert_int_eq(stat(at("simple_server", "pid"), &after), 0);
    ck_assert_ptr_nonnull(read_text(at("simple_server", "pid"), text2, sizeof text2));
    ck_assert_str_eq(text1, text2);
    ck_assert_int_eq(before.st_ino, after.st_ino);
    ck_assert_int_eq(before.st_mode, after.st_mode);
    ck_assert_int_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    ck_assert_int_eq(holder("simple_server"), pid);
    stop(simple_server, "simple_server", pid);
}
END_TEST

/* ---- reload and log rotation after the jail and the drop ---- */

/* The whole file at path, malloc'ed and NUL-terminated ("" when missing). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    for (size_t n; f && (n = fread(text + len, 1, cap - len - 1, f)) > 0;) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            text = realloc(text, cap);
            ck_assert_ptr_nonnull(text);
        }
    }
    if (f)
        fclose(f);
    text[len] = '\0';
    return text;
}

static int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Waits (at most 10 s, by inotify) until the file at path contains needle. */
static void wait_in_file(const char *path, const char *needle)
{
    int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ck_assert_int_ge(ifd, 0);
    ck_assert_int_ge(inotify_add_watch(ifd, path, IN_MODIFY), 0);
    for (;;) {
        char *text = slurp(path);
        int found = strstr(text, needle) != NULL;
        free(text);
        if (found)
            break;
        struct pollfd p = {.fd = ifd, .events = POLLIN};
        char ev[4096];
        ck_assert_msg(poll(&p, 1, 10000) == 1, "no \"%s\" in %s within 10 s", needle, path);
        while (read(ifd, ev, sizeof ev) > 0)
            continue;
    }
    close(ifd);
}

START_TEST(reload_takes_a_renamed_config_refuses_a_broken_one_and_names_restart_only_keys)
{
    struct result r;
    char buf[64], want[300], v[64], status[64];
    int port = thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");

    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"NEW ONE\"\n", port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "reloaded"), "stdout: %s", r.out);
    ck_assert_ptr_null(strstr(r.out, "restart"));
    /* Exit 0 came after the daemon's reload() ran: the very next client sees it. */
    ck_assert_str_eq(greet(port, buf, sizeof buf), "NEW ONE\n");

    /* Broken on line 9: the command says where and exits 1; the daemon never hears of it. */
    rename_conf("thread_server",
                "listen = {\"127.0.0.1:%d\"}\ngreeting = \"BROKEN\"\nno_such_key = 1\n", port);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    snprintf(want, sizeof want, "%s:9:", at("thread_server", "conf"));
    ck_assert_msg(strstr(r.err, want), "stderr: %s", r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "NEW ONE\n");
    char *log = slurp(at("thread_server", "log"));
    ck_assert_msg(!strstr(log, "no_such_key") && !strstr(log, "BROKEN"), "log: %s", log);
    free(log);

    /* A config the daemon's reload() refuses: exit 1 with its sentence, the old one kept. */
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"\"\n", port);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    ck_assert_msg(strstr(r.err, "greeting must not be empty") &&
                      strstr(r.err, "the running config is unchanged"),
                  "stderr: %s", r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "NEW ONE\n");

    /* A key the running daemon cannot honour is named, not silently dropped. */
    rename_conf("thread_server", "user = daemon\nlisten = {\"127.0.0.1:%d\"}\ngreeting = \"3\"\n",
                port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "kept until a restart: user"), "stdout: %s", r.out);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "3\n");
    snprintf(status, sizeof status, "/proc/%ld/status", (long)pid);
    ck_assert_str_eq(status_field(status, "Uid", v, sizeof v), "65534\t65534\t65534\t65534");
    stop(thread_server, "thread_server", pid);
    /* stop removed the socket of the server that is gone. */
    ck_assert_int_eq(access(at("thread_server", "ctl"), F_OK), -1);
}
END_TEST

/* The program's own version, not liblust's, in -V and in the start line of the log. */
START_TEST(the_daemon_names_its_own_version_then_liblusts)
{
    struct result r;
    char want[128];
    thread_conf("HI!");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "-V"), 0);
    snprintf(want, sizeof want, "thread_server 1.0 (liblust %s)\n", lust_version());
    ck_assert_str_eq(r.out, want);
    pid_t pid = start(thread_server, "thread_server");
    snprintf(want, sizeof want, "thread_server 1.0 started (pid %ld) as uid 65534 (liblust %s)",
             (long)pid, lust_version());
    char *log = slurp(at("thread_server", "log"));
    ck_assert_msg(strstr(log, want), "log: %s", log);
    free(log);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/*
 * thread_server lists `listen` in restart_keys: a reload that moves it is named and the old
 * address keeps serving; a later force-reload of the same file names it again (it is still
 * pending); putting the start value back ends it.
 */
START_TEST(a_changed_restart_key_is_named_by_every_reload_until_a_restart)
{
    struct result r;
    char buf[64];
    int port = thread_conf("HI!"), other = free_port();
    pid_t pid = start(thread_server, "thread_server");
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"ONE\"\n", other);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "kept until a restart: listen"), "stdout: %s", r.out);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "ONE\n");
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "force-reload") == 0, "%d: %s%s", r.code,
                  r.out, r.err);
    ck_assert_msg(strstr(r.out, "kept until a restart: listen"), "stdout: %s", r.out);
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"TWO\"\n", port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "reloaded") && !strstr(r.out, "restart"), "stdout: %s", r.out);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "TWO\n");
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(a_second_server_on_a_live_control_socket_fails_and_leaves_it_alone)
{
    struct result r;
    char buf[64], ctl[256];
    int port = thread_conf("FIRST");
    pid_t pid = start(thread_server, "thread_server");
    snprintf(ctl, sizeof ctl, "%s", at("thread_server", "ctl"));

    /* Another pid file, another port, the same control socket. */
    write_conf("second", "listen = {\"127.0.0.1:%d\"}\ncontrol_socket = \"%s\"\n", free_port(),
               ctl);
    ck_assert_int_ne(RUN(&r, thread_server, "second", "start"), 0);
    ck_assert_msg(strstr(r.err, "another server, with another pid file, answers there"), "%s",
                  r.err);
    ck_assert_int_eq(holder("second"), 0);
    /* The first server still owns its socket: reload reaches it. */
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"STILL ME\"\n", port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%s%s", r.out, r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "STILL ME\n");
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reload_without_an_answer_in_start_timeout_exits_1_saying_so)
{
    struct result r;
    /* A later assignment wins in libconfuse: start_timeout is 1 s here. */
    write_conf("old_ops_server", "start_timeout = 1\n");
    ck_assert_msg(run_ops(&r, "slow-reload", "start") == 0, "%s%s", r.out, r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_int_eq(run_ops(&r, "slow-reload", "reload"), 1);
    ck_assert_msg(strstr(r.err, "no answer from the server within 1 s"), "stderr: %s", r.err);
    /* The daemon finishes its reload, then stops normally. */
    wait_in_file(at("old_ops_server", "log"), "slow reload done");
    ck_assert_msg(run_ops(&r, "slow-reload", "stop") == 0, "%s%s", r.out, r.err);
    ck_assert(wait_gone(pid, 2000));
}
END_TEST

START_TEST(reload_and_reopen_by_a_non_root_user_are_refused)
{
    struct result r;
    char buf[64];
    struct stat st;
    struct how nobody = {.fd3 = -1, .as_nobody = 1};
    int port = thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");

    ck_assert_int_eq(stat(at("thread_server", "ctl"), &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(st.st_uid, 0);

    /* A change a reload would show, and readable by nobody so only the socket stands between. */
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"CHANGED\"\n", port);
    ck_assert_int_eq(chmod(at("thread_server", "conf"), 0644), 0);
    run_how(&r, &nobody, thread_server, "thread_server", "reload", (char *)NULL);
    ck_assert_msg(r.code == 4 && strstr(r.err, "only root"), "%d: %s%s", r.code, r.out, r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");

    /* Even with the socket opened to everyone, the daemon checks who is asking. */
    ck_assert_int_eq(chmod(at("thread_server", "ctl"), 0666), 0);
    run_how(&r, &nobody, thread_server, "thread_server", "reload", (char *)NULL);
    ck_assert_msg(r.code == 4 && strstr(r.err, "only root"), "%d: %s%s", r.code, r.out, r.err);
    /* reopen: nobody cannot even open the log file it would hand over. */
    run_how(&r, &nobody, thread_server, "thread_server", "reopen", (char *)NULL);
    ck_assert_msg(r.code == 4, "%d: %s%s", r.code, r.out, r.err);
    wait_in_file(at("thread_server", "log"), "refused uid 65534");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");

    /* Root may: the same file is taken. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 0);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "CHANGED\n");
    stop(thread_server, "thread_server", pid);
    char *log = slurp(at("thread_server", "log"));
    ck_assert_int_eq(count_in(log, "refused uid 65534"), 2); /* the reload and the reopen */
    ck_assert_ptr_null(strstr(log, "log reopened"));
    free(log);
}
END_TEST

START_TEST(sighup_in_the_foreground_rereads_an_edit_in_place_and_names_a_renamed_file)
{
    char buf[64];
    struct result r;
    struct fg fg;
    int port = thread_conf("HI!");
    fg_start(&fg, NULL);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");

    /* systemd's ExecReload=kill -HUP: the file the jailed daemon opened at start is re-read. */
    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"IN PLACE\"\n", port);
    ck_assert_int_eq(kill(fg.pid, SIGHUP), 0);
    expect_notify(fg.notify, "RELOADING=1");
    expect_notify(fg.notify, "READY=1");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "IN PLACE\n");

    /* A file replaced by rename is out of the jail's reach: kept, and the log says why. */
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"RENAMED\"\n", port);
    ck_assert_int_eq(kill(fg.pid, SIGHUP), 0);
    expect_notify(fg.notify, "RELOADING=1");
    expect_notify(fg.notify, "READY=1");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "IN PLACE\n");

    /* `reload` reaches the foreground server through its control socket and loads it. */
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "RENAMED\n");
    /* There is no log file to reopen: it logs to stderr. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reopen"), 1);
    ck_assert_msg(strstr(r.err, "stderr"), "stderr: %s", r.err);

    ck_assert_int_eq(kill(fg.pid, SIGTERM), 0);
    fg_end(&fg, &r);
    ck_assert_msg(strstr(r.err, "was replaced or removed since the start"), "stderr: %s", r.err);
}
END_TEST

/* A client loop for the rotation test: greets until told to stop, noting each source port. */
struct client_loop {
    int port;
    int stop;
    int count;        /* requests completed */
    int failures;     /* requests that did not get the greeting */
    int ports[20000]; /* the source port of each completed request */
};

static void *client_loop(void *arg)
{
    struct client_loop *cl = arg;
    while (!__atomic_load_n(&cl->stop, __ATOMIC_ACQUIRE) && cl->count < 20000) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)cl->port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        char buf[64];
        size_t got = 0;
        ssize_t n;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
            cl->failures++;
            if (fd >= 0)
                close(fd);
            continue;
        }
        /* EOF comes after the server logged the request: the line is written by then. */
        while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)n;
        close(fd);
        buf[got] = '\0';
        if (strcmp(buf, "HI!\n") != 0) {
            cl->failures++;
            continue;
        }
        cl->ports[cl->count] = ntohs(a.sin_port);
        __atomic_store_n(&cl->count, cl->count + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* Waits until the loop has completed at least n requests (at most 20 s). */
static void wait_requests(struct client_loop *cl, int n)
{
    for (int i = 0; i < 2000 && __atomic_load_n(&cl->count, __ATOMIC_ACQUIRE) < n; i++) {
        struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_ge(__atomic_load_n(&cl->count, __ATOMIC_ACQUIRE), n);
}

START_TEST(logrotate_create_mode_with_reopen_loses_no_request_line)
{
    static const char *const logrotate = "/usr/sbin/logrotate";
    static struct client_loop cl;
    char lr_conf[256], lr_state[256], log_path[256], rotated[256], line[64];
    struct result r;
    struct stat st;
    pthread_t thread;

    ck_assert_msg(access(logrotate, X_OK) == 0, "%s is missing: apt-get install logrotate",
                  logrotate);
    cl.port = thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    snprintf(log_path, sizeof log_path, "%s", at("thread_server", "log"));
    snprintf(rotated, sizeof rotated, "%s.1", log_path);
    snprintf(lr_conf, sizeof lr_conf, "%s/logrotate.conf", dir);
    snprintf(lr_state, sizeof lr_state, "%s/logrotate.state", dir);
    /* The snippet of examples/thread_server.logrotate, with this test's paths. */
    FILE *f = fopen(lr_conf, "we");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "%s {\n    create 0640 root adm\n    rotate 4\n    missingok\n"
            "    postrotate\n        %s -c %s reopen\n    endscript\n}\n",
            log_path, thread_server, at("thread_server", "conf"));
    ck_assert_int_eq(fclose(f), 0);

    ck_assert_int_eq(pthread_create(&thread, NULL, client_loop, &cl), 0);
    wait_requests(&cl, 50);
    char *lr_argv[] = {(char *)logrotate, "-f", "-s", lr_state, lr_conf, NULL};
    run_argv(&r, NULL, lr_argv);
    int at_rotation = __atomic_load_n(&cl.count, __ATOMIC_ACQUIRE);
    wait_requests(&cl, at_rotation + 50);
    __atomic_store_n(&cl.stop, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    ck_assert_msg(r.code == 0, "logrotate: %d: %s%s", r.code, r.out, r.err);
    ck_assert_int_eq(cl.failures, 0);

    /* The new file: made by logrotate as its snippet says, and the daemon writes to it. */
    ck_assert_int_eq(stat(log_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    ck_assert_int_eq(st.st_uid, 0);
    struct group *adm = getgrnam("adm");
    ck_assert_ptr_nonnull(adm);
    ck_assert_int_eq(st.st_gid, adm->gr_gid);
    char *old_text = slurp(rotated), *new_text = slurp(log_path);
    ck_assert_msg(strstr(old_text, "log: switching to a freshly opened file"), "%s", old_text);
    ck_assert_msg(strstr(new_text, "log reopened"), "%s", new_text);
    ck_assert_int_gt(count_in(old_text, "greeted "), 0);
    ck_assert_int_gt(count_in(new_text, "greeted "), 0);
    /* Every request's line exactly once across both files (a port used twice, twice). */
    ck_assert_int_eq(count_in(old_text, "greeted ") + count_in(new_text, "greeted "), cl.count);
    for (int i = 0; i < cl.count; i++) {
        int used = 0;
        for (int j = 0; j < cl.count; j++)
            used += cl.ports[j] == cl.ports[i];
        snprintf(line, sizeof line, "greeted 127.0.0.1:%d\n", cl.ports[i]);
        ck_assert_int_eq(count_in(old_text, line) + count_in(new_text, line), used);
    }
    free(old_text);
    free(new_text);
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reopen_on_a_stopped_server_exits_0_and_opens_nothing)
{
    struct result r;
    thread_conf("HI!");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reopen"), 0);
    ck_assert_msg(strstr(r.out, "not running"), "stdout: %s", r.out);
    ck_assert_int_eq(access(at("thread_server", "log"), F_OK), -1); /* nothing was opened */
}
END_TEST

/* Connects to dir/NAME.ctl as root (the test), like the reload command does. */
static int dial_control(const char *name)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", at(name, "ctl"));
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* How many of pid's descriptors lead to path; fails on any directory among them. */
static int fds_to(pid_t pid, const char *path)
{
    char dirpath[64], fdpath[128], link[PATH_MAX];
    struct stat st;
    int n = 0;
    snprintf(dirpath, sizeof dirpath, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(dirpath);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(fdpath, sizeof fdpath, "%s/%s", dirpath, e->d_name);
        if (stat(fdpath, &st) == 0)
            ck_assert_msg(!S_ISDIR(st.st_mode), "fd %s is a directory", e->d_name);
        ssize_t len = readlink(fdpath, link, sizeof link - 1);
        if (len > 0) {
            link[len] = '\0';
            n += strcmp(link, path) == 0;
        }
    }
    closedir(d);
    return n;
}

START_TEST(descriptors_sent_without_a_request_are_closed_not_kept)
{
    struct result r;
    char sentinel[256];
    thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    snprintf(sentinel, sizeof sentinel, "%s/sentinel", dir);
    int file = open(sentinel, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(file, 0);
    ck_assert_int_ge(root, 0);

    /* Empty messages carrying `/` (kept, a way out of the jail) and a file (kept, a leak). */
    for (int i = 0; i < 3; i++) {
        int fd = dial_control("thread_server"), pass[2] = {root, file};
        union {
            struct cmsghdr align;
            char space[CMSG_SPACE(sizeof pass)];
        } ctl;
        struct iovec iov = {.iov_base = "", .iov_len = 0};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.space,
                            .msg_controllen = sizeof ctl.space};
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof pass);
        memcpy(CMSG_DATA(c), pass, sizeof pass);
        ck_assert_int_eq(sendmsg(fd, &mh, MSG_NOSIGNAL), 0);
        close(fd);
    }
    close(root);
    close(file);
    /* The signal thread takes connections in order and is done with each before the next:
     * once this reload is answered, those three were handled. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 0);
    ck_assert_int_eq(fds_to(pid, sentinel), 0);
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reload_and_reopen_fail_when_the_running_server_lost_its_socket)
{
    struct result r;
    thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    ck_assert_int_eq(unlink(at("thread_server", "ctl")), 0);
    /* Not "not running" (7, or 0 for reopen): logrotate must hear that the log stays put. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    ck_assert_msg(strstr(r.err, "does not answer"), "stderr: %s", r.err);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reopen"), 1);
    ck_assert_msg(strstr(r.err, "does not answer"), "stderr: %s", r.err);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/*
 * A fake server at dir/thread_server.ctl, bound by root: it listens as nobody when as_nobody,
 * and answers its first request with answer (unless NULL: it only waits). Returns once it
 * listens; the caller reaps it.
 */
static pid_t fake_control(int as_nobody, const char *answer)
{
    int ready[2];
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    pid_t fake = fork();
    ck_assert_int_ge(fake, 0);
    if (fake == 0) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        char buf[4096];
        snprintf(a.sun_path, sizeof a.sun_path, "%s", at("thread_server", "ctl"));
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || chmod(a.sun_path, 0666) < 0)
            _exit(1);
        if (as_nobody &&
            (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0))
            _exit(1);
        if (listen(fd, 4) < 0 || write(ready[1], "x", 1) != 1)
            _exit(1);
        if (!answer) {
            pause();
            _exit(0);
        }
        int c = accept(fd, NULL, NULL);
        if (c < 0 || recv(c, buf, sizeof buf, 0) < 0 ||
            send(c, answer, strlen(answer), MSG_NOSIGNAL) < 0)
            _exit(1);
        _exit(0);
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return fake;
}

START_TEST(reload_hands_nothing_to_a_socket_that_listens_as_another_user)
{
    struct result r;
    thread_conf("HI!");
    /* An impostor: bound at the control path by root, but listening as nobody. */
    pid_t fake = fake_control(1, NULL);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 4);
    ck_assert_msg(strstr(r.err, "listens as another user"), "stderr: %s", r.err);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reopen"), 4);
    ck_assert_int_eq(access(at("thread_server", "log"), F_OK), -1); /* no log opened for it */
    kill(fake, SIGKILL);
    waitpid(fake, NULL, 0);
}
END_TEST

START_TEST(the_answer_of_a_server_reaches_the_terminal_without_escape_sequences)
{
    struct result r;
    thread_conf("HI!");
    /* A root-owned listener that answers like a daemon gone bad: ESC, CSI (0x9b) and a C1
     * control written as UTF-8, around a UTF-8 name that must survive. */
    pid_t fake = fake_control(0, "5\n\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b"
                                 "31m\xc2\x9b"
                                 "0m caf\xc3\xa9");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    int status;
    ck_assert_int_eq(waitpid(fake, &status, 0), fake);
    ck_assert_int_eq(status, 0);
    for (const char *p = r.err; *p; p++) {
        unsigned char b = (unsigned char)*p;
        ck_assert_msg(b != 0x1b && b != 0x07 && b != 0x9b, "control byte 0x%02x in: %s", b, r.err);
    }
    ck_assert_msg(strstr(r.err, "caf\xc3\xa9"), "stderr: %s", r.err);
    ck_assert_msg(strstr(r.err, "?]52;c;"), "stderr: %s", r.err);
}
END_TEST

static Suite *server_root_suite(void)
{
    Suite *s = suite_create("server_root");
    TCase *tc = tcase_create("daemons");
    tcase_add_unchecked_fixture(tc, make_top, remove_top);
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, start_runs_each_hook_in_order_then_status_request_stop_status);
    tcase_add_test(tc, running_server_seen_from_proc_is_jailed_nobody_with_only_its_descriptors);
    tcase_add_test(tc, kill9_then_status_is_1_and_start_works_again);
    tcase_add_test(tc, twenty_concurrent_starts_make_exactly_one_server);
    tcase_add_test(tc, bad_config_exits_6_naming_file_and_line_and_starts_nothing);
    tcase_add_test(tc, unknown_user_exits_6_naming_the_user);
    tcase_add_test(tc, missing_jail_exits_5_naming_the_jail);
    tcase_add_test(tc, port_in_use_fails_with_the_daemons_bind_sentence);
    tcase_add_test(tc, a_hook_blaming_the_config_exits_6_in_both_modes);
    tcase_add_test(tc, two_different_daemons_share_liblust_and_collide_in_nothing);
    tcase_add_test(tc, debian_start_stop_daemon_reads_and_stops_through_our_pid_file);
    tcase_add_test(tc, older_smaller_callback_struct_still_works);
    tcase_add_test(tc, larger_struct_with_unknown_members_set_is_refused);
    tcase_add_test(tc, larger_struct_with_zero_tail_works);
    tcase_add_test(tc, notify_socket_gets_ready_then_stopping_in_the_foreground);
    tcase_add_test(tc, notify_socket_gets_mainpid_and_ready_when_forking);
    tcase_add_test(tc,
                   foreground_does_not_fork_writes_no_pid_file_logs_to_stderr_and_tells_ready_fd);
    tcase_add_test(tc, foreground_writes_the_pid_file_the_config_names);
    tcase_add_test(tc, watchdog_pings_keep_coming_from_the_jailed_foreground_server);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_test(tc, stopped_server_reload_exits_7_and_stop_exits_0);
    tcase_add_test(tc, start_on_running_server_exits_0_saying_already_running);
    tcase_add_test(tc, status_as_nobody_on_roots_pid_file_exits_4_and_changes_nothing);
    suite_add_tcase(s, tc);

    TCase *rl = tcase_create("reload");
    tcase_add_unchecked_fixture(rl, make_top, remove_top);
    tcase_add_checked_fixture(rl, make_dir, remove_dir);
    tcase_set_timeout(rl, 60);
    tcase_add_test(rl,
                   reload_takes_a_renamed_config_refuses_a_broken_one_and_names_restart_only_keys);
    tcase_add_test(rl, the_daemon_names_its_own_version_then_liblusts);
    tcase_add_test(rl, a_changed_restart_key_is_named_by_every_reload_until_a_restart);
    tcase_add_test(rl, reload_and_reopen_by_a_non_root_user_are_refused);
    tcase_add_test(rl, descriptors_sent_without_a_request_are_closed_not_kept);
    tcase_add_test(rl, reload_and_reopen_fail_when_the_running_server_lost_its_socket);
    tcase_add_test(rl, reload_hands_nothing_to_a_socket_that_listens_as_another_user);
    tcase_add_test(rl, the_answer_of_a_server_reaches_the_terminal_without_escape_sequences);
    tcase_add_test(rl, reload_without_an_answer_in_start_timeout_exits_1_saying_so);
    tcase_add_test(rl, a_second_server_on_a_live_control_socket_fails_and_leaves_it_alone);
    tcase_add_test(rl, sighup_in_the_foreground_rereads_an_edit_in_place_and_names_a_renamed_file);
    tcase_add_test(rl, logrotate_create_mode_with_reopen_loses_no_request_line);
    tcase_add_test(rl, reopen_on_a_stopped_server_exits_0_and_opens_nothing);
    suite_add_tcase(s, rl);
    return s;
}

LUST_TEST_MAIN_ROOT(server_root_suite)
