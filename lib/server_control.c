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
    /* A fresh connection's buffer takes one short answer; a peer that left just misses it. */
    if (send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
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

static void conn_close(struct lust_server *srv, int slot)
{
    close(srv->conns[slot].fd);
    srv->conns[slot].fd = -1;
}

static int peer_admitted(const struct lust_server *srv, const struct lust__ctl_conn *c)
{
    return c->uid == 0 || c->uid == srv->owner_uid;
}

/*
 * A peer that is neither root nor the owner (possible only if someone opened the socket's
 * mode): its message is read (its descriptors closed) before the refusal, since closing a
 * socket with unread data would reset the connection and the answer would be lost.
 */
static void refuse_peer(struct lust_server *srv, const struct lust__ctl_conn *c)
{
    lust_log(LUST_LOG_WARNING, "control socket: refused uid %u (pid %ld): not root%s",
             (unsigned)c->uid, (long)c->pid,
             srv->owner_uid ? " nor the user who started the server" : "");
    control_reply(c->fd, EPERM, "only root%s may control %s",
                  srv->owner_uid ? " or the user who started it" : "", srv->name);
}

/*
 * Takes one pending connection into a free slot, with its peer and a deadline; when every
 * slot is taken, the oldest connection makes room. Returns 0, or -errno when accept() ran out
 * of descriptors or memory: the connection stays queued, and the caller stops polling the
 * socket for a while instead of spinning on it.
 */
int lust__server_control_accept(struct lust_server *srv, long long now_ms)
{
    int cfd = accept4(srv->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0)
        return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM ? -errno
                                                                                         : 0;
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
        lust_log(LUST_LOG_ERROR, "control socket: SO_PEERCRED: %m");
        close(cfd);
        return 0;
    }
    int slot = 0;
    for (int i = 0; i < CTL_CONN_MAX; i++) {
        if (srv->conns[i].fd < 0) {
            slot = i;
            break;
        }
        if (srv->conns[i].deadline_ms < srv->conns[slot].deadline_ms)
            slot = i;
    }
    if (srv->conns[slot].fd >= 0) {
        lust_log(LUST_LOG_WARNING,
                 "control socket: %d connections wait for their request; dropping the oldest "
                 "(pid %ld)",
                 CTL_CONN_MAX, (long)srv->conns[slot].pid);
        conn_close(srv, slot);
    }
    srv->conns[slot] = (struct lust__ctl_conn){
        .fd = cfd, .deadline_ms = now_ms + CTL_DEADLINE_MS, .uid = cred.uid, .pid = cred.pid};
    return 0;
}

/* A connection became readable (or hung up): its request is read, answered, and it is closed. */
void lust__server_control_conn(struct lust_server *srv, int slot)
{
    struct lust__ctl_conn *c = &srv->conns[slot];
    char buf[CTL_MSG_MAX + 1];
    int fd = -1, truncated = 0;
    ssize_t n = control_read(c->fd, buf, CTL_MSG_MAX, MSG_DONTWAIT, &fd, &truncated);
    if (n == -EAGAIN)
        return; /* a wake-up without data: the deadline still runs */
    if (!peer_admitted(srv, c))
        refuse_peer(srv, c);
    else if (n > 0) { /* else a probe that only connected, or a peer that left */
        buf[n] = '\0';
        dispatch(srv, c->fd, buf, &fd, truncated);
    }
    if (fd >= 0)
        close(fd);
    conn_close(srv, slot);
}

/* Closes the connections past their deadline. Returns the ms to the next deadline, or -1. */
int lust__server_control_expire(struct lust_server *srv, long long now_ms)
{
    int next = -1;
    for (int i = 0; i < CTL_CONN_MAX; i++) {
        struct lust__ctl_conn *c = &srv->conns[i];
        if (c->fd < 0)
            continue;
        if (c->deadline_ms > now_ms) {
            long long left = c->deadline_ms - now_ms;
            if (next < 0 || left < next)
                next = (int)left;
            continue;
        }
        if (!peer_admitted(srv, c))
            refuse_peer(srv, c);
        else
            lust_log(LUST_LOG_WARNING,
                     "control socket: pid %ld sent no request within %d ms; closed", (long)c->pid,
                     CTL_DEADLINE_MS);
        conn_close(srv, i);
    }
    return next;
}

void lust__server_control_close_all(struct lust_server *srv)
{
    for (int i = 0; i < CTL_CONN_MAX; i++)
        if (srv->conns[i].fd >= 0)
            conn_close(srv, i);
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
            return lust__fail_plain(ENOTSOCK, "control socket %s: exists and is not a socket",
                                    path);
        /* Not "already running": only the pid file's lock holder may be taken for that. */
        if (lust__server_control_alive(path))
            return srv->pidfile
                       ? lust__fail_plain(EADDRINUSE,
                                          "control socket %s: another server, with "
                                          "another pid file, answers there",
                                          path)
                       : lust__fail_plain(EADDRINUSE, "control socket %s: a server answers there%s",
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
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return lust__fail(errno, "control socket %s", path);
    /* Created 0600 by this umask (one thread here), so there is no chmod() to follow a link. */
    mode_t old = umask(0177);
    r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    /* A temporary name left by a daemon that had this pid and died: ours to take over. */
    if (r < 0 && errno == EADDRINUSE && unlink(tmp) == 0)
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
        r = errno == EEXIST
                ? lust__fail_plain(EADDRINUSE, "control socket %s: another server took it", path)
                : lust__fail(errno, "control socket %s", path);
        unlink(tmp);
        close(fd);
        return r;
    }
    srv->ctl_fd = fd;
    /* Nobody replaces a live socket, so what is at the path now is ours for as long as fd
     * listens: remembered, so that only this file is ever removed as ours. */
    if (lstat(path, &st) == 0) {
        srv->ctl_dev = st.st_dev;
        srv->ctl_ino = st.st_ino;
    }
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
    if (!path || srv->control_off)
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
 * Removes a control socket nobody listens on any more. Callers hold the pid file's lock
 * (lust__server_control_remove_locked), without which a server starting meanwhile could have
 * put its own live socket there between the check and the unlink. One where anything still
 * answers is kept, and so is one that is not the file the stopped server made, when known.
 */
void lust__server_control_remove(struct lust_server *srv)
{
    const char *path = lust_config_control(srv->config);
    struct stat st;
    if (!path || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return;
    if (srv->ctl_ino && (st.st_dev != srv->ctl_dev || st.st_ino != srv->ctl_ino))
        return;
    if (lust__server_control_alive(path))
        return;
    if (unlink(path) < 0 && errno != ENOENT)
        lust__server_print(stderr, "%s: cannot remove %s: %s", srv->name, path, strerror(errno));
}

void lust__server_control_remove_locked(void *srv)
{
    lust__server_control_remove(srv);
}

/* The server's own socket, while it still listens on it: nobody else can have replaced it. */
void lust__server_control_remove_own(struct lust_server *srv)
{
    const char *path = lust_config_control(srv->config);
    struct stat st;
    if (srv->ctl_fd < 0 || !path || lstat(path, &st) < 0)
        return;
    if (st.st_dev == srv->ctl_dev && st.st_ino == srv->ctl_ino)
        unlink(path);
}
