/*
 * lib/server_prepare.c - `start`, step 3: everything that needs the real `/`, in the process
 * that was started (user lookup, jail, the pid file's and control socket's directories, the
 * notify socket, the sandbox's preparation, and last the log file), so a mistake is told on
 * the terminal, with its exit status, before anything forks or is created.
 *
 * Operator messages (the documented exception to "library code never prints") come from here,
 * on the terminal of the command that was typed.
 */
#include "server_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>
#include <lust/log.h>
#include <lust/notify.h>
#include <lust/pidfile.h>
#include <lust/privs.h>

/*
 * The log file, opened by root by path (at start, and for `reopen`): O_NOFOLLOW, a regular file
 * with no other hard link, no blocking on a FIFO (lust_log_open). Returns the descriptor or
 * -errno.
 */
int lust__server_open_log(struct lust_server *srv)
{
    return lust_log_open(lust_config_logfile(srv->config));
}

/* The exit status for a path the config names that start refuses. */
static int path_exit(int r)
{
    switch (-r) {
    case ENOENT:
    case ENOTDIR:
        return EXIT_MISSING;
    case EACCES:
        return EXIT_PRIVILEGE;
    case EPERM:
    case ELOOP:
    case EINVAL:
    case EBADMSG:
    case EMLINK:
    case ENOTSOCK:
    case ENAMETOOLONG:
        return EXIT_CONFIG;
    default:
        return EXIT_GENERIC;
    }
}

/*
 * The directory a pid file or control socket goes in: root's all the way up, writable by
 * nobody else (whoever could write it could delete the file and hide the server). A sticky
 * directory such as /tmp passes with a warning. Returns 0 or an exit status (printed).
 */
static int check_directory(struct lust_server *srv, const char *what, const char *path, int *warned)
{
    struct lust__walk *w = malloc(sizeof *w); /* 8 KiB: not on the stack (path.c says why) */
    int fd = w ? lust__walk_dir(what, path, path, lust__dir_len(path),
                                LUST__WALK_SELF | LUST__WALK_STICKY | LUST__WALK_FOLLOW, w)
               : lust__fail(ENOMEM, "%s %s", what, path);
    if (fd < 0) {
        free(w);
        lust__server_start_failed(srv, NULL, fd);
        return path_exit(fd);
    }
    close(fd);
    *warned = w->sticky[0] != '\0';
    if (*warned)
        lust__server_print(stderr,
                           "%s: warning: %s %s: directory %s is writable by others (sticky): "
                           "prefer a directory only root can write",
                           srv->name, what, path, w->sticky);
    free(w);
    return EXIT_OK;
}

/* Whether paths a and b are in the same directory, by name. */
static int same_directory(const char *a, const char *b)
{
    size_t n = lust__dir_len(a);
    return n == lust__dir_len(b) && memcmp(a, b, n) == 0;
}

/*
 * The control socket of a foreground server whose file names none, at the default path: made
 * only where that directory passes the checks and nothing but a socket is at the path; else
 * the server goes on without it (control_off), and says so.
 */
static int check_default_control(struct lust_server *srv, const char *ctl)
{
    struct lust__walk *w = malloc(sizeof *w); /* 8 KiB: not on the stack (path.c says why) */
    struct stat st;
    int fd = w ? lust__walk_dir("control socket", ctl, ctl, lust__dir_len(ctl),
                                LUST__WALK_SELF | LUST__WALK_FOLLOW, w)
               : lust__fail(ENOMEM, "control socket %s", ctl);
    free(w);
    if (fd >= 0)
        close(fd);
    if (fd >= 0 && lstat(ctl, &st) == 0 && !S_ISSOCK(st.st_mode))
        fd = lust__fail_plain(ENOTSOCK, "control socket %s: exists and is not a socket", ctl);
    if (fd < 0) {
        srv->control_off = 1;
        lust__server_print(stderr,
                           "%s: warning: %s; serving without a control socket (set "
                           "control_socket in %s)",
                           srv->name, lust_error(), lust_config_path(srv->config));
    }
    return EXIT_OK;
}

