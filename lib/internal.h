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
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* Arrays, not pointers: a table of pointers is relocated at load, into the page of read-only
 * relocated data that every daemon keeps dirty (one page while it stays under 4 KiB). */
struct lust__level {
    char name[8];  /* "debug": the config's log_level and lust_log_level_from_name() */
    char upper[8]; /* "DEBUG": how a log line shows it */
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
 * Whether log lines carry the time: the log's LUST_LOG_TIMESTAMPS_* (lib/log.c pins them) and
 * the config key log_timestamps ("no", "yes", "auto"), by the same numbers.
 */
enum { LUST__STAMPS_NO, LUST__STAMPS_YES, LUST__STAMPS_AUTO, LUST__STAMPS_MODES };

/*
 * lib/config.c: whether the config file itself sets key (1), rather than the default (0). The
 * framework makes a pid file and a control socket in the foreground only when asked to.
 */
struct lust_config;
LUST__HIDDEN int lust__config_file_sets(const struct lust_config *config, const char *key);

/* lib/config.c: SYSCONFDIR/NAME.conf in a new string (*path, freed by the caller); 0 or
 * -ENOMEM. For `NAME -h`, which names the file it reads. */
LUST__HIDDEN int lust__config_default_path(const char *name, char **path);

/* lib/config.c: one more reference to config, dropped by lust_config_release(). */
LUST__HIDDEN void lust__config_hold(struct lust_config *config);

/* lib/config.c: how many references config has now; for the tests of the holds. */
LUST__HIDDEN unsigned lust__config_refs(const struct lust_config *config);

/*
 * lib/fd.c. These return -errno and set no sentence: each caller names its own object.
 */

/*
 * Moves fd to a number above 2 (close-on-exec) when it took a closed stdio slot, so a later
 * dup2() onto 0..2 cannot overwrite it. Returns the descriptor to use (fd itself when it was
 * already above 2) or -errno, with fd closed either way when it moved or failed.
 */
LUST__HIDDEN int lust__fd_above_stdio(int fd);

/*
 * Opens /dev/null on each of 0, 1, 2 that is closed (a service manager or cron may start a
 * program so), so that no descriptor opened later can land there and be taken for stdio.
 * Returns 0 or -errno.
 */
LUST__HIDDEN int lust__fd_fill_stdio(void);

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
 * sentence set; *pid is written once a holder was found. *state (unless NULL) gets what
 * lust_pidfile_query() found first, so the caller needs no query of its own.
 */
LUST__HIDDEN int lust__pidfile_kill_wait(const char *path, int timeout_ms, pid_t *pid, int *state);

/*
 * lib/pidfile.c: lust_pidfile_query(), which on LUST_PIDFILE_RUNNING also hands over (unless
 * keep is NULL) the descriptor it asked the kernel through (*keep, close-on-exec, the caller
 * closes it), so the holder can be asked again without a second open.
 */
LUST__HIDDEN int lust__pidfile_query_fd(const char *path, pid_t *holder, int *keep);

/*
 * lib/pidfile.c: lust_pidfile_open(), where walk 0 leaves out the check of the directories
 * above the file, for a caller that has just made it (the framework's start, as root, moments
 * before in the process that forked this one: only root can have changed them since).
 */
struct lust_pidfile;
LUST__HIDDEN int lust__pidfile_open(const char *path, int walk, struct lust_pidfile **out,
                                    pid_t *holder);

/* lib/pidfile.c: the pid holding the write lock on the file open on fd now, 0 when none can be
 * named (unlocked, read-locked, another pid namespace), or -errno. */
LUST__HIDDEN pid_t lust__pidfile_holder(int fd);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
LUST__HIDDEN long long lust__now_ms(void);

/* The number of threads of this process (from /proc/self/task), or -errno. */
LUST__HIDDEN int lust__count_threads(void);

/*
 * In a ThreadSanitizer build, waits (at most 100 ms) for the thread the sanitizer's runtime
 * starts in a forked child to end, so that the threads in /proc/self/task are the program's.
 * Does nothing in any other build.
 */
LUST__HIDDEN void lust__runtime_settle(void);

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

/*
 * lib/path.c: a directory path walked from / one component at a time, each opened relative to
 * the one before (O_PATH, O_NOFOLLOW) and checked before the next is looked up: a directory,
 * owned by root, writable by neither group nor others. So nobody but root can have steered
 * the walk or swap what it found afterwards.
 */
#define LUST__WALK_SELF   0x1u /* a directory owned by the caller (euid) passes too */
#define LUST__WALK_STICKY 0x2u /* a sticky directory others may write passes, noted in sticky */
#define LUST__WALK_FOLLOW                                                                        \
    0x4u                       /* a symlink whose directory only root (or the caller) can write, \
                                  owned by root (or the caller), is followed: /var/run -> /run */
#define LUST__WALK_CREATE 0x8u /* a missing last component is made, mode 0755 */

struct lust__walk {
    char path[PATH_MAX];   /* the directory reached: no symlink, "." or ".." left in it */
    char sticky[PATH_MAX]; /* the first sticky, others-writable directory passed, or "" */
    int created;           /* LUST__WALK_CREATE made the last component */
    dev_t dev;             /* the directory reached, as its checks saw it */
    ino_t ino;
};

/*
 * Walks the directory dir[0..dirlen) (absolute). Returns an O_PATH descriptor of it (above 2,
 * close-on-exec), or -errno with the sentence "WHAT OBJ: ..." naming the component at fault:
 * -ENOENT / -ENOTDIR a component missing or not a directory, -ELOOP a symlink (not followed,
 * or one others could replace), -EPERM a directory owned by someone else or writable by group
 * or others, -EINVAL a relative path.
 */
LUST__HIDDEN int lust__walk_dir(const char *what, const char *obj, const char *dir, size_t dirlen,
                                unsigned flags, struct lust__walk *w);

/* The length of path's directory part ("/run" of "/run/x.pid", "/" of "/x"); 0 if none. */
LUST__HIDDEN size_t lust__dir_len(const char *path);

/*
 * lib/text.c: the length of the well-formed UTF-8 character at s (at most n bytes), or 0 when
 * s starts with a byte that must not reach a terminal or a log unescaped: a C0 control or DEL,
 * a C1 control (U+0080..U+009F: a lone 0x9b is CSI to an 8-bit terminal), an overlong form, a
 * surrogate, a code point past U+10FFFF, or a byte of a broken sequence.
 */
LUST__HIDDEN size_t lust__text_char(const unsigned char *s, size_t n);

/*
 * lib/pidfile.c: lust_pidfile_remove(), calling while_locked(arg) once the file is verified as
 * a pid file nobody holds and locked by this call, just before it is unlinked. The framework
 * removes the control socket there, so that a server starting meanwhile (which must take this
 * lock before it makes its socket) never loses its own.
 */
LUST__HIDDEN int lust__pidfile_remove_with(const char *path, void (*while_locked)(void *arg),
                                           void *arg);

/*
 * lib/log.c: lust_log_setup_fd() for a process lust_daemonize() has just made, where stdin is
 * /dev/null already and nothing but the kept descriptors is open: fd, a log file opened by
 * lust_log_open() (so regular and O_APPEND), goes onto stdout and stderr and is closed.
 * Returns 0 or -errno.
 */
LUST__HIDDEN int lust__log_take(int fd);

/* lib/notify.c: how many datagrams were dropped because the manager's socket was full. */
struct lust_notify;
LUST__HIDDEN unsigned long long lust__notify_dropped(const struct lust_notify *n);

/*
 * lib/config.c: whether root may trust the config file open on fd (named path): a regular file
 * owned by root or by the user running the command, writable by neither group nor others, as
 * sudo and logrotate require. Returns 0, or -EPERM with the reason.
 */
LUST__HIDDEN int lust__config_trusted(int fd, const char *path);
struct stat;
/* The same, for the file fstat() described in st. */
LUST__HIDDEN int lust__config_trusted_stat(const struct stat *st, const char *path);

/*
 * lib/config.c: lust_config_load(), where keep (unless NULL, and set to -1 by the caller)
 * receives the file's descriptor, still open (close-on-exec, at its end), when the file is a
 * regular one that loaded: the framework's start keeps it for SIGHUP instead of opening the
 * file a second time.
 */
struct cfg_opt_t;
LUST__HIDDEN int lust__config_load(const char *name, const char *path, const struct cfg_opt_t *opts,
                                   struct lust_config **out, int *keep);

/*
 * lib/privs_jail.c: lust_privs_jail_scan() of the jail open on fd (from lust_privs_jail_open),
 * so the tree scanned is the one that will be entered. path names it in sentences.
 */
LUST__HIDDEN int lust__privs_jail_scan_fd(int fd, const char *path, unsigned max_entries,
                                          unsigned max_ms);

/*
 * lib/privs_jail.c: lust_privs_jail_open(), and with create set a missing jail (its last
 * component only, once its parent passed the checks) is made, root's and mode 0755, as
 * systemd's RuntimeDirectory= does; *created (may be NULL) tells whether it was.
 */
LUST__HIDDEN int lust__privs_jail_open(const char *path, int create, int *out, int *created);

/*
 * lib/sandbox.c, for the config file's `unveil` entries and the framework. One "PATH:RIGHTS"
 * entry, split at its last ':' (a path may hold colons, rights never do), added to sb with
 * lust_sandbox_unveil(); 0 or -errno with its sentence.
 */
struct lust_sandbox;
LUST__HIDDEN int lust__sandbox_unveil_entry(struct lust_sandbox *sb, const char *entry);

/*
 * lib/sandbox.c: whether the calls of these promises (names separated by spaces) would run in
 * the process once sb is applied: no sandbox (NULL), mode off or log, no filter asked, a filter
 * the system could not give (best mode), or every one of them promised. The framework skips
 * what a filter would kill the daemon for.
 */
LUST__HIDDEN bool lust__sandbox_allows(const struct lust_sandbox *sb, const char *promises);

/*
 * lib/privs_unwind.c: lust_privs_prepare() (tzset, libgcc_s.so.1 loaded for good), where with
 * always 0 libgcc_s is loaded only if a loaded object imports a function that makes glibc load
 * it later (pthread_exit, pthread_cancel, thrd_exit, backtrace). The framework calls that just
 * before the jail, when the daemon's hooks have loaded what they load. Returns 0, or -ENOENT
 * with dlerror()'s text.
 */
LUST__HIDDEN int lust__privs_prepare(int always);

/* lib/privs_unwind.c: 1 when an object of this process imports one of names (NULL-ended). */
LUST__HIDDEN int lust__privs_imports(const char *const *names);

#endif
