/*
 * lib/server_control.c - the daemon's end of the control socket: reload and reopen from root.
 *
 * A jailed daemon running as its own user can no longer open its config file or its log by
 * path; root does it and passes the result over a unix socket the daemon made before the
 * jail. Protocol, one SOCK_SEQPACKET message each way: the request is a word ("reload" or
 * "reopen"), for reload a newline and the config file's name, with one descriptor attached
 * (SCM_RIGHTS): the config's text in a sealed memfd, or the freshly opened log file. The
 * answer is the errno of the outcome (0 for success), a newline and a sentence. Requests are
 * served on the framework's thread (server_events.c); nothing here prints, all goes to the log.
 */
#include "server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>
#include <lust/log.h>
#include <lust/notify.h>

LUST__PRINTF(3, 4) static void control_reply(int fd, int err, const char *fmt, ...)
{
    char msg[CTL_MSG_MAX];
    int n = snprintf(msg, sizeof msg, "%d\n", err);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
        lust_log(LUST_LOG_WARNING, "control socket: cannot answer: %m");
}

/*
 * What was passed must be a file: a directory descriptor would open a way out of the jail.
 * A log must also be open for writing.
 */
static int passed_file(int fd, const char *what, int for_writing)
{
    struct stat st;
    int fl;
    if (fd < 0)
        return lust__fail_plain(EBADF, "%s: no descriptor came with the request", what);
    if (fstat(fd, &st) < 0 || (fl = fcntl(fd, F_GETFL)) < 0)
        return lust__fail(errno, "%s", what);
    if (!S_ISREG(st.st_mode))
        return lust__fail_plain(EINVAL, "%s: the descriptor passed is not a regular file", what);
    if (for_writing && (fl & O_ACCMODE) == O_RDONLY)
        return lust__fail_plain(EBADF, "%s: the descriptor passed is not open for writing", what);
    return 0;
}

static void control_reload(struct lust_server *srv, int cfd, int fd, const char *path)
{
    char msg[1024];
    int r;

    if (!srv->ops.reload) {
        control_reply(cfd, EOPNOTSUPP, "%s has no reload hook; use restart", srv->name);
        return;
    }
    lust_notify_reloading(srv->notify);
    r = passed_file(fd, "reload", 0);
    if (r < 0)
        snprintf(msg, sizeof msg, "%s", lust_error());
    else
        r = lust__server_reload_fd(srv, fd, path, msg, sizeof msg);
    lust_log(r < 0 ? LUST_LOG_ERROR : LUST_LOG_NOTICE, "reload: %s", msg);
    lust_notify_ready(srv->notify);
    control_reply(cfd, r < 0 ? -r : 0, "%s", msg);
}

static void control_reopen(struct lust_server *srv, int cfd, int *fd)
{
    if (srv->foreground) {
        control_reply(cfd, EOPNOTSUPP, "%s logs to stderr; there is no log file to reopen",
                      srv->name);
        return;
    }
    int r = passed_file(*fd, "reopen", 1);
    if (r == 0) {
        lust_log(LUST_LOG_NOTICE, "log: switching to a freshly opened file");
        r = lust_log_reopen_fd(*fd);
    }
    if (r < 0) {
        lust_log(LUST_LOG_ERROR, "log reopen: %s", lust_error());
        control_reply(cfd, -r, "%s", lust_error());
        return;
    }
    *fd = -1; /* consumed: it is stdout and stderr now */
    lust_log(LUST_LOG_NOTICE, "log reopened");
    control_reply(cfd, 0, "log reopened");
}

/* Takes every descriptor a message carried; keeps the first, closes the rest. */
static int take_passed_fd(struct msghdr *mh)
{
    int keep = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (keep < 0)
                keep = fd;
            else
                close(fd);
        }
    }
    return keep;
}

/* Reads one request; every descriptor it carried is taken (the first kept in *fd, the rest
 * closed), whatever else is wrong with it. Returns its length, 0 for none, or -errno. */
