/*
 * lib/server_client.c - the commands' end of the control socket: `reload` and `reopen`.
 *
 * Root, with the real `/`, reads and checks the config file (or opens the log file) and hands
 * it to the running daemon over its control socket (protocol in server_control.c). The
 * daemon's answer is printed on the operator's terminal through one filter that lets no
 * terminal control byte through. Also here: dialling a socket without blocking, which the
 * daemon's end uses to tell a live socket from a dead one.
 */
#include "server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>
#include <lust/pidfile.h>

/* Fills sa with path; -ENAMETOOLONG when it does not fit sun_path. */
int lust__server_control_address(const char *path, struct sockaddr_un *sa)
{
    size_t len = strlen(path);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (len >= sizeof sa->sun_path)
        return lust__fail_plain(ENAMETOOLONG, "control socket %s: path too long", path);
    memcpy(sa->sun_path, path, len + 1);
    return 0;
}

/*
 * Connects to the socket at path without blocking: a full backlog is EAGAIN, not a hang.
 * The socket is blocking again when returned. Returns it, or -errno.
 */
static int control_dial(const char *path)
{
    struct sockaddr_un sa;
    if (lust__server_control_address(path, &sa) < 0)
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || fcntl(fd, F_SETFL, 0) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/*
 * Whether something lives at the socket path: 0 only when nobody listens there (ECONNREFUSED)
 * or nothing is there, 1 otherwise: a server that answers, one too busy to (EAGAIN), or a
 * socket of another kind (EPROTOTYPE). Only a dead socket may be replaced or removed.
 */
int lust__server_control_alive(const char *path)
{
    int fd = control_dial(path);
    if (fd >= 0)
        close(fd);
    return !(fd == -ECONNREFUSED || fd == -ENOENT);
}

/* The control socket's path for this server, or NULL when it has none. */
static const char *control_path(const struct lust_server *srv)
{
    return lust_config_control(srv->config);
}

/*
 * Connects to the server's control socket. Returns the socket, or -errno: -ENOENT or
 * -ECONNREFUSED when no server listens there, -EACCES when this user may not connect,
 * -EAGAIN when the server's queue of connections stayed full for wait_ms (-1: no limit; the
 * daemon's thread may be busy for a moment, or silent clients may fill it until the daemon
 * drops them). The config or log file goes only to a server that listens as root or as this
 * user (SO_PEERCRED gives who called listen()): a socket planted in its place would collect
 * it (-EPERM).
 */
static int control_connect(const char *path, int wait_ms)
{
    struct stat st;
    struct ucred cred;
    socklen_t len = sizeof cred;
    long long until = lust__now_ms() + wait_ms;

    if (lstat(path, &st) < 0)
        return -errno;
    if (!S_ISSOCK(st.st_mode))
        return -ENOTSOCK;
    int fd;
    while ((fd = control_dial(path)) == -EAGAIN && (wait_ms < 0 || lust__now_ms() < until))
        poll(NULL, 0, 10);
    if (fd < 0)
        return fd;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        close(fd);
        return -EPERM;
    }
    return fd;
}

int lust__server_control_peer(const char *path, pid_t *pid)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    int fd = control_connect(path, 0);
    if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTSOCK)
        return 0;
    if (fd < 0)
        return fd;
    int r = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ? -errno : 1;
    close(fd);
    if (r > 0)
        *pid = cred.pid;
    return r;
}

/*
 * An answer, "ERRNO\nSENTENCE", NUL-terminated in reply: leaves the sentence alone in reply
 * and returns the errno (0: done), or -EPROTO for anything else.
 */
int lust__server_parse_reply(char *reply)
{
    char *end;
    errno = 0;
    long err = strtol(reply, &end, 10);
    if (errno || end == reply || *end != '\n' || err < 0 || err > 4095)
        return -EPROTO;
    memmove(reply, end + 1, strlen(end + 1) + 1);
    return (int)err;
}

/*
 * Sends one request with one descriptor and waits up to timeout_s (0: no limit) for the
 * answer. Returns the server's errno for the request (0: done) with its sentence in reply, or
 * -errno when the exchange itself failed (-ETIMEDOUT: no answer in time).
 */
static int control_call(int sock, const char *req, int fd, int timeout_s, char *reply, size_t size)
{
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = (void *)req, .iov_len = strlen(req)};
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl.space,
        .msg_controllen = sizeof ctl.space,
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
        return -errno;

    struct pollfd p = {.fd = sock, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_s > 0 ? timeout_s * 1000 : -1);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return r == 0 ? -ETIMEDOUT : -errno;
    ssize_t n = recv(sock, reply, size - 1, 0);
    if (n <= 0)
        return n == 0 ? -ECONNRESET : -errno;
    reply[n] = '\0';
    return lust__server_parse_reply(reply);
}

