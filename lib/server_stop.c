/*
 * lib/server_stop.c - `stop` and `status`, and `reload` by signal: the pid file's lock holder.
 *
 * The kernel's lock holder, not the pid file's text, names the server. It is signalled through
 * a pidfd taken before the lock is checked again, so a pid reused in between is never
 * signalled; `stop` leaves that, the wait and the SIGKILL to the pid file module
 * (lust_pidfile_stop() without its removal of the file, which is done here). These commands
 * print their outcome on the operator's terminal.
 */
#include "server_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>
#include <lust/pidfile.h>

int lust__server_query(struct lust_server *srv, pid_t *holder)
{
    return lust_pidfile_query(lust_config_pidfile(srv->config), holder);
}

/* Sends sig to the holder of the pid file through a pidfd, re-checking the lock after the
 * pidfd is taken so a pid reused in between is never signalled. Returns the pidfd, 0 when the
 * server went away meanwhile, or -errno (-ENOSYS: no pidfd here). */
int lust__server_signal_holder(struct lust_server *srv, pid_t pid, int sig)
{
    int pidfd = lust__pidfd_open(pid);
    if (pidfd < 0)
        return pidfd == -ESRCH ? 0 : pidfd;
    pid_t again = 0;
    if (lust__server_query(srv, &again) != LUST_PIDFILE_RUNNING || again != pid) {
        close(pidfd);
        return 0;
    }
    int r = lust__pidfd_signal(pidfd, sig);
    if (r < 0) {
        close(pidfd);
        return r == -ESRCH ? 0 : r;
    }
    return pidfd;
}

/*
 * A server that holds no pid file (in the foreground, with none in its config file) is found
 * on its control socket: 1 with its pid, 0 when none answers there, or -errno.
 */
static int found_on_socket(struct lust_server *srv, pid_t *pid)
{
    const char *path = lust_config_control(srv->config);
    return path ? lust__server_control_peer(path, pid) : 0;
}

/*
 * The pid file goes, and the control socket with it, while the pid file is locked by this
 * process: a server starting meanwhile must take that lock before it makes its own socket, so
 * the socket removed cannot be a new server's. Without a pid file nothing is removed (a dead
 * socket left behind is replaced by the next start).
 */
static int remove_pidfile(struct lust_server *srv)
{
    int r = lust__pidfile_remove_with(lust_config_pidfile(srv->config),
                                      lust__server_control_remove_locked, srv);
    if (r < 0 && r != -EBUSY)
        lust__server_say(srv, NULL);
    return r;
}

/* The socket at the control path while the server to stop runs is that server's own. */
static void note_control_socket(struct lust_server *srv)
{
    const char *path = lust_config_control(srv->config);
    struct stat st;
    if (path && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        srv->ctl_dev = st.st_dev;
        srv->ctl_ino = st.st_ino;
    }
}

void lust__server_cleanup_failed_start(struct lust_server *srv)
{
    if (srv->pidfile_wanted)
        remove_pidfile(srv);
}

int lust__server_cmd_stop(struct lust_server *srv)
{
    pid_t pid = 0;
    int state = 0;
    int timeout_s = lust_config_stop_timeout(srv->config);

    /* Noted before the pid file is asked: a server found running owns what is there now. */
    note_control_socket(srv);
    int r = lust__pidfile_kill_wait(lust_config_pidfile(srv->config),
                                    timeout_s > 0 ? timeout_s * 1000 : -1, &pid, &state);
    if (state < 0) {
        lust__server_say(srv, "stop");
        return lust__server_exit_for(state);
    }
    if (state == LUST_PIDFILE_RUNNING_UNKNOWN || state == LUST_PIDFILE_FOREIGN) {
        lust__server_print(stderr,
                           "%s: the pid file is locked by a process that cannot be named from "
                           "here (another pid namespace, or not a server); not signalling",
                           srv->name);
        return EXIT_GENERIC;
    }
    if (state != LUST_PIDFILE_RUNNING) {
        /* Its pid is the kernel's record of who made the socket listen, not a lock: it is
         * not signalled. A foreground server is its supervisor's to stop anyway, which would
         * start it again after a TERM from here. */
        if (found_on_socket(srv, &pid) > 0) {
            lust__server_print(stderr,
                               "%s is running (pid %ld) without a pid file, found on its control "
                               "socket %s: a server in the foreground; stop it through its "
                               "supervisor (systemctl stop, sv down, s6-svc -d ...)",
                               srv->name, (long)pid, lust_config_control(srv->config));
            return EXIT_GENERIC;
        }
        remove_pidfile(srv);
        lust__server_print(stdout, "%s is not running", srv->name);
        return EXIT_OK;
    }
    if (r == LUST_PIDFILE_KILLED)
        lust__server_print(stdout, "%s did not stop within %d s; killed it (SIGKILL)", srv->name,
                           timeout_s);
    if (r < 0) {
        lust__server_say(srv, "stop");
        return r == -ETIMEDOUT ? EXIT_GENERIC : lust__server_exit_for(r);
    }
    remove_pidfile(srv);
    lust__server_print(stdout, "%s stopped (pid %ld)", srv->name, (long)pid);
    return EXIT_OK;
}