static ssize_t control_read(int cfd, char *buf, size_t size, int flags, int *fd, int *truncated)
{
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(4 * sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = size};
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl.space,
        .msg_controllen = sizeof ctl.space,
    };
    ssize_t n;
    do
        n = recvmsg(cfd, &mh, MSG_CMSG_CLOEXEC | flags);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    *fd = take_passed_fd(&mh);
    *truncated = mh.msg_flags & MSG_CTRUNC ? 2 : (mh.msg_flags & MSG_TRUNC) != 0;
    return n;
}

/*
 * Whether the peer may control the server (1). A refused one (0) is answered and closed here.
 * The socket's mode already keeps others out; this holds even if someone chmods it. The peer
 * is checked before its request is waited for, so it cannot hold this thread; what it sent at
 * once is read (its descriptors closed) before the refusal: closing a socket with unread data
 * would reset the connection and the answer would be lost.
 */
static int admit_peer(struct lust_server *srv, int cfd)
{
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
        lust_log(LUST_LOG_ERROR, "control socket: SO_PEERCRED: %m");
        close(cfd);
        return 0;
    }
    if (cred.uid == 0 || cred.uid == srv->owner_uid)
        return 1;
    char buf[CTL_MSG_MAX];
    int fd = -1, truncated = 0;
    struct pollfd p = {.fd = cfd, .events = POLLIN};
    if (poll(&p, 1, 100) > 0 &&
        control_read(cfd, buf, sizeof buf, MSG_DONTWAIT, &fd, &truncated) >= 0 && fd >= 0)
        close(fd);
    lust_log(LUST_LOG_WARNING, "control socket: refused uid %u (pid %ld): not root%s",
             (unsigned)cred.uid, (long)cred.pid,
             srv->owner_uid ? " nor the user who started the server" : "");
    control_reply(cfd, EPERM, "only root%s may control %s",
                  srv->owner_uid ? " or the user who started it" : "", srv->name);
    close(cfd);
    return 0;
}

/* Runs one request (its text in buf, NUL-terminated) and answers it. */
static void dispatch(struct lust_server *srv, int cfd, char *buf, int *fd, int truncated)
{
    char *arg = strchr(buf, '\n');
    if (arg)
        *arg++ = '\0';
    if (truncated == 2)
        control_reply(cfd, EMFILE, "the descriptor sent was lost: the server is at its limit");
    else if (truncated)
        control_reply(cfd, EMSGSIZE, "request too long");
    else if (strcmp(buf, "reload") == 0)
        control_reload(srv, cfd, *fd, arg && *arg ? arg : lust_config_path(srv->config));
    else if (strcmp(buf, "reopen") == 0)
        control_reopen(srv, cfd, fd);
    else
        control_reply(cfd, EINVAL, "unknown request \"%.64s\"", buf);
}

/*
 * One connection on the control socket, from the signal thread. Returns 0, or -errno when
 * accept() ran out of descriptors or memory: the connection stays queued, and the caller stops
 * polling the socket for a while instead of spinning on it.
 */
int lust__server_control_serve(struct lust_server *srv)
{
    int cfd = accept4(srv->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0) /* out of descriptors or memory: the connection stays queued */
        return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM ? -errno
                                                                                         : 0;
    if (!admit_peer(srv, cfd))
        return 0;

    /* A stalled client must not hold the signal thread: TERM still has to get through. */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char buf[CTL_MSG_MAX + 1];
    int fd = -1, truncated = 0;
    ssize_t n = control_read(cfd, buf, CTL_MSG_MAX, 0, &fd, &truncated);
    if (n > 0) { /* else a probe that only connected, or a client that went silent */
        buf[n] = '\0';
        dispatch(srv, cfd, buf, &fd, truncated);
    }
    if (fd >= 0)
        close(fd);
    close(cfd);
    return 0;
}

/*
 * The control socket, made by root with the real `/` before the jail and the drop, so root
 * (outside the jail) can reach the jailed daemon. Mode 0600 and owned by the user who started
 * the server: the daemon's own user cannot connect, only the daemon holds the listening end.
 *
 * It is bound under a temporary name beside the path and renamed over it only once listening,
 * so at the path there is always either a dead socket or one that answers: whoever finds a
 * dead one (stop, a failed start, the next start) may remove it without deleting a socket a
 * starting server has bound but not yet listens on. One where a server answers is never
 * replaced: without a pid file that server is this one already running; with one, it is
 * another instance (another pid file, the same socket), and two cannot share one socket.
 */
