/*
 * lust/server.h - the server framework: a callback struct and argc/argv in, a proper daemon out.
 *
 *     static int run(struct lust_server *srv, void *data)
 *     {
 *         while (!lust_server_stopping(srv))
 *             serve_one(data, lust_server_stop_fd(srv));   // poll() the stop fd with your sockets
 *         return 0;
 *     }
 *
 *     int main(int argc, char **argv)
 *     {
 *         static const struct lust_server_ops ops = { .run = run };
 *         return lust_server_main("web", &ops, NULL, argc, argv);
 *     }
 *
 * gives `web [-c FILE] [-f] start|stop|restart|reload|force-reload|status|reopen`, with the exit
 * codes init scripts expect (LSB) and messages on the terminal. `start` reads /etc/web.conf
 * (lust/config.h lists the standard keys), then does the daemon dance in this order, calling each
 * hook at its stage:
 *
 *   1. config loaded and checked: a bad file stops here (exit 6), nothing started; so does one
 *      writable by group or others or owned by another user than root or the invoker;
 *   2. a server already holding the pid file: "already running (pid N)", exit 0 (the only
 *      way `start` says so);
 *   3. with the real `/`: user and group resolved (root refused: "refusing to run as root",
 *      exit 6), the jail checked (made if missing, see below) and scanned, the directories of
 *      the pid file and the control socket checked, the notify socket opened, and last the log
 *      file (so a refused start creates nothing); then before_daemonize() runs, still in the
 *      process that was started;
 *   4. fork, setsid, fork; the starting process waits for the daemon's verdict;
 *   5. in the daemon: signals blocked, no new privileges, umask, stdin from /dev/null,
 *      stdout/stderr into the log, every other descriptor closed, pid file created and locked,
 *      the control socket made (see below);
 *   6. before_jail(); the time zone loaded, and libgcc_s if an object of the process imports
 *      pthread_exit, pthread_cancel, thrd_exit or backtrace (glibc loads it at their first use,
 *      which fails inside an empty jail); then chroot into the checked jail;
 *   7. before_drop_privs() (still root: bind low ports here, start no serving threads), then the
 *      irreversible drop to the configured user, verified;
 *   8. the starting process prints the pid and exits 0; under systemd, READY=1;
 *   9. run(). When it returns, the pid file is emptied and the daemon exits with its status.
 *
 * A failure at any step after 3 travels back to the starting process, which prints the daemon's
 * own sentence and exits non-zero; no process, no pid file and no control socket is left
 * behind. A hook fails by returning a negative errno; it can set the sentence with
 * lust_server_fail(), or with lust_server_fail_config() when the daemon's own config is wrong
 * (exit 6, as for a file the framework cannot parse).
 *
 * What step 3 refuses, each with a sentence naming the path (README.md has the table):
 *   - jail: "/" or a bind mount of it, or on a pseudo filesystem (exit 6); a component missing,
 *     a symlink, not root's or writable by group or others, a pseudo filesystem (procfs,
 *     sysfs, devtmpfs...) mounted below it (exit 5); inside it a device node, a set-uid or
 *     set-gid file, an etc/passwd defining uid 0, or more than 10000 entries or 64 levels to
 *     scan (exit 5). A missing jail whose parent passes the checks is made, root's, mode 0755
 *     (as systemd's RuntimeDirectory=); an existing one is never changed.
 *   - pid file and control socket: a directory above them missing (exit 5), not root's or
 *     writable by others (exit 6; a sticky one such as /tmp passes with a warning); a pid file
 *     that holds anything but our format, a control_socket path that is not a socket (exit 6).
 *   - log file: not a regular file, or with other hard links (exit 6).
 *   - --ready-fd N: not open, 0 to 2, or not a pipe, FIFO or socket (exit 2, before anything
 *     is opened).
 * With stdin, stdout or stderr closed, /dev/null is opened on them first. Every operator
 * message passes one filter: control bytes and broken UTF-8 from config text print as '?'.
 *
 * Signals are the framework's: user code never runs in a signal handler. TERM and INT call
 * shutdown() from the framework's signal thread, then make lust_server_stop_fd() readable and
 * lust_server_stopping() true, so run() can return; HUP calls reload(); USR1 reopens the log;
 * SIGPIPE is ignored. In the daemon the signals are blocked before its first hook (before_jail),
 * so every thread a hook creates inherits the mask and never takes them; before_daemonize runs
 * in the starting process, which may not create threads anyway.
 *
 * Reload and log rotation, after the jail and the drop. The daemon can no longer open
 * /etc/NAME.conf or /var/log/NAME.log, so root does it for the daemon, through the control
 * socket (`control_socket`, default /run/NAME.ctl): a unix socket made by root before the jail,
 * mode 0600, owned by the user who started the server; the daemon also checks each peer's
 * credentials (SO_PEERCRED) and refuses anyone but root and that user, and the commands hand
 * nothing to a socket that listens as anyone else.
 *
 *   - `NAME reload` reads the config file as it is now (also when an editor replaced it by
 *     rename) and checks it: a bad file prints FILE:LINE: ... and exits 1, and the daemon is
 *     not touched. A good one is handed over as a sealed memfd (the daemon parses exactly the
 *     bytes checked, and never holds a descriptor of anything outside its jail). Exit 0 once
 *     reload() accepted it; 1 with the daemon's sentence if reload() refused it (the old
 *     config stays); 1 if no answer came within start_timeout (0: no limit); 1 if a server
 *     holds the pid file but does not answer on the socket; 7 if none runs. Keys the running
 *     daemon cannot change (user, group, jail, pidfile, logfile, control_socket, foreground,
 *     and the daemon's own restart_keys) are named in the answer while their value differs
 *     from the one the daemon started with, at every reload until a restart applies them.
 *     Without a control
 *     socket ("none", or a foreground server whose file sets no `control_socket`) reload
 *     sends SIGHUP to the pid file's holder and cannot report the outcome.
 *   - `NAME reopen`, for logrotate's postrotate (create mode): root opens the log file (created
 *     0640 if missing, never through a symbolic link, a FIFO or a file with other hard links;
 *     keep the directories above it root's) and hands it to the daemon, which
 *     switches to it with dup2(): each line is in the old file or the new one, none lost. Exit
 *     0 once switched, or when no server runs (nothing to reopen); 1 when a server runs but
 *     cannot be reached, so logrotate reports it.
 *   - SIGHUP (systemd's ExecReload=kill -HUP $MAINPID): the daemon re-reads the config through
 *     the file descriptor it opened at start, then runs reload(); RELOADING=1 and READY=1 go
 *     to $NOTIFY_SOCKET around it. An edit made in place is seen. Out of a jail the path is
 *     opened again first, so a replaced file is seen too. In a jail a file replaced by rename
 *     is out of reach: the daemon logs so and keeps its config. It can tell only when the old
 *     file was unlinked; one renamed aside (dpkg's .dpkg-old, an editor's backup) is re-read
 *     and reported as reloaded. Use `NAME reload` then (set `control_socket` in the file of a
 *     foreground service so reload can reach it). The outcome goes only to the log.
 *   - SIGUSR1 reopens the log by path, which works only while the path is reachable (no jail).
 *
 * The framework's thread serves signals first and never waits on others: notify datagrams
 * that $NOTIFY_SOCKET does not take are dropped and counted in the log; a control-socket
 * client has 1 s to send its request (16 may wait at once, the oldest making room for a new
 * one) and is served from the same poll loop, so it delays neither TERM nor other clients.
 * Its signalfd exists before the daemon reports ready: a start that cannot make it fails.
 * `stop` removes the control socket only while it holds the pid file's lock, and only the
 * stopped server's, so a server started meanwhile keeps its own.
 *
 * Foreground mode (`-f`, or `foreground = true` in the config), for systemd, runit, s6 or a
 * container: no fork, no pid file unless the config file sets `pidfile`, the log on stderr
 * (with journald priority prefixes when $JOURNAL_STREAM is set), the jail and the drop still
 * applied, and readiness told over $NOTIFY_SOCKET (sd_notify) or a descriptor (`--ready-fd N`,
 * s6 style). Like the pid file, the control socket is made in the foreground only when the
 * config file sets `control_socket`. The foreground server closes every descriptor it
 * inherited but stdio, --ready-fd, $NOTIFY_SOCKET and socket activation's (LISTEN_FDS), as the
 * forking one does. In forking mode under systemd the daemon also sends MAINPID.
 */
