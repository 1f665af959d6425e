/*
 * lust/privs.h - look the target user up, lock the process in a jail, drop root for good.
 *
 * The order matters and is the caller's to keep, because each step needs something the next
 * one takes away:
 *
 *     struct lust_creds *creds;
 *     int jail;
 *     lust_privs_lookup("nobody", NULL, 0, &creds);    // NSS reads /etc: before the jail
 *     lust_privs_prepare();                             // tzset, libgcc_s: before the jail
 *     lust_privs_jail_open("/run/web", &jail);          // checked while / is real
 *     ... daemonize, open what must be opened as root ...
 *     lust_privs_jail_enter(jail);                      // fchdir + chroot(".") + chdir("/")
 *     ... bind low ports ...
 *     lust_privs_drop(creds, 0);                        // groups, gid, uid; then verified
 *     lust_creds_free(creds);
 *
 * Each call returns 0 or -errno with lust_error() naming the user, group or path. None of them
 * prints or exits.
 */
#ifndef LUST_PRIVS_H
#define LUST_PRIVS_H

#include <lust/common.h>

LUST_BEGIN_DECLS

/* A resolved user, group and supplementary group list. Opaque; free with lust_creds_free(). */
struct lust_creds;

/* lust_privs_lookup() flag: the supplementary groups are the user's own (getgrouplist(3)). */
#define LUST_PRIVS_USER_GROUPS 0x1u

/* lust_privs_drop() flag: keep CAP_NET_BIND_SERVICE (and only it) across the drop. */
#define LUST_PRIVS_KEEP_NET_BIND_SERVICE 0x1u

/**
 * lust_privs_lookup - resolve the user (and group) a daemon will run as, through NSS.
 *
 * user is a name, or a number when no user has that name ("65534"). group is a name or a
 * number, or NULL for the user's primary group. The supplementary groups are none unless flags
 * has LUST_PRIVS_USER_GROUPS, which takes the user's own list from the group database.
 * Must run before any chroot: NSS modules read /etc and are loaded on first use.
 *
 * On success *out is a new handle. Errors (*out untouched, nothing else changed):
 *   -ENOENT  `user "nobdy" not found`, `group "staf" not found`, or a numeric user without a
 *            passwd entry when its primary group or its own groups are needed;
 *   -EINVAL  NULL or empty name, NULL out, or unknown flag; or root: uid 0, gid 0, or group 0
 *            among the supplementary groups (`user "root" is uid 0: refusing to run as root`),
 *            since a drop to root is no drop (refused here, before anything forks);
 *   -ENOMEM; or the errno NSS reported.
 * Thread-safe (reentrant NSS calls). Not async-signal-safe.
 */
LUST_API int lust_privs_lookup(const char *user, const char *group, unsigned flags,
                               struct lust_creds **out);

/**
 * lust_creds_free - free a handle from lust_privs_lookup(); NULL is accepted.
 * Any thread, once no other thread uses the handle; not async-signal-safe.
 */
LUST_API void lust_creds_free(struct lust_creds *creds);

/**
 * lust_creds_uid - the resolved user id; (unsigned)-1, no id at all, for a NULL creds.
 * A handle never changes: any thread, any number at once; async-signal-safe for a valid
 * handle (a NULL one formats a sentence for lust_error()).
 */
LUST_API unsigned lust_creds_uid(const struct lust_creds *creds);

/**
 * lust_creds_gid - the resolved primary group id; (unsigned)-1 for a NULL creds. Any thread;
 * async-signal-safe for a valid handle.
 */
LUST_API unsigned lust_creds_gid(const struct lust_creds *creds);

/**
 * lust_creds_groups - the supplementary groups the drop will set.
 *
 * Copies up to max ids into groups (which may be NULL when max is 0) and returns how many
 * there are in all, so a first call with max 0 sizes the array. -EINVAL for a NULL creds, or
 * a NULL groups with max > 0. Any thread; async-signal-safe for valid arguments.
 */
LUST_API int lust_creds_groups(const struct lust_creds *creds, unsigned *groups, unsigned max);

/**
 * lust_privs_prepare - load, while / is still real, what glibc would otherwise load later.
 *
 * Calls tzset(), so local times in the jail keep the zone from TZ or /etc/localtime, and loads
 * libgcc_s.so.1 for good (glibc dlopens it the first time a thread exits or is cancelled;
 * inside an empty jail that fails and aborts the process). Call it before the chroot, once.
 * Returns 0, or -errno with the dlopen error in lust_error(). Thread-safe.
 */
LUST_API int lust_privs_prepare(void);

