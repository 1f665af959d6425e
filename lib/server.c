/*
 * lib/server.c - the framework: argv -> command -> the daemon dance -> the user's hooks.
 *
 * The only module that composes the others. `start` follows shared/DESIGN.md step by step:
 * config (cmd_start), what needs the real / (prepare), daemonize, then in the daemon process
 * daemon_main(): signals, log, pid file, jail, drop, ready, run. Every failure after the fork is
 * reported to the waiting parent through lust_daemon_failed() and the daemon exits; the parent
 * prints the sentence. In foreground mode daemon_main() runs in the started process itself.
 *
 * Signals never reach user code in a handler: TERM, INT, HUP and USR1 are blocked in every
 * thread from the start, and one framework thread reads them from a signalfd next to a timerfd
 * for the watchdog and an eventfd that tells it to quit. The stop state is an eventfd that
 * becomes readable, so run() can poll it beside its sockets.
 *
 * This file prints operator messages (the documented exception to "library code never
 * prints"): only cmd_*() and the usage text do, on the terminal of the command that was typed.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/daemon.h>
#include <lust/error.h>
#include <lust/log.h>
#include <lust/notify.h>
#include <lust/pidfile.h>
#include <lust/privs.h>
#include <lust/server.h>
#include <lust/version.h>

/* LSB init-script exit codes (shared/DESIGN.md). */
enum {
    EXIT_OK = 0,
    EXIT_GENERIC = 1,
    EXIT_USAGE = 2,
    EXIT_UNIMPLEMENTED = 3,
    EXIT_PRIVILEGE = 4,
    EXIT_MISSING = 5,
    EXIT_CONFIG = 6,
    EXIT_NOT_RUNNING = 7,
};

struct lust_server {
    const char *name;
    struct lust_server_ops ops; /* the caller's struct, zero-extended to this library's size */
    void *user_data;
    const char *config_path; /* -c FILE, or NULL for the default */
    struct lust_config *config;
    int foreground;
    int pidfile_wanted; /* daemon mode, or `pidfile` set in the file for the foreground */
    int control_wanted; /* the same rule for `control_socket` */
    int ready_fd;       /* --ready-fd N, or -1 */
    uid_t owner_uid;    /* who started the server: root and this uid may use the control socket */

    struct lust_creds *creds;
    struct lust_notify *notify;
    struct lust_pidfile *pidfile;
    int log_fd;    /* opened before the fork, installed in the daemon */
    int jail_fd;   /* checked before the fork, entered in the daemon */
    int jailed;    /* chroot done: paths outside the jail are out of reach */
    int config_fd; /* the config file as opened at start, for SIGHUP; a file, never a directory */
    int ctl_fd;    /* the listening control socket, or -1 */

    int stop_fd; /* eventfd, readable once a stop was asked */
    int quit_fd; /* eventfd that ends the signal thread */
    atomic_int stopping;
    pthread_t signal_thread;
    int signal_thread_started;
};

/* The signals the framework takes; blocked in every thread before any hook runs. */
static void framework_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

/* Syslog priorities (what the config reports) to this library's log levels. */
static int log_level_from_syslog(int priority)
{
    switch (priority) {
    case LOG_DEBUG:
        return LUST_LOG_DEBUG;
    case LOG_INFO:
        return LUST_LOG_INFO;
    case LOG_NOTICE:
        return LUST_LOG_NOTICE;
    case LOG_WARNING:
        return LUST_LOG_WARNING;
    default:
        return LUST_LOG_ERROR;
    }
}

/* The exit status for a failed start, from the errno that stopped it. */
static int exit_for_errno(int r)
{
    switch (-r) {
    case EPERM:
    case EACCES:
        return EXIT_PRIVILEGE;
    default:
        return EXIT_GENERIC;
    }
}

static void say_error(const struct lust_server *srv, const char *what)
{
    fprintf(stderr, "%s: %s%s%s\n", srv->name, what ? what : "", what ? ": " : "", lust_error());
}

/* ---- the handle, for the user's hooks ---- */

const char *lust_server_name(const struct lust_server *srv)
{
    return srv->name;
}

struct cfg_t *lust_server_config(struct lust_server *srv)
{
    return lust_config_cfg(srv->config);
}

int lust_server_stop_fd(const struct lust_server *srv)
{
    return srv->stop_fd;
}

int lust_server_stopping(const struct lust_server *srv)
{
    return atomic_load(&srv->stopping);
}

int lust_server_foreground(const struct lust_server *srv)
{
    return srv->foreground;
}

int lust_server_fail(struct lust_server *srv, int err, const char *fmt, ...)
{
    va_list ap;
    (void)srv;
    if (err == 0)
        err = EINVAL;
    va_start(ap, fmt);
    int r = lust__vfail(err, 1, fmt, ap);
    va_end(ap);
    return r;
}

/*
 * Runs one hook. The sentence is cleared first, so a hook that fails without setting one gets
 * a generic sentence instead of an older, unrelated failure's.
 */
static int call_hook(struct lust_server *srv, int (*hook)(struct lust_server *, void *),
                     const char *stage)
{
    if (!hook)
        return 0;
    lust__error_clear();
    int r = hook(srv, srv->user_data);
    if (r >= 0)
        return 0;
    if (lust_error()[0] == '\0')
        lust__fail(-r, "%s failed", stage);
    return r;
}

/* ---- the signal thread ---- */

static void request_stop(struct lust_server *srv, const char *why)
{
    if (atomic_exchange(&srv->stopping, 1))
        return;
    lust_log(LUST_LOG_NOTICE, "%s: stopping", why);
    lust_notify_stopping(srv->notify);
    if (srv->ops.shutdown)
        srv->ops.shutdown(srv, srv->user_data);
    uint64_t one = 1;
    if (write(srv->stop_fd, &one, sizeof one) < 0)
        lust_log(LUST_LOG_ERROR, "cannot wake run(): %m");
}

/* ---- reload: a new config for the running daemon ---- */

/* Keys the running daemon cannot honour: they shaped the dance that already happened. */
static void restart_only_keys(const struct lust_config *old, const struct lust_config *fresh,
                              char *out, size_t size)
{
    static const struct {
        const char *key;
        const char *(*get)(const struct lust_config *);
    } keys[] = {
        {"user", lust_config_user},       {"group", lust_config_group},
        {"jail", lust_config_jail},       {"pidfile", lust_config_pidfile},
        {"logfile", lust_config_logfile}, {"control_socket", lust_config_control},
    };
    size_t len = 0;

    out[0] = '\0';
    if (lust_config_foreground(old) != lust_config_foreground(fresh))
        len = (size_t)snprintf(out, size, "foreground");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && len < size; i++) {
        const char *a = keys[i].get(old), *b = keys[i].get(fresh);
        if ((!a && !b) || (a && b && strcmp(a, b) == 0))
            continue;
        int n = snprintf(out + len, size - len, "%s%s", len ? ", " : "", keys[i].key);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
}

