/*
 * lust/config.h - the daemon's config file, read with libconfuse, standard keys built in.
 *
 * A daemon NAME reads SYSCONFDIR/NAME.conf (/etc/NAME.conf for the Debian package and for a
 * default source build) or a file named on its command line. The file is libconfuse syntax:
 *
 *     # /etc/web.conf
 *     user = www-data
 *     log_level = debug
 *     listen = {"127.0.0.1:8080", "[::1]:8080"}     # the daemon's own key
 *     backend "images" { path = "/srv/images" }     # the daemon's own section
 *
 * The standard keys, their defaults and what they accept:
 *
 *     user          "nobody"                the account the daemon drops to; not empty
 *     group         "nogroup"               its group; not empty
 *     jail          RUNSTATEDIR/NAME        chroot directory, an absolute path, or "none"
 *                                           (LUST_CONFIG_NO_JAIL) to run without a jail
 *     pidfile       RUNSTATEDIR/NAME.pid    absolute path
 *     logfile       LOCALSTATEDIR/log/NAME.log   absolute path
 *     control_socket RUNSTATEDIR/NAME.ctl   the server's control socket (`NAME reload`,
 *                                           `NAME reopen`), an absolute path of at most 96
 *                                           bytes, or "none" (LUST_CONFIG_NO_CONTROL); a NAME
 *                                           too long for that gets "none" as its default
 *     log_level     info                    debug, info, notice, warning (or warn) or error
 *                                           (or err), in any case
 *     log_timestamps auto                   whether log lines carry the date and time: yes,
 *                                           no (a supervisor stamps them: svlogd, s6-log,
 *                                           journald), or auto, no while stderr is
 *                                           journald's stream in the foreground; in any
 *                                           case, true and on for yes, false and off for no
 *     umask         027                     always read as octal digits, as the shell's
 *                                           umask command does: 027, 27 and "0027" all mean
 *                                           0027; at most 0777
 *     foreground    false                   stay in the foreground (for systemd, runit, ...)
 *     start_timeout 10                      seconds; 0 means no limit (as in systemd)
 *     stop_timeout  10                      seconds; 0 means no limit
 *
 * RUNSTATEDIR is /run, LOCALSTATEDIR /var and SYSCONFDIR /etc unless liblust was built with
 * other values (CMake cache variables LUST_RUNSTATEDIR, LUST_LOCALSTATEDIR, LUST_SYSCONFDIR;
 * see README.md). Timeouts are at most LUST_CONFIG_TIMEOUT_MAX seconds, so that the value in
 * milliseconds fits an int.
 *
 * The daemon's own keys are declared the libconfuse way and read with libconfuse's getters:
 *
 *     static cfg_opt_t backend_opts[] = { CFG_STR("path", NULL, CFGF_NODEFAULT), CFG_END() };
 *     static cfg_opt_t web_opts[] = {
 *         CFG_STR_LIST("listen", "{\"127.0.0.1:8080\"}", CFGF_NONE),
 *         CFG_SEC("backend", backend_opts, CFGF_MULTI | CFGF_TITLE),
 *         CFG_END()
 *     };
 *
 *     struct lust_config *conf;
 *     if (lust_config_load("web", path_from_argv_or_NULL, web_opts, &conf) < 0) {
 *         fprintf(stderr, "%s\n", lust_error());  // "/etc/web.conf:3: no such option 'lisen'"
 *         return 6;                               // LSB: not configured
 *     }
 *     cfg_t *cfg = lust_config_cfg(conf);
 *     for (unsigned i = 0; i < cfg_size(cfg, "listen"); i++)
 *         listen_on(cfg_getnstr(cfg, "listen", i));
 *     drop_to(lust_config_user(conf), lust_config_group(conf));
 *     lust_config_free(conf);
 *
 * Errors in the file come back as "FILE:LINE: what is wrong" in lust_error(): syntax errors,
 * unknown keys, values of the wrong type and values out of range. A config is loaded whole or
 * not at all, and nothing is printed. Comments (#, // and C-style) may stand anywhere a blank
 * may. libconfuse expands ${VAR} and ${VAR:-default} from the environment in values.
 *
 * This header includes <confuse.h> on purpose (pkg-config's lust.pc requires libconfuse): a
 * daemon declares its keys with libconfuse's macros and reads them with its getters.
 */
#ifndef LUST_CONFIG_H
#define LUST_CONFIG_H

#include <stdbool.h>
#include <sys/types.h>

#include <confuse.h>

#include <lust/common.h>

