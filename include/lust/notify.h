/*
 * lust/notify.h - telling a process manager how the daemon is doing, without libsystemd.
 *
 * Three protocols, each a few lines on the wire:
 *
 * - systemd's sd_notify datagrams (`Type=notify`): READY=1 once serving, RELOADING=1 while
 *   re-reading the config, STOPPING=1 at shutdown, STATUS=... for `systemctl status`, and
 *   WATCHDOG=1 pings when the unit sets `WatchdogSec=`. The socket named by $NOTIFY_SOCKET is
 *   connected once by lust_notify_open(), which must run before chroot: a connected socket
 *   keeps working in the jail and after the privilege drop, a path does not.
 * - s6-style readiness (also dinit, OpenRC): the supervisor passes a pipe as descriptor N and
 *   the daemon writes one newline to it when ready (lust_notify_ready_fd()).
 * - socket activation: the manager passes listening sockets from descriptor 3 up
 *   (lust_listen_fds()).
 *
 * When the environment names no manager, every call here is a cheap no-op, so a daemon can
 * call them unconditionally: a NULL handle is not an error here but "no manager" (the
 * exception to lust/error.h's argument rule, as in 1.0). The server framework does all of this for
 * its users; the module stands alone for daemons with their own main loop.
 *
 * Threads: what sends on an open handle may be called from any thread at once (each message
 * is one datagram). What reads or changes the environment (lust_notify_open,
 * lust_listen_fds) may not run beside other threads. No call here that can fail is
 * async-signal-safe: a failure formats its sentence for lust_error().
 */
#ifndef LUST_NOTIFY_H
#define LUST_NOTIFY_H

#include <stdint.h>
#include <sys/types.h>

#include <lust/common.h>

LUST_BEGIN_DECLS

/* The first descriptor a socket-activating manager passes (SD_LISTEN_FDS_START). */
#define LUST_LISTEN_FDS_START 3

/* lust_notify_open() flag: remove NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the
 * environment, so that programs the daemon starts do not talk to its manager. */
#define LUST_NOTIFY_UNSET_ENV 1

/* A connection to the process manager's notify socket. Opaque. */
struct lust_notify;

/**
 * lust_notify_open - connect to the manager's notify socket, if there is one.
 *
 * Reads $NOTIFY_SOCKET: a path ("/run/systemd/notify") or a Linux abstract address ("@name").
 * Also reads $WATCHDOG_USEC and $WATCHDOG_PID (see lust_notify_watchdog_usec()). With
 * LUST_NOTIFY_UNSET_ENV in @flags the variables are then removed from the environment.
 *
 * Returns 1 and a handle in *ret when connected; 0 with *ret = NULL when $NOTIFY_SOCKET is unset
 * or empty (every lust_notify_* call accepts that NULL and does nothing); or -errno, *ret
 * untouched: -EAFNOSUPPORT for an address that is neither a path nor "@" (vsock), -E2BIG for a
 * name too long for a sockaddr_un, or connect's error. Call it before chroot and before
 * threads start (getenv and unsetenv are not thread-safe). The descriptor is close-on-exec.
 * Not async-signal-safe.
 */
LUST_API int lust_notify_open(struct lust_notify **ret, int flags);

/**
 * lust_notify_close - close the connection and free the handle. Accepts NULL.
 *
 * Any thread, once no other thread uses the handle. Not async-signal-safe.
 */
LUST_API void lust_notify_close(struct lust_notify *n);

/**
 * lust_notify_send - send one datagram of newline-separated KEY=VALUE assignments.
 *
 * Never blocks: any process can bind a socket that nobody reads, and a daemon waiting on it
 * would stop serving signals. A datagram the full socket does not take is dropped (-EAGAIN)
 * and counted; the server framework logs the count.
 *
 * Returns a positive value when sent, 0 when @n is NULL, -EINVAL when @state is NULL (and @n
 * is not), or -errno (the manager went away: -ECONNREFUSED; its socket is full: -EAGAIN; a
 * daemon may ignore both). Never raises SIGPIPE. Any thread: each message is one datagram, so
 * messages from several threads never mix. Not async-signal-safe.
 */
LUST_API int lust_notify_send(struct lust_notify *n, const char *state);