/*
 * Installs FRESH (consumed) as the config and runs reload(). If reload() fails, the previous
 * config is put back, so lust_server_config() never shows a config the daemon refused. The
 * outcome, for the log and for the operator, is written to msg.
 */
static int apply_config(struct lust_server *srv, struct lust_config *fresh, char *msg, size_t size)
{
    char keys[128];
    struct lust_config *old = srv->config;

    restart_only_keys(old, fresh, keys, sizeof keys);
    srv->config = fresh;
    int r = call_hook(srv, srv->ops.reload, "reload");
    if (r < 0) {
        srv->config = old;
        snprintf(msg, size, "%s; the running config is unchanged", lust_error());
        lust_config_free(fresh);
        return r;
    }
    lust_log_set_level(log_level_from_syslog(lust_config_log_level(fresh)));
    umask(lust_config_umask(fresh));
    int n = snprintf(msg, size, "reloaded %s", lust_config_path(fresh));
    if (keys[0] && n > 0 && (size_t)n < size)
        snprintf(msg + n, size - (size_t)n, "; changed but kept until a restart: %s", keys);
    /* Freed only now: reload() may copy what it needs from either config. */
    lust_config_free(old);
    return 0;
}

/* Parses the config file open on fd (from its start) and applies it. */
static int reload_from_fd(struct lust_server *srv, int fd, const char *path, char *msg, size_t size)
{
    struct lust_config *fresh;
    int r;

    if (lseek(fd, 0, SEEK_SET) < 0)
        r = lust__fail(errno, "%s", path);
    else
        r = lust_config_load_fd(srv->name, fd, path, srv->ops.options, &fresh);
    if (r < 0) {
        snprintf(msg, size, "%s; the running config is unchanged", lust_error());
        return r;
    }
    return apply_config(srv, fresh, msg, size);
}

/*
 * The config file, kept open so SIGHUP can re-read it from the jail; -1 when there is none
 * (the defaults are in use) or it is not a regular file.
 */
static int open_config_file(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/*
 * HUP. A daemon that dropped root (and may sit in a jail) cannot be trusted to find its config
 * file by path, so it re-reads the file it opened at start (config_fd): an edit made in place
 * is seen. Out of a jail the path is tried first, so a file replaced by rename is seen too; in
 * a jail the path would name another file, inside the jail, and only `NAME reload` (which
 * hands the daemon the file over the control socket) can load a replaced file.
 */
static void do_reload(struct lust_server *srv)
{
    const char *path = lust_config_path(srv->config);
    char msg[1024];
    struct stat st;
    int r;

    if (!srv->ops.reload) {
        lust_log(LUST_LOG_WARNING, "SIGHUP: this daemon has no reload hook; ignored");
        return;
    }
    lust_notify_reloading(srv->notify);
    int fd = srv->jailed ? -1 : open_config_file(path);
    if (fd >= 0) {
        if (srv->config_fd >= 0)
            close(srv->config_fd);
        srv->config_fd = fd;
    }
    if (srv->config_fd < 0)
        r = lust__fail_plain(ENOENT,
                             "%s was not there at start; run `%s reload` to load it; "
                             "the running config is unchanged",
                             path, srv->name);
    else if (fstat(srv->config_fd, &st) < 0)
        r = lust__fail(errno, "%s", path);
    else if (st.st_nlink == 0)
        r = lust__fail_plain(ESTALE,
                             "%s was replaced or removed since the start, and from its jail "
                             "the daemon can re-read only the file it opened then; run `%s "
                             "reload` to load the new one; the running config is unchanged",
                             path, srv->name);
    else
        r = 0;
    if (r < 0)
        snprintf(msg, sizeof msg, "%s", lust_error());
    else
        r = reload_from_fd(srv, srv->config_fd, path, msg, sizeof msg);
    lust_log(r < 0 ? LUST_LOG_ERROR : LUST_LOG_NOTICE, "SIGHUP: %s", msg);
    lust_notify_ready(srv->notify);
}

/* ---- the control socket: reload and reopen from root, outside the jail ---- */

/*
 * Protocol, one SOCK_SEQPACKET message each way: the request is a word ("reload" or
 * "reopen"), for reload a newline and the config file's name, with one descriptor attached
 * (SCM_RIGHTS): the config's text in a sealed memfd, or the freshly opened log file. The
 * answer is the errno of the outcome (0 for success), a newline and a sentence.
 */
#define CTL_MSG_MAX 2048

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
        r = reload_from_fd(srv, fd, path, msg, sizeof msg);
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
 * One connection on the control socket, from the signal thread. Returns 0, or -errno when
 * accept() ran out of descriptors or memory: the connection stays queued, and the caller stops
 * polling the socket for a while instead of spinning on it.
 */
static int control_serve(struct lust_server *srv)
{
    int cfd = accept4(srv->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0) /* out of descriptors or memory: the connection stays queued */
        return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM ? -errno
                                                                                         : 0;

    char buf[CTL_MSG_MAX + 1];
    int fd = -1, truncated = 0;
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
        lust_log(LUST_LOG_ERROR, "control socket: SO_PEERCRED: %m");
        close(cfd);
        return 0;
    }
    /*
     * The socket's mode already keeps others out; this holds even if someone chmods it. The
     * peer is checked before its request is waited for, so it cannot hold this thread; what
     * it sent at once is read (its descriptors closed) before the refusal: closing a socket
     * with unread data would reset the connection and the answer would be lost.
     */
    if (cred.uid != 0 && cred.uid != srv->owner_uid) {
        struct pollfd p = {.fd = cfd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0 &&
            control_read(cfd, buf, CTL_MSG_MAX, MSG_DONTWAIT, &fd, &truncated) >= 0 && fd >= 0)
            close(fd);
        lust_log(LUST_LOG_WARNING, "control socket: refused uid %u (pid %ld): not root%s",
                 (unsigned)cred.uid, (long)cred.pid,
                 srv->owner_uid ? " nor the user who started the server" : "");
        control_reply(cfd, EPERM, "only root%s may control %s",
                      srv->owner_uid ? " or the user who started it" : "", srv->name);
        close(cfd);
        return 0;
    }

    /* A stalled client must not hold the signal thread: TERM still has to get through. */
    struct timeval tv = {.tv_sec = 5};
    setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssize_t n = control_read(cfd, buf, CTL_MSG_MAX, 0, &fd, &truncated);
    if (n <= 0) {
        /* A probe that only connected, or a client that went silent. */
        if (fd >= 0)
            close(fd);
        close(cfd);
        return 0;
    }
    buf[n] = '\0';
    char *arg = strchr(buf, '\n');
    if (arg)
        *arg++ = '\0';
    if (truncated == 2)
        control_reply(cfd, EMFILE, "the descriptor sent was lost: the server is at its limit");
    else if (truncated)
        control_reply(cfd, EMSGSIZE, "request too long");
    else if (strcmp(buf, "reload") == 0)
        control_reload(srv, cfd, fd, arg && *arg ? arg : lust_config_path(srv->config));
    else if (strcmp(buf, "reopen") == 0)
        control_reopen(srv, cfd, &fd);
    else
        control_reply(cfd, EINVAL, "unknown request \"%.64s\"", buf);
    if (fd >= 0)
        close(fd);
    close(cfd);
    return 0;
}

