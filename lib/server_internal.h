/*
 * lib/server_internal.h - what the framework's files share; never installed.
 *
 * The framework is one module (include/lust/server.h) in several files, one job each:
 *   server.c          the entry point, the command line
 *   server_handle.c   what the hooks call on their handle; calling a hook
 *   server_config.c   the config as every thread of the daemon reads it: held snapshots
 *   server_prepare.c  `start` before the fork: every check that needs the real /
 *   server_start.c    `start`: daemonize, the dance, run()
 *   server_events.c   the framework's thread in the daemon: signals, watchdog, reload
 *   server_control.c  the daemon's end of the control socket: listen, serve requests
 *   server_client.c   the commands' end of it: dial, call, `reload` and `reopen`
 *   server_stop.c     `stop` and `status`: the pid file's lock holder, signalled by pidfd
 *   server_restart.c  the keys a reload cannot apply, compared with those the daemon started with
 *   server_sandbox.c  the sandbox (lust/sandbox.h) from the config: prepared, locked, applied
 * Every name here is hidden (lust__server_ prefix, -fvisibility=hidden).
 */
#ifndef LUST_SERVER_INTERNAL_H
#define LUST_SERVER_INTERNAL_H

#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/types.h>

#include <lust/server.h>

struct lust_config;
struct lust_creds;
struct lust_notify;
struct lust_pidfile;
struct lust_sandbox;

/* LSB init-script exit codes. */
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

enum lust__server_command {
    CMD_NONE,
    CMD_START,
    CMD_STOP,
    CMD_RESTART,
    CMD_RELOAD,
    CMD_FORCE_RELOAD,
    CMD_STATUS,
    CMD_REOPEN
};

/* One message each way on the control socket, at most this long. */
#define CTL_MSG_MAX 2048

/*
 * Control-socket connections waiting for their request, served from the signal thread's poll
 * loop and never waited for: a client has CTL_DEADLINE_MS to send its request, and when all
 * CTL_CONN_MAX slots are taken the oldest connection makes room for the newest.
 */
#define CTL_CONN_MAX    16
#define CTL_DEADLINE_MS 1000

struct lust__ctl_conn {
    int fd; /* -1: a free slot */
    long long deadline_ms;
    uid_t uid; /* the peer, from SO_PEERCRED */
    pid_t pid;
};

/* The most entries a jail may hold for the scan at each start (python-lust's rules). */
#define JAIL_SCAN_MAX_ENTRIES 10000

struct lust_server {
    const char *name;
    unsigned header_version;    /* LUST_VERSION_HEX of the caller's headers (0x010000: 1.0/1.1) */
    struct lust_server_ops ops; /* the caller's struct, zero-extended to this library's size */
    void *user_data;
    const char *config_path; /* -c FILE, or NULL for the default */
    /* The config in force; it holds one reference. Replaced only by the framework's thread,
     * under config_lock (server_config.c); other threads read it through holds. */
    _Atomic(struct lust_config *) config;
    pthread_mutex_t config_lock;
    pthread_key_t thread_config; /* each thread's hold from lust_server_config() */
    int thread_config_made;
    int foreground;
    int pidfile_wanted;   /* daemon mode, or `pidfile` set in the file for the foreground */
    int control_implicit; /* the file does not set `control_socket`: the default path is used */
    int control_off;      /* ... and the foreground server goes without it (check_paths) */
    int ready_fd;         /* --ready-fd N, or -1 */
    uid_t owner_uid;      /* who started the server: root and this uid may use the control socket */

    struct lust_creds *creds;
    struct lust_notify *notify;
    struct lust_pidfile *pidfile;
    int log_fd;    /* opened before the fork, installed in the daemon */
    int jail_fd;   /* checked before the fork, entered in the daemon */
    int jailed;    /* chroot done: paths outside the jail are out of reach */
    int config_fd; /* the config file as opened at start, for SIGHUP; a file, never a directory */
    int ctl_fd;    /* the listening control socket, or -1 */
    dev_t ctl_dev; /* ...and the file it was renamed to, to remove only that one */
    ino_t ctl_ino;
    struct lust__ctl_conn conns[CTL_CONN_MAX];
    int already_running; /* the pid file's lock is held by another server */

