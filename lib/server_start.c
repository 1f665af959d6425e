/*
 * lib/server_start.c - `start`: the daemon dance, step by step, up to run().
 *
 * cmd_start checks for a running server, then lust__server_prepare() (server_prepare.c) does
 * what needs the real `/` in the process that was started, so a mistake is told on the terminal
 * before anything forks or is created. In the daemon, become_server() takes the signals,
 * the log, the pid file and the control socket, enters the jail and drops root; serve() runs
 * run(). Every failure after the fork travels to the waiting parent through
 * lust_daemon_failed() and the daemon exits; the parent prints the sentence. In the foreground
 * the same steps run in the started process itself.
 *
 * Operator messages (the documented exception to "library code never prints") come from
 * cmd_start, on the terminal of the command that was typed.
 */
#include "server_internal.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/daemon.h>
#include <lust/error.h>
#include <lust/log.h>
#include <lust/notify.h>
#include <lust/pidfile.h>
#include <lust/privs.h>
#include <lust/version.h>

/* Signals: the framework's set blocked (inherited by every later thread), SIGPIPE ignored. */
static int take_signals(void)
{
    sigset_t set;
    lust__server_sigset(&set);
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
    /* Its directories were walked by check_paths() in the starting process. */
    int r = lust__pidfile_open(path, 0, &srv->pidfile, &holder);
    if (r == -EEXIST) {
        srv->already_running = 1; /* the one failure that means "already running" */
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

/*
 * The foreground server closes what it inherited and did not ask to keep, as the forking one
 * does: a supervisor's stray descriptor (a directory above all: fchdir() leaves any jail) must
 * not reach the jail. Kept: stdio, the framework's own (keep), and socket activation's.
 */
static int close_inherited(const int *keep, size_t nkeep)
{
    int n = lust_listen_fds(0); /* a bogus LISTEN_FDS keeps nothing; the daemon hears of it */
    size_t nlisten = n > 0 ? (size_t)n : 0;
    int *all = malloc((nkeep + nlisten + 1) * sizeof *all);
    if (!all)
        return lust__fail(ENOMEM, "closing inherited descriptors");
    memcpy(all, keep, nkeep * sizeof *keep);
    for (size_t i = 0; i < nlisten; i++)
        all[nkeep + i] = LUST_LISTEN_FDS_START + (int)i;
    int r = lust__close_all_except(all, nkeep + nlisten);
    free(all);
    return r < 0 ? lust__fail(-r, "closing inherited descriptors") : 0;
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
        r = close_inherited(keep, compact_fds(keep, 5));
        if (r < 0)
            return r;
        /* Lines stay on stderr; this only turns on journald's <N> prefixes when it is there. */
        r = lust_log_setup(NULL, NULL, 0);
        umask((mode_t)lust_config_umask(srv->config));
    } else {
        /* lust_daemonize() left stdin on /dev/null and closed all but what it kept (the log
         * among them): the log only has to take stdout and stderr (kept for it till now). */
        r = lust__log_take(srv->log_fd);
        if (r == 0)
            srv->log_fd = -1;
    }
    if (r < 0)
        return r;
    lust_log_set_level(lust_config_log_threshold(srv->config));
    lust_log_set_timestamps(lust_config_log_timestamps(srv->config));
    srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    srv->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->stop_fd < 0 || srv->quit_fd < 0)
        return lust__fail(errno, "eventfd");
    if (srv->pidfile_wanted) {
        r = take_pidfile(srv);
        if (r < 0)
            return r;
    }
    r = lust__server_control_listen(srv);
    if (r < 0)
        return r;
    r = lust__server_call_hook(srv, srv->ops.before_jail, "before_jail");
    if (r < 0)
        return r;
    /* The last moment with the real /, and what the daemon will run is loaded by now. */
    r = lust__privs_prepare(0);
    if (r < 0)
        return r;
    r = lust__server_sandbox_lock(srv);
    if (r < 0)
        return r;
    if (srv->jail_fd >= 0) {
        r = lust_privs_jail_enter(srv->jail_fd);
        if (r < 0)
            return r;
        srv->jail_fd = -1;
        srv->jailed = 1;
    }
    r = lust__server_call_hook(srv, srv->ops.before_drop_privs, "before_drop_privs");
    if (r < 0)
        return r;
    r = lust_privs_drop(srv->creds, 0);
    if (r < 0)
        return r;
    /* Before the signal thread, so Landlock covers it too, and a failure fails the start. */
    r = lust__server_sandbox_apply(srv);
    if (r < 0)
        return r;
    return lust__server_thread_start(srv);
}