static int make_watchdog_timer(struct lust_server *srv)
{
    uint64_t usec = lust_notify_watchdog_usec(srv->notify);
    if (usec == 0)
        return -1;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0)
        return -1;
    uint64_t half = usec / 2;
    struct itimerspec its = {
        .it_interval = {.tv_sec = (time_t)(half / 1000000),
                        .tv_nsec = (long)(half % 1000000) * 1000},
    };
    its.it_value = its.it_interval;
    if (timerfd_settime(fd, 0, &its, NULL) < 0) {
        close(fd);
        return -1;
    }
    lust_notify_watchdog(srv->notify);
    return fd;
}

static void *signal_thread(void *arg)
{
    struct lust_server *srv = arg;
    sigset_t set;
    framework_sigset(&set);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int wfd = make_watchdog_timer(srv);
    struct pollfd pfd[4] = {
        {.fd = srv->quit_fd, .events = POLLIN},
        {.fd = sfd, .events = POLLIN},
        {.fd = wfd, .events = POLLIN},
        {.fd = srv->ctl_fd, .events = POLLIN},
    };

    /* While the control socket cannot accept (no descriptor left), it is left out of poll()
     * until this time, so the pending connection does not make the thread spin. */
    struct timespec paused_until = {0, 0};

    if (sfd < 0)
        lust_log(LUST_LOG_ERROR, "signalfd: %m; signals will wait until exit");
    for (;;) {
        int timeout = -1;
        if (pfd[3].fd < 0 && srv->ctl_fd >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long ms = (paused_until.tv_sec - now.tv_sec) * 1000 +
                      (paused_until.tv_nsec - now.tv_nsec) / 1000000;
            if (ms <= 0) {
                pfd[3].fd = srv->ctl_fd;
                lust_log(LUST_LOG_NOTICE, "control socket: accepting again");
            } else {
                timeout = (int)ms;
            }
        }
        int r = poll(pfd, 4, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            lust_log(LUST_LOG_ERROR, "signal thread: poll: %m");
            break;
        }
        if (pfd[0].revents)
            break;
        if (pfd[2].revents) {
            uint64_t n;
            if (read(wfd, &n, sizeof n) > 0)
                lust_notify_watchdog(srv->notify);
        }
        int e;
        if (pfd[3].revents && (e = control_serve(srv)) < 0) {
            lust_log(LUST_LOG_ERROR, "control socket: cannot accept: %s; trying again in 1 s",
                     strerror(-e));
            clock_gettime(CLOCK_MONOTONIC, &paused_until);
            paused_until.tv_sec += 1;
            pfd[3].fd = -1;
            pfd[3].revents = 0;
        }
        struct signalfd_siginfo si;
        while (pfd[1].revents && read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            switch (si.ssi_signo) {
            case SIGTERM:
            case SIGINT:
                request_stop(srv, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                break;
            case SIGHUP:
                do_reload(srv);
                break;
            case SIGUSR1:
                if (lust_log_reopen() < 0)
                    lust_log(LUST_LOG_ERROR, "SIGUSR1: log reopen: %s%s", lust_error(),
                             srv->jailed ? " (from the jail the path is out of reach; "
                                           "use `reopen`, which passes the file in)"
                                         : "");
                else
                    lust_log(LUST_LOG_NOTICE, "SIGUSR1: log reopened");
                break;
            }
        }
    }
    if (sfd >= 0)
        close(sfd);
    if (wfd >= 0)
        close(wfd);
    return NULL;
}

static int start_signal_thread(struct lust_server *srv)
{
    int r = pthread_create(&srv->signal_thread, NULL, signal_thread, srv);
    if (r != 0)
        return lust__fail(r, "cannot start the signal thread");
    srv->signal_thread_started = 1;
    return 0;
}

static void stop_signal_thread(struct lust_server *srv)
{
    uint64_t one = 1;
    if (!srv->signal_thread_started)
        return;
    if (write(srv->quit_fd, &one, sizeof one) < 0)
        return; /* cannot happen with an eventfd below its maximum; exit ends the thread */
    pthread_join(srv->signal_thread, NULL);
    srv->signal_thread_started = 0;
}

/* ---- the daemon side of start ---- */

/* Signals: the framework's set blocked (inherited by every later thread), SIGPIPE ignored. */
static int take_signals(void)
{
    sigset_t set;
    framework_sigset(&set);
    int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (r != 0)
        return lust__fail(r, "cannot block signals");
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return lust__fail(errno, "cannot ignore SIGPIPE");
    return 0;
}

/* Pid file: in the daemon process itself, so the lock belongs to it (locks do not survive fork). */
static int take_pidfile(struct lust_server *srv)
{
    pid_t holder = 0;
    const char *path = lust_config_pidfile(srv->config);
    int r = lust_pidfile_open(path, &srv->pidfile, &holder);
    if (r == -EEXIST) {
        if (holder > 0)
            return lust__fail_plain(EEXIST, "already running (pid %ld)", (long)holder);
        return lust__fail_plain(EEXIST, "already running (pid not visible from here)");
    }
    return r;
}

/* Fills sa with path; -ENAMETOOLONG when it does not fit sun_path. */
static int control_address(const char *path, struct sockaddr_un *sa)
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
    if (control_address(path, &sa) < 0)
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
static int control_alive(const char *path)
{
    int fd = control_dial(path);
    if (fd >= 0)
        close(fd);
    return !(fd == -ECONNREFUSED || fd == -ENOENT);
}

/*
 * The control socket, made by root with the real `/` before the jail and the drop, so root
 * (outside the jail) can reach the jailed daemon. Mode 0600 and owned by the user who started
 * the server: the daemon's own user cannot connect, only the daemon holds the listening end.
 *
 * It is bound under a temporary name beside the path and renamed over it only once listening,
 * so at the path there is always either a dead socket or one that answers: whoever finds a
 * dead one (remove_control, the next start) may remove it without deleting a socket a
 * starting server has bound but not yet listens on. One where a server answers is never
 * replaced: without a pid file that server is this one already running; with one, it is
 * another instance (another pid file, the same socket), and two cannot share one socket.
 */
static int control_listen(struct lust_server *srv)
{
    const char *path = lust_config_control(srv->config);
    char tmp[sizeof((struct sockaddr_un *)0)->sun_path];
    struct sockaddr_un sa;
    struct stat st;
    int replace = 0; /* a dead socket is at the path: the rename replaces it */

    if (!srv->control_wanted || !path)
        return 0;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return lust__fail_plain(EEXIST, "control socket %s: exists and is not a socket", path);
        if (control_alive(path))
            return srv->pidfile ? lust__fail_plain(EADDRINUSE,
                                                   "control socket %s: another server, with "
                                                   "another pid file, answers there",
                                                   path)
                                : lust__fail_plain(EEXIST,
                                                   "already running (a server "
                                                   "answers on %s)",
                                                   path);
        replace = 1;
    } else if (errno != ENOENT) {
        return lust__fail(errno, "control socket %s", path);
    }
    int n = snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    int r = n > 0 && (size_t)n < sizeof tmp
                ? control_address(tmp, &sa)
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
 * Removes a control socket nobody listens on any more (after stop, or a failed start). A
 * socket where anything still answers is kept: it may be a server started meanwhile.
 */
static void remove_control(struct lust_server *srv)
{
    const char *path = srv->control_wanted ? lust_config_control(srv->config) : NULL;
    struct stat st;
    if (!path || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) || control_alive(path))
        return;
    if (unlink(path) < 0 && errno != ENOENT)
        fprintf(stderr, "%s: cannot remove %s: %s\n", srv->name, path, strerror(errno));
}