#ifndef LUST_SERVER_H
#define LUST_SERVER_H

#include <stddef.h>

#include <lust/common.h>
#include <lust/version.h>

LUST_BEGIN_DECLS

/* libconfuse's types, named without including <confuse.h> (see lust/config.h for that). */
struct cfg_t;
struct cfg_opt_t;

/* A running server: its name, config, and stop state. Opaque; owned by the framework. */
struct lust_server;

/*
 * What a daemon gives the framework. Every member may be left NULL (0) except run.
 * Hooks return 0 to go on, or a negative errno to abort the start cleanly (the starting process
 * exits non-zero with the hook's sentence, set with lust_server_fail(), or strerror otherwise).
 *
 * This struct only grows at its end, and lust_server_main() passes its size, so a binary built
 * against an older, shorter struct keeps working with a newer library, and a newer binary is
 * refused by an older library only if it sets members that library does not know. The members
 * after reload came with liblust 1.2; the lust_server_main() of a 1.2 header calls an entry
 * point of version node LUST_1.2, so a binary built against it depends on liblust 1.2 (package
 * liblust1 (>= 1.2.0)), whether or not it sets them.
 */
struct lust_server_ops {
    /* The daemon's own config keys, merged with the standard ones; CFG_END()-terminated, or
     * NULL. Read them in the hooks with libconfuse's getters on lust_server_config(). */
    struct cfg_opt_t *options;