/**
 * lust_notify_sendf - lust_notify_send() with printf formatting; at most 4 KiB (-E2BIG beyond).
 * -EINVAL for a NULL @fmt (0 when @n is NULL, as for every call). Any thread; not
 * async-signal-safe.
 */
LUST_API int lust_notify_sendf(struct lust_notify *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * lust_notify_ready - "READY=1": startup (or a reload) is complete and the daemon serves.
 * Any thread; not async-signal-safe.
 */
LUST_API int lust_notify_ready(struct lust_notify *n);

/**
 * lust_notify_reloading - "RELOADING=1" with "MONOTONIC_USEC=<now>", as `Type=notify-reload`
 * requires. Send lust_notify_ready() when the reload is done. Any thread; not
 * async-signal-safe.
 */
LUST_API int lust_notify_reloading(struct lust_notify *n);

/** lust_notify_stopping - "STOPPING=1": shutdown has begun. Any thread; not async-signal-safe. */
LUST_API int lust_notify_stopping(struct lust_notify *n);

/**
 * lust_notify_status - "STATUS=<text>", shown by `systemctl status`. Newlines in @text are
 * sent as spaces, since a newline would start a new assignment. -EINVAL for a NULL @text
 * (before liblust 1.2 it sent an empty STATUS=). Any thread; not async-signal-safe.
 */
LUST_API int lust_notify_status(struct lust_notify *n, const char *text);

/**
 * lust_notify_mainpid - "MAINPID=<pid>": the daemon's pid, for a manager that started another
 * process (forking mode; the unit needs `NotifyAccess=all`). Any thread; not
 * async-signal-safe.
 */
LUST_API int lust_notify_mainpid(struct lust_notify *n, pid_t pid);

/**
 * lust_notify_watchdog - "WATCHDOG=1": a keep-alive ping; send every watchdog_usec / 2.
 * Send it from the code whose progress it vouches for, never from a timer of its own (a
 * daemon whose work is stuck would still look alive). Any thread; not async-signal-safe.
 */
LUST_API int lust_notify_watchdog(struct lust_notify *n);

/**
 * lust_notify_watchdog_usec - the watchdog interval the manager asked for, in microseconds.
 *
 * 0 when @n is NULL, $WATCHDOG_USEC was unset or not a positive number, or $WATCHDOG_PID named
 * another process (as read at lust_notify_open()). Ping at half this interval. Any thread;
 * async-signal-safe.
 */
LUST_API uint64_t lust_notify_watchdog_usec(const struct lust_notify *n);

/**
 * lust_notify_fd - the connected socket's descriptor, or -1 for NULL; for a daemon that must
 * keep it across a close-all of its own (lust_log_setup() and lust_daemonize() keep it by
 * themselves). Borrowed: lust_notify_close() closes it. Any thread; async-signal-safe.
 */
LUST_API int lust_notify_fd(const struct lust_notify *n);

/**
 * lust_notify_ready_fd - s6-style readiness: write "\n" to @fd, then close it.
 *
 * Returns 0, or -errno: -EBADF if @fd is not open, -ENOTSOCK if it is neither a pipe nor a
 * socket (a supervisor passes one of those; anything else is a configuration mistake), or
 * write's error. Takes @fd whatever happens: it is closed in every case but -EBADF. This is the
 * one exception to the rule of lust/error.h (a descriptor is taken on success only), kept as
 * liblust 1.0 shipped it: a readiness descriptor serves once, and one left open would keep
 * the supervisor waiting. Safe after fork. Any thread; not async-signal-safe.
 */
LUST_API int lust_notify_ready_fd(int fd);

/**
 * lust_listen_fds - the number of sockets passed by a socket-activating manager.
 *
 * Honours $LISTEN_FDS only when $LISTEN_PID equals getpid() (after a fork the sockets are not
 * this process's to take). The sockets are descriptors LUST_LISTEN_FDS_START up to
 * LUST_LISTEN_FDS_START + n - 1; each is made close-on-exec and checked to be a socket. With
 * LUST_NOTIFY_UNSET_ENV in @flags, LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are then removed
 * from the environment. Returns n >= 0 (0 when not activated), or -EINVAL for a malformed
 * variable or a passed descriptor that is not an open socket. Not thread-safe (environment):
 * call it before other threads start. Not async-signal-safe.
 */
LUST_API int lust_listen_fds(int flags);

LUST_END_DECLS

#endif