    struct lust_sandbox *sandbox; /* NULL when the sandbox is off (server_sandbox.c) */
    int sandbox_mode;             /* its LUST_SANDBOX_ mode */
    char *sandbox_promises;       /* the daemon's promises as given, or NULL: no filter */
    const char *sandbox_own;      /* what the framework promised for itself */
    unsigned sandbox_unveiled;    /* how many unveil entries */

    int config_failed;    /* the running hook called lust_server_fail_config() */
    char *restart_text;   /* the restart-only keys' values at start, NUL after each ... */
    size_t *restart_offs; /* ... and where each starts; both noted at the first reload */
    size_t nrestart;

    int stop_fd;                       /* eventfd, readable once a stop was asked */
    int quit_fd;                       /* eventfd that ends the signal thread */
    int signal_fd;                     /* signalfd of the framework's signals, made before ready */
    int watchdog_fd;                   /* timerfd for WATCHDOG=1, or -1 */
    unsigned long long notify_dropped; /* notify datagrams dropped, as last logged */
    atomic_int stopping;
    atomic_int alive;      /* lust_server_alive() was called since the last watchdog ping */
    int alive_required;    /* ... and the watchdog pings only then (headers of 1.2 on) */
    int alive_interval_ms; /* how often run() must show life; -1 without a watchdog */
    pthread_t signal_thread;
    int signal_thread_started;
};

/*
 * The start verdict a daemon sends when a hook failed with lust_server_fail_config(): not an
 * errno (those end far below), the largest code the report channel carries, so the starting
 * process can exit 6 rather than 1.
 */
#define LUST__SERVER_CONFIG_VERDICT 4095

/* server.c */
LUST__HIDDEN int lust__server_exit_for(int r);
LUST__HIDDEN int lust__server_exit_for_hook(const struct lust_server *srv, int r);
LUST__HIDDEN void lust__server_say(const struct lust_server *srv, const char *what);
LUST__HIDDEN void lust__server_print(FILE *to, const char *fmt, ...) LUST__PRINTF(2, 3);
LUST__HIDDEN int lust__server_call_hook(struct lust_server *srv,
                                        int (*hook)(struct lust_server *, void *),
                                        const char *stage);
LUST__HIDDEN int lust__server_parse_argv(struct lust_server *srv, int argc, char **argv,
                                         int *force_fg);
LUST__HIDDEN int lust__server_copy_ops(struct lust_server *srv, const struct lust_server_ops *ops,
                                       size_t size, size_t known);

/* The size of liblust 1.0's struct lust_server_ops: options to reload. */
/* The first headers with lust_server_alive(): programs built against them must call it under a
 * watchdog; older ones cannot, and the framework pings for them (server_events.c). */
#define LUST__SERVER_HEADERS_ALIVE 0x010200

#define LUST__SERVER_OPS_V1_SIZE \
    (offsetof(struct lust_server_ops, reload) + sizeof(((struct lust_server_ops *)0)->reload))

/* server_config.c */
LUST__HIDDEN int lust__server_config_init(struct lust_server *srv, struct lust_config *config);
LUST__HIDDEN struct lust_config *lust__server_config_swap(struct lust_server *srv,
                                                          struct lust_config *fresh);
LUST__HIDDEN void lust__server_config_trial(struct lust_config *fresh);
LUST__HIDDEN void lust__server_config_drop_thread(struct lust_server *srv);
LUST__HIDDEN void lust__server_config_fini(struct lust_server *srv);
/* lust__server_config_fini(), handing over the config in force (its reference is the
 * caller's now) instead of releasing it. */
LUST__HIDDEN struct lust_config *lust__server_config_keep(struct lust_server *srv);

/* server_start.c */
LUST__HIDDEN int lust__server_cmd_start(struct lust_server *srv);
LUST__HIDDEN void lust__server_start_failed(struct lust_server *srv, const char *what, int r);