/*
 * The config file's text in a sealed memfd: the daemon parses exactly the bytes checked here,
 * whatever happens to the file meanwhile, and gets no descriptor of anything under /etc.
 * A missing default file gives an empty text (the defaults), as at start.
 */
static int config_snapshot(struct lust_server *srv)
{
    const char *path = lust_config_path(srv->config);
    int mfd = memfd_create("lust-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0)
        return lust__fail(errno, "memfd_create");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && !(errno == ENOENT && !srv->config_path)) {
        int r = lust__fail(errno, "config %s", path);
        close(mfd);
        return r;
    }
    if (fd >= 0 && lust__config_trusted(fd, path) < 0) {
        close(fd);
        close(mfd);
        return -EPERM;
    }
    char buf[8192];
    ssize_t n = 0;
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        ssize_t w = write(mfd, buf, (size_t)n);
        if (w != n) {
            if (w >= 0)
                errno = EIO; /* a short write to a memfd: out of memory, in effect */
            n = -1;
            break;
        }
    }
    int e = n != 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    if (e ||
        fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
        lseek(mfd, 0, SEEK_SET) < 0) {
        int r = lust__fail(e ? e : errno, "config %s", path);
        close(mfd);
        return r;
    }
    return mfd;
}

/*
 * Nobody answers on the control socket: 1 (with the sentence printed) when a server holds
 * the pid file all the same (its socket was removed, or control_socket was changed in the file
 * since it started), so the command fails rather than report "not running"; else 0.
 */
static int control_missing(struct lust_server *srv, const char *path, const char *cmd)
{
    pid_t pid = 0;
    int state = srv->pidfile_wanted ? lust__server_query(srv, &pid) : LUST_PIDFILE_NONE;
    if (state != LUST_PIDFILE_RUNNING && state != LUST_PIDFILE_RUNNING_UNKNOWN)
        return 0;
    lust__server_print(
        stderr,
        "%s is running (pid %ld) but does not answer on %s (the socket was removed, or "
        "control_socket changed since the start); %s cannot reach it: restart it",
        srv->name, (long)pid, path, cmd);
    return 1;
}

/* Prints what went wrong reaching the control socket; returns the exit status. */
static int control_unreachable(struct lust_server *srv, const char *path, int r)
{
    if (r == -EACCES)
        lust__server_print(
            stderr, "%s: %s: %s (only root or the user who started the server may control it)",
            srv->name, path, strerror(-r));
    else if (r == -EPERM)
        lust__server_print(
            stderr,
            "%s: %s: the server there listens as another user; not trusting it (only root "
            "or the user who started the server may control it)",
            srv->name, path);
    else if (r == -EAGAIN)
        lust__server_print(stderr,
                           "%s: %s: the server took no connection within start_timeout; it is "
                           "too busy, or stopped; try again",
                           srv->name, path);
    else
        lust__server_print(stderr, "%s: control socket %s: %s", srv->name, path, strerror(-r));
    return r == -EACCES || r == -EPERM ? EXIT_PRIVILEGE : EXIT_GENERIC;
}

/*
 * The daemon's sentence, made safe for root's terminal: no escape sequences. Control bytes
 * (C0, DEL), C1 controls (U+0080..U+009F, which some terminals obey) and bytes that are not
 * well-formed UTF-8 (a lone 0x9b is CSI to an 8-bit terminal) become '?'; UTF-8 text, such as
 * a file name, stays.
 */
void lust__server_printable(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t left = strlen(s);
    while (left > 0) {
        size_t len = lust__text_char(p, left);
        if (len == 0) {
            *p = '?';
            len = 1;
        }
        p += len;
        left -= len;
    }
}

/* Reports the server's answer; returns the exit status. */
static int control_outcome(struct lust_server *srv, int r, char *reply, int timeout_s)
{
    lust__server_printable(reply);
    if (r == 0) {
        lust__server_print(stdout, "%s: %s", srv->name, reply);
        return EXIT_OK;
    }
    if (r == -ETIMEDOUT)
        lust__server_print(stderr,
                           "%s: no answer from the server within %d s; it may still apply it",
                           srv->name, timeout_s);
    else if (r == -EPROTO)
        lust__server_print(stderr, "%s: the server's answer makes no sense", srv->name);
    else if (r < 0)
        lust__server_print(stderr, "%s: control socket: %s", srv->name, strerror(-r));
    else
        lust__server_print(stderr, "%s: %s", srv->name, reply);
    return r == EPERM || r == EACCES ? EXIT_PRIVILEGE : EXIT_GENERIC;
}

