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
 *      the pid file and the control socket checked, the notify socket opened, the sandbox
 *      prepared (see below), and last the log file (so a refused start creates nothing); then
 *      before_daemonize() runs, still in the process that was started;
 *   4. fork, setsid, fork; the starting process waits for the daemon's verdict;
 *   5. in the daemon: signals blocked, no new privileges, umask, stdin from /dev/null,
 *      stdout/stderr into the log, every other descriptor closed, pid file created and locked,
 *      the control socket made (see below);
 *   6. before_jail(); the time zone loaded, and libgcc_s if an object of the process imports
 *      pthread_exit, pthread_cancel, thrd_exit or backtrace (glibc loads it at their first use,
 *      which fails inside an empty jail); then (with a sandbox) the capability bounding set
 *      emptied and securebits locked; then chroot into the checked jail;
 *   7. before_drop_privs() (still root: bind low ports here, start no serving threads), then the
 *      irreversible drop to the configured user, verified; then the sandbox put in force, before
 *      the framework starts its own thread;
 *   8. the starting process prints the pid and exits 0; under systemd, READY=1;
 *   9. run(). When it returns, the pid file is emptied and the daemon exits with its status.
 *
 * A failure at any step after 3 travels back to the starting process, which prints the daemon's
 * own sentence and exits non-zero; no process, no pid file and no control socket is left
 * behind. A hook fails by returning a negative errno; it can set the sentence with
 * lust_server_fail(), or with lust_server_fail_config() when the daemon's own config is wrong
 * (exit 6, as for a file the framework cannot parse). Under a process manager
 * ($NOTIFY_SOCKET), a start that fails at any step, a bad config file included, also sends
 * STATUS=<the line printed, without the program's name> and ERRNO=<errno>, so that
 * `systemctl status` shows why.
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
 *     Without a control socket (`control_socket = none`, or nobody at the default path when
 *     the file names none) reload sends SIGHUP to the pid file's holder and cannot report the
 *     outcome.
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
 *     and reported as reloaded. Use `NAME reload` then. The outcome goes only to the log.
 *   - SIGUSR1 reopens the log by path, which works only while the path is reachable (no jail)
 *     and the sandbox allows it (see below).
 *
 * The sandbox (lust/sandbox.h), when the config asks for one: `sandbox = "require"` (or
 * "best", "log", "off"), `promises = {"stdio", "thread", "inet"}` (seccomp: the system calls
 * run() and its threads may make; any other kills the daemon, and the log names it) and
 * `unveil = {"/data:rwc"}` (Landlock: the only paths it may open, as seen inside the jail).
 * Where the file sets none of them, the daemon's defaults in struct lust_server_ops apply; with
 * neither, there is no sandbox. Promises or unveil rules without a mode get "require". Promises,
 * when given, get the framework's own added: "thread" for its signal thread and, with a control
 * socket, "unix" to accept on it; all else it does after the drop (signalfd, timerfd and eventfd
 * reads, notify datagrams, descriptors received with recvmsg, a reload's memfd, dup2 for the log)
 * is "stdio". `start` prepares it in step 3, where "require" on a kernel (or an architecture)
 * that cannot enforce what is asked stops the start with the sentence,
 * exit 6 (the config asks what this host cannot give; "best" starts and logs what it could not
 * enforce). A failure to apply it (an unveiled path missing in the jail) fails the start like any
 * other step. The log names the sandbox in force. Listening sockets are bound before the drop:
 * after it, with "inet" on a kernel with Landlock ABI 4 (Linux 6.7), binding a TCP port fails
 * (EACCES), and connecting needs the "connect" promise. What the framework then does differently:
 * SIGHUP re-reads the descriptor opened at start, as in a jail, unless "rpath" is promised; SIGUSR1
 * logs that it cannot reopen the log by path (that needs "wpath" and "cpath": use `NAME reopen`)
 * rather than be killed for trying. The three keys need a restart, as user or jail do.
 *
 * The framework's thread serves signals first and never waits on others: notify datagrams
 * that $NOTIFY_SOCKET does not take are dropped and counted in the log; a control-socket
 * client has 1 s to send its request (16 may wait at once, the oldest making room for a new
 * one) and is served from the same poll loop, so it delays neither TERM nor other clients.
 * SIGHUPs that come while a reload runs make one more reload, after the clients waiting by
 * then: a stream of them cannot keep `reload` or `reopen` from an answer.
 * Its signalfd exists before the daemon reports ready: a start that cannot make it fails.
 * `stop` removes the control socket only while it holds the pid file's lock, and only the
 * stopped server's, so a server started meanwhile keeps its own.
 *
 * Foreground mode (`-f`, or `foreground = true` in the config), for systemd, runit, s6 or a
 * container: no fork, no pid file unless the config file sets `pidfile`, the log on stderr
 * (with journald priority prefixes when $JOURNAL_STREAM is set), the jail and the drop still
 * applied, and readiness told over $NOTIFY_SOCKET (sd_notify) or a descriptor (`--ready-fd N`,
 * s6 style). The control socket is made as in daemon mode, at the default path when the file
 * names none; only there, where its directory is not the server's to use (started as another
 * user than root, a read-only /run), the server goes on without it and logs so. A second
 * instance of the same program needs a `control_socket` (or none) of its own. In forking mode
 * under systemd the daemon also sends MAINPID. The foreground server closes every descriptor
 * it inherited but stdio, --ready-fd, $NOTIFY_SOCKET and socket activation's (LISTEN_FDS), as
 * the forking one does.
 *
 * What the commands see. They find a server by its pid file (the kernel's lock on it) and by
 * its control socket (the kernel's record of who made it listen):
 *
 *                     pid file                          control socket
 *   daemon mode       always                            unless control_socket = none
 *   foreground        only if the file sets pidfile     unless none (the default path too)
 *
 *   - status: from the pid file; where it shows no server (none, empty or stale), a server
 *     answering on the control socket is running too: "running (pid N, found on its control
 *     socket PATH; no pid file)", exit 0. 3 when neither finds one; 4 when the socket cannot
 *     be asked (not root).
 *   - reload, reopen: through the control socket (reload falls back to SIGHUP, see above).
 *   - stop: TERM to the pid file's holder. A server found only on its control socket (in the
 *     foreground without a pid file) is not signalled: its supervisor would start it again,
 *     and only a lock vouches for a pid. stop says so and exits 1; stop it through the
 *     supervisor. Under systemd, runit or s6, use the supervisor for start, stop and restart,
 *     and these commands for status, reload and reopen.
 *   - start: "already running" when the pid file is held; a server answering on the control
 *     socket makes the new one fail.
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

