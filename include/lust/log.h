/*
 * lust/log.h - a daemon's log: one call to set it up, whole lines from any thread, reopen for
 * logrotate.
 *
 * A line looks like
 *
 *     2026-11-26T18:31:35.123+00:00 INFO listening on 127.0.0.1:8080
 *
 * local time with milliseconds and the UTC offset (unless lust_log_set_timestamps() leaves the
 * time to a supervisor), the level, the message. Lines always go to
 * file descriptor 2. Before lust_log_setup(), and in foreground mode, that is the caller's
 * stderr and nothing is redirected or closed. lust_log_setup() with a path points stdout and
 * stderr at the log file, so the daemon's own printf() output and a crash message land in the
 * same file; lust_log_reopen() later swaps the file under descriptors 1 and 2 with dup2(), which
 * is atomic, so a thread logging at that moment writes either to the old file or to the new one,
 * never to a closed descriptor.
 *
 * Why no lock: each line is formatted in the caller's own stack buffer and handed to the kernel
 * in one write(2). The descriptor is opened with O_APPEND, and on Linux one write(2) to a
 * regular file opened O_APPEND moves to the end and copies the whole buffer under the inode's
 * lock, so lines from many threads (or processes) never interleave or overwrite each other. On
 * a pipe or socket the kernel only keeps writes of up to PIPE_BUF bytes (4096) whole, so when
 * descriptor 2 is not a regular file lines are cut to PIPE_BUF. Everything else the threads
 * share (the level threshold, the dropped-line counters) is a C11 atomic. The formatted second
 * and its UTC offset are cached per thread, so localtime_r() (which takes a glibc-wide lock) runs
 * at most once per second per thread.
 *
 * A message is one record, and safe to `cat` on a terminal: a newline inside it is written as
 * the two characters `\n` (a carriage return as `\r`, a tab as `\t`), every other control
 * byte (C0, DEL, and the C1 controls U+0080..U+009F, which some terminals obey) and every byte
 * of broken UTF-8 as `\xHH`; well-formed UTF-8 stays as it is. So one record is always one
 * line of the file, and no escape sequence from logged text (a config value, a client's
 * request) reaches the terminal of whoever reads the log. One trailing newline is dropped. A
 * backslash is not escaped, so the escaping is for reading, not for parsing back.
 * Messages up to LUST_LOG_MESSAGE_MAX bytes (after escaping) are written whole to a regular
 * file; longer ones, or longer than PIPE_BUF allows, are cut and end with LUST_LOG_CUT_MARKER.
 *
 * A line that cannot be written (ENOSPC, EIO, EFBIG, a log on /dev/full) is dropped and counted,
 * never retried in a loop; the next line that is written is preceded, in the same write(2), by
 * a WARNING line saying how many lines were lost. If the kernel wrote only part of a line, the
 * next line starts with a newline, so the fragment never glues onto a good line.
 *
 * No logging call changes errno, and `%m` in a format prints the caller's errno.
 *
 * Writing to a pipe or socket whose reader is gone raises SIGPIPE; the framework ignores
 * SIGPIPE, a daemon using this module alone should too. A pipe whose reader stops reading makes
 * write(2), hence the logging thread, wait, as it would for any stderr output.
 */
#ifndef LUST_LOG_H
#define LUST_LOG_H

#include <lust/common.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

LUST_BEGIN_DECLS

/*
 * Levels, lowest first. A line is written when its level is at least the threshold.
 *
 * These are not syslog's priorities, which run the other way (LOG_DEBUG 7 ... LOG_ERR 3, the
 * values lust_config_log_level() returns and journald reads). Both are ints, so a mix compiles
 * and goes wrong in silence: lust_log(LOG_INFO, ...) writes an ERROR line, and
 * lust_log_set_level(lust_config_log_level(c)) fails for debug, info and notice and turns
 * warning and error around. Give the log LUST_LOG_* values: lust_config_log_threshold() reads
 * the config key on this scale, and lust_log_level_from_syslog() / lust_log_level_to_syslog()
 * convert at the edges. The numbers are frozen (binaries built against liblust 1.0 carry them).
 */
#define LUST_LOG_DEBUG   0
#define LUST_LOG_INFO    1
#define LUST_LOG_NOTICE  2
#define LUST_LOG_WARNING 3
#define LUST_LOG_ERROR   4

/* Messages up to this many bytes (after escaping newlines) reach a regular file whole. */
#define LUST_LOG_MESSAGE_MAX 8192

/* What ends a message that was too long. */
#define LUST_LOG_CUT_MARKER "...[cut]"

/* Whether lines start with the date and time: lust_log_set_timestamps(). */
#define LUST_LOG_TIMESTAMPS_NO   0
#define LUST_LOG_TIMESTAMPS_YES  1
#define LUST_LOG_TIMESTAMPS_AUTO 2

#if defined(__GNUC__)
#define LUST_LOG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LUST_LOG_PRINTF(f, a)
#endif