static void announce_ready(struct lust_server *srv)
{
    /* The setup's garbage (NSS, getgrouplist and config-reading buffers, freed but resident;
     * in daemon mode in the heap inherited from `start`) goes back to the kernel first. */
    malloc_trim(0);
    pid_t self = getpid();
    if (srv->ops.version)
        lust_log(LUST_LOG_NOTICE, "%s %s started (pid %ld) as uid %u (liblust %s)", srv->name,
                 srv->ops.version, (long)self, lust_creds_uid(srv->creds), lust_version());
    else
        lust_log(LUST_LOG_NOTICE, "%s started (pid %ld) as uid %u (liblust %s)", srv->name,
                 (long)self, lust_creds_uid(srv->creds), lust_version());
    lust_daemon_ready();
    if (!srv->foreground)
        lust_notify_mainpid(srv->notify, self);
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
    lust__server_thread_stop(srv);
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
        /* Removed while it still listens (nobody replaces a live socket), then closed: the
         * starting process finds nothing of it. */
        if (srv->ctl_fd >= 0) {
            if (!srv->jailed)
                lust__server_control_remove_own(srv);
            close(srv->ctl_fd);
        }
        /* The lock goes before the verdict: once `start` has printed the failure and returned,
         * a `status` or the next `start` must not find the pid file still locked. */
        if (srv->pidfile)
            lust_pidfile_release(srv->pidfile);
        /* EEXIST tells the starting process "already running": only the lock may say so. */
        int code = srv->config_failed                      ? LUST__SERVER_CONFIG_VERDICT
                   : -r == EEXIST && !srv->already_running ? EIO
                                                           : -r;
        lust_daemon_failed(code, "%s", why);
        _exit(EXIT_GENERIC); /* a daemon liblust forked itself: never return into main() */
    }
    announce_ready(srv);
    int status = serve(srv);
    fflush(NULL);
    exit(status);
}

/*
 * A start that failed: the sentence on the terminal (lust__server_say) and, under a process
 * manager, STATUS= with the same sentence and ERRNO= (`systemctl status` shows why). The
 * notify socket is opened here when the failure came before prepare() opened it.
 */
void lust__server_start_failed(struct lust_server *srv, const char *what, int r)
{
    char why[1024];
    struct lust_notify *own = NULL, *n = srv->notify;

    snprintf(why, sizeof why, "%s%s%s", what ? what : "", what ? ": " : "", lust_error());
    lust__server_say(srv, what);
    if (!n && lust_notify_open(&own, LUST_NOTIFY_UNSET_ENV) > 0)
        n = own;
    for (char *p = why; *p; p++)
        if (*p == '\n')
            *p = ' ';
    lust_notify_sendf(n, "STATUS=%s\nERRNO=%d", why, r < 0 ? -r : r);
    lust_notify_close(own);
}

/* A start that failed in the foreground: what it made goes, what it holds is let go. */
static int foreground_failed(struct lust_server *srv, int r)
{
    if (srv->already_running)
        lust__server_print(stdout, "%s: %s", srv->name, lust_error());
    else
        lust__server_start_failed(srv, NULL, r);
    if (srv->ctl_fd >= 0) {
        if (!srv->jailed)
            lust__server_control_remove_own(srv);
        close(srv->ctl_fd);
        srv->ctl_fd = -1;
    }
    if (srv->pidfile) {
        lust_pidfile_release(srv->pidfile);
        srv->pidfile = NULL;
        if (!srv->jailed)
            lust_pidfile_remove(lust_config_pidfile(srv->config));
    }
    return srv->already_running ? EXIT_OK : lust__server_exit_for_hook(srv, r);
}

int lust__server_cmd_start(struct lust_server *srv)
{
    pid_t holder = 0;
    int r;

    srv->owner_uid = getuid(); /* who may use the control socket, besides root */

    int pid_state = srv->pidfile_wanted ? lust__server_query(srv, &holder) : LUST_PIDFILE_NONE;
    if (pid_state == LUST_PIDFILE_RUNNING) {
        lust__server_print(stdout, "%s is already running (pid %ld)", srv->name, (long)holder);
        return EXIT_OK;
    }
    if (lust__server_restart_note(srv) < 0) {
        lust__server_say(srv, NULL);
        return EXIT_GENERIC;
    }
    r = lust__server_prepare(srv, pid_state);
    if (r != EXIT_OK)
        return r;
    r = lust__server_call_hook(srv, srv->ops.before_daemonize, "before_daemonize");
    if (r < 0) {
        lust__server_start_failed(srv, NULL, r);
        return lust__server_exit_for_hook(srv, r);
    }
    if (srv->foreground) {
        r = become_server(srv);
        if (r < 0)
            return foreground_failed(srv, r);
        announce_ready(srv);
        return serve(srv);
    }

    int keep[5] = {srv->log_fd, srv->jail_fd, lust_notify_fd(srv->notify), srv->ready_fd,
                   srv->config_fd};
    size_t nkeep = compact_fds(keep, 5);
    struct lust_daemon_opts opts = LUST_DAEMON_OPTS_INIT;
    /* stdout and stderr go straight to the log (become_server), not to /dev/null first. */
    opts.flags = LUST_DAEMON_KEEP_STDIO;
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
        lust__server_print(stdout, "%s started (pid %ld)", srv->name, (long)r);
        return EXIT_OK;
    }
    if (r == -EEXIST) {
        lust__server_print(stdout, "%s: %s", srv->name, lust_error());
        return EXIT_OK;
    }
    lust__server_start_failed(srv, "start failed", r);
    lust__server_cleanup_failed_start(srv);
    return lust__server_exit_for(r);
}