LUST_BEGIN_DECLS

/* The value of `jail` that disables the chroot. */
#define LUST_CONFIG_NO_JAIL "none"

/* The value of `control_socket` that disables the control socket. */
#define LUST_CONFIG_NO_CONTROL "none"

/* The largest start_timeout or stop_timeout accepted, in seconds (about 24 days). */
#define LUST_CONFIG_TIMEOUT_MAX 2147483

/* A loaded config: the libconfuse tree plus what liblust knows about it. Opaque. */
struct lust_config;

/**
 * lust_config_load - read the config of program NAME.
 *
 * NAME names the defaults (/etc/NAME.conf, /run/NAME.pid, ...): it must be non-empty, contain
 * no '/', and not be "." or "..". PATH is the file to read; NULL means the default
 * SYSCONFDIR/NAME.conf. OPTS is the daemon's own libconfuse option list, terminated by
 * CFG_END() (sections allowed), or NULL; liblust merges it with the standard keys and copies
 * it, so it need not outlive the call. Its names must not repeat a standard key or each other.
 *
 * A missing default file is not an error: the defaults apply and lust_config_notice() says so.
 * A missing file named in PATH is an error.
 *
 * The file is trusted only as sudo and logrotate trust theirs: it must be owned by root or by
 * the user running the program (the effective uid) and be writable by neither group nor
 * others; otherwise whoever can write it decides what root starts. A file pulled in by
 * libconfuse's include() (when the daemon declares CFG_FUNC("include", cfg_include), at the top
 * or in a section) is held to the same rule: "FILE:LINE: include: config F is writable ...",
 * -EINVAL.
 *
 * On success stores a new config in *out (free it with lust_config_free) and returns 0. Errors:
 * -EINVAL with "FILE:LINE: what is wrong" for a bad file, or with the reason for a bad NAME or
 * OPTS; -EPERM for a file root may not trust ("config F is writable by group or others (mode
 * 0664): refusing to trust it, as sudo and logrotate do"); -errno from open(2) or read(2) with
 * the path named (-ENOENT for a missing explicit file); -EFBIG for a file over 1 MiB; -ENOMEM.
 * *out is not written on failure.
 *
 * Thread-safe: libconfuse's scanner is global, so loads (and frees) in different threads take
 * turns on an internal lock. Do not call libconfuse's cfg_parse*() in another thread at the
 * same time. The daemon's own parse and validation callbacks in OPTS run under that lock and
 * must not load a config themselves. libconfuse's include() is not offered: a daemon that
 * declares it with CFG_FUNC gets libconfuse's handling of the included files.
 * Not async-signal-safe; after fork() in a multi-threaded program only if no other thread
 * could have been loading a config.
 */
LUST_API int lust_config_load(const char *name, const char *path, const cfg_opt_t *opts,
                              struct lust_config **out);

/**
 * lust_config_load_fd - read the config of program NAME from an open descriptor.
 *
 * As lust_config_load, but the text is read from FD, from its current offset to end of file
 * (a regular file, pipe or socket). FD stays open and belongs to the caller (the rule of
 * lust/error.h). PATH is only used
 * to name the file in messages and in lust_config_path(); NULL means the default path. This
 * serves a reload in a jailed daemon: root opens the file and hands the descriptor over.
 * The owner and mode checks of lust_config_load are the caller's to make on what it opened.
 * Errors and contexts as lust_config_load; -errno from read(2).
 */
LUST_API int lust_config_load_fd(const char *name, int fd, const char *path, const cfg_opt_t *opts,
                                 struct lust_config **out);

/**
 * lust_config_free - drop the reference lust_config_load() gave; the same as
 * lust_config_release().
 *
 * A config nobody else holds (every config, unless lust_server_config_hold() handed it out) is
 * freed, and strings obtained from it are invalid afterwards. NULL is accepted and ignored.
 * Any thread; not async-signal-safe.
 */
LUST_API void lust_config_free(struct lust_config *config);