/* server_prepare.c: step 3 of start (pid_state: the pid file's, just asked); EXIT_OK or the
 * exit status, the sentence printed. */
LUST__HIDDEN int lust__server_prepare(struct lust_server *srv, int pid_state);
LUST__HIDDEN int lust__server_open_log(struct lust_server *srv);

/* server_events.c */
LUST__HIDDEN void lust__server_sigset(sigset_t *set);
LUST__HIDDEN int lust__server_open_config(const char *path);
LUST__HIDDEN int lust__server_reload_fd(struct lust_server *srv, int fd, const char *path,
                                        char *msg, size_t size);
LUST__HIDDEN int lust__server_thread_start(struct lust_server *srv);
LUST__HIDDEN void lust__server_thread_stop(struct lust_server *srv);

/* server_control.c */
LUST__HIDDEN int lust__server_control_listen(struct lust_server *srv);
LUST__HIDDEN void lust__server_control_remove(struct lust_server *srv);
LUST__HIDDEN void lust__server_control_remove_own(struct lust_server *srv);
LUST__HIDDEN void lust__server_control_remove_locked(void *srv);
LUST__HIDDEN int lust__server_control_accept(struct lust_server *srv, long long now_ms);
LUST__HIDDEN void lust__server_control_conn(struct lust_server *srv, int slot);
LUST__HIDDEN int lust__server_control_expire(struct lust_server *srv, long long now_ms);
LUST__HIDDEN void lust__server_control_close_all(struct lust_server *srv);

/* server_client.c */
struct sockaddr_un;
LUST__HIDDEN int lust__server_control_address(const char *path, struct sockaddr_un *sa);
LUST__HIDDEN int lust__server_control_alive(const char *path);
/*
 * Who answers on the control socket at path: 1 with its pid in *pid (the process that made it
 * listen, as the kernel recorded it), 0 when no server listens there, or -errno (-EACCES: this
 * user may not connect; -EPERM: it listens as another user; -EAGAIN: too busy to accept).
 */
LUST__HIDDEN int lust__server_control_peer(const char *path, pid_t *pid);
LUST__HIDDEN int lust__server_parse_reply(char *reply);
LUST__HIDDEN void lust__server_printable(char *s);
LUST__HIDDEN int lust__server_cmd_reload(struct lust_server *srv);
LUST__HIDDEN int lust__server_cmd_reopen(struct lust_server *srv);

/* server_restart.c */
/* At start: checks that ops.restart_keys names keys of the config. */
LUST__HIDDEN int lust__server_restart_note(struct lust_server *srv);
/*
 * At each reload, before the config in force changes: the restart-only keys whose value in
 * fresh differs from the one at start, comma-separated into out. The values at start are
 * taken from the config in force at the first call, so no change of srv->config may come
 * before it (only a reload changes it, and a reload calls this first).
 */
LUST__HIDDEN void lust__server_restart_keys(struct lust_server *srv,
                                            const struct lust_config *fresh, char *out,
                                            size_t size);
LUST__HIDDEN void lust__server_restart_free(struct lust_server *srv);

/* server_sandbox.c */
LUST__HIDDEN int lust__server_sandbox_prepare(struct lust_server *srv);
LUST__HIDDEN int lust__server_sandbox_lock(struct lust_server *srv);
LUST__HIDDEN int lust__server_sandbox_apply(struct lust_server *srv);
LUST__HIDDEN void lust__server_sandbox_free(struct lust_server *srv);

/* server_stop.c */
LUST__HIDDEN void lust__server_cleanup_failed_start(struct lust_server *srv);
LUST__HIDDEN int lust__server_query(struct lust_server *srv, pid_t *holder);
LUST__HIDDEN int lust__server_signal_holder(struct lust_server *srv, pid_t pid, int sig);
LUST__HIDDEN int lust__server_reload_by_signal(struct lust_server *srv);
LUST__HIDDEN int lust__server_cmd_stop(struct lust_server *srv);
LUST__HIDDEN int lust__server_cmd_status(struct lust_server *srv);

#endif