/* Drops the -1 entries (descriptors not in use) from fds; returns how many remain. */
static size_t compact_fds(int *fds, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            fds[k++] = fds[i];
    return k;
}

/* Steps 5 to 8 of the dance, in the process that will serve. Returns 0 when ready. */
static int become_server(struct lust_server *srv)
{
    int r;
    int keep[5] = {srv->jail_fd, lust_notify_fd(srv->notify), srv->ready_fd,
                   lust_daemon_report_fd(), srv->config_fd};

    r = take_signals();
    if (r < 0)
        return r;
    if (srv->foreground) {
        /* Lines stay on stderr; this only turns on journald's <N> prefixes when it is there. */
        r = lust_log_setup(NULL, NULL, 0);
        umask((mode_t)lust_config_umask(srv->config));
    } else {
        r = lust_log_setup_fd(srv->log_fd, keep, compact_fds(keep, 5));
        if (r == 0)
            srv->log_fd = -1;
    }
    if (r < 0)
        return r;
    lust_log_set_level(log_level_from_syslog(lust_config_log_level(srv->config)));
    srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    srv->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->stop_fd < 0 || srv->quit_fd < 0)
        return lust__fail(errno, "eventfd");
    if (srv->pidfile_wanted) {
        r = take_pidfile(srv);
        if (r < 0)
            return r;
    }
    r = control_listen(srv);
    if (r < 0)
        return r;
    r = call_hook(srv, srv->ops.before_jail, "before_jail");
    if (r < 0)
        return r;
    if (srv->jail_fd >= 0) {
        r = lust_privs_jail_enter(srv->jail_fd);
        if (r < 0)
            return r;
        srv->jail_fd = -1;
        srv->jailed = 1;
    }
    r = call_hook(srv, srv->ops.before_drop_privs, "before_drop_privs");
    if (r < 0)
        return r;
    r = lust_privs_drop(srv->creds, 0);
    if (r < 0)
        return r;
    return start_signal_thread(srv);
}

static void announce_ready(struct lust_server *srv)
{
    /* The setup's garbage (NSS, getgrouplist and config-reading buffers, freed but resident;
     * in daemon mode in the heap inherited from `start`) goes back to the kernel first. */
    malloc_trim(0);
    lust_log(LUST_LOG_NOTICE, "%s %s started (pid %ld) as uid %u", srv->name, lust_version(),
             (long)getpid(), lust_creds_uid(srv->creds));
    lust_daemon_ready();
    if (!srv->foreground)
        lust_notify_mainpid(srv->notify, getpid());
    lust_notify_ready(srv->notify);
    if (srv->ready_fd >= 0 && lust_notify_ready_fd(srv->ready_fd) < 0)
        lust_log(LUST_LOG_WARNING, "%s", lust_error());
}

/* Step 9 and the way out. Returns run()'s status. */
static int serve(struct lust_server *srv)
{
    int status = srv->ops.run(srv, srv->user_data);
    if (!atomic_load(&srv->stopping))
        lust_notify_stopping(srv->notify);
    stop_signal_thread(srv);
    lust_log(LUST_LOG_NOTICE, "%s exiting with status %d", srv->name, status);
    if (srv->pidfile && lust_pidfile_release(srv->pidfile) < 0)
        lust_log(LUST_LOG_ERROR, "%s", lust_error());
    srv->pidfile = NULL;
    return status;
}

/* The daemon's half of `start`, after lust_daemonize() returned 0. Never returns. */
static void daemon_main(struct lust_server *srv)
{
    int r = become_server(srv);
    if (r < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", lust_error()); /* the release below may set its own */
        lust_log(LUST_LOG_ERROR, "start failed: %s", why);
        /* Closed first, so the starting process finds nobody on it and removes the file. */
        if (srv->ctl_fd >= 0)
            close(srv->ctl_fd);
        /* The lock goes before the verdict: once `start` has printed the failure and returned,
         * a `status` or the next `start` must not find the pid file still locked. */
        if (srv->pidfile)
            lust_pidfile_release(srv->pidfile);
        lust_daemon_failed(-r, "%s", why);
        _exit(EXIT_GENERIC); /* a daemon liblust forked itself: never return into main() */
    }
    announce_ready(srv);
    int status = serve(srv);
    fflush(NULL);
    exit(status);
}