/**
 * lust_log_open - open (create or append to) the log file and return its descriptor.
 *
 * Opens path with O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC|O_NOFOLLOW|O_NOCTTY, mode 0640 (less the
 * umask). Only a regular file is accepted (EPERM otherwise: a FIFO that someone holds open and
 * never reads would block every logging thread), and one with more than one hard link is
 * refused (EMLINK): a link planted to another file would otherwise be appended to as root. The
 * open does not block: a FIFO with no reader fails with ENXIO at once. The same checks apply to
 * lust_log_setup() and lust_log_reopen(), which open by path. The descriptor returned is 3 or
 * above. Nothing is redirected: this is for a caller that must open the file while it can (before a
 * fork, a chroot, a privilege drop) and install it later with lust_log_setup_fd(). On success
 * the path is also remembered for lust_log_reopen(). Calls tzset(), so the time zone is loaded
 * while /usr/share/zoneinfo is still reachable.
 *
 * Returns the descriptor, or -errno with the path named in lust_error(): ELOOP when path is a
 * symbolic link, EPERM when it is not a regular file, ENOENT, EACCES, EMLINK, ENAMETOOLONG...
 * Thread-safe. Not for a signal handler.
 */
LUST_API int lust_log_open(const char *path);

/**
 * lust_log_setup - send the log, stdout and stderr to a file, as a daemon does.
 *
 * Opens path as lust_log_open() does, then points stdout and stderr at it and stdin at
 * /dev/null, closes every descriptor from 3 up except the nkeep descriptors listed in keep
 * (keep may be NULL when nkeep is 0), and makes stdout line-buffered so printf() output lands
 * promptly. The descriptors liblust itself holds are kept whether listed or not: the report
 * channel of lust_daemonize() (lust_daemon_report_fd()), each open pid file handle
 * (lust_pidfile_fd()) and notify connection (lust_notify_fd()); before liblust 1.2 a keep list
 * that forgot one closed it. Closing uses close_range(2), or /proc/self/fd on kernels before 5.9.
 * Calls tzset() first, so timestamps keep the right zone after a later chroot. The path is
 * remembered for lust_log_reopen().
 *
 * With path NULL (foreground mode) nothing is opened, redirected or closed: lines go to the
 * current stderr. If stderr is the stream journald gave the service (JOURNAL_STREAM names its
 * device and inode), each line is prefixed with the sd-daemon priority `<N>` so journald records
 * the level (and carries no time under LUST_LOG_TIMESTAMPS_AUTO: journald stamps it).
 *
 * Returns 0, or -errno with the path named in lust_error() (-EINVAL for a NULL keep with nkeep
 * > 0). On failure nothing has changed: no descriptor is closed or redirected and the
 * remembered path is the old one. Call it while the
 * process has one thread (descriptors other threads use would be closed under them); safe in a
 * child after fork(). Not for a signal handler.
 */
LUST_API int lust_log_setup(const char *path, const int *keep, size_t nkeep);

/**
 * lust_log_setup_fd - lust_log_setup() with a descriptor opened earlier by lust_log_open().
 *
 * Does what lust_log_setup() does after opening the file. Takes fd, on success only (the rule
 * of lust/error.h): on success it is closed (its file stays open as stdout and stderr) unless
 * it is listed in keep, which hands it back; on failure it is left open and nothing else has
 * changed. O_APPEND is set on it if missing.
 *
 * Returns 0, or -errno: EBADF when fd is not open, EINVAL for a NULL keep with nkeep > 0, or
 * the error opening /dev/null. Same contexts as lust_log_setup().
 */
LUST_API int lust_log_setup_fd(int fd, const int *keep, size_t nkeep);

/**
 * lust_log_reopen - point the log at a fresh file with the same path.
 *
 * For logrotate: after the old file was renamed, the next line goes to a new file at the
 * remembered path (from lust_log_setup() or lust_log_open()). The new file replaces stdout and
 * stderr with dup2(), so threads logging meanwhile lose no line and never write to a closed
 * descriptor: each of their lines is whole in either the old or the new file. Before setup and
 * in foreground mode there is no path and it does nothing.
 *
 * After chroot or a privilege drop the path may no longer be reachable: then the side that still
 * can (root, outside the jail) opens the file and hands the descriptor to lust_log_reopen_fd(),
 * or the rotation uses logrotate's copytruncate, which O_APPEND makes safe.
 *
 * Returns 0, or -errno with the path in lust_error(); on failure the old file stays in use.
 * -ENOMEM when the path could not be remembered at setup for want of memory.
 * Thread-safe, callable while other threads log. Not for a signal handler.
 */
LUST_API int lust_log_reopen(void);

/**
 * lust_log_reopen_fd - point the log, stdout and stderr at an already opened descriptor.
 *
 * As lust_log_reopen(), with a descriptor opened elsewhere (for instance by root outside the
 * jail and passed over a unix socket). Takes fd, on success only (the rule of lust/error.h):
 * closed on success unless it is 0, 1 or 2 (then it is the log itself), left open on failure.
 * O_APPEND is set on it if missing. Returns 0 or -errno
 * (EBADF when fd is not open). Thread-safe. Not for a signal handler.
 */
