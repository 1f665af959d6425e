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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
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
    int ready_fd;       /* --ready-fd N, or -1 */

    struct lust_creds *creds;
    struct lust_notify *notify;
    struct lust_pidfile *pidfile;
    int log_fd;  /* opened before the fork, installed in the daemon */
    int jail_fd; /* checked before the fork, entered in the daemon */

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

/*
 * HUP: read the config file again and hand it to reload(). Inside a jail the file is usually
 * out of reach; then the old config stays and the reason is logged.
 */
static void do_reload(struct lust_server *srv)
{
    struct lust_config *fresh;

    if (!srv->ops.reload) {
        lust_log(LUST_LOG_WARNING, "SIGHUP: this daemon has no reload hook; ignored");
        return;
    }
    lust_notify_reloading(srv->notify);
    int r = lust_config_load(srv->name, lust_config_path(srv->config), srv->ops.options, &fresh);
    if (r < 0) {
        lust_log(LUST_LOG_ERROR, "reload: %s; keeping the running config", lust_error());
        lust_notify_ready(srv->notify);
        return;
    }
    struct lust_config *old = srv->config;
    srv->config = fresh;
    lust_log_set_level(log_level_from_syslog(lust_config_log_level(fresh)));
    r = call_hook(srv, srv->ops.reload, "reload");
    if (r < 0)
        lust_log(LUST_LOG_ERROR, "reload: %s", lust_error());
    else
        lust_log(LUST_LOG_NOTICE, "reloaded %s", lust_config_path(fresh));
    /* Freed only now: reload() may copy what it needs from either config. */
    lust_config_free(old);
    lust_notify_ready(srv->notify);
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
    struct pollfd pfd[3] = {
        {.fd = srv->quit_fd, .events = POLLIN},
        {.fd = sfd, .events = POLLIN},
        {.fd = wfd, .events = POLLIN},
    };

    if (sfd < 0)
        lust_log(LUST_LOG_ERROR, "signalfd: %m; signals will wait until exit");
    for (;;) {
        if (poll(pfd, 3, -1) < 0) {
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
                    lust_log(LUST_LOG_ERROR, "SIGUSR1: log reopen: %s", lust_error());
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
    int keep[4] = {srv->jail_fd, lust_notify_fd(srv->notify), srv->ready_fd,
                   lust_daemon_report_fd()};

    r = take_signals();
    if (r < 0)
        return r;
    if (srv->foreground) {
        /* Lines stay on stderr; this only turns on journald's <N> prefixes when it is there. */
        r = lust_log_setup(NULL, NULL, 0);
        umask((mode_t)lust_config_umask(srv->config));
    } else {
        r = lust_log_setup_fd(srv->log_fd, keep, compact_fds(keep, 4));
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
    r = call_hook(srv, srv->ops.before_jail, "before_jail");
    if (r < 0)
        return r;
    if (srv->jail_fd >= 0) {
        r = lust_privs_jail_enter(srv->jail_fd);
        if (r < 0)
            return r;
        srv->jail_fd = -1;
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
        srv->log_fd = lust_log_open(lust_config_logfile(c));
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
            if (srv->pidfile)
                lust_pidfile_release(srv->pidfile);
            return r == -EEXIST ? EXIT_OK : exit_for_errno(r);
        }
        announce_ready(srv);
        return serve(srv);
    }

    int keep[4] = {srv->log_fd, srv->jail_fd, lust_notify_fd(srv->notify), srv->ready_fd};
    size_t nkeep = compact_fds(keep, 4);
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

static int cmd_reload(struct lust_server *srv)
{
    pid_t pid = 0;
    int state = query(srv, &pid);

    if (!srv->ops.reload) {
        fprintf(stderr, "%s: reload is not implemented by this daemon; use restart\n", srv->name);
        return EXIT_UNIMPLEMENTED;
    }
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
    printf("%s: reload requested (pid %ld)\n", srv->name, (long)pid);
    return EXIT_OK;
}

/* ---- argv ---- */

static void usage(const char *name, FILE *to)
{
    fprintf(
        to,
        "Usage: %s [-c FILE] [-f] [--ready-fd N] start|stop|restart|reload|force-reload|status\n"
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
    CMD_STATUS
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
                 {"status", CMD_STATUS}};
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
        return EXIT_CONFIG;
    }
    srv.foreground = force_fg || lust_config_foreground(srv.config);
    cfg_opt_t *pf = cfg_getopt(lust_config_cfg(srv.config), "pidfile");
    srv.pidfile_wanted = !srv.foreground || (pf && (pf->flags & CFGF_MODIFIED));

    int status = run_command(&srv, (enum command)cmd);

    if (srv.jail_fd >= 0)
        close(srv.jail_fd);
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
