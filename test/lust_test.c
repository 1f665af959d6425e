/* test/lust_test.c - the helpers every Check runner shares; lust_test.h says what each does. */
#include "lust_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <valgrind/valgrind.h>

extern char **environ;

int lust_test_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *not_root(void)
{
    static const struct {
        int cap;
        const char *name;
    } needed[] = {
        {CAP_SETUID, "CAP_SETUID"},
        {CAP_SETGID, "CAP_SETGID"},
        {CAP_SYS_CHROOT, "CAP_SYS_CHROOT"},
        {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"},
    };
    static char why[160];
    long euid = syscall(SYS_geteuid);
    if (euid != 0) {
        snprintf(why, sizeof why, "the kernel runs this process as uid %ld%s", euid,
                 geteuid() == 0 ? " whatever geteuid() says (fakeroot only pretends)" : "");
        return why;
    }
    struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &head, data) < 0) {
        snprintf(why, sizeof why, "capget: %s", strerror(errno));
        return why;
    }
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        int cap = needed[i].cap;
        if (!(data[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap))) {
            snprintf(why, sizeof why, "the kernel grants this process no %s", needed[i].name);
            return why;
        }
    }
    return NULL;
}

int become_nobody(void)
{
    if (setgroups(0, NULL) < 0 || setresgid(NOGROUP, NOGROUP, NOGROUP) < 0 ||
        setresuid(NOBODY, NOBODY, NOBODY) < 0)
        return -1;
    return 0;
}

char *new_dir(const char *parent, const char *prefix, mode_t mode)
{
    char *dir;
    if (asprintf(&dir, "%s/%s-XXXXXX", parent, prefix) < 0)
        return NULL;
    if (!mkdtemp(dir) || chmod(dir, mode) < 0) {
        int err = errno;
        rmdir(dir);
        free(dir);
        errno = err;
        return NULL;
    }
    return dir;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? -1 : 0;
}

int remove_tree(const char *path)
{
    return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

char *jail_top, *tmp_top;

static char *top_make(const char *parent, mode_t mode)
{
    char *top = new_dir(parent, "lust-test", mode);
    if (!top)
        abort();
    return top;
}

static void top_remove(char *top)
{
    kill_all(top);
    unmount_below(top);
    if (remove_tree(top) < 0) {
        fprintf(stderr, "cannot remove %s: %s\n", top, strerror(errno));
        abort();
    }
    free(top);
}

void jail_top_make(void)
{
    jail_top = top_make("/run", 0755);
}

void jail_top_remove(void)
{
    top_remove(jail_top);
}

void tmp_top_make(void)
{
    tmp_top = top_make("/tmp", 0700);
}

void tmp_top_remove(void)
{
    top_remove(tmp_top);
}

/* A mount point as /proc/self/mountinfo writes it: space, tab, newline, backslash as \ooo. */
static void unescape(char *s)
{
    char *out = s;
    for (; *s; s++) {
        unsigned c;
        if (s[0] == '\\' && sscanf(s + 1, "%3o", &c) == 1) {
            *out++ = (char)c;
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

int unmount_below(const char *path)
{
    char line[4096], *points[64];
    int n = 0, done = 0;
    size_t len = strlen(path);
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -1;
    /* Field 5 is the mount point; a mount comes after the one it is mounted on. */
    while (n < 64 && fgets(line, sizeof line, f)) {
        char point[4096];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
            continue;
        unescape(point);
        if (strncmp(point, path, len) == 0 && (point[len] == '\0' || point[len] == '/'))
            points[n++] = strdup(point);
    }
    fclose(f);
    while (n > 0) {
        char *point = points[--n];
        done += point && umount2(point, MNT_DETACH) == 0;
        free(point);
    }
    return done;
}

char *path_in(const char *dir, const char *name)
{
    char *p;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

ssize_t read_fd(int fd, char *buf, size_t size)
{
    size_t len = 0;
    ssize_t n = 0;
    while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) != 0) {
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0)
            len += (size_t)n;
    }
    buf[len] = '\0';
    return n < 0 ? -1 : (ssize_t)len;
}

char *read_text(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read_fd(fd, buf, size);
    close(fd);
    return n < 0 ? NULL : buf;
}

const char *read_file(const char *path)
{
    static char buf[4096];
    return read_text(path, buf, sizeof buf);
}

char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        if (n == cap) {
            buf = realloc(buf, (cap *= 2) + 1);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        ck_assert_int_ge(r, 0);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    ck_assert_int_eq(fchmod(fd, mode), 0);
    ck_assert_msg(write_all(fd, data, len) == 0, "write %s: %s", path, strerror(errno));
    ck_assert_int_eq(close(fd), 0);
}

void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text), 0644);
}

