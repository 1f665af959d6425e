/*
 * lust/pidfile.h - pid files that the kernel vouches for.
 *
 * The server creates its pid file as root, in its final process, before dropping privileges:
 *
 *     struct lust_pidfile *pf;
 *     pid_t other;
 *     int r = lust_pidfile_open("/run/web.pid", &pf, &other);
 *     if (r == -EEXIST)           // another server holds it
 *         ...                     // other > 0 is its pid, 0 if the kernel cannot say
 *
 * The file is opened O_NOFOLLOW, created mode 0600, and an fcntl write lock is taken without
 * waiting before anything is written; only then is it truncated and "PID\n" written. The handle
 * keeps the descriptor, and so the lock, for the server's whole life.
 *
 * The lock, not the text, says who is running. lust_pidfile_query() asks the kernel which
 * process holds the lock (F_GETLK) and never reads the number in the file: a stale file, a
 * recycled pid or a file rewritten by a compromised daemon cannot make `stop` signal the wrong
 * process. A holder pid of 0 or -1 (the caller lives in another pid namespace, the lock is an
 * open-file-description lock) or a read lock taken by someone else is reported as such and is
 * never handed out as a pid: kill(0, sig) and kill(-1, sig) hit whole process groups or the
 * whole machine.
 *
 * WARNING - POSIX record locks belong to the process and the file, not to the descriptor: when
 * the holder closes ANY descriptor of the pid file, however it was opened, the kernel drops the
 * lock and a second server can start. The holder must never open the path itself (cat, fopen,
 * stat-then-open...). This module's own path functions (lust_pidfile_query(),
 * lust_pidfile_remove()) recognise a file held through a handle of the calling process and answer
 * without opening it, so they are safe to call from the holder.
 *
 * POSIX locks are not inherited across fork(): a child does not hold the lock, and closing its
 * copy of the descriptor does not release the parent's. Create the handle in the process that
 * will hold it (the final daemon process); a handle created before a fork is only a descriptor
 * in the child, and lust_pidfile_release() there closes it without touching the file.
 *
 * Only our format is ever touched: an empty file, or one decimal pid (no leading zero) and a
 * newline. Anything else at the path (a copy of /etc/passwd named by a careless config) is
 * never truncated, written or unlinked, and lust_pidfile_query() cannot tell (-EBADMSG). The
 * directories above the file must be root's or the caller's and writable by nobody else (a
 * sticky one such as /tmp passes): whoever could write one could delete the file, and
 * `status` would then say "not running" while the server serves. A symlink among them is
 * followed only where nobody else could have put it (Debian's /var/run -> /run).
 *
 * What the holder can do with its pid file. The lock needs a descriptor open for writing
 * (an fcntl write lock, like an OFD lock, is refused on a read-only one), so a jailed daemon
 * that dropped root still holds one, outside its jail. Through it, and only through it, it can
 * rewrite or truncate its own pid file, make it grow (as it can its log), or close it and so
 * drop the lock early. That is safe for liblust's own commands: `status` and `stop` ask the
 * kernel for the lock holder (F_GETLK) and never read the text, so no pid written there is
 * ever signalled; a file it fills with anything but our format is refused, not trusted, by the
 * next start; and a daemon that drops its lock only stops `stop` from finding it, which a
 * compromised daemon could achieve anyway (by not exiting). Tools that trust the text
 * (start-stop-daemon --pidfile, systemd's PIDFile= for a root-owned file) could be steered by
 * a compromised daemon: use the daemon's own `stop` and `status`. flock(2) would hold a lock
 * without write access, but the kernel cannot name its holder (F_GETLK does not see it), and
 * that name is what lets `stop` signal the right process without trusting the text: the
 * fcntl write lock is kept.
 */
#ifndef LUST_PIDFILE_H
#define LUST_PIDFILE_H

#include <sys/types.h>

#include <lust/common.h>

LUST_BEGIN_DECLS

/* An open, locked pid file. Opaque; made by lust_pidfile_open(), freed by lust_pidfile_release().
 */
struct lust_pidfile;

/* What the kernel says about a pid file, from lust_pidfile_query(). */
enum lust_pidfile_state {
    LUST_PIDFILE_NONE = 0,        /* no file at the path: not running */
    LUST_PIDFILE_RUNNING,         /* write lock held by a process whose pid we know */
    LUST_PIDFILE_RUNNING_UNKNOWN, /* write lock held, holder pid not visible (other pid
                                     namespace, OFD lock): running, pid never to be signalled */
    LUST_PIDFILE_FOREIGN,         /* a read lock held by some process: not a server of ours,
                                     yet it blocks start; never signalled */
    LUST_PIDFILE_STALE,           /* unlocked, with content: the server died without cleaning */
    LUST_PIDFILE_EMPTY            /* unlocked and empty: the server exited cleanly */
};