/* A loaded config (lust/config.h). */
struct lust_config;

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
     * NULL. Read them with libconfuse's getters on lust_server_config(), in the hooks, in
     * run() and in its threads. */
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

    /* Called on HUP and by `NAME reload`, from the signal thread, with the newly read config
     * offered: here, and only on this thread, lust_server_config() returns it, while run()
     * and its threads still read the config in force. Return 0 to accept it: it is put in
     * force as the hook returns. Return a negative errno (sentence by lust_server_fail()) to
     * refuse it: no other thread ever sees it, and `NAME reload` exits 1 with the sentence. */
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

    /* The sandbox the daemon runs in unless its config file says otherwise (lust/sandbox.h):
     * the defaults of the keys sandbox, promises and unveil (lust/config.h), each replaced by
     * the file's value where the file sets it. See "The sandbox" above. */

    /* "require", "best", "log" or "off"; NULL: "require" when promises or unveil rules are
     * given (here or in the file), else "off". */
    const char *sandbox;

    /* What run() and its threads do after the drop, as promise names separated by spaces
     * ("stdio thread inet"); the framework adds what its own thread needs. NULL (or the file's
     * `promises = {}`): no seccomp filter. */
    const char *promises;

    /* What the daemon may open after the drop, "PATH:RIGHTS" with PATH as seen inside the jail
     * ({"/data:rwc", NULL}), NULL-terminated. NULL: the file system is not restricted by
     * Landlock (without rpath, wpath and cpath the promises still forbid opening). */
    const char *const *unveil;
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
 * it once, from main(), with no other thread running; not async-signal-safe. Since liblust 1.2
 * (version node LUST_1.2).
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
 * depend on a liblust that has them. New code uses lust_server_main(). The same threads rule:
 * once, from main(), with no other thread running; not async-signal-safe.
 */
LUST_API int lust_server_main_sized(const char *name, const struct lust_server_ops *ops,
                                    size_t ops_size, void *user_data, int argc, char **argv);

/*
 * The accessors below, given a NULL srv, return NULL (pointers) or -EINVAL (ints) with the
 * sentence in lust_error(); lust_server_stopping() returns -EINVAL without one.
 */

/*
 * Threads. The handle a hook gets is valid from the first hook until run() returns; run()
 * must stop (join) the threads it started before it returns. Each accessor below says which
 * threads may call it and whether it may be called from a signal handler (async-signal-safe).
 */

/**
 * lust_server_name - the program name given to lust_server_main(). Borrowed, never NULL for a
 * server handed to a hook. Any thread; async-signal-safe.
 */
LUST_API const char *lust_server_name(const struct lust_server *srv);

/**
 * lust_server_config - the config in force, for libconfuse's getters (cfg_getstr...).
 *
 * A reload replaces the config on the framework's thread while the daemon's threads read it,
 * so what this returns is a snapshot that never changes, valid for the calling thread until
 * that same thread calls lust_server_config() again (or ends). Read what belongs together from
 * one call, and call again (in the next round of a loop, say) to see a reload:
 *
 *     cfg_t *cfg = lust_server_config(srv);
 *     connect_to(cfg_getstr(cfg, "host"), cfg_getint(cfg, "port"));   // one snapshot
 *
 * The tree, its sections and its strings from an earlier call die at the thread's next call:
 * to keep a snapshot longer, or to give one to another thread, take lust_server_config_hold().
 * In reload(), it returns the config being offered (see struct lust_server_ops).
 *
 * Any thread of the daemon, from the first hook until run() returns. Cheap: one atomic load
 * when no reload happened since the thread's last call. Not async-signal-safe. NULL for a NULL
 * srv.
 */