/* ---- the commands ---- */

/*
 * The log file, opened by root by path (at start, and for `reopen`): O_NOFOLLOW, no file with
 * other hard links, no blocking on a FIFO (lust_log_open). Returns the descriptor or -errno.
 */
static int open_log(struct lust_server *srv)
{
    return lust_log_open(lust_config_logfile(srv->config));
}

/*
 * Step 3: everything that needs the real `/`, in the process that was started, so that a
 * mistake is reported on the terminal before anything forks.
 */
static int prepare(struct lust_server *srv)
{
    struct lust_config *c = srv->config;
    int r = lust_privs_lookup(lust_config_user(c), lust_config_group(c), 0, &srv->creds);
    if (r < 0) {
        say_error(srv, NULL);
        return EXIT_CONFIG;
    }
    r = lust_privs_prepare();
    if (r < 0) {
        say_error(srv, NULL);
        return EXIT_GENERIC;
    }
    if (!srv->foreground) {
        srv->log_fd = open_log(srv);
        if (srv->log_fd < 0) {
            say_error(srv, "log");
            return exit_for_errno(srv->log_fd);
        }
    }
    if (lust_config_jail(c)) {
        r = lust_privs_jail_open(lust_config_jail(c), &srv->jail_fd);
        if (r < 0) {
            say_error(srv, NULL);
            return r == -ENOENT || r == -ENOTDIR ? EXIT_MISSING : EXIT_GENERIC;
        }
    }
    r = lust_notify_open(&srv->notify, LUST_NOTIFY_UNSET_ENV);
    if (r < 0) {
        say_error(srv, NULL);
        return EXIT_GENERIC;
    }
    if (srv->ops.reload)
        srv->config_fd = open_config_file(lust_config_path(c));
    return EXIT_OK;
}

static int query(struct lust_server *srv, pid_t *holder)
{
    return lust_pidfile_query(lust_config_pidfile(srv->config), holder);
}

static int cmd_start(struct lust_server *srv)
{
    pid_t holder = 0;
    int r;

    if (srv->pidfile_wanted && query(srv, &holder) == LUST_PIDFILE_RUNNING) {
        printf("%s is already running (pid %ld)\n", srv->name, (long)holder);
        return EXIT_OK;
    }
    r = prepare(srv);
    if (r != EXIT_OK)
        return r;
    r = call_hook(srv, srv->ops.before_daemonize, "before_daemonize");
    if (r < 0) {
        say_error(srv, NULL);
        return exit_for_errno(r);
    }
    if (srv->foreground) {
        r = become_server(srv);
        if (r < 0) {
            say_error(srv, NULL);
            if (srv->ctl_fd >= 0) {
                close(srv->ctl_fd);
                srv->ctl_fd = -1;
                if (!srv->jailed)
                    remove_control(srv);
            }
            if (srv->pidfile)
                lust_pidfile_release(srv->pidfile);
            return r == -EEXIST ? EXIT_OK : exit_for_errno(r);
        }
        announce_ready(srv);
        return serve(srv);
    }

    int keep[5] = {srv->log_fd, srv->jail_fd, lust_notify_fd(srv->notify), srv->ready_fd,
                   srv->config_fd};
    size_t nkeep = compact_fds(keep, 5);
    struct lust_daemon_opts opts = LUST_DAEMON_OPTS_INIT;
    opts.umask = (int)lust_config_umask(srv->config);
    opts.timeout_ms = lust_config_start_timeout(srv->config) * 1000;
    if (opts.timeout_ms == 0)
        opts.timeout_ms = -1;
    opts.keep_fds = keep;
    opts.keep_fds_len = (unsigned)nkeep;
    r = lust_daemonize(&opts);
    if (r == 0)
        daemon_main(srv);
    if (r > 0) {
        printf("%s started (pid %ld)\n", srv->name, (long)r);
        return EXIT_OK;
    }
    if (r == -EEXIST) {
        printf("%s: %s\n", srv->name, lust_error());
        return EXIT_OK;
    }
    say_error(srv, "start failed");
    remove_control(srv);
    return exit_for_errno(r);
}

/* Sends sig to the holder of the pid file through a pidfd, re-checking the lock after the
 * pidfd is taken so a pid reused in between is never signalled. Returns the pidfd, 0 when the
 * server went away meanwhile, or -errno (-ENOSYS: no pidfd here). */
static int signal_holder(struct lust_server *srv, pid_t pid, int sig)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return errno == ESRCH ? 0 : -errno;
    pid_t again = 0;
    if (query(srv, &again) != LUST_PIDFILE_RUNNING || again != pid) {
        close(pidfd);
        return 0;
    }
    if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
        int e = errno;
        close(pidfd);
        return e == ESRCH ? 0 : -e;
    }
    return pidfd;
}

static int wait_pidfd(int pidfd, int timeout_ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r > 0;
}

static void on_alarm(int sig)
{
    (void)sig;
}

/*
 * Without pidfds (kernels before 5.3, valgrind 3.19): wait for the kernel to drop the pid
 * file's lock, which it does when the holder exits. A read lock taken with F_SETLKW blocks
 * until then; SIGALRM, installed without SA_RESTART, ends the wait at the timeout.
 */
