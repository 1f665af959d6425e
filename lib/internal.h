/*
 * lib/internal.h - helpers shared by liblust's modules; never installed.
 *
 * Everything here is hidden: the library is compiled with -fvisibility=hidden and these names
 * use the lust__ prefix, which no entry of lib/liblust.map can match, so even a mistake in the
 * map could not export them. The leaves (log, pidfile, daemon, privs, config, notify) never
 * include each other's headers; what two of them need lives here once (lib/error.c for the
 * sentences, lib/fd.c for descriptors, threads and processes).
 */
#ifndef LUST_INTERNAL_H
#define LUST_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define LUST__HIDDEN       __attribute__((visibility("hidden")))
#define LUST__PRINTF(f, a) __attribute__((format(printf, f, a)))

/*
 * Record the sentence for lust_error() and return -err, so a failure reads
 *     return lust__fail(errno, "pid file %s", path);
 * When err is non-zero, ": strerror(err)" is appended. errno is left as it was.
 */
LUST__HIDDEN int lust__fail(int err, const char *fmt, ...) LUST__PRINTF(2, 3);

/* The same, without the ": strerror(err)" suffix, for sentences that say it all. */
LUST__HIDDEN int lust__fail_plain(int err, const char *fmt, ...) LUST__PRINTF(2, 3);

/* lust__fail() with a va_list; with_strerror chooses between the two forms above. */
LUST__HIDDEN int lust__vfail(int err, int with_strerror, const char *fmt, va_list ap)
    LUST__PRINTF(3, 0);

/*
 * The argument check at every public entry, as sd-daemon's assert_return(): when cond is false
 * (a NULL handle or path, say), records "FUNCTION: bad argument (expected COND)" and returns
 * ret, which
 * is -EINVAL unless the function returns a pointer (NULL) or its header says otherwise. Never
 * a crash. Functions documented as async-signal-safe check quietly instead (no sentence).
 */
#define LUST__REQUIRE(cond, ret)                                                         \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            lust__fail_plain(EINVAL, "%s: bad argument (expected %s)", __func__, #cond); \
            return ret;                                                                  \
        }                                                                                \
    } while (0)

/* Forget the calling thread's sentence, so a caller can tell whether a callee set one. */
LUST__HIDDEN void lust__error_clear(void);

/*
 * lib/level.c: the one table of log levels. Its index is the log's level, whose public values
 * (LUST_LOG_DEBUG 0 ... LUST_LOG_ERROR 4) liblust 1.0 froze; lib/log.c pins the two together.
 */
enum { LUST__DEBUG, LUST__INFO, LUST__NOTICE, LUST__WARNING, LUST__ERROR, LUST__LEVELS };

struct lust__level {
    const char *name;  /* "debug": the config's log_level and lust_log_level_from_name() */
    const char *upper; /* "DEBUG": how a log line shows it */
    size_t upper_len;
    int syslog; /* the <syslog.h> priority: LOG_DEBUG (7) ... LOG_ERR (3) */
};

LUST__HIDDEN extern const struct lust__level lust__levels[LUST__LEVELS];

/* What a sentence offers when a level name is unknown. */
#define LUST__LEVEL_NAMES "debug, info, notice, warning (warn) or error (err)"

/* The level named name, in any case, aliases included; -1 for NULL or an unknown name. */
LUST__HIDDEN int lust__level_parse(const char *name);

/* The level of a syslog priority (emerg, alert and crit count as error), or -1. */
LUST__HIDDEN int lust__level_from_syslog(int priority);

/*
 * lib/config.c: whether the config file itself sets key (1), rather than the default (0). The
 * framework makes a pid file and a control socket in the foreground only when asked to.
 */
struct lust_config;
LUST__HIDDEN int lust__config_file_sets(const struct lust_config *config, const char *key);

/* lib/config.c: SYSCONFDIR/NAME.conf in a new string (*path, freed by the caller); 0 or
 * -ENOMEM. For `NAME -h`, which names the file it reads. */
LUST__HIDDEN int lust__config_default_path(const char *name, char **path);

/*
 * lib/fd.c. These return -errno and set no sentence: each caller names its own object.
 */

/*
 * Moves fd to a number above 2 (close-on-exec) when it took a closed stdio slot, so a later
 * dup2() onto 0..2 cannot overwrite it. Returns the descriptor to use (fd itself when it was
 * already above 2) or -errno, with fd closed either way when it moved or failed.
 */
LUST__HIDDEN int lust__fd_above_stdio(int fd);

/* /dev/null opened read-write, close-on-exec, above 2. Returns the descriptor or -errno. */
LUST__HIDDEN int lust__devnull(void);

/*
 * Descriptors the library itself holds (the daemon's report channel, a pid file's lock, a
 * notify socket): registered when opened, unregistered just before the library closes them.
 * lust__close_all_except() keeps them whatever the caller's list says, so a caller's keep list
 * that forgets one cannot drop a lock or cut a channel. The file's device and inode are
 * remembered, so a number the caller closed and the kernel gave to another file is not kept.
 * Async-signal-safe and usable after fork (atomics, no lock); a full registry (64 entries)
 * keeps nothing more rather than fail.
 */
LUST__HIDDEN void lust__fd_own(int fd);
LUST__HIDDEN void lust__fd_disown(int fd);

/*
 * Closes every descriptor above 2 except those listed (entries below 3 are ignored; the list
 * is not changed) and those the library owns (above). close_range() over the gaps; without it
 * (kernels before 5.9) the numbers /proc/self/fd lists. Returns 0, or -errno when neither way
 * works: the caller must not go on believing the descriptors are closed.
 */
LUST__HIDDEN int lust__close_all_except(const int *keep, size_t nkeep);

/*
 * lib/pidfile_stop.c: lust_pidfile_stop() without the removal of the file, for the framework's
 * `stop`, which removes the file itself (with what else goes with it). Returns
 * LUST_PIDFILE_NOT_RUNNING, LUST_PIDFILE_STOPPED or LUST_PIDFILE_KILLED, or -errno with the
 * sentence set; *pid is written once a holder was found.
 */
LUST__HIDDEN int lust__pidfile_kill_wait(const char *path, int timeout_ms, pid_t *pid);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
LUST__HIDDEN long long lust__now_ms(void);

/* The number of threads of this process (from /proc/self/task), or -errno. */
LUST__HIDDEN int lust__count_threads(void);

/* A pidfd for pid (close-on-exec), or -errno (-ENOSYS before Linux 5.3, -ESRCH: gone). */
LUST__HIDDEN int lust__pidfd_open(pid_t pid);

/* Sends sig through a pidfd. Returns 0 or -errno (-ESRCH: the process has exited). */
LUST__HIDDEN int lust__pidfd_signal(int pidfd, int sig);

/*
 * Waits up to timeout_ms (-1: no limit) for the process behind a pidfd to exit. Returns 1 when
 * it has, 0 at the timeout, or -errno.
 */
LUST__HIDDEN int lust__pidfd_wait(int pidfd, int timeout_ms);

/*
 * Reads fd from where it stands to its end into a new NUL-terminated buffer (*text, freed by
 * the caller; *len excludes the NUL). More than max bytes is -EFBIG. Returns 0 or -errno; on
 * failure *text is not written.
 */
LUST__HIDDEN int lust__read_all(int fd, size_t max, char **text, size_t *len);

#endif