    /* In the starting process, before the fork, with the real `/` and the terminal: check what
     * the config asks for. Start no thread here: a process with threads cannot daemonize. */
    int (*before_daemonize)(struct lust_server *srv, void *user_data);

    /* In the daemon, as root, before chroot: open what lives outside the jail. */
    int (*before_jail)(struct lust_server *srv, void *user_data);

    /* In the daemon, as root, inside the jail: bind privileged ports. Serve nothing yet. */
    int (*before_drop_privs)(struct lust_server *srv, void *user_data);

    /* The server itself, as the unprivileged user. Its return value is the exit status. */
    int (*run)(struct lust_server *srv, void *user_data);

    /* Called once on TERM or INT, from the framework's signal thread, while run() goes on:
     * stop accepting, wake your threads. run() should return soon after. */
    void (*shutdown)(struct lust_server *srv, void *user_data);

    /* Called on HUP and by `NAME reload`, from the signal thread, with lust_server_config()
     * already holding the newly read config. Return 0 to accept it, or a negative errno
     * (sentence by lust_server_fail()) to refuse it: the previous config is then restored and
     * `NAME reload` exits 1 with the sentence. */
    int (*reload)(struct lust_server *srv, void *user_data);

    /* Since liblust 1.2. */

    /* The program's own version, "2.4.1": `NAME -V` prints "NAME 2.4.1 (liblust 1.2.0)" and
     * the start line in the log names it. NULL: the program has none of its own. */
    const char *version;

    /* More for `NAME -h`, printed after the options: a line or two on what the program does,
     * or where its own config keys are documented. NULL: nothing more. */
    const char *usage;

    /* The daemon's own top-level config keys that a reload cannot apply (an address bound
     * while root, a thread count), NULL-terminated: while one's value differs from the one the
     * daemon started with, every reload names it, as for the standard keys that need a
     * restart. Each must be a key of options: start refuses a list naming another. NULL: none. */
    const char *const *restart_keys;
};