static int wait_lock_free(struct lust_server *srv, int timeout_s)
{
    int fd = open(lust_config_pidfile(srv->config), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 1;
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigaction(SIGALRM, &sa, &old);
    alarm(timeout_s > 0 ? (unsigned)timeout_s : 0);
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    int gone = fcntl(fd, F_SETLKW, &fl) == 0;
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    close(fd);
    return gone;
}

static int stop_without_pidfd(struct lust_server *srv, pid_t pid, int timeout_s)
{
    pid_t again = 0;
    if (query(srv, &again) != LUST_PIDFILE_RUNNING || again != pid || kill(pid, SIGTERM) < 0)
        return 0;
    if (wait_lock_free(srv, timeout_s))
        return 0;
    printf("%s did not stop within %d s; sending SIGKILL\n", srv->name, timeout_s);
    if (query(srv, &again) == LUST_PIDFILE_RUNNING && again == pid)
        kill(pid, SIGKILL);
    return wait_lock_free(srv, 5) ? 0 : -ETIMEDOUT;
}

static int remove_pidfile(struct lust_server *srv)
{
    int r = lust_pidfile_remove(lust_config_pidfile(srv->config));
    if (r < 0 && r != -EBUSY)
        say_error(srv, NULL);
    return r;
}

static int cmd_stop(struct lust_server *srv)
{
    pid_t pid = 0;
    int state = query(srv, &pid);
    int timeout_s = lust_config_stop_timeout(srv->config);

    if (state < 0) {
        say_error(srv, "stop");
        return exit_for_errno(state);
    }
    if (state == LUST_PIDFILE_RUNNING_UNKNOWN || state == LUST_PIDFILE_FOREIGN) {
        fprintf(stderr,
                "%s: the pid file is locked by a process that cannot be named from "
                "here (another pid namespace, or not a server); not signalling\n",
                srv->name);
        return EXIT_GENERIC;
    }
    if (state != LUST_PIDFILE_RUNNING) {
        remove_pidfile(srv);
        remove_control(srv);
        printf("%s is not running\n", srv->name);
        return EXIT_OK;
    }
    int pidfd = signal_holder(srv, pid, SIGTERM);
    if (pidfd == -ENOSYS) {
        if (stop_without_pidfd(srv, pid, timeout_s) < 0) {
            fprintf(stderr, "%s: pid %ld survived SIGKILL\n", srv->name, (long)pid);
            return EXIT_GENERIC;
        }
    } else if (pidfd < 0) {
        fprintf(stderr, "%s: cannot signal pid %ld: %s\n", srv->name, (long)pid, strerror(-pidfd));
        return exit_for_errno(pidfd);
    } else if (pidfd > 0) {
        if (!wait_pidfd(pidfd, timeout_s > 0 ? timeout_s * 1000 : -1)) {
            printf("%s did not stop within %d s; sending SIGKILL\n", srv->name, timeout_s);
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
            if (!wait_pidfd(pidfd, 5000)) {
                close(pidfd);
                fprintf(stderr, "%s: pid %ld survived SIGKILL\n", srv->name, (long)pid);
                return EXIT_GENERIC;
            }
        }
        close(pidfd);
    }
    remove_pidfile(srv);
    remove_control(srv);
    printf("%s stopped (pid %ld)\n", srv->name, (long)pid);
    return EXIT_OK;
}

static int cmd_status(struct lust_server *srv)
{
    pid_t pid = 0;
    int state = query(srv, &pid);
    int code = lust_pidfile_lsb_status(state);

    switch (state) {
    case LUST_PIDFILE_RUNNING:
        printf("%s is running (pid %ld)\n", srv->name, (long)pid);
        break;
    case LUST_PIDFILE_RUNNING_UNKNOWN:
        printf("%s is running (pid not visible from here)\n", srv->name);
        break;
    case LUST_PIDFILE_STALE:
        printf("%s is dead, but its pid file %s remains\n", srv->name,
               lust_config_pidfile(srv->config));
        break;
    case LUST_PIDFILE_NONE:
    case LUST_PIDFILE_EMPTY:
        printf("%s is not running\n", srv->name);
        break;
    case LUST_PIDFILE_FOREIGN:
        printf("%s: cannot tell: pid file %s is locked by a process that is not a server\n",
               srv->name, lust_config_pidfile(srv->config));
        break;
    default:
        printf("%s: cannot tell: %s\n", srv->name, lust_error());
        break;
    }
    return code;
}

/* ---- the client side of the control socket ---- */

/* The control socket's path for this server, or NULL when it has none. */
static const char *control_path(const struct lust_server *srv)
{
    return srv->control_wanted ? lust_config_control(srv->config) : NULL;
}

/*
 * Connects to the server's control socket. Returns the socket, or -errno: -ENOENT or
 * -ECONNREFUSED when no server listens there, -EACCES when this user may not connect,
 * -EAGAIN when the server is too busy to take the connection. The config or log file goes
 * only to a server that listens as root or as this user (SO_PEERCRED gives who called
 * listen()): a socket planted in its place would collect it (-EPERM).
 */
static int control_connect(const char *path)
{
    struct stat st;
    struct ucred cred;
    socklen_t len = sizeof cred;

    if (lstat(path, &st) < 0)
        return -errno;
    if (!S_ISSOCK(st.st_mode))
        return -ENOTSOCK;
    int fd = control_dial(path);
    if (fd < 0)
        return fd;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        close(fd);
        return -EPERM;
    }
    return fd;
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
    char *end;
    errno = 0;
    long err = strtol(reply, &end, 10);
    if (errno || end == reply || *end != '\n' || err < 0 || err > 4095)
        return -EPROTO;
    memmove(reply, end + 1, strlen(end + 1) + 1);
    return (int)err;
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

/* `reload` when the server has no control socket: HUP to the pid file's holder. */
static int reload_by_signal(struct lust_server *srv)
{
    pid_t pid = 0;
    int state = query(srv, &pid);

    if (state < 0) {
        say_error(srv, "reload");
        return exit_for_errno(state);
    }
    if (state != LUST_PIDFILE_RUNNING) {
        fprintf(stderr, "%s is not running\n", srv->name);
        return state == LUST_PIDFILE_RUNNING_UNKNOWN ? EXIT_GENERIC : EXIT_NOT_RUNNING;
    }
    int pidfd = signal_holder(srv, pid, SIGHUP);
    if (pidfd == -ENOSYS) {
        pid_t again = 0;
        pidfd =
            (query(srv, &again) == LUST_PIDFILE_RUNNING && again == pid && kill(pid, SIGHUP) == 0)
                ? 1
                : 0;
    } else if (pidfd > 0) {
        close(pidfd);
    }
    if (pidfd == 0) {
        fprintf(stderr, "%s is not running\n", srv->name);
        return EXIT_NOT_RUNNING;
    }
    if (pidfd < 0) {
        fprintf(stderr, "%s: cannot signal pid %ld: %s\n", srv->name, (long)pid, strerror(-pidfd));
        return exit_for_errno(pidfd);
    }
    printf("%s: sent SIGHUP to pid %ld; it re-reads the config file it opened at start (its "
           "log tells the outcome)\n",
           srv->name, (long)pid);
    return EXIT_OK;
}

/*
 * Nobody answers on the control socket: 1 (with the sentence printed) when a server holds
 * the pid file all the same (its socket was removed, or control_socket was changed in the file
 * since it started), so the command fails rather than report "not running"; else 0.
 */
static int control_missing(struct lust_server *srv, const char *path, const char *cmd)
{
    pid_t pid = 0;
    int state = srv->pidfile_wanted ? query(srv, &pid) : LUST_PIDFILE_NONE;
    if (state != LUST_PIDFILE_RUNNING && state != LUST_PIDFILE_RUNNING_UNKNOWN)
        return 0;
    fprintf(stderr,
            "%s is running (pid %ld) but does not answer on %s (the socket was removed, or "
            "control_socket changed since the start); %s cannot reach it: restart it\n",
            srv->name, (long)pid, path, cmd);
    return 1;
}

/* Prints what went wrong reaching the control socket; returns the exit status. */
static int control_unreachable(struct lust_server *srv, const char *path, int r)
{
    if (r == -EACCES)
        fprintf(stderr,
                "%s: %s: %s (only root or the user who started the server may control it)\n",
                srv->name, path, strerror(-r));
    else if (r == -EPERM)
        fprintf(stderr,
                "%s: %s: the server there listens as another user; not trusting it (only root "
                "or the user who started the server may control it)\n",
                srv->name, path);
    else if (r == -EAGAIN)
        fprintf(stderr, "%s: %s: the server is too busy to take the request; try again\n",
                srv->name, path);
    else
        fprintf(stderr, "%s: control socket %s: %s\n", srv->name, path, strerror(-r));
    return r == -EACCES || r == -EPERM ? EXIT_PRIVILEGE : EXIT_GENERIC;
}

/*
 * The daemon's sentence, made safe for root's terminal: no escape sequences. Control bytes
 * (C0, DEL), C1 controls (U+0080..U+009F, which some terminals obey) and bytes that are not
 * well-formed UTF-8 (a lone 0x9b is CSI to an 8-bit terminal) become '?'; UTF-8 text, such as
 * a file name, stays.
 */
static void printable(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t len = *p < 0x80                  ? 1
                     : *p >= 0xc2 && *p <= 0xdf ? 2
                     : *p >= 0xe0 && *p <= 0xef ? 3
                     : *p >= 0xf0 && *p <= 0xf4 ? 4
                                                : 0;
        size_t i = 1;
        while (i < len && (p[i] & 0xc0) == 0x80)
            i++;
        int c1 = len == 2 && p[0] == 0xc2 && p[1] < 0xa0;
        int overlong =
            (len == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (len == 4 && p[0] == 0xf0 && p[1] < 0x90);
        if (len == 0 || i < len || c1 || overlong || (len == 1 && (*p < 0x20 || *p == 0x7f))) {
            *p++ = '?';
            continue;
        }
        p += len;
    }
}

/* Reports the server's answer; returns the exit status. */
static int control_outcome(struct lust_server *srv, int r, char *reply, int timeout_s)
{
    printable(reply);
    if (r == 0) {
        printf("%s: %s\n", srv->name, reply);
        return EXIT_OK;
    }
    if (r == -ETIMEDOUT)
        fprintf(stderr, "%s: no answer from the server within %d s; it may still apply it\n",
                srv->name, timeout_s);
    else if (r == -EPROTO)
        fprintf(stderr, "%s: the server's answer makes no sense\n", srv->name);
    else if (r < 0)
        fprintf(stderr, "%s: control socket: %s\n", srv->name, strerror(-r));
    else
        fprintf(stderr, "%s: %s\n", srv->name, reply);
    return r == EPERM || r == EACCES ? EXIT_PRIVILEGE : EXIT_GENERIC;
}

/*
 * Connects to the control socket at path for cmd. Returns the socket; -ENOENT when no server
 * runs (the caller says so in its own words); or another -errno with the reason printed and
 * the exit status in *status (1 for a server that runs but does not answer there).
 */
static int control_reach(struct lust_server *srv, const char *path, const char *cmd, int *status)
{
    int sock = control_connect(path);
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
static int cmd_reload(struct lust_server *srv)
{
    const char *path = control_path(srv);
    char reply[CTL_MSG_MAX + 1];
    int status = EXIT_GENERIC;

    if (!srv->ops.reload) {
        fprintf(stderr, "%s: reload is not implemented by this daemon; use restart\n", srv->name);
        return EXIT_UNIMPLEMENTED;
    }
    if (!path)
        return reload_by_signal(srv);
    int sock = control_reach(srv, path, "reload", &status);
    if (sock == -ENOENT) {
        fprintf(stderr, "%s is not running\n", srv->name);
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
        fprintf(stderr, "%s: %s\n", srv->name, lust_error());
        close(sock);
        return EXIT_GENERIC; /* the contract: a bad file is 1, the daemon untouched */
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
static int cmd_reopen(struct lust_server *srv)
{
    const char *path = control_path(srv);
    char reply[CTL_MSG_MAX + 1];
    int status = EXIT_GENERIC;

    if (!path) {
        fprintf(stderr,
                "%s: no control socket (control_socket = none, or the foreground "
                "without one): nothing to reopen through\n",
                srv->name);
        return EXIT_GENERIC;
    }
    int sock = control_reach(srv, path, "reopen", &status);
    if (sock == -ENOENT) {
        printf("%s is not running; nothing to reopen\n", srv->name);
        return EXIT_OK;
    }
    if (sock < 0)
        return status;
    int fd = open_log(srv);
    if (fd < 0) {
        say_error(srv, "reopen");
        close(sock);
        return exit_for_errno(fd);
    }
    int r = control_call(sock, "reopen", fd, 10, reply, sizeof reply);
    close(fd);
    close(sock);
    return control_outcome(srv, r, reply, 10);
}

/* ---- argv ---- */

static void usage(const char *name, FILE *to)
{
    fprintf(to,
            "Usage: %s [-c FILE] [-f] [--ready-fd N] COMMAND\n"
            "Commands: start, stop, restart, reload, force-reload, status, and reopen (the log\n"
            "file, after logrotate moved it)\n"
            "  -c, --config FILE   read FILE instead of the default config file\n"
            "  -f, --foreground    stay in the foreground (systemd, runit, containers)\n"
            "      --ready-fd N    write a newline to descriptor N once ready (s6 style)\n"
            "  -V, --version       print the liblust version\n"
            "  -h, --help          print this help\n",
            name);
}

enum command {
    CMD_NONE,
    CMD_START,
    CMD_STOP,
    CMD_RESTART,
    CMD_RELOAD,
    CMD_FORCE_RELOAD,
    CMD_STATUS,
    CMD_REOPEN
};

static enum command parse_command(const char *word)
{
    static const struct {
        const char *word;
        enum command cmd;
    } table[] = {{"start", CMD_START},
                 {"stop", CMD_STOP},
                 {"restart", CMD_RESTART},
                 {"reload", CMD_RELOAD},
                 {"force-reload", CMD_FORCE_RELOAD},
                 {"status", CMD_STATUS},
                 {"reopen", CMD_REOPEN}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(word, table[i].word) == 0)
            return table[i].cmd;
    return CMD_NONE;
}

/* Returns a command, or a negative exit status to return at once (-1 for 0). */
static int parse_argv(struct lust_server *srv, int argc, char **argv, int *force_fg)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"foreground", no_argument, NULL, 'f'},
        {"ready-fd", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0}};
    int c;
    char *end;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:fhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            srv->config_path = optarg;
            break;
        case 'f':
            *force_fg = 1;
            break;
        case 'r':
            errno = 0;
            long fd = strtol(optarg, &end, 10);
            if (errno || *end || fd < 0 || fd > 65535) {
                fprintf(stderr, "%s: --ready-fd needs a descriptor number\n", srv->name);
                return -EXIT_USAGE;
            }
            srv->ready_fd = (int)fd;
            break;
        case 'h':
            usage(srv->name, stdout);
            return -1;
        case 'V':
            printf("%s (liblust %s)\n", srv->name, lust_version());
            return -1;
        default:
            fprintf(stderr, "%s: unknown option %s\n", srv->name, argv[optind - 1]);
            usage(srv->name, stderr);
            return -EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(srv->name, stderr);
        return -EXIT_USAGE;
    }
    enum command cmd = parse_command(argv[optind]);
    if (cmd == CMD_NONE) {
        fprintf(stderr, "%s: unknown command \"%s\"\n", srv->name, argv[optind]);
        usage(srv->name, stderr);
        return -EXIT_USAGE;
    }
    return (int)cmd;
}