/**
 * lust_config_release - drop one reference to a config; the last one frees it.
 *
 * A config is never changed once loaded, and counts its holders: lust_config_load() gives the
 * first reference, lust_server_config_hold() (lust/server.h) one more each time. After the
 * call the caller must not use the config, nor strings or sections obtained from it. NULL is
 * accepted and ignored. Any thread, including one other than the holder that took the
 * reference; not async-signal-safe (the last release frees memory and takes the lock
 * libconfuse's scanner needs). Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API void lust_config_release(struct lust_config *config);

/**
 * lust_config_cfg - the libconfuse tree, for cfg_getstr(), cfg_getint(), cfg_getsec() & co.
 *
 * Owned by CONFIG, and valid while a reference to it is held. libconfuse's getters only read,
 * so any number of threads may read the tree at once; do not modify it (the cfg_set*() and
 * cfg_add*() functions): other threads may be reading it, and the framework's configs are
 * shared. Values of CFG_SIMPLE_* options live in the daemon's own variables, which every load
 * writes: they are not part of a snapshot. Asking a getter for an undeclared key records the
 * sentence in lust_error() instead of printing it. Any thread; not async-signal-safe.
 */
LUST_API cfg_t *lust_config_cfg(const struct lust_config *config);

/* lust_config_name - the program name given at load. Never fails; thread-safe. */
LUST_API const char *lust_config_name(const struct lust_config *config);

/* lust_config_path - the file read, or the default file that was missing. Thread-safe. */
LUST_API const char *lust_config_path(const struct lust_config *config);

/**
 * lust_config_notice - something the operator should hear about, or NULL.
 *
 * Set when the default file was missing ("/etc/web.conf not found; using the defaults") and
 * for libconfuse's warnings (deprecated options); several notices are joined by newlines.
 * The library prints nothing: the caller decides whether to log it. Thread-safe.
 */
LUST_API const char *lust_config_notice(const struct lust_config *config);

/*
 * The standard keys, typed. Each never fails on a loaded config and is thread-safe; strings are
 * owned by CONFIG. Given a NULL config (lust_error() says so), the string getters and
 * lust_config_cfg(), _name(), _path() and _notice() return NULL, the int getters -EINVAL,
 * lust_config_foreground() false and lust_config_umask() (mode_t)-1, which is no mask.
 */

/* lust_config_user - the account to drop to (`user`). */
LUST_API const char *lust_config_user(const struct lust_config *config);

/* lust_config_group - the group to drop to (`group`). */
LUST_API const char *lust_config_group(const struct lust_config *config);

/* lust_config_jail - the chroot directory (`jail`), or NULL when it is "none". */
LUST_API const char *lust_config_jail(const struct lust_config *config);

/* lust_config_pidfile - the pid file's path (`pidfile`). */
LUST_API const char *lust_config_pidfile(const struct lust_config *config);

/* lust_config_logfile - the log file's path (`logfile`). */
LUST_API const char *lust_config_logfile(const struct lust_config *config);

/* lust_config_control - the control socket's path (`control_socket`), or NULL when "none".
 * Since liblust 1.1 (version node LUST_1.1). */
LUST_API const char *lust_config_control(const struct lust_config *config);

/**
 * lust_config_log_level - `log_level` as a syslog priority: LOG_DEBUG (7), LOG_INFO (6),
 * LOG_NOTICE (5), LOG_WARNING (4) or LOG_ERR (3), the values of <syslog.h>.
 *
 * Not a level for lust_log_set_level(): the log's LUST_LOG_* levels run the other way, and
 * lust_log_set_level(lust_config_log_level(c)) fails for debug, info and notice and swaps
 * warning and error. Use lust_config_log_threshold() for the log. Kept as it was in 1.0.
 */
LUST_API int lust_config_log_level(const struct lust_config *config);

/**
 * lust_config_log_threshold - `log_level` as a level of <lust/log.h>: LUST_LOG_DEBUG (0) ...
 * LUST_LOG_ERROR (4), ready for lust_log_set_level(). Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API int lust_config_log_threshold(const struct lust_config *config);

/**
 * lust_config_log_timestamps - `log_timestamps` as a mode of <lust/log.h>:
 * LUST_LOG_TIMESTAMPS_NO (0), _YES (1) or _AUTO (2), ready for lust_log_set_timestamps().
 * Since liblust 1.2 (version node LUST_1.2).
 */
LUST_API int lust_config_log_timestamps(const struct lust_config *config);

/* lust_config_umask - `umask`, between 0 and 0777. */
LUST_API mode_t lust_config_umask(const struct lust_config *config);

/* lust_config_foreground - `foreground`. */
LUST_API bool lust_config_foreground(const struct lust_config *config);

/* lust_config_start_timeout - `start_timeout` in seconds, 0 for no limit. */
LUST_API int lust_config_start_timeout(const struct lust_config *config);

/* lust_config_stop_timeout - `stop_timeout` in seconds, 0 for no limit. */
LUST_API int lust_config_stop_timeout(const struct lust_config *config);

LUST_END_DECLS

#endif
