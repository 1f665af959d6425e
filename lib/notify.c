/*
 * lib/notify.c - sd_notify datagrams, s6 readiness and socket activation, without libsystemd.
 *
 * State: one connected SOCK_DGRAM socket per handle, plus the watchdog interval read from the
 * environment at open. The socket is connected at open, before the jail: connect() resolves
 * the path once, so later sends need no path and keep working after chroot and the drop.
 * Abstract addresses ("@name") are passed with their exact length: the kernel compares the
 * whole sun_path for abstract names, so sizeof(struct sockaddr_un) would name another socket.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <lust/notify.h>

struct lust_notify {
    int fd;
    uint64_t watchdog_usec;
    atomic_ullong dropped; /* datagrams the manager's full socket did not take */
};

/* Parses a whole decimal number into [0, max]; anything else is -EINVAL. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static uint64_t watchdog_from_env(void)
{
    uint64_t usec, pid;
    const char *p = getenv("WATCHDOG_PID");

    if (parse_u64(getenv("WATCHDOG_USEC"), UINT64_MAX, &usec) < 0 || usec == 0)
        return 0;
    if (p && (parse_u64(p, INT32_MAX, &pid) < 0 || (pid_t)pid != getpid()))
        return 0;
    return usec;
}

static int notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n = strlen(name);

    if (name[0] != '/' && name[0] != '@')
        return lust__fail_plain(EAFNOSUPPORT,
                                "NOTIFY_SOCKET=%s: only paths and @abstract "
                                "names are supported",
                                name);
    if (n >= sizeof sa->sun_path)
        return lust__fail_plain(E2BIG, "NOTIFY_SOCKET=%s: name too long", name);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, name, n);
    if (name[0] == '@')
        sa->sun_path[0] = '\0';
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
    return 0;
}

int lust_notify_open(struct lust_notify **ret, int flags)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t len = 0;
    int r;

    if (!ret)
        return lust__fail_plain(EINVAL, "lust_notify_open: ret is NULL");
    if (!name || !*name) {
        *ret = NULL;
        return 0;
    }
    r = notify_address(name, &sa, &len);
    if (r < 0)
        return r;

    struct lust_notify *n = calloc(1, sizeof *n);
    if (!n)
        return lust__fail(ENOMEM, "notify socket %s", name);
    n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n->fd >= 0)
        n->fd = lust__fd_above_stdio(n->fd); /* never in a closed stdio slot */
    if (n->fd < 0)
        errno = -n->fd;
    if (n->fd < 0 || connect(n->fd, (struct sockaddr *)&sa, len) < 0) {
        r = lust__fail(errno, "notify socket %s", name);
        if (n->fd >= 0)
            close(n->fd);
        free(n);
        return r;
    }
    lust__fd_own(n->fd);
    n->watchdog_usec = watchdog_from_env();
    if (flags & LUST_NOTIFY_UNSET_ENV) {
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
    }
    *ret = n;
    return 1;
}

void lust_notify_close(struct lust_notify *n)
{
    if (!n)
        return;
    lust__fd_disown(n->fd);
    close(n->fd);
    free(n);
}

int lust_notify_send(struct lust_notify *n, const char *state)
{
    if (!n)
        return 0;
    if (!state)
        return lust__fail_plain(EINVAL, "lust_notify_send: state is NULL");
    for (;;) {
        /* Never wait: any process can bind a socket that nobody reads, and a caller blocked
         * here (the framework's signal thread) would stop serving TERM. */
        ssize_t k = send(n->fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k >= 0)
            return 1;
        if (errno == EAGAIN)
            atomic_fetch_add(&n->dropped, 1);
        if (errno != EINTR)
            return lust__fail(errno, "notify \"%.40s\"", state);
    }
}

unsigned long long lust__notify_dropped(const struct lust_notify *n)
{
    return n ? atomic_load(&((struct lust_notify *)n)->dropped) : 0;
}

