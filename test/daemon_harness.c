/*
 * test/daemon_harness.c - see daemon_harness.h. mentions(), find_procs(), wait_gone(),
 * kill_all(), remove_tree() and the directory fixtures are copies of check_server_root.c's.
 */
#include "daemon_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char top[64];
char harness_dir[128];

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
 * Waits until pid has exited (a zombie counts), at most ms. A pidfd where there is one;
 * valgrind has none, then /proc is looked at every 10 ms.
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

static void make_top(void)
{
    snprintf(top, sizeof top, "/run/lust-test-XXXXXX");
    if (!mkdtemp(top) || chmod(top, 0755) < 0)
        abort();
}

static void remove_top(void)
{
    char cmd[256];
    kill_all(top);
    remove_tree(top);
    /* What daemons named by harness_name() left at their default paths. */
    snprintf(cmd, sizeof cmd, "rm -f '%s'-t-*", top);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s-t-*\n", top);
}

static void make_dir(void)
{
    snprintf(harness_dir, sizeof harness_dir, "%s/t-XXXXXX", top);
    ck_assert_ptr_nonnull(mkdtemp(harness_dir));
    ck_assert_int_eq(chmod(harness_dir, 0755), 0);
}

static void remove_dir(void)
{
    kill_all(harness_dir);
    remove_tree(harness_dir);
}

void harness_fixtures(TCase *tc)
{
    tcase_add_unchecked_fixture(tc, make_top, remove_top);
    tcase_add_checked_fixture(tc, make_dir, remove_dir);
}

const char *harness_name(void)
{
    static char name[64];
    snprintf(name, sizeof name, "%s-%s", strrchr(top, '/') + 1, strrchr(harness_dir, '/') + 1);
    return name;
}

const char *at(const char *name, const char *ext)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 256, "%s/%s.%s", harness_dir, name, ext);
    return b;
}

void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fchmod(fd, 0644), 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_int_eq(close(fd), 0);
}

void replace_file(const char *path, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    write_file(tmp, text);
    ck_assert_int_eq(rename(tmp, path), 0);
}

char *slurp(const char *path)
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

const char *worth_showing(const char *text)
{
    static char buf[3001];
    const char *report = strstr(text, "==================\nWARNING: ThreadSanitizer");
    if (!report)
        report = strstr(text, "ERROR: AddressSanitizer");
    if (!report)
        report = strstr(text, "runtime error:");
    size_t len = strlen(text);
    if (!report)
        report = len > sizeof buf - 1 ? text + len - (sizeof buf - 1) : text;
    snprintf(buf, sizeof buf, "%s", report);
    return buf;
}

/* In a mount namespace of its own, /run made read-only for the calling process only. */
static int run_read_only(void)
{
    return unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                   mount("/run", "/run", NULL, MS_BIND, NULL) < 0 ||
                   mount(NULL, "/run", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0
               ? -1
               : 0;
}

static pid_t spawn(char *const argv[], const char *const env[], const char *out_path, int fd3,
                   int run_ro)
{
    char *envp[256];
    size_t n = 0;
    for (char **e = environ; *e && n < 240; e++)
        if (strncmp(*e, "NOTIFY_SOCKET=", 14) != 0 && strncmp(*e, "LISTEN_", 7) != 0 &&
            strncmp(*e, "JOURNAL_STREAM=", 15) != 0 && strncmp(*e, "WATCHDOG_", 9) != 0 &&
            strncmp(*e, "LUST_TEST_", 10) != 0 && strncmp(*e, "ASAN_OPTIONS=", 13) != 0)
            envp[n++] = *e;
    /* A daemon cannot run LeakSanitizer after the drop (it needs to ptrace its own threads). */
    char asan[1024];
    const char *old_asan = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sdetect_leaks=0", old_asan ? old_asan : "",
             old_asan && *old_asan ? ":" : "");
    envp[n++] = asan;
    for (int i = 0; env && env[i] && n < 255; i++)
        envp[n++] = (char *)env[i];
    envp[n] = NULL;

    int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ck_assert_int_ge(out, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(126);
        if (fd3 >= 0 && dup2(fd3, 3) < 0)
            _exit(126);
        if (run_ro && run_read_only() < 0)
            _exit(126);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(out);
    return pid;
}

pid_t spawn_to(char *const argv[], const char *const env[], const char *out_path, int fd3)
{
    return spawn(argv, env, out_path, fd3, 0);
}

const char *shown(const char *path)
{
    char *text = slurp(path);
    const char *s = worth_showing(text);
    free(text);
    return s;
}

pid_t spawn_run_read_only(char *const argv[], const char *const env[], const char *out_path,
                          int fd3)
{
    return spawn(argv, env, out_path, fd3, 1);
}

int wait_exit(pid_t pid, int ms)
{
    int status;
    if (!wait_gone(pid, ms))
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_cmd(char *const argv[], const char *const env[], char *out, size_t size)
{
    char path[256];
    static int seq;
    snprintf(path, sizeof path, "%s/cmd-%ld-%d.out", harness_dir, (long)getpid(), seq++);
    pid_t pid = spawn_to(argv, env, path, -1);
    int code = wait_exit(pid, 60000);
    ck_assert_msg(code >= 0, "%s did not finish within 60 s", argv[0]);
    char *text = slurp(path);
    snprintf(out, size, "%s", text);
    free(text);
    unlink(path);
    return code;
}

int notify_socket(char *path, size_t size)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(path, size, "%s/notify.sock", harness_dir);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

int notify_recv(int fd, char *buf, size_t size, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    ck_assert_int_ge(r, 0);
    if (r == 0)
        return -1;
    ssize_t n = recv(fd, buf, size - 1, 0);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    return (int)n;
}

int has_line(const char *text, const char *want)
{
    size_t n = strlen(want);
    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, want, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

void expect_notify(int fd, const char *want, char *buf, size_t size)
{
    long long deadline = now_us() + 10000000;
    for (;;) {
        long long left = (deadline - now_us()) / 1000;
        ck_assert_msg(left > 0 && notify_recv(fd, buf, size, (int)left) >= 0,
                      "no %s on the notify socket within 10 s", want);
        if (has_line(buf, want))
            return;
    }
}

long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