static int control_make(struct lust_server *srv, const char *path)
{
    char tmp[sizeof((struct sockaddr_un *)0)->sun_path];
    struct sockaddr_un sa;
    struct stat st;
    int replace = 0; /* a dead socket is at the path: the rename replaces it */

    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return lust__fail_plain(EEXIST, "control socket %s: exists and is not a socket", path);
        if (lust__server_control_alive(path))
            return srv->pidfile
                       ? lust__fail_plain(EADDRINUSE,
                                          "control socket %s: another server, with "
                                          "another pid file, answers there",
                                          path)
                       : lust__fail_plain(EEXIST, "already running (a server answers on %s%s)",
                                          path,
                                          srv->control_implicit ? "; a second instance needs a "
                                                                  "control_socket of its own"
                                                                : "");
        replace = 1;
    } else if (errno != ENOENT) {
        return lust__fail(errno, "control socket %s", path);
    }
    int n = snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    int r = n > 0 && (size_t)n < sizeof tmp
                ? lust__server_control_address(tmp, &sa)
                : lust__fail_plain(ENAMETOOLONG, "control socket %s: path too long", path);
    if (r < 0)
        return r;
    if (unlink(tmp) < 0 && errno != ENOENT)
        return lust__fail(errno, "control socket %s", tmp);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return lust__fail(errno, "control socket %s", path);
    /* Created 0600 by this umask (one thread here), so there is no chmod() to follow a link. */
    mode_t old = umask(0177);
    r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0) {
        r = lust__fail(errno, "control socket %s", tmp);
        close(fd);
        return r;
    }
    /* Where nothing was, nothing may have come meanwhile: a server that took the path since
     * the check keeps it (EEXIST) instead of losing its socket to this one. */
    if (listen(fd, 8) < 0 ||
        renameat2(AT_FDCWD, tmp, AT_FDCWD, path, replace ? 0 : RENAME_NOREPLACE) < 0) {
        r = errno == EEXIST ? lust__fail_plain(EEXIST, "already running (a server took %s)", path)
                            : lust__fail(errno, "control socket %s", path);
        unlink(tmp);
        close(fd);
        return r;
    }
    srv->ctl_fd = fd;
    return 0;
}

/*
 * Makes the control socket, unless `control_socket = none`. A foreground server whose file
 * names no control_socket makes it at the default path too, so that its own commands find it
 * under any supervisor; but where that directory is not its to use (not root, a read-only or
 * missing /run) it serves without one, and the log says so. A socket the file asks for is
 * made or the start fails, as in daemon mode.
 */
int lust__server_control_listen(struct lust_server *srv)
{
    const char *path = lust_config_control(srv->config);
    if (!path)
        return 0;
    int r = control_make(srv, path);
    if (r >= 0 || !srv->foreground || !srv->control_implicit ||
        (r != -EACCES && r != -EPERM && r != -EROFS && r != -ENOENT && r != -ENOTDIR))
        return r;
    lust_log(LUST_LOG_WARNING,
             "%s; serving without it: `%s status` and `%s reload` cannot find this server "
             "(set control_socket, or pidfile, in %s)",
             lust_error(), srv->name, srv->name, lust_config_path(srv->config));
    return 0;
}

/*
 * Removes a control socket nobody listens on any more (after stop, or a failed start). A
 * socket where anything still answers is kept: it may be a server started meanwhile.
 */
void lust__server_control_remove(struct lust_server *srv)
{
    const char *path = lust_config_control(srv->config);
    struct stat st;
    if (!path || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || lust__server_control_alive(path))
        return;
    if (unlink(path) < 0 && errno != ENOENT)
        fprintf(stderr, "%s: cannot remove %s: %s\n", srv->name, path, strerror(errno));
}
