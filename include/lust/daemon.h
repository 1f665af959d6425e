/*
 * lust/daemon.h - detach into a daemon, and let the starting process know how it went.
 *
 * lust_daemonize() forks twice in the daemon(7) way, but the process that called it does not
 * return until the daemon has said "ready" or "failed: <sentence>" over a private channel
 * (or a start timeout passes, or the daemon dies first). The caller therefore learns whether
 * the daemon really started, and can print the daemon's own sentence and exit with the right
 * status, instead of exiting 0 before anything was known:
 *
 *     struct lust_daemon_opts opts = LUST_DAEMON_OPTS_INIT;
 *     int r = lust_daemonize(&opts);
 *     if (r < 0) {                          // not started: r is -errno, the why is below
 *         fprintf(stderr, "%s\n", lust_error());
 *         exit(1);
 *     }
 *     if (r > 0) {                          // the starting process: r is the daemon's pid
 *         printf("started (pid %d)\n", r);
 *         exit(0);
 *     }
 *     // r == 0: the daemon. Jail, drop privileges, bind, then:
 *     if (bind_failed) {
 *         lust_daemon_failed(EADDRINUSE, "port %d: in use", port);
 *         _exit(1);
 *     }
 *     lust_daemon_ready();
 *
 * The library prints nothing and never exits the caller's process.
 */
#ifndef LUST_DAEMON_H
#define LUST_DAEMON_H

#include <lust/common.h>

LUST_BEGIN_DECLS

/* Leave descriptors 1 and 2 as they are (default: both point to /dev/null, like stdin). */
#define LUST_DAEMON_KEEP_STDIO 0x1u
/* Leave RLIMIT_CORE as it is (default: 0, so a crash does not write secrets to a core file). */
#define LUST_DAEMON_ALLOW_CORE 0x2u

/* The start timeout used when timeout_ms is 0: systemd's default TimeoutStartSec. */
#define LUST_DAEMON_DEFAULT_TIMEOUT_MS 90000
/* The umask used when umask is negative. */
#define LUST_DAEMON_DEFAULT_UMASK 027

/*
 * Options for lust_daemonize(). Start from LUST_DAEMON_OPTS_INIT and set what you need: `size`
 * tells the library which members this caller knows, so the struct may grow at its end in a
 * later release without breaking binaries built against this one.
 */
struct lust_daemon_opts {
    unsigned size;         /* sizeof(struct lust_daemon_opts), set by LUST_DAEMON_OPTS_INIT */
    unsigned flags;        /* LUST_DAEMON_KEEP_STDIO, LUST_DAEMON_ALLOW_CORE */
    int umask;             /* the daemon's umask; negative: LUST_DAEMON_DEFAULT_UMASK */
    int timeout_ms;        /* start timeout; 0: LUST_DAEMON_DEFAULT_TIMEOUT_MS; < 0: none */
    const int *keep_fds;   /* descriptors (>= 3) the daemon keeps open; may be 0 (NULL) */
    unsigned keep_fds_len; /* number of entries in keep_fds */
};

#define LUST_DAEMON_OPTS_INIT                             \
    {                                                     \
        sizeof(struct lust_daemon_opts), 0u, -1, 0, 0, 0u \
    }