void wait_in_file(const char *path, const char *needle)
{
    int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ck_assert_int_ge(ifd, 0);
    ck_assert_int_ge(inotify_add_watch(ifd, path, IN_MODIFY), 0);
    for (;;) {
        char *text = slurp(path, NULL);
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

int count_in(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static const char *next_line(const char *line)
{
    const char *nl = strchr(line, '\n');
    return nl ? nl + 1 : NULL;
}

const char *find_line(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *line = text; line; line = next_line(line))
        if (strncmp(line, prefix, n) == 0)
            return line;
    return NULL;
}

int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p; p = next_line(p))
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

const char *field_in(const char *text, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s:", key);
    const char *line = find_line(text, pat);
    out[0] = '\0';
    if (!line)
        return NULL;
    const char *v = line + strlen(pat);
    while (*v == '\t' || *v == ' ')
        v++;
    size_t len = strcspn(v, "\n");
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    snprintf(out, size, "%.*s", (int)len, v);
    return out;
}

const char *status_field(const char *path, const char *key, char *out, size_t size)
{
    char text[8192];
    out[0] = '\0';
    if (read_text(path, text, sizeof text))
        field_in(text, key, out, size);
    return out;
}

static int rep_rd = -1, rep_wr = -1;

int report_open(void)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    rep_rd = p[0];
    rep_wr = p[1];
    return rep_wr;
}

int report_fd(void)
{
    return rep_wr;
}

void report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdprintf(rep_wr, fmt, ap);
    va_end(ap);
}

void report_end(void)
{
    if (rep_wr >= 0)
        close(rep_wr);
    rep_wr = -1;
}

char *report_read(void)
{
    static char buf[16384];
    report_end();
    buf[0] = '\0';
    if (rep_rd >= 0) {
        read_fd(rep_rd, buf, sizeof buf);
        close(rep_rd);
    }
    rep_rd = -1;
    return buf;
}

const char *report_get(const char *text, const char *key)
{
    static char val[2048];
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *p = find_line(text, pat);
    val[0] = '\0';
    if (p) {
        p += strlen(pat);
        snprintf(val, sizeof val, "%.*s", (int)strcspn(p, "\n"), p);
    }
    return val;
}

int in_child(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fn(arg));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * A mount namespace of the calling process's own, where /run is read-only. 0 or -1. The kernel
 * ignores the source and type these calls do not use; "none" rather than NULL keeps valgrind
 * from reading them.
 */
static int run_read_only(void)
{
    return unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
                   mount("/run", "/run", "none", MS_BIND, NULL) < 0 ||
                   mount("none", "/run", "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0
               ? -1
               : 0;
}

pid_t spawn(char *const argv[], const struct how *how, int *out, int *err)
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

    if (how && how->out_file) {
        po[1] = open(how->out_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        ck_assert_int_ge(po[1], 0);
        pe[1] = po[1];
        po[0] = pe[0] = -1;
    } else {
        ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
    }
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
            _exit(126);
        if (how && how->run_read_only && run_read_only() < 0)
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
        if (how && how->as_nobody && become_nobody() < 0)
            _exit(126);
        if (how && how->close_stdio) {
            close(0);
            close(1);
            close(2);
        }
        execve(argv[0], argv, env);
        _exit(127);
    }
    close(po[1]);
    if (pe[1] != po[1])
        close(pe[1]);
    *out = po[0];
    *err = pe[0];
    return pid;
}

void collect(pid_t pid, int out, int err, struct result *r)
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
    r->code = exit_code(status);
}

void run_argv(struct result *r, const struct how *how, char *const argv[])
{
    int out, err;
    pid_t pid = spawn(argv, how, &out, &err);
    collect(pid, out, err, r);
}

/* Whether the text of /proc/PID/stat says the process is a zombie or dead. */
static int stat_says_gone(const char *stat)
{
    const char *paren = strrchr(stat, ')');
    return !paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X';
}

/* Whether process pid's argv mentions needle; 0 for a process that is gone or a zombie. */
static int mentions(pid_t pid, const char *needle)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!read_text(path, buf, sizeof buf) || stat_says_gone(buf))
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 && memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
}

int find_procs(const char *needle, pid_t *pids, int max)
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

/* A pidfd where there is one; valgrind has none, then /proc is looked at every 10 ms. */
int wait_gone(pid_t pid, int ms)
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
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    for (int waited = 0; waited <= ms; waited += 10) {
        if (!read_text(path, buf, sizeof buf) || !buf[0] || stat_says_gone(buf))
            return 1;
        poll(NULL, 0, 10);
    }
    return 0;
}

int count_left(const char *needle)
{
    pid_t pids[64];
    int n = find_procs(needle, pids, 64);
    int left = 0;
    for (int i = 0; i < n; i++)
        left += !wait_gone(pids[i], 2000);
    return left;
}

void kill_all(const char *needle)
{
    pid_t pids[64];
    int n = find_procs(needle, pids, 64);
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        wait_gone(pids[i], 5000);
}

#define LOG_LINE_RE                                                                            \
    "^(<[0-7]>)?[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:" \
    "[0-9]{2} (DEBUG|INFO|NOTICE|WARNING|ERROR) "

int log_line_ok(const char *line)
{
    static regex_t re;
    static int compiled;
    if (!compiled) {
        ck_assert_int_eq(regcomp(&re, LOG_LINE_RE, REG_EXTENDED | REG_NOSUB), 0);
        compiled = 1;
    }
    return regexec(&re, line, 0, NULL, 0) == 0;
}

/* The prefix is fixed-width up to the level: skip it to reach "LEVEL message". */
const char *after_stamp(const char *line)
{
    const char *p = strchr(line, ' ');
    return p ? p + 1 : line;
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

int tcp_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)*port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

const char *greet(int port, char *buf, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 10};
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        read_fd(fd, buf, size);
    else
        buf[0] = '\0';
    close(fd);
    return buf;
}

int under_valgrind(void)
{
    return RUNNING_ON_VALGRIND != 0;
}