/**
 * lust_privs_jail_open - open a jail directory after checking the whole path to it.
 *
 * path must be absolute, without "." or ".." components. Each component, from "/" to the jail
 * itself, is opened with O_NOFOLLOW relative to the previous one and must be a directory owned
 * by root and writable by neither group nor others; no symlink is followed anywhere. A
 * world-writable sticky directory such as /tmp is refused too, even when owned by root, as
 * OpenSSH's ChrootDirectory does: put jails under /run, /var/lib or /srv. Then, from
 * /proc/self/mountinfo: the jail must not be "/" (nor a bind mount of it), must not lie on a
 * pseudo filesystem, and none may be mounted below it. The pseudo filesystems are procfs
 * (whose /proc/PID/root of any process of the same user leads back to the real /), sysfs,
 * devtmpfs, devpts, cgroup and cgroup2, debugfs, tracefs, securityfs, configfs, bpf, pstore,
 * efivarfs, fusectl, binfmt_misc, selinuxfs and nsfs.
 *
 * On success *fd is an O_PATH, close-on-exec descriptor (above 2) for lust_privs_jail_enter(),
 * which enters only a directory checked here (its device and inode are remembered). The caller
 * owns the descriptor until lust_privs_jail_enter() takes it. Errors (*fd untouched):
 *   -EINVAL  "jail x: not an absolute path without . or .. components", or fd is NULL;
 *            "jail /: the root directory is no jail",
 *            "jail /proc: lies on the proc filesystem mounted at /proc";
 *   -ENOENT  "jail /x: No such file or directory" (or the component that is missing);
 *   -ENOTDIR "jail /x: not a directory" (or "jail /x: component /a is not a directory");
 *   -ELOOP   "jail /x: component /x/l is a symlink";
 *   -EPERM   "jail /a/b: directory /a is owned by uid 1000, not root",
 *            "jail /a/b: directory /a/b is writable by group or others (mode 0775)",
 *            "jail /a/b: a proc filesystem is mounted at /a/b/proc";
 *   -ENOMEM, or another open/fstat/read errno (/proc/self/mountinfo must be readable).
 * Thread-safe.
 */
LUST_API int lust_privs_jail_open(const char *path, int *fd);

/**
 * lust_privs_jail_scan - look inside a jail for what would make it unsafe.
 *
 * Walks the tree under path (no symlink followed) and reports the first offender among:
 * a device node, a set-uid or set-gid regular file, an etc/passwd that defines uid 0.
 * Stops after max_entries entries or max_ms milliseconds (0: no limit).
 * Returns 0 when clean. Errors:
 *   -EPERM  "jail /x: device node /x/dev/sda", "jail /x: set-uid or set-gid file /x/bin/su",
 *           "jail /x: /x/etc/passwd defines uid 0";
 *   -E2BIG  more than max_entries entries; -ETIME  past max_ms; -EINVAL  path is NULL;
 *   or the errno of an open or read that failed, naming the path.
 * Thread-safe.
 */
LUST_API int lust_privs_jail_scan(const char *path, unsigned max_entries, unsigned max_ms);

/**
 * lust_privs_jail_enter - chroot into a directory opened by lust_privs_jail_open().
 *
 * First checks that fd is a directory lust_privs_jail_open() checked (the device and inode it
 * remembered; a dup() of that descriptor is the same directory): a jail descriptor closed by
 * a keep list that forgot it, its number then reused for another file or directory, is
 * refused rather than entered (before liblust 1.2 any directory was entered). Then
 * fchdir(fd), chroot("."), chdir("/"), checks that "/" is that directory and closes fd, so no
 * descriptor pointing outside the jail is left by this call (the caller must not keep any
 * other directory descriptor from outside: openat(fd, "..") would leave the jail).
 * Needs CAP_SYS_CHROOT (root).
 *
 * The descriptor follows the rule for descriptors passed in (see lust/error.h): taken on
 * success only. Returns 0 with fd closed; on failure -errno, the root and the working
 * directory as they were, and fd still open (the caller closes it):
 *   -EBADF   fd is not open, or not a jail that lust_privs_jail_open() checked;
 *   -ENOTDIR fd is not a directory;
 *   -EPERM   "chroot /x: Operation not permitted"; or the errno of fchdir/chroot.
 * Affects the whole process; call it while no other thread uses relative paths.
 */
LUST_API int lust_privs_jail_enter(int fd);

/**
 * lust_privs_drop - become the looked-up user for good, then prove it.
 *
 * As root: setgroups(), setresgid(), setresuid() through the libc wrappers (which change every
 * thread of the process), PR_SET_NO_NEW_PRIVS in the calling thread, then verifies: the three uids
 * and gids are the target, getgroups() is the list asked for, setuid(0), seteuid(0) (the libc
 * makes it setresuid(-1, 0, -1)), setgid(0), setegid(0) and setgroups() all fail, the calling
 * thread's effective, permitted and ambient capability sets are empty (or exactly
 * CAP_NET_BIND_SERVICE with LUST_PRIVS_KEEP_NET_BIND_SERVICE), and, when /proc is reachable,
 * every thread in /proc/self/task shows the target ids, those capabilities and NoNewPrivs 1.
 * (Inside a jail without /proc only the calling thread can be examined; threads created after
 * lust_daemonize() inherit NO_NEW_PRIVS, and the libc wrappers keep ids equal.)
 *
 * Not root: returns 0 when the process already runs as the target uid and gid (nothing to do),
 * otherwise -EPERM (`cannot become user "x" (uid N): not running as root`), never a silent
 * non-drop. Refuses (-EINVAL) a target uid of 0, and (-EBUSY) keeping a capability while
 * more than one thread runs (capabilities are per thread).
 *
 * A refused setgroups, setresgid or setresuid (-EPERM "setgroups for user "x": ..." in a user
 * namespace that denies setgroups, say) is undone: groups and gids are put back and the process
 * is as it was. A failed verification (-EPERM `privilege drop to user "x" not verified: ...`)
 * leaves the process in an unknown state: exit.
 */
LUST_API int lust_privs_drop(const struct lust_creds *creds, unsigned flags);

LUST_END_DECLS

#endif