/**
 * lust_pidfile_open - create or take over the pid file at path, lock it, write our pid.
 *
 * Checks the directories above path (see above), opens path with
 * O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC, mode 0600 (the descriptor above 2), takes an fcntl write
 * lock without waiting, then truncates the file and writes "PID\n" (getpid()). A stale file
 * left by a dead server is taken over at once; a leftover file readable by group or others is
 * set to mode 0600. On success *out is the handle, holding the lock until
 * lust_pidfile_release() or the process exits.
 *
 * holder may be NULL. It is written only on -EEXIST.
 *
 * Returns 0, or -errno with lust_error() naming the path:
 *   -EINVAL  path or out is NULL;
 *   -EEXIST  another process holds the write lock; *holder is its pid as the kernel reports it,
 *            or 0 when the kernel cannot name it (pid namespace, OFD lock); also when this
 *            process already holds the file through a handle (*holder is then getpid());
 *   -EBUSY   another process holds a read lock on the file: not a server, but anyone who can
 *            open the file can do that, hence mode 0600;
 *   -EAGAIN  the file kept being replaced or removed while we tried to lock it;
 *   -EBADMSG the file holds something other than our format: left as it is;
 *   -ELOOP   path is a symbolic link (or a directory above it is one that others could
 *            replace);
 *   -EPERM   an existing file is not a regular file, is owned by someone other than root or the
 *            caller, has several links, or is writable by group or others; or a directory
 *            above it is owned by another user or writable by group or others;
 *   -ENOENT, -ENOTDIR a directory above it is missing (named in the sentence);
 *   -ENOMEM, or what open(2), fcntl(2), ftruncate(2), write(2) return.
 * *out is not written on failure. A loser never changes the file; a failure to write after
 * the lock was taken leaves it empty, which reads as "not running".
 *
 * Call it in the process that will hold the lock (locks are not inherited across fork).
 * Thread-safe: of several threads of one process opening the same path, one gets the handle and
 * the others -EEXIST. Not async-signal-safe.
 */
LUST_API int lust_pidfile_open(const char *path, struct lust_pidfile **out, pid_t *holder);

/**
 * lust_pidfile_fd - the descriptor that holds the lock.
 *
 * For fstat(2) or pread(2) of the file (never open the path: see above), and so that a loop
 * closing inherited descriptors can spare it (lust_log_setup() and lust_daemonize() spare it by
 * themselves). Never close it: use lust_pidfile_release(). Returns -1 (not -EINVAL, as in 1.0)
 * for a NULL handle. Async-signal-safe, thread-safe.
 */
LUST_API int lust_pidfile_fd(const struct lust_pidfile *pf);

/**
 * lust_pidfile_pid - the pid written in the file, that of the process holding the lock.
 *
 * Returns -1 (not -EINVAL, as in 1.0) for a NULL handle. Async-signal-safe, thread-safe.
 */
LUST_API pid_t lust_pidfile_pid(const struct lust_pidfile *pf);

/**
 * lust_pidfile_release - empty the pid file through the held descriptor, unlock, free.
 *
 * Works after chroot and after dropping privileges, when the path may no longer be reachable or
 * writable: the file is truncated through the descriptor opened as root, then closed, which
 * drops the lock. An empty unlocked file reads as LUST_PIDFILE_EMPTY, "not running" (LSB 3);
 * root's `stop` removes it with lust_pidfile_remove().
 *
 * In a process that does not hold the lock (a child forked after the open), only closes the
 * descriptor and frees the handle: the holder's file is left untouched.
 *
 * pf may be NULL (returns 0). The handle is freed whatever the result. Returns 0, or -errno
 * from ftruncate(2)/close(2) with lust_error() set. Thread-safe for distinct handles; not
 * async-signal-safe (it frees memory).
 */
LUST_API int lust_pidfile_release(struct lust_pidfile *pf);