LUST_API struct cfg_t *lust_server_config(struct lust_server *srv);

/**
 * lust_server_config_hold - a reference to the config in force, kept until released.
 *
 *     struct lust_config *c = lust_server_config_hold(srv);
 *     start_worker(c);                  // the worker reads lust_config_cfg(c), then calls
 *                                       // lust_config_release(c) (lust/config.h)
 *
 * The config, its libconfuse tree (lust_config_cfg()) and everything read from it stay valid
 * and unchanged until lust_config_release(), whatever reloads happen meanwhile; each hold needs
 * one release, from any thread. In reload() it is the config being offered. Any thread of the
 * daemon, from the first hook until run() returns; not async-signal-safe (it takes a lock for a
 * moment). NULL for a NULL srv. Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API struct lust_config *lust_server_config_hold(struct lust_server *srv);

/**
 * lust_server_stop_fd - a descriptor that becomes readable once a stop was asked (TERM, INT).
 *
 * poll() it beside your sockets so run() wakes at once. Never read or close it. Borrowed.
 * Any thread; async-signal-safe.
 */
LUST_API int lust_server_stop_fd(const struct lust_server *srv);

/**
 * lust_server_stopping - 1 once a stop was asked, else 0. Any thread; async-signal-safe.
 */
LUST_API int lust_server_stopping(const struct lust_server *srv);

/**
 * lust_server_foreground - 1 when running in the foreground (no fork), else 0.
 * Any thread; async-signal-safe.
 */
LUST_API int lust_server_foreground(const struct lust_server *srv);

/**
 * lust_server_fail - set the sentence a failing hook reports, and return -err.
 *
 *     if (bind(fd, ...) < 0)
 *         return lust_server_fail(srv, errno, "bind %s", addr);   // "bind 127.0.0.1:80: ..."
 *
 * ": strerror(err)" is appended when err is not 0. Returns -err (or -EINVAL for err 0, or for a
 * NULL fmt). The sentence belongs to the calling thread (lust_error()): call it on the thread
 * that runs the hook, just before returning. Not async-signal-safe.
 */
LUST_API int lust_server_fail(struct lust_server *srv, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * lust_server_alive - tell the framework that the daemon makes progress, for the watchdog.
 *
 * When the process manager asks for a watchdog ($WATCHDOG_USEC: systemd's WatchdogSec=), the
 * framework's thread sends WATCHDOG=1 every quarter of the interval, but only if
 * lust_server_alive() was called since its previous ping. Call it from the loop whose progress
 * proves the daemon works (run()'s own loop, typically), at least every
 * lust_server_alive_interval() milliseconds. When that loop hangs, the pings stop within a
 * quarter of the interval and the manager restarts the service. When several threads must all
 * make progress, let one of them check the others and call this.
 *
 * Required under a watchdog: a daemon that never calls it gets the pings of its start and no
 * more, so the manager restarts it after the interval, and the log says why. This holds for
 * programs built against liblust 1.2's headers or later (lust_server_main() passes their
 * version); a binary built against 1.0 or 1.1 headers cannot call it, and the framework pings
 * for it whatever run() does, as those releases did. Without a watchdog it costs one relaxed
 * atomic store and does nothing. A NULL srv is ignored. Any thread; async-signal-safe. Since
 * liblust 1.2 (version node LUST_1.2).
 */
LUST_API void lust_server_alive(struct lust_server *srv);

/**
 * lust_server_alive_interval - how often, in milliseconds, lust_server_alive() must be called:
 * half the manager's watchdog interval (at least 1), or -1 without a watchdog. It is a poll()
 * timeout as it stands:
 *
 *     while (!lust_server_stopping(srv)) {
 *         lust_server_alive(srv);
 *         int n = poll(fds, nfds, lust_server_alive_interval(srv));
 *         ...
 *     }
 *
 * Fixed from the start of the first hook. -EINVAL for a NULL srv. Any thread; async-signal-safe
 * for a valid srv. Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API int lust_server_alive_interval(const struct lust_server *srv);

/**
 * lust_server_status - tell the process manager what the daemon is doing, in one line.
 *
 *     lust_server_status(srv, "serving %u clients", n);   // `systemctl status` shows it
 *
 * Sent as STATUS=<text> on the manager's notify socket, which the framework opened at start
 * ($NOTIFY_SOCKET is gone from the daemon's environment by then). Newlines become spaces; the
 * text is cut at 2047 bytes. Returns a positive value when sent, 0 when no manager listens
 * (no $NOTIFY_SOCKET at start), or -errno (-EINVAL for a NULL srv or fmt). Any thread, from
 * the first hook in the daemon until run() returns; not async-signal-safe. Since liblust 1.2
 * (version node LUST_1.2).
 */
LUST_API int lust_server_status(struct lust_server *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

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
 * from the hook's own thread; not async-signal-safe. Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API int lust_server_fail_config(struct lust_server *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

LUST_END_DECLS

#endif