/* The pid file and the control socket, before anything forks: where they go, what is there. */
static int check_paths(struct lust_server *srv, int pid_state)
{
    const char *pid = srv->pidfile_wanted ? lust_config_pidfile(srv->config) : NULL;
    const char *ctl = lust_config_control(srv->config);
    struct stat st;
    int r, warned = 1;
    if (pid) {
        if ((r = check_directory(srv, "pid file", pid, &warned)) != EXIT_OK)
            return r;
        /* What start found at the path a moment ago; asked again only to name a failure. */
        int q = pid_state >= 0 ? pid_state : lust_pidfile_query(pid, NULL);
        if (q < 0) {
            lust__server_start_failed(srv, NULL, q);
            return path_exit(q);
        }
    }
    if (!ctl)
        return EXIT_OK;
    if (pid && strcmp(pid, ctl) == 0) {
        lust__fail_plain(EINVAL, "control_socket and pidfile are the same path, %s", ctl);
        lust__server_start_failed(srv, NULL, -EINVAL);
        return EXIT_CONFIG;
    }
    if (srv->foreground && srv->control_implicit)
        return check_default_control(srv, ctl);
    /* The pid file's directory, checked a moment ago, is not walked again (unless it had a
     * warning to repeat for the socket). */
    if ((!pid || warned || !same_directory(pid, ctl)) &&
        (r = check_directory(srv, "control socket", ctl, &warned)) != EXIT_OK)
        return r;
    if (lstat(ctl, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        lust__fail_plain(ENOTSOCK, "control socket %s: exists and is not a socket", ctl);
        lust__server_start_failed(srv, NULL, -ENOTSOCK);
        return EXIT_CONFIG;
    }
    return EXIT_OK;
}

/*
 * The jail: opened through a checked path (made if missing, as systemd's RuntimeDirectory=
 * does, once its parent passed the checks), on no pseudo filesystem, and its content scanned.
 */
static int open_jail(struct lust_server *srv, const char *jail)
{
    int r = lust__privs_jail_open(jail, 1, &srv->jail_fd, NULL);
    if (r == 0) {
        r = lust__privs_jail_scan_fd(srv->jail_fd, jail, JAIL_SCAN_MAX_ENTRIES, 0);
        if (r < 0) {
            close(srv->jail_fd);
            srv->jail_fd = -1;
        }
    }
    if (r < 0) {
        lust__server_start_failed(srv, NULL, r);
        /* "/" or a pseudo filesystem can never be a jail: a config value to change. */
        return r == -EINVAL ? EXIT_CONFIG : EXIT_MISSING;
    }
    return EXIT_OK;
}

/*
 * Step 3: everything that needs the real `/`, in the process that was started, so that a
 * mistake is reported on the terminal before anything forks. Nothing is created before the
 * config, the user and the jail are known good: the log file is opened last.
 */
int lust__server_prepare(struct lust_server *srv, int pid_state)
{
    struct lust_config *c = srv->config;
    int r = lust_privs_lookup(lust_config_user(c), lust_config_group(c), 0, &srv->creds);
    if (r < 0) {
        lust__server_start_failed(srv, NULL, r);
        return EXIT_CONFIG;
    }
    if (lust_config_jail(c) && (r = open_jail(srv, lust_config_jail(c))) != EXIT_OK)
        return r;
    if ((r = check_paths(srv, pid_state)) != EXIT_OK)
        return r;
    r = lust_notify_open(&srv->notify, LUST_NOTIFY_UNSET_ENV);
    if (r < 0) {
        lust__server_say(srv, NULL); /* the manager's socket is what failed */
        return EXIT_GENERIC;
    }
    /* Half the manager's interval, in ms: run() shows life at least twice per interval. */
    uint64_t half_ms = lust_notify_watchdog_usec(srv->notify) / 2000;
    if (lust_notify_watchdog_usec(srv->notify) > 0)
        srv->alive_interval_ms = half_ms == 0 ? 1 : half_ms > INT_MAX ? INT_MAX : (int)half_ms;
    if ((r = lust__server_sandbox_prepare(srv)) != EXIT_OK)
        return r;
    if (srv->ops.reload && srv->config_fd < 0) { /* not kept from the load (server.c) */
        srv->config_fd = lust__server_open_config(lust_config_path(c));
        if (srv->config_fd == -EPERM) {
            lust__server_start_failed(srv, NULL, srv->config_fd);
            return EXIT_CONFIG;
        }
    }
    if (!srv->foreground) {
        srv->log_fd = lust__server_open_log(srv);
        if (srv->log_fd < 0) {
            lust__server_start_failed(srv, "log", srv->log_fd);
            return path_exit(srv->log_fd);
        }
    }
    return EXIT_OK;
}
