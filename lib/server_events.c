/*
 * lib/server_events.c - the framework's own thread in the daemon, and reload.
 *
 * Signals never reach user code in a handler: TERM, INT, HUP and USR1 are blocked in every
 * thread from the start, and this one thread reads them from a signalfd, next to a timerfd
 * for the watchdog (which pings only while the daemon shows life), the control socket, and an
 * eventfd that tells it to quit. The stop state is an eventfd that becomes readable, so run()
 * can poll it beside its sockets.
 *
 * A reload, by SIGHUP or by `NAME reload` on the control socket, offers the new config to the
 * reload() hook and puts it in force if the hook accepts it (server_config.c). Outcomes go to
 * the log only.
 */
#include "server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>
#include <lust/log.h>
#include <lust/notify.h>

/* The signals the framework takes; blocked in every thread before any hook runs. */
void lust__server_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

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

/*
 * Runs reload() on FRESH (consumed), then puts it in force if reload() accepts it. Only
 * reload() sees it before (server_config.c), so no thread ever reads a config the daemon
 * refused. The outcome, for the log and for the operator, is written to msg.
 */
static int apply_config(struct lust_server *srv, struct lust_config *fresh, char *msg, size_t size)
{
    char keys[256];

    lust__server_restart_keys(srv, fresh, keys, sizeof keys);
    lust__server_config_trial(fresh);
    int r = lust__server_call_hook(srv, srv->ops.reload, "reload");
    lust__server_config_trial(NULL);
    if (r < 0) {
        snprintf(msg, size, "%s; the running config is unchanged", lust_error());
        lust_config_release(fresh);
        return r;
    }
    lust_log_set_level(lust_config_log_threshold(fresh));
    lust_log_set_timestamps(lust_config_log_timestamps(fresh));
    umask(lust_config_umask(fresh));
    int n = snprintf(msg, size, "reloaded %s", lust_config_path(fresh));
    if (keys[0] && n > 0 && (size_t)n < size)
        snprintf(msg + n, size - (size_t)n, "; changed but kept until a restart: %s", keys);
    /* The old one lives on while threads still hold it. */
    lust_config_release(lust__server_config_swap(srv, fresh));
    return 0;
}

/* Parses the config file open on fd (from its start) and applies it. */
int lust__server_reload_fd(struct lust_server *srv, int fd, const char *path, char *msg,
                           size_t size)
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
 * The config file, kept open so SIGHUP can re-read it from the jail. Returns it, or -errno:
 * -ENOENT when there is none (the defaults are in use), -EINVAL when it is not a regular file,
 * -EPERM (with the sentence) when root may not trust it (lust__config_trusted).
 */
int lust__server_open_config(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    int r = fd = lust__fd_above_stdio(fd);
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)))
        r = -EINVAL;
    else if (fd >= 0)
        r = lust__config_trusted_stat(&st, path);
    if (r < 0 && fd >= 0)
        close(fd);
    return r < 0 ? r : fd;
}

/*
 * HUP. A daemon that dropped root (and may sit in a jail) cannot be trusted to find its config
 * file by path, so it re-reads the file it opened at start (config_fd): an edit made in place
 * is seen. Out of a jail the path is tried first, so a file replaced by rename is seen too; in
 * a jail the path would name another file, inside the jail, and only `NAME reload` (which
 * hands the daemon the file over the control socket) can load a replaced file. The same holds
 * under a sandbox that does not promise rpath, which opening the path would need.
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
    /* The path is out of reach in a jail, and a sandbox without rpath would kill for trying. */
    int fd = srv->jailed || !lust__sandbox_allows(srv->sandbox, "rpath")
                 ? -ENOENT
                 : lust__server_open_config(path);
    if (fd >= 0) {
        if (srv->config_fd >= 0)
            close(srv->config_fd);
        srv->config_fd = fd;
    }
    if (fd == -EPERM)
        r = fd; /* the sentence says why; the running config stays */
    else if (srv->config_fd < 0)
        r = lust__fail_plain(ENOENT,
                             "%s was not there at start; run `%s reload` to load it; "
                             "the running config is unchanged",
                             path, srv->name);
    else if (fstat(srv->config_fd, &st) < 0)
        r = lust__fail(errno, "%s", path);
    else if (st.st_nlink != 0 && lust__config_trusted(srv->config_fd, path) < 0)
        r = -EPERM;
    else if (st.st_nlink == 0)
        r = lust__fail_plain(ESTALE,
                             "%s was replaced or removed since the start, and from its %s "
                             "the daemon can re-read only the file it opened then; run `%s "
                             "reload` to load the new one; the running config is unchanged",
                             path, srv->jailed ? "jail" : "sandbox", srv->name);
    else
        r = 0;
    if (r < 0)
        snprintf(msg, sizeof msg, "%s", lust_error());
    else
        r = lust__server_reload_fd(srv, srv->config_fd, path, msg, sizeof msg);
    lust_log(r < 0 ? LUST_LOG_ERROR : LUST_LOG_NOTICE, "SIGHUP: %s", msg);
    lust_notify_ready(srv->notify);
}