static int vsendf(struct lust_notify *n, const char *fmt, va_list ap)
{
    char buf[4096];
    int k = vsnprintf(buf, sizeof buf, fmt, ap);

    if (k < 0 || (size_t)k >= sizeof buf)
        return lust__fail_plain(E2BIG, "notify message longer than %zu bytes", sizeof buf - 1);
    return lust_notify_send(n, buf);
}

int lust_notify_sendf(struct lust_notify *n, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (!n)
        return 0;
    LUST__REQUIRE(fmt != NULL, -EINVAL);
    va_start(ap, fmt);
    r = vsendf(n, fmt, ap);
    va_end(ap);
    return r;
}

int lust_notify_ready(struct lust_notify *n)
{
    return lust_notify_send(n, "READY=1");
}

int lust_notify_reloading(struct lust_notify *n)
{
    struct timespec ts;

    if (!n)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return lust_notify_sendf(n, "RELOADING=1\nMONOTONIC_USEC=%llu",
                             (unsigned long long)ts.tv_sec * 1000000ULL +
                                 (unsigned long long)ts.tv_nsec / 1000ULL);
}

int lust_notify_stopping(struct lust_notify *n)
{
    return lust_notify_send(n, "STOPPING=1");
}

int lust_notify_status(struct lust_notify *n, const char *text)
{
    char buf[2048];
    size_t i;

    if (!n)
        return 0;
    LUST__REQUIRE(text != NULL, -EINVAL);
    for (i = 0; text[i] && i < sizeof buf - 1; i++)
        buf[i] = (text[i] == '\n' || text[i] == '\r') ? ' ' : text[i];
    buf[i] = '\0';
    return lust_notify_sendf(n, "STATUS=%s", buf);
}

int lust_notify_mainpid(struct lust_notify *n, pid_t pid)
{
    return lust_notify_sendf(n, "MAINPID=%ld", (long)pid);
}

int lust_notify_watchdog(struct lust_notify *n)
{
    return lust_notify_send(n, "WATCHDOG=1");
}

uint64_t lust_notify_watchdog_usec(const struct lust_notify *n)
{
    return n ? n->watchdog_usec : 0;
}

int lust_notify_fd(const struct lust_notify *n)
{
    return n ? n->fd : -1;
}

int lust_notify_ready_fd(int fd)
{
    struct stat st;
    int r = 0;

    if (fstat(fd, &st) < 0)
        return lust__fail(errno, "readiness descriptor %d", fd);
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        r = lust__fail_plain(ENOTSOCK, "readiness descriptor %d is neither a pipe nor a socket",
                             fd);
    } else {
        ssize_t k;
        do
            k = write(fd, "\n", 1);
        while (k < 0 && errno == EINTR);
        if (k < 0)
            r = lust__fail(errno, "readiness descriptor %d", fd);
    }
    close(fd);
    return r;
}

int lust_listen_fds(int flags)
{
    const char *pid_s = getenv("LISTEN_PID");
    uint64_t pid, count = 0;
    int r = 0;

    if (!pid_s)
        goto out;
    if (parse_u64(pid_s, INT32_MAX, &pid) < 0) {
        r = lust__fail_plain(EINVAL, "LISTEN_PID=%s is not a pid", pid_s);
        goto out;
    }
    if ((pid_t)pid != getpid())
        goto out;
    if (parse_u64(getenv("LISTEN_FDS"), 4096, &count) < 0) {
        r = lust__fail_plain(EINVAL, "LISTEN_FDS is missing or not a small number");
        goto out;
    }
    for (int fd = LUST_LISTEN_FDS_START; fd < LUST_LISTEN_FDS_START + (int)count; fd++) {
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
            r = lust__fail_plain(EINVAL, "LISTEN_FDS=%d but descriptor %d is not a socket",
                                 (int)count, fd);
            goto out;
        }
        int fl = fcntl(fd, F_GETFD);
        if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
            r = lust__fail(errno, "socket-activation descriptor %d", fd);
            goto out;
        }
    }
    r = (int)count;
out:
    if (flags & LUST_NOTIFY_UNSET_ENV) {
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
    }
    return r;
}