/*
 * Copies the caller's ops into this library's layout: members it knows, zero beyond. A larger
 * struct from a newer header is accepted only if the members this library does not know are
 * all zero (the kernel's copy_struct_from_user rule), so a callback is never silently dropped.
 */
static int copy_ops(struct lust_server *srv, const struct lust_server_ops *ops, size_t size)
{
    if (!ops || size < offsetof(struct lust_server_ops, run) + sizeof ops->run)
        return lust__fail_plain(EINVAL, "lust_server_main: callback struct too small");
    if (size > sizeof srv->ops) {
        const unsigned char *tail = (const unsigned char *)ops + sizeof srv->ops;
        for (size_t i = 0; i < size - sizeof srv->ops; i++)
            if (tail[i])
                return lust__fail_plain(E2BIG,
                                        "lust_server_main: this program needs a newer "
                                        "liblust (callbacks this %s does not know)",
                                        lust_version());
    }
    memset(&srv->ops, 0, sizeof srv->ops);
    memcpy(&srv->ops, ops, size < sizeof srv->ops ? size : sizeof srv->ops);
    if (!srv->ops.run)
        return lust__fail_plain(EINVAL, "lust_server_main: the run callback is required");
    return 0;
}

static int run_command(struct lust_server *srv, enum command cmd)
{
    int r;
    switch (cmd) {
    case CMD_START:
        return cmd_start(srv);
    case CMD_STOP:
        return cmd_stop(srv);
    case CMD_STATUS:
        return cmd_status(srv);
    case CMD_RELOAD:
        return cmd_reload(srv);
    case CMD_REOPEN:
        return cmd_reopen(srv);
    case CMD_FORCE_RELOAD:
        /* LSB: force-reload restarts a daemon that cannot reload. */
        if (srv->ops.reload)
            return cmd_reload(srv);
        __attribute__((fallthrough));
    case CMD_RESTART:
        r = cmd_stop(srv);
        return r == EXIT_OK ? cmd_start(srv) : r;
    default:
        return EXIT_USAGE;
    }
}