/*
 * The watchdog's clock, in srv->watchdog_fd (-1: no watchdog): a tick every quarter of the
 * manager's interval T. A tick pings only if the daemon called lust_server_alive() since the
 * last ping, so a run() that calls it every T/2 (lust_server_alive_interval()) leaves at most
 * 3T/4 between pings, and one that hangs is pinged at most once more, within T/4. The start
 * counts as life: the first tick pings. A program built against 1.0 or 1.1 headers cannot call
 * lust_server_alive(): every tick pings for it, as those releases pinged whatever run() did.
 * Returns 0 or -errno.
 */
static int make_watchdog_timer(struct lust_server *srv)
{
    uint64_t usec = lust_notify_watchdog_usec(srv->notify);
    srv->watchdog_fd = -1;
    if (usec == 0)
        return 0;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    uint64_t quarter = usec / 4 ? usec / 4 : 1;
    struct itimerspec its = {
        .it_interval = {.tv_sec = (time_t)(quarter / 1000000),
                        .tv_nsec = (long)(quarter % 1000000) * 1000},
    };
    its.it_value = its.it_interval;
    if (timerfd_settime(fd, 0, &its, NULL) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    atomic_store(&srv->alive, 1);
    srv->alive_required = srv->header_version >= LUST__SERVER_HEADERS_ALIVE;
    srv->watchdog_fd = fd;
    return 0;
}

/*
 * One tick of the watchdog's clock; *missed counts the ticks since the last ping. A run() that
 * shows life every half interval leaves every other tick without a ping, so only the third in
 * a row (no life for three quarters of the interval) is a lapse: logged once, before the
 * manager's deadline, and its end once.
 */
static void watchdog_tick(struct lust_server *srv, int *missed)
{
    if (atomic_exchange_explicit(&srv->alive, 0, memory_order_relaxed) || !srv->alive_required) {
        lust_notify_watchdog(srv->notify);
        if (*missed >= 3)
            lust_log(LUST_LOG_NOTICE, "watchdog: lust_server_alive() called again; pinging");
        *missed = 0;
        return;
    }
    if (++*missed == 3)
        lust_log(LUST_LOG_WARNING,
                 "watchdog: no lust_server_alive() for %d ms; WATCHDOG=1 withheld (the manager "
                 "restarts a daemon whose pings stop: run() must call it every %d ms)",
                 srv->alive_interval_ms * 3 / 2, srv->alive_interval_ms);
}

static void reopen_by_signal(struct lust_server *srv)
{
    /* Opening by path takes wpath and cpath: without them the filter would kill the daemon. */
    if (!srv->foreground && !lust__sandbox_allows(srv->sandbox, "wpath cpath")) {
        lust_log(LUST_LOG_WARNING,
                 "SIGUSR1: log not reopened: opening it by path needs the promises wpath and "
                 "cpath, which the sandbox does not make; use `%s reopen`, which passes the "
                 "file in",
                 srv->name);
        return;
    }
    if (lust_log_reopen() < 0)
        lust_log(LUST_LOG_ERROR, "SIGUSR1: log reopen: %s%s", lust_error(),
                 srv->jailed ? " (from the jail the path is out of reach; "
                               "use `reopen`, which passes the file in)"
                             : "");
    else
        lust_log(LUST_LOG_NOTICE, "SIGUSR1: log reopened");
}

/*
 * Takes every signal queued on the signalfd: a stop at once; a reload and a log reopen once
 * each, however many came (the kernel merges them anyway), once the queue is empty. A HUP that
 * comes during that reload waits for the next round of the loop, after the control clients:
 * SIGHUPs sent faster than reloads finish cannot keep this thread from them.
 */
static void read_signals(struct lust_server *srv, int sfd)
{
    struct signalfd_siginfo si;
    int hup = 0, usr1 = 0;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            request_stop(srv, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        hup |= si.ssi_signo == SIGHUP;
        usr1 |= si.ssi_signo == SIGUSR1;
    }
    if (hup)
        do_reload(srv);
    if (usr1)
        reopen_by_signal(srv);
}

enum { EV_QUIT, EV_SIGNAL, EV_WATCHDOG, EV_CONTROL, EV_CONN, EV_COUNT = EV_CONN + CTL_CONN_MAX };

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * While the control socket cannot accept (no descriptor left), it is left out of poll() until
 * paused_until, so the pending connection does not make the thread spin. Returns the poll
 * timeout that ends the pause (-1: none running), and puts the socket back once it is over.
 */
static int control_pause_left(struct lust_server *srv, struct pollfd *ctl, long long paused_until,
                              long long now)
{
    if (ctl->fd >= 0 || srv->ctl_fd < 0)
        return -1;
    if (paused_until > now)
        return (int)(paused_until - now);
    ctl->fd = srv->ctl_fd;
    lust_log(LUST_LOG_NOTICE, "control socket: accepting again");
    return -1;
}

static void accept_control(struct lust_server *srv, struct pollfd *ctl, long long *paused_until,
                           long long now)
{
    int e = lust__server_control_accept(srv, now);
    if (e >= 0)
        return;
    lust_log(LUST_LOG_ERROR, "control socket: cannot accept: %s; trying again in 1 s",
             strerror(-e));
    *paused_until = now + 1000;
    ctl->fd = -1;
}

/* Datagrams the manager's full notify socket did not take: logged once per batch. */
static void note_notify_drops(struct lust_server *srv)
{
    unsigned long long n = lust__notify_dropped(srv->notify);
    if (n == srv->notify_dropped)
        return;
    lust_log(LUST_LOG_WARNING,
             "notify socket: %llu message%s dropped so far: its reader does not read", n,
             n == 1 ? "" : "s");
    srv->notify_dropped = n;
}

/* The poll timeout: the nearest of the control pause and the connections' deadlines. */
static int min_timeout(int a, int b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static void *signal_thread(void *arg)
{
    struct lust_server *srv = arg;
    struct pollfd pfd[EV_COUNT] = {
        [EV_QUIT] = {.fd = srv->quit_fd, .events = POLLIN},
        [EV_SIGNAL] = {.fd = srv->signal_fd, .events = POLLIN},
        [EV_WATCHDOG] = {.fd = srv->watchdog_fd, .events = POLLIN},
        [EV_CONTROL] = {.fd = srv->ctl_fd, .events = POLLIN},
    };
    long long paused_until = 0;
    int missed = 0;

    for (;;) {
        long long now = now_ms();
        int timeout = min_timeout(control_pause_left(srv, &pfd[EV_CONTROL], paused_until, now),
                                  lust__server_control_expire(srv, now));
        /* Only the connections open: poll() refuses more entries than RLIMIT_NOFILE. */
        int slot[CTL_CONN_MAX], nconn = 0;
        for (int i = 0; i < CTL_CONN_MAX; i++)
            if (srv->conns[i].fd >= 0) {
                slot[nconn] = i;
                pfd[EV_CONN + nconn++] = (struct pollfd){.fd = srv->conns[i].fd, .events = POLLIN};
            }
        int r = poll(pfd, (nfds_t)(EV_CONN + nconn), timeout);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            lust_log(LUST_LOG_ERROR, "signal thread: poll: %m");
            break;
        }
        if (pfd[EV_QUIT].revents)
            break;
        /* Signals first: TERM never waits behind a client or a reload request. */
        if (pfd[EV_SIGNAL].revents)
            read_signals(srv, srv->signal_fd);
        uint64_t n;
        if (pfd[EV_WATCHDOG].revents && read(srv->watchdog_fd, &n, sizeof n) > 0)
            watchdog_tick(srv, &missed);
        for (int i = 0; i < nconn; i++)
            if (pfd[EV_CONN + i].revents)
                lust__server_control_conn(srv, slot[i]);
        if (pfd[EV_CONTROL].fd >= 0 && pfd[EV_CONTROL].revents)
            accept_control(srv, &pfd[EV_CONTROL], &paused_until, now_ms());
        note_notify_drops(srv);
    }
    lust__server_control_close_all(srv);
    return NULL;
}

/*
 * Everything the daemon needs to obey its signals is made here, before it reports ready: a
 * signalfd that cannot be made (no descriptor left under a low `ulimit -n`) fails the start
 * instead of leaving a daemon that ignores TERM.
 */
int lust__server_thread_start(struct lust_server *srv)
{
    sigset_t set;
    lust__server_sigset(&set);
    srv->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (srv->signal_fd < 0)
        return lust__fail(errno, "signalfd (the daemon could not obey TERM)");
    int r = make_watchdog_timer(srv);
    if (r < 0)
        return lust__fail(-r, "watchdog timer");
    r = pthread_create(&srv->signal_thread, NULL, signal_thread, srv);
    if (r != 0)
        return lust__fail(r, "cannot start the signal thread");
    srv->signal_thread_started = 1;
    if (srv->watchdog_fd >= 0)
        lust_notify_watchdog(srv->notify);
    return 0;
}

void lust__server_thread_stop(struct lust_server *srv)
{
    uint64_t one = 1;
    if (!srv->signal_thread_started)
        return;
    if (write(srv->quit_fd, &one, sizeof one) < 0)
        return; /* cannot happen with an eventfd below its maximum; exit ends the thread */
    pthread_join(srv->signal_thread, NULL);
    srv->signal_thread_started = 0;
}