/**
 * lust_daemonize - fork into a daemon and wait for its verdict.
 *
 * Refuses (-EBUSY, nothing forked) when the process runs more than one thread: fork copies only
 * the calling thread, and locks the others hold would stay held forever. Flushes stdio, then
 * forks; the child calls setsid() and forks the daemon, then exits and is reaped here, so no
 * zombie is left. Before lust_daemonize() returns 0 in the daemon, it has:
 *   - a new session it does not lead (getsid() != getpid(), so it can never get a terminal);
 *   - every signal disposition at SIG_DFL and an empty signal mask (the caller blocks its own
 *     set afterwards);
 *   - PR_SET_NO_NEW_PRIVS set, inherited by every thread and child it creates later;
 *   - RLIMIT_CORE 0 unless LUST_DAEMON_ALLOW_CORE; the umask from opts; cwd "/";
 *   - stdin on /dev/null (opened before the fork, so a later chroot does not matter), stdout
 *     and stderr on /dev/null unless LUST_DAEMON_KEEP_STDIO;
 *   - every other descriptor closed except opts->keep_fds, the report channel and, since
 *     liblust 1.2, those of pid file handles and notify connections opened before the call
 *     (close_range(2) when the kernel has it, else each entry of /proc/self/fd).
 *
 * The calling process waits until the daemon calls lust_daemon_ready() or lust_daemon_failed(),
 * the daemon dies, or timeout_ms passes; in the last case it kills the daemon (through a pidfd
 * when the kernel has them) and waits for it to be gone.
 *
 * opts may be NULL for the defaults.
 *
 * Returns:
 *   0 in the daemon;
 *   the daemon's pid (> 0) in the calling process when the daemon reported ready;
 *   -errno in the calling process otherwise, with lust_error() saying why:
 *     -EBUSY      more than one thread; nothing forked (the count comes from /proc/self/task:
 *                 without /proc, -ENOENT "cannot count threads");
 *     -EINVAL     a keep_fds entry below 3, or keep_fds NULL with keep_fds_len > 0 (before
 *                 liblust 1.2 such a list kept nothing); -EBADF  a keep_fds entry not open;
 *     -ETIMEDOUT  no verdict within timeout_ms; the daemon was killed;
 *     -ECHILD     the daemon ended without a verdict ("died during startup"): its exit status
 *                 cannot be told, since it is not the caller's child;
 *     -code       the daemon called lust_daemon_failed(code, ...): lust_error() is the daemon's
 *                 own sentence;
 *     or the errno of a failed pipe, fork or /dev/null open.
 *
 * Context: call from a single-threaded process, not from a signal handler. A daemon that cannot
 * finish its setup (failure in the daemon before lust_daemonize returns) reports it itself and
 * exits; the caller sees it as -code above.
 */
LUST_API int lust_daemonize(const struct lust_daemon_opts *opts);

/**
 * lust_daemon_report_fd - the daemon's end of the report channel, or -1.
 *
 * -1 when there is no waiting process (foreground) or the verdict was already sent. A daemon
 * that closes descriptors itself after lust_daemonize() must keep this one, or the starting
 * process sees the daemon as dead; lust_log_setup() keeps it whatever its keep list says
 * (since liblust 1.2). Borrowed: never close it; lust_daemon_ready() and lust_daemon_failed()
 * do. Thread-safe, async-signal-safe.
 */
LUST_API int lust_daemon_report_fd(void);

/**
 * lust_daemon_ready - tell the waiting process the daemon has started.
 *
 * Sends the verdict and closes the daemon's end of the report channel at once, so a child the
 * daemon forks later cannot hold the starting process. Only the first verdict counts.
 *
 * Returns 0 when sent, and also when there is no waiting process (the process was not started
 * by lust_daemonize(): foreground mode), in which case nothing is done. -EALREADY after a
 * verdict was already sent; -EPIPE when the waiting process is gone (the daemon may go on).
 * Thread-safe (exactly one verdict is ever sent). Not async-signal-safe.
 */
LUST_API int lust_daemon_ready(void);

/**
 * lust_daemon_failed - tell the waiting process the daemon could not start, and why.
 *
 * code is a positive errno value (a negative one is accepted too); the waiting
 * lust_daemonize() returns -code and its lust_error() is the formatted sentence (cut at about
 * 1000 bytes; newlines become spaces). The daemon should exit right after. The sentence is also
 * recorded as this thread's lust_error().
 *
 * Returns as lust_daemon_ready() does: 0 when sent or when no process waits (foreground: the
 * caller prints the sentence itself), -EALREADY after an earlier verdict, -EPIPE when the
 * waiting process is gone; -EINVAL for a NULL fmt (nothing sent). Thread-safe; not
 * async-signal-safe.
 */
LUST_API int lust_daemon_failed(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

LUST_END_DECLS

#endif