int lust_server_main_sized(const char *name, const struct lust_server_ops *ops, size_t ops_size,
                           void *user_data, int argc, char **argv)
{
    struct lust_server srv = {
        .name = name,
        .user_data = user_data,
        .ready_fd = -1,
        .log_fd = -1,
        .jail_fd = -1,
        .config_fd = -1,
        .ctl_fd = -1,
        .stop_fd = -1,
        .quit_fd = -1,
    };
    int force_fg = 0;

    if (!name || !*name || strchr(name, '/')) {
        fprintf(stderr, "lust_server_main: a program name without '/' is required\n");
        return EXIT_USAGE;
    }
    if (copy_ops(&srv, ops, ops_size) < 0) {
        fprintf(stderr, "%s: %s\n", name, lust_error());
        return EXIT_GENERIC;
    }
    int cmd = parse_argv(&srv, argc, argv, &force_fg);
    if (cmd < 0)
        return cmd == -1 ? EXIT_OK : -cmd;
    if (lust_config_load(name, srv.config_path, ops->options, &srv.config) < 0) {
        fprintf(stderr, "%s: %s\n", name, lust_error());
        /* A reload that finds the file broken fails (1) and leaves the server alone. */
        return cmd == CMD_RELOAD || (cmd == CMD_FORCE_RELOAD && srv.ops.reload) ? EXIT_GENERIC
                                                                                : EXIT_CONFIG;
    }
    srv.foreground = force_fg || lust_config_foreground(srv.config);
    cfg_opt_t *pf = cfg_getopt(lust_config_cfg(srv.config), "pidfile");
    srv.pidfile_wanted = !srv.foreground || (pf && (pf->flags & CFGF_MODIFIED));
    cfg_opt_t *cs = cfg_getopt(lust_config_cfg(srv.config), "control_socket");
    srv.control_wanted = !srv.foreground || (cs && (cs->flags & CFGF_MODIFIED));
    srv.owner_uid = getuid();

    int status = run_command(&srv, (enum command)cmd);

    if (srv.jail_fd >= 0)
        close(srv.jail_fd);
    if (srv.config_fd >= 0)
        close(srv.config_fd);
    if (srv.ctl_fd >= 0)
        close(srv.ctl_fd);
    if (srv.log_fd >= 0)
        close(srv.log_fd);
    if (srv.stop_fd >= 0)
        close(srv.stop_fd);
    if (srv.quit_fd >= 0)
        close(srv.quit_fd);
    lust_notify_close(srv.notify);
    lust_creds_free(srv.creds);
    lust_config_free(srv.config);
    fflush(stdout);
    return status;
}