/* status when the pid file shows no server (none, empty, stale): one may answer on the
 * control socket all the same. Returns the exit status, or -1 when none answers. */
static int status_by_socket(struct lust_server *srv)
{
    pid_t pid = 0;
    int r = found_on_socket(srv, &pid);
    if (r == 0)
        return -1;
    if (r < 0) {
        lust__server_print(stdout, "%s: cannot tell: control socket %s: %s", srv->name,
                           lust_config_control(srv->config), strerror(-r));
        return lust_pidfile_lsb_status(r);
    }
    lust__server_print(stdout,
                       "%s is running (pid %ld, found on its control socket %s; no pid file)",
                       srv->name, (long)pid, lust_config_control(srv->config));
    return lust_pidfile_lsb_status(LUST_PIDFILE_RUNNING);
}

int lust__server_cmd_status(struct lust_server *srv)
{
    pid_t pid = 0;
    int state = lust__server_query(srv, &pid);
    int code = lust_pidfile_lsb_status(state);

    if (state == LUST_PIDFILE_NONE || state == LUST_PIDFILE_EMPTY || state == LUST_PIDFILE_STALE) {
        int by_socket = status_by_socket(srv);
        if (by_socket >= 0)
            return by_socket;
    }

    switch (state) {
    case LUST_PIDFILE_RUNNING:
        lust__server_print(stdout, "%s is running (pid %ld)", srv->name, (long)pid);
        break;
    case LUST_PIDFILE_RUNNING_UNKNOWN:
        lust__server_print(stdout, "%s is running (pid not visible from here)", srv->name);
        break;
    case LUST_PIDFILE_STALE:
        lust__server_print(stdout, "%s is dead, but its pid file %s remains", srv->name,
                           lust_config_pidfile(srv->config));
        break;
    case LUST_PIDFILE_NONE:
    case LUST_PIDFILE_EMPTY:
        lust__server_print(stdout, "%s is not running", srv->name);
        break;
    case LUST_PIDFILE_FOREIGN:
        lust__server_print(
            stdout, "%s: cannot tell: pid file %s is locked by a process that is not a server",
            srv->name, lust_config_pidfile(srv->config));
        break;
    default:
        lust__server_print(stdout, "%s: cannot tell: %s", srv->name, lust_error());
        break;
    }
    return code;
}

/* `reload` when the server has no control socket: HUP to the pid file's holder. */
int lust__server_reload_by_signal(struct lust_server *srv)
{
    pid_t pid = 0;
    int state = lust__server_query(srv, &pid);

    if (state < 0) {
        lust__server_say(srv, "reload");
        return lust__server_exit_for(state);
    }
    if (state != LUST_PIDFILE_RUNNING) {
        lust__server_print(stderr, "%s is not running", srv->name);
        return state == LUST_PIDFILE_RUNNING_UNKNOWN ? EXIT_GENERIC : EXIT_NOT_RUNNING;
    }
    int pidfd = lust__server_signal_holder(srv, pid, SIGHUP);
    if (pidfd == -ENOSYS) {
        pid_t again = 0;
        pidfd = (lust__server_query(srv, &again) == LUST_PIDFILE_RUNNING && again == pid &&
                 kill(pid, SIGHUP) == 0)
                    ? 1
                    : 0;
    } else if (pidfd > 0) {
        close(pidfd);
    }
    if (pidfd == 0) {
        lust__server_print(stderr, "%s is not running", srv->name);
        return EXIT_NOT_RUNNING;
    }
    if (pidfd < 0) {
        lust__server_print(stderr, "%s: cannot signal pid %ld: %s", srv->name, (long)pid,
                           strerror(-pidfd));
        return lust__server_exit_for(pidfd);
    }
    lust__server_print(
        stdout,
        "%s: sent SIGHUP to pid %ld; it re-reads the config file it opened at start (its "
        "log tells the outcome)",
        srv->name, (long)pid);
    return EXIT_OK;
}