LUST_API int lust_log_reopen_fd(int fd);

/**
 * lust_log_set_level - set the threshold: lines below level are not written.
 *
 * level is a LUST_LOG_* value, not a syslog priority (convert one with
 * lust_log_level_from_syslog()). The default is LUST_LOG_INFO (debug lines are off). Returns 0,
 * or -EINVAL for an unknown level (with the number in lust_error()). Thread-safe, takes effect
 * for the next line of every thread. Async-signal-safe when level is valid (an atomic store).
 */
LUST_API int lust_log_set_level(int level);

/**
 * lust_log_get_level - the current threshold. Thread-safe, async-signal-safe.
 */
LUST_API int lust_log_get_level(void);

/**
 * lust_log_set_timestamps - whether lines start with the date and time.
 *
 * LUST_LOG_TIMESTAMPS_YES (the default, as in liblust 1.0 and 1.1) writes
 * `2026-11-26T18:31:35.123+00:00 INFO message`; LUST_LOG_TIMESTAMPS_NO writes `INFO message`,
 * for a supervisor that stamps each line itself (runit's svlogd -t, s6-log t, journald), which
 * would otherwise record two times; LUST_LOG_TIMESTAMPS_AUTO writes no time while the lines go
 * to journald's stream (lust_log_setup() with a NULL path found JOURNAL_STREAM naming stderr,
 * and lines carry the `<N>` prefix), and the time otherwise: to a log file, a terminal, a pipe.
 * The framework sets it from the config key log_timestamps (default auto).
 *
 * Returns 0, or -EINVAL for another mode (with the number in lust_error()). Thread-safe, takes
 * effect for the next line of every thread. Async-signal-safe when mode is valid (an atomic
 * compare-and-swap). Since liblust 1.2 (LUST_1.2).
 */
LUST_API int lust_log_set_timestamps(int mode);

/**
 * lust_log_level_from_name - the level named "debug", "info", "notice", "warning" (or "warn")
 * or "error" (or "err"), in any case: the names the config key log_level accepts.
 *
 * Returns the level, or -EINVAL with the name quoted in lust_error(). Thread-safe.
 */
LUST_API int lust_log_level_from_name(const char *name);

/**
 * lust_log_level_from_syslog - the LUST_LOG_* level for a syslog priority of <syslog.h>.
 *
 * LOG_DEBUG (7) gives LUST_LOG_DEBUG, LOG_INFO LUST_LOG_INFO, LOG_NOTICE LUST_LOG_NOTICE,
 * LOG_WARNING LUST_LOG_WARNING, and LOG_ERR (3) as well as LOG_CRIT, LOG_ALERT and LOG_EMERG
 * give LUST_LOG_ERROR (the log has nothing above error). Returns the level, or -EINVAL for a
 * number outside 0..7, with the number in lust_error(). Thread-safe, async-signal-safe for a
 * valid priority. Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API int lust_log_level_from_syslog(int priority);

/**
 * lust_log_level_to_syslog - the syslog priority for a LUST_LOG_* level.
 *
 * LUST_LOG_DEBUG gives LOG_DEBUG (7) ... LUST_LOG_ERROR gives LOG_ERR (3), the values
 * lust_config_log_level() returns. Returns the priority, or -EINVAL for an unknown level.
 * Thread-safe, async-signal-safe for a valid level. Since liblust 1.2 (LUST_1.2).
 */
LUST_API int lust_log_level_to_syslog(int level);

/**
 * lust_log_level_name - "DEBUG", "INFO", "NOTICE", "WARNING" or "ERROR", as in a log line; NULL
 * for an unknown level. Thread-safe, async-signal-safe.
 */
LUST_API const char *lust_log_level_name(int level);

/**
 * lust_log - write one line at level, the message formatted as printf() does.
 *
 * level is a LUST_LOG_* value. Nothing is written when level is below the threshold; a level
 * above LUST_LOG_ERROR counts as an error, so a syslog priority such as LOG_INFO (6) given by
 * mistake logs as an error (see the levels above). A NULL fmt writes nothing. Never fails visibly
 * and never changes errno: a line that cannot be written is counted (lust_log_dropped()). One
 * write(2) per line. Thread-safe without a lock. Not async-signal-safe (it formats with vsnprintf
 * and may call localtime_r); in a child forked from a multi-threaded process use it only after exec
 * or where the parent logged the same second (the cache then avoids glibc's time zone lock).
 */
LUST_API void lust_log(int level, const char *fmt, ...) LUST_LOG_PRINTF(2, 3);

/**
 * lust_log_v - lust_log() with a va_list. Same behaviour and contexts.
 */
LUST_API void lust_log_v(int level, const char *fmt, va_list ap) LUST_LOG_PRINTF(2, 0);

/**
 * lust_log_dropped - how many lines could not be written since the process started.
 *
 * Counts lines dropped by a failed or partial write(2); filtered lines are not counted.
 * Thread-safe, async-signal-safe.
 */
LUST_API uint64_t lust_log_dropped(void);

LUST_END_DECLS

#endif