/*
 * Connects to the control socket at path for cmd. Returns the socket; -ENOENT when no server
 * runs (the caller says so in its own words); or another -errno with the reason printed and
 * the exit status in *status (1 for a server that runs but does not answer there).
 */
static int control_reach(struct lust_server *srv, const char *path, const char *cmd, int *status)
{
    /* A full queue is waited out as long as the answer would be. */
    int timeout_s = lust_config_start_timeout(srv->config);
    int sock = control_connect(path, timeout_s > 0 ? timeout_s * 1000 : -1);
    if (sock >= 0)
        return sock;
    if (sock == -ENOENT || sock == -ECONNREFUSED) {
        if (!control_missing(srv, path, cmd))
            return -ENOENT;
        *status = EXIT_GENERIC;
        return -EHOSTUNREACH;
    }
    *status = control_unreachable(srv, path, sock);
    return sock;
}

/* Checks the snapshot as the daemon will parse it, then rewinds it. Returns 0 or -errno. */
static int check_snapshot(struct lust_server *srv, int mfd)
{
    struct lust_config *check;
    int r = lust_config_load_fd(srv->name, mfd, lust_config_path(srv->config), srv->ops.options,
                                &check);
    if (r < 0)
        return r;
    lust_config_free(check);
    return lseek(mfd, 0, SEEK_SET) < 0 ? lust__fail(errno, "memfd") : 0;
}

/*
 * `reload`: the config file is read and checked here, as root with the real `/`; only a
 * config that loads is handed over, as a sealed memfd, on the control socket. Exits 0 once the
 * daemon says its reload() took it.
 */
int lust__server_cmd_reload(struct lust_server *srv)
{
    const char *path = control_path(srv);
    char reply[CTL_MSG_MAX + 1];
    int status = EXIT_GENERIC;

    if (!srv->ops.reload) {
        lust__server_print(stderr, "%s: reload is not implemented by this daemon; use restart",
                           srv->name);
        return EXIT_UNIMPLEMENTED;
    }
    /* No socket, or only the default one and nobody there (a foreground server that could
     * not make it): SIGHUP to the pid file's holder, if there is one. */
    if (!path || (srv->control_implicit && !lust__server_control_alive(path)))
        return lust__server_reload_by_signal(srv);
    int sock = control_reach(srv, path, "reload", &status);
    if (sock == -ENOENT) {
        lust__server_print(stderr, "%s is not running", srv->name);
        return EXIT_NOT_RUNNING;
    }
    if (sock < 0)
        return status;

    int mfd = config_snapshot(srv);
    if (mfd >= 0 && check_snapshot(srv, mfd) < 0) {
        close(mfd);
        mfd = -EINVAL;
    }
    if (mfd < 0) {
        lust__server_print(stderr, "%s: %s", srv->name, lust_error());
        close(sock);
        return EXIT_GENERIC; /* a bad file fails the command and leaves the daemon untouched */
    }
    char req[CTL_MSG_MAX];
    snprintf(req, sizeof req, "reload\n%s", lust_config_path(srv->config));
    int timeout_s = lust_config_start_timeout(srv->config);
    int r = control_call(sock, req, mfd, timeout_s, reply, sizeof reply);
    close(mfd);
    close(sock);
    return control_outcome(srv, r, reply, timeout_s);
}

/*
 * `reopen`, for logrotate's postrotate: the log file is opened here, as root outside the jail
 * (created 0640 if missing), and handed to the daemon, which switches to it. Exits 0 once the
 * daemon has switched; a server that is not running has nothing to reopen (exit 0).
 */
int lust__server_cmd_reopen(struct lust_server *srv)
{
    const char *path = control_path(srv);
    char reply[CTL_MSG_MAX + 1];
    int status = EXIT_GENERIC;

    if (!path) {
        lust__server_print(stderr,
                           "%s: no control socket (control_socket = none, or the foreground "
                           "without one): nothing to reopen through",
                           srv->name);
        return EXIT_GENERIC;
    }
    int sock = control_reach(srv, path, "reopen", &status);
    if (sock == -ENOENT) {
        lust__server_print(stdout, "%s is not running; nothing to reopen", srv->name);
        return EXIT_OK;
    }
    if (sock < 0)
        return status;
    int fd = lust__server_open_log(srv);
    if (fd < 0) {
        lust__server_say(srv, "reopen");
        close(sock);
        return lust__server_exit_for(fd);
    }
    int r = control_call(sock, "reopen", fd, 10, reply, sizeof reply);
    close(fd);
    close(sock);
    return control_outcome(srv, r, reply, 10);
}