/**
 * lust_server_main_versioned - parse argv, run the command, return the process exit status.
 *
 * Call it through the lust_server_main() macro, which passes @ops_size, sizeof(*ops) as the
 * caller compiled it, and @header_version, LUST_VERSION_HEX of the headers it was compiled
 * against (a library older than those headers names it when it refuses members it does not
 * know, and a newer one can tell what the program was built to expect). @name names the program:
 * /etc/NAME.conf, /run/NAME.pid, /run/NAME, the log file. Commands: start, stop, restart, reload,
 * force-reload, status, reopen. Options: -c FILE (config file), -f/--foreground, --ready-fd N,
 * -h/--help, -V/--version.
 *
 * Returns the LSB exit status for the command: 0 success (also start on a running server, stop
 * on a stopped one); 1 generic failure; 2 bad usage; 3 unimplemented (reload without a reload
 * hook); 4 not privileged; 5 jail or program missing; 6 bad config (1 for reload, which leaves
 * the server untouched); 7 not running. For status: 0 running, 1 dead with a pid file, 3 not
 * running, 4 cannot tell (also for a broken config). In the daemon process it returns run()'s
 * status (when started in the foreground) or does not return (forked daemon).
 * Prints operator messages on stdout/stderr: this is the framework's documented exception to
 * "library code never prints". Its arguments are checked like every entry's, but it answers
 * with exit statuses, not -errno: 2 for a NULL or empty name, or argc < 1 or a NULL argv; 1
 * for a NULL ops or one without run, or one setting members this library does not know. Call
 * it from main(), with no other thread running. Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API int lust_server_main_versioned(const char *name, const struct lust_server_ops *ops,
                                        size_t ops_size, unsigned header_version, void *user_data,
                                        int argc, char **argv);

/* The entry point; captures the size of the caller's struct (see struct lust_server_ops). */
#define lust_server_main(name, ops, user_data, argc, argv)                                   \
    lust_server_main_versioned((name), (ops), sizeof(*(ops)), LUST_VERSION_HEX, (user_data), \
                               (argc), (argv))

/**
 * lust_server_main_sized - the entry point of liblust 1.0 and 1.1, kept for their binaries.
 *
 * As lust_server_main_versioned(), but it reads only the members liblust 1.0 knew (options to
 * reload): one that sets a later member (version, usage, restart_keys) is refused, exit 1, so
 * a program that needs them gets them from lust_server_main(), which also makes its package
 * depend on a liblust that has them. New code uses lust_server_main().
 */
LUST_API int lust_server_main_sized(const char *name, const struct lust_server_ops *ops,
                                    size_t ops_size, void *user_data, int argc, char **argv);

/*
 * The accessors below, given a NULL srv, return NULL (pointers) or -EINVAL (ints) with the
 * sentence in lust_error(); lust_server_stopping() returns -EINVAL without one.
 */

/**
 * lust_server_name - the program name given to lust_server_main(). Borrowed, never NULL for a
 * server handed to a hook.
 */
LUST_API const char *lust_server_name(const struct lust_server *srv);

/**
 * lust_server_config - the loaded configuration, for libconfuse's getters (cfg_getstr...).
 *
 * Borrowed: valid until run() returns, or until the next reload() replaces it (read it again in
 * reload(); do not keep pointers into the old one across a reload).
 */
LUST_API struct cfg_t *lust_server_config(struct lust_server *srv);

/**
 * lust_server_stop_fd - a descriptor that becomes readable once a stop was asked (TERM, INT).
 *
 * poll() it beside your sockets so run() wakes at once. Never read or close it. Borrowed.
 */
LUST_API int lust_server_stop_fd(const struct lust_server *srv);

/**
 * lust_server_stopping - 1 once a stop was asked, else 0. Thread-safe, async-signal-safe.
 */
LUST_API int lust_server_stopping(const struct lust_server *srv);

/**
 * lust_server_foreground - 1 when running in the foreground (no fork, no pid file), else 0.
 */
LUST_API int lust_server_foreground(const struct lust_server *srv);

/**
 * lust_server_fail - set the sentence a failing hook reports, and return -err.
 *
 *     if (bind(fd, ...) < 0)
 *         return lust_server_fail(srv, errno, "bind %s", addr);   // "bind 127.0.0.1:80: ..."
 *
 * ": strerror(err)" is appended when err is not 0. Returns -err (or -EINVAL for err 0, or for a
 * NULL fmt).
 */
LUST_API int lust_server_fail(struct lust_server *srv, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * lust_server_fail_config - fail a hook because the daemon's own config is wrong.
 *
 *     if (!valid_address(addr))
 *         return lust_server_fail_config(srv, "listen \"%s\": not HOST:PORT", addr);
 *
 * As lust_server_fail() with EINVAL and no strerror, and `start` then exits 6 ("not
 * configured", as for a file the framework cannot parse) instead of 1, from before_daemonize,
 * before_jail or before_drop_privs alike. From reload() it refuses the new config as
 * lust_server_fail() does (`reload` exits 1). Returns -EINVAL, for the hook to return. Call it
 * from the hook's own thread. Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API int lust_server_fail_config(struct lust_server *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

LUST_END_DECLS

#endif