/**
 * lust_pidfile_query - who holds the pid file at path, according to the kernel.
 *
 * For `status` and `stop`, usually run by root in a process of its own. Opens path with
 * O_RDONLY|O_NOFOLLOW|O_CLOEXEC and asks F_GETLK for a write lock; reads the text only to tell
 * our format from a file that is not ours, never to find a pid.
 * Returns an enum lust_pidfile_state (>= 0), or -errno with lust_error() set:
 *   -EINVAL  path is NULL;
 *   -EACCES  the caller may not open the file (a non-root user asking about root's file):
 *            "cannot tell", LSB 4;
 *   -EBADMSG nobody holds it and it holds something other than our format: not a pid file
 *            (LSB 4, cannot tell);
 *   -ELOOP   path is a symbolic link;
 *   -EPERM   the file is not a regular file, or is owned by someone other than root or the
 *            caller;
 *   or what lstat(2), open(2), fcntl(2), pread(2) return. A missing file is
 *   LUST_PIDFILE_NONE, not an error.
 *
 * holder may be NULL. It is written only when the result is LUST_PIDFILE_RUNNING, and then
 * always with a pid > 0 holding a write lock: the only kind of pid a caller may signal. It may
 * be the caller's own pid when the calling process holds the file through a handle (that case
 * is answered without opening the file, so the lock is kept). Between this call and a kill the
 * holder may exit and its pid be reused: re-check after pidfd_open(2).
 *
 * Modifies nothing. Thread-safe. Not async-signal-safe.
 */
LUST_API int lust_pidfile_query(const char *path, pid_t *holder);

/**
 * lust_pidfile_remove - unlink the pid file at path if no process holds it.
 *
 * For `stop`, after the server is gone. Takes the write lock itself (without waiting) before
 * unlinking, so a server starting at that moment either sees the file gone or keeps it.
 * Returns 0 when the file was removed or did not exist, or -errno with lust_error() set:
 *   -EINVAL  path is NULL;
 *   -EBUSY   a process holds a lock on it (including the calling process through a handle);
 *   -EBADMSG it holds something other than our format: not removed;
 *   -ELOOP, -EPERM as for lust_pidfile_open(); or what open(2), fcntl(2), unlink(2) return.
 * Thread-safe. Not async-signal-safe.
 */
LUST_API int lust_pidfile_remove(const char *path);

/* What lust_pidfile_stop() did (its non-negative results). Since liblust 1.2. */
enum lust_pidfile_stop_result {
    LUST_PIDFILE_NOT_RUNNING = 0, /* no process held the file; a stale or empty one was removed */
    LUST_PIDFILE_STOPPED = 1,     /* the holder exited after SIGTERM */
    LUST_PIDFILE_KILLED = 2       /* it outlived timeout_ms and was killed with SIGKILL */
};

/**
 * lust_pidfile_stop - stop the server holding the pid file at path, and remove the file.
 *
 * What an init script's `stop` does, in the way libdaemon's daemon_pid_file_kill_wait() does
 * it, but with the kernel's word on the holder: asks for the lock holder (never the file's
 * text), takes a pidfd for it and asks again (so a pid reused meanwhile is never signalled),
 * sends SIGTERM through the pidfd, waits up to timeout_ms for the process to be gone (a
 * negative timeout_ms waits without limit), then sends SIGKILL and waits up to 5 s more.
 * Without pidfds (Linux before 5.3, valgrind) it signals with kill() after the same check and
 * watches the lock instead. Then removes the file with lust_pidfile_remove(); a file that a
 * server starting meanwhile has locked is left to it.
 *
 * Returns an enum lust_pidfile_stop_result (>= 0), or -errno with lust_error() set:
 *   -EINVAL    path is NULL;
 *   -EBUSY     the file is locked by a process that cannot be named from here (another pid
 *              namespace, an OFD lock) or read-locked by one that is not a server: nothing
 *              is signalled;
 *   -EDEADLK   the calling process holds the file itself;
 *   -ETIMEDOUT the holder outlived SIGKILL by 5 s;
 *   -EPERM     not allowed to signal it; or what lust_pidfile_query() and
 *              lust_pidfile_remove() return (the server is then gone, the file is left).
 * pid may be NULL; otherwise it receives the holder's pid once one was found (also on the
 * errors after that). Blocks for up to timeout_ms + 5 s. Thread-safe; not for a signal
 * handler. Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API int lust_pidfile_stop(const char *path, int timeout_ms, pid_t *pid);

/**
 * lust_pidfile_lsb_status - the LSB `status` exit code for a lust_pidfile_query() result.
 *
 * 0 running (LUST_PIDFILE_RUNNING, LUST_PIDFILE_RUNNING_UNKNOWN); 1 dead with a pid file left
 * (LUST_PIDFILE_STALE); 3 not running (LUST_PIDFILE_NONE, LUST_PIDFILE_EMPTY); 4 cannot tell
 * (LUST_PIDFILE_FOREIGN, any negative errno such as -EACCES, any unknown value). Pure function:
 * async-signal-safe, thread-safe.
 */
LUST_API int lust_pidfile_lsb_status(int query_result);

LUST_END_DECLS

#endif
