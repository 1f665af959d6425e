/*
 * lust/sandbox.h - pledge and unveil for Linux daemons: a kernel-enforced sandbox.
 *
 * A daemon says once which kinds of system calls it will make ("promises", enforced by a seccomp
 * filter) and which paths it will open ("unveil" rules, enforced by Landlock); after that the
 * kernel refuses the rest, so a compromised daemon cannot open a shell, read other files, or
 * reach the network it never used. Usable without the framework:
 *
 *     struct lust_sandbox *sb;
 *     lust_sandbox_new(&sb);
 *     lust_sandbox_promise(sb, "stdio inet rpath");
 *     lust_sandbox_unveil(sb, "/data", "r");        // as seen after the chroot
 *     lust_sandbox_allow_bind(sb, 8080);
 *     lust_sandbox_prepare(sb);                     // real /: asks the kernel what it offers
 *     ... daemonize, jail ...
 *     lust_sandbox_lock_privs(sb);                  // still root: bounding set, securebits
 *     lust_privs_drop(creds, 0);
 *     lust_sandbox_apply(sb);                       // last, before serving: Landlock, seccomp
 *     printf("%s\n", lust_sandbox_report(sb));      // what this kernel could not enforce
 *     lust_sandbox_free(sb);                        // the sandbox stays; only the handle goes
 *
 * The server framework (lust/server.h) does these steps for a daemon whose config has the keys
 * sandbox, promises and unveil (lust/config.h).
 *
 * Each step needs what the next one takes away: prepare needs the real / (it reads what the
 * kernel offers; no library is loaded: liblust compiles the filter itself, from its build's
 * table of system calls); lock_privs needs CAP_SETPCAP, which the drop removes; apply opens the
 * unveiled paths, so it runs where they will be seen (inside the jail), and comes after the drop
 * because the filter forbids the calls the drop makes.
 *
 * Modes (lust_sandbox_set_mode):
 *   LUST_SANDBOX_REQUIRE  (the default) refuses, with a sentence in lust_error(), when the kernel
 *                         lacks what was explicitly asked: a seccomp filter for promises,
 *                         Landlock for unveil rules, Landlock ABI 4 for port lists.
 *   LUST_SANDBOX_BEST     applies what the kernel has; lust_sandbox_report() says what was not.
 *   LUST_SANDBOX_LOG      as BEST, but a call outside the promises is allowed and logged
 *                         instead of killing the process: for writing the promise list.
 *   LUST_SANDBOX_OFF      every step does nothing and succeeds.
 *
 * Promises. The filter allows exactly the calls of the promised groups; "stdio" is always in.
 * Names of calls that an architecture lacks (open, stat on arm64) are skipped there.
 *
 *   stdio   I/O on open descriptors: read write readv writev pread64 pwrite64 preadv pwritev
 *           preadv2 pwritev2 lseek close close_range dup dup2 dup3 fcntl fstat fstatfs fsync
 *           fdatasync ftruncate fallocate flock getdents getdents64 fchdir sendmsg recvmsg sendto
 *           recvfrom sendmmsg recvmmsg shutdown; pipe pipe2 eventfd eventfd2 memfd_create,
 *           socketpair(AF_UNIX); poll ppoll select pselect6 epoll_create epoll_create1 epoll_ctl
 *           epoll_wait epoll_pwait epoll_pwait2; memory: brk mmap munmap mremap mprotect madvise
 *           msync mincore mlock munlock; futex futex_waitv set_robust_list get_robust_list rseq
 *           set_tid_address; time: clock_gettime clock_getres clock_nanosleep nanosleep
 *           gettimeofday time getitimer setitimer alarm timer_create timer_settime timer_gettime
 *           timer_getoverrun timer_delete timerfd_create timerfd_settime timerfd_gettime;
 *           signals: rt_sigaction (not installing a SIGSYS handler, unless "exec"),
 *           rt_sigprocmask rt_sigreturn rt_sigpending rt_sigsuspend rt_sigtimedwait sigaltstack
 *           signalfd signalfd4 restart_syscall pause, and kill tgkill rt_sigqueueinfo
 *           rt_tgsigqueueinfo aimed at this process only; identity: getpid gettid getppid getuid
 *           geteuid getgid getegid getresuid getresgid getgroups getpgrp getpgid getsid capget;
 *           getrlimit, prlimit64 (reading this process's limits), getrusage times sysinfo uname
 *           getcpu sched_yield sched_getaffinity getrandom umask wait4 waitid exit exit_group;
 *           ioctl FIONREAD FIONBIO FIOCLEX FIONCLEX TCGETS TIOCGWINSZ; prctl PR_SET_NAME
 *           PR_GET_NAME PR_GET_DUMPABLE PR_SET_NO_NEW_PRIVS PR_GET_NO_NEW_PRIVS PR_CAPBSET_READ
 *           PR_GET_SECUREBITS PR_SET_VMA; personality(0xffffffff) (a query); newfstatat and
 *           statx with AT_EMPTY_PATH (what fstat() uses: a path given with that flag is still
 *           looked up, so stdio reveals whether a path exists, never its content).
 *           clone3 always fails with ENOSYS (its flags sit in memory the filter cannot read);
 *           the C library then uses clone, which the filter can check.
 *   thread  clone with CLONE_THREAD and no namespace flag (pthread_create).
 *   proc    fork vfork, clone without CLONE_THREAD or namespace flags, kill tkill tgkill
 *           rt_sigqueueinfo rt_tgsigqueueinfo to any process, pidfd_open pidfd_send_signal
 *           setsid setpgid setrlimit prlimit64 getpriority setpriority.
 *   exec    execve execveat, arch_prctl (the new program's loader sets its thread pointer with
 *           it on x86-64). The new program runs under the same filter: promise what it needs
 *           too (its loader reads its libraries: rpath).
 *   id      setuid setgid setreuid setregid setresuid setresgid setgroups setfsuid setfsgid
 *           capset.
 *   inet    socket(AF_INET or AF_INET6), and for "inet" or "unix": accept accept4 bind connect
 *           listen getsockname getpeername getsockopt setsockopt. With Landlock ABI 4 (Linux
 *           6.7) a TCP bind() is refused but for the ports given to lust_sandbox_allow_bind(),
 *           and a TCP connect() but for the ports given to lust_sandbox_allow_connect() (any
 *           port with the "connect" promise).
 *   unix    socket(AF_UNIX).
 *   connect TCP connect() to any port (see inet). Changes nothing in the filter.
 *   rpath   open and openat read-only (O_RDONLY, without O_CREAT, O_TRUNC, O_TMPFILE); stat
 *           lstat newfstatat statx access faccessat faccessat2 readlink readlinkat getcwd chdir
 *           statfs getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr inotify_init
 *           inotify_init1 inotify_add_watch inotify_rm_watch.
 *   wpath   open and openat for writing (O_WRONLY, O_RDWR with rpath, O_TRUNC), truncate.
 *   cpath   open and openat with O_CREAT or O_TMPFILE (with the access mode's promises), creat
 *           (with wpath), mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 link
 *           linkat symlink symlinkat, mknod and mknodat of FIFOs and regular files. openat2 is
 *           allowed with rpath, wpath and cpath together; otherwise it fails with ENOSYS.
 *   fattr   chmod fchmod fchmodat chown fchown fchownat lchown utime utimes utimensat futimesat
 *           setxattr lsetxattr fsetxattr removexattr lremovexattr fremovexattr.
 *   sendfd, recvfd  accepted, for promise strings written for OpenBSD's pledge, but nothing on
 *           Linux can see SCM_RIGHTS inside sendmsg/recvmsg: descriptor passing over a unix
 *           socket the process has is never restricted.
 *
 * Never allowed, whatever the promises, and fatal in log mode too: ptrace process_vm_readv
 * process_vm_writev bpf perf_event_open kexec_load kexec_file_load init_module finit_module
 * delete_module mount umount2 pivot_root move_mount open_tree fsopen fsconfig fsmount fspick
 * mount_setattr keyctl add_key request_key userfaultfd personality (but the query) unshare setns
 * io_uring_setup io_uring_enter io_uring_register open_by_handle_at chroot reboot, clone with a
 * namespace flag, and any call of another ABI than the native one (i386 through int 0x80, x32
 * numbers on x86-64). socket() makes only the families promised: AF_NETLINK, AF_PACKET and the
 * others are refused with inet and unix too.
 *
 * Starting a thread or a process outside the promises (clone, fork, vfork) is not fatal: it
 * fails with EPERM, which pthread_create(), fork() or posix_spawn() return to the caller. The
 * C library makes these calls with every signal blocked, where the handler below could not
 * run and the process would die without a word.
 *
 * Any other refused call, in REQUIRE and BEST modes: the kernel stops it and sends SIGSYS; a
 * handler writes one line naming the call to descriptor 2 (the daemon's log under the
 * framework), in the log's format:
 *     2026-11-26T18:31:35.123+00:00 ERROR sandbox: system call socket (41) not promised;
 *     process killed
 * and the process dies of SIGSYS (no core: RLIMIT_CORE is 0). In LOG mode the line says
 * "WARNING ... not promised; allowed (log mode)" and the call runs, re-issued by the handler on
 * x86-64 (on other architectures the kernel's audit log names it instead, as it names a clone,
 * fork or vfork outside the promises everywhere: no handler can re-issue those). Keep SIGSYS
 * unblocked: a thread that blocks it still dies, without the line.
 *
 * Unveil rules (Landlock, Linux 5.13; ABI 2 adds renames across directories, 3 truncation, 5
 * device ioctls): once any rule is given, only the listed paths and what is under them can be
 * opened, with the rights given; /proc/PID/root and /proc/self/fd lead nowhere else. Descriptors
 * opened before lust_sandbox_apply() keep working (the log, listening sockets, the pid file).
 *   r  read files, list directories     w  write and truncate files, device ioctls
 *   c  create and remove entries (files, directories, FIFOs, sockets, symlinks; renames)
 *   x  execute files
 * Landlock does not restrict stat, chdir, chmod, chown, utime, flock or access: the promises do.
 * From Landlock ABI 6 (Linux 6.12) signals and abstract unix sockets are also scoped: the
 * process cannot signal or connect to an abstract socket of a process outside its sandbox.
 *
 * Threads: the seccomp filter is installed in every thread of the process (TSYNC). Landlock
 * applies to the calling thread and the threads and processes it creates later; only from
 * Landlock ABI 8 to every running thread. Call lust_sandbox_apply() before starting threads;
 * when other threads already run, REQUIRE refuses (-EBUSY) and BEST reports it (both only when
 * /proc/self/task is visible). The capability bounding set and securebits are per thread as
 * well: lust_sandbox_lock_privs() wants a single-threaded process.
 *
 * A sandboxed process keeps its filter and Landlock domain across fork and execve: a program it
 * executes (with "exec") runs under the same rules, without the SIGSYS handler (it is killed
 * without a line, in log mode too).
 */
#ifndef LUST_SANDBOX_H
#define LUST_SANDBOX_H

#include <lust/common.h>

LUST_BEGIN_DECLS

/* A sandbox specification and, once applied, what it did. Opaque; from lust_sandbox_new(). */
struct lust_sandbox;

#define LUST_SANDBOX_OFF     0
#define LUST_SANDBOX_REQUIRE 1
#define LUST_SANDBOX_BEST    2
#define LUST_SANDBOX_LOG     3

/**
 * lust_sandbox_new - a new, empty specification in REQUIRE mode.
 *
 * Without promises no seccomp filter is installed; without unveil rules the file system is not
 * restricted. Returns 0 with *out set, or -EINVAL (out NULL), -ENOMEM. Thread-safe.
 */
LUST_API int lust_sandbox_new(struct lust_sandbox **out);

/**
 * lust_sandbox_free - free the handle; NULL is accepted.
 *
 * An applied sandbox stays in force: it belongs to the process, not to the handle.
 */
LUST_API void lust_sandbox_free(struct lust_sandbox *sb);

/**
 * lust_sandbox_promise - add promises, given as names separated by spaces or commas.
 *
 * May be called several times; the promises add up. The first call, even with "" or "stdio",
 * is what turns the seccomp filter on. Errors (the specification unchanged): -EINVAL for a NULL
 * argument, an unknown name (`unknown promise "inett"`), or a sandbox already prepared.
 * Not thread-safe on the same handle.
 */
LUST_API int lust_sandbox_promise(struct lust_sandbox *sb, const char *promises);

/**
 * lust_sandbox_unveil - allow a path and what is under it, with rights from "rwcx".
 *
 * path is absolute, as the process will see it when lust_sandbox_apply() runs (inside the
 * jail: "/data" for the jail's data directory). It need not exist yet: it is opened by
 * lust_sandbox_apply(), which fails if it is missing then. The same path twice adds the rights.
 * Errors: -EINVAL for NULL, a relative path, empty or unknown rights (`unveil /x: rights "rq":
 * not one of r, w, c, x`), or a sandbox already prepared; -ENOMEM.
 * Not thread-safe on the same handle.
 */
LUST_API int lust_sandbox_unveil(struct lust_sandbox *sb, const char *path, const char *rights);

/**
 * lust_sandbox_allow_bind - allow bind() of TCP sockets to this port (0: an ephemeral port).
 *
 * Only with the "inet" promise, and enforced from Landlock ABI 4. Once the sandbox is applied,
 * binding any other TCP port fails with EACCES. Ports bound before lust_sandbox_apply() (a
 * listening socket made as root) need no rule. Errors: -EINVAL (port above 65535, NULL, already
 * prepared), -ENOMEM. Not thread-safe on the same handle.
 */
LUST_API int lust_sandbox_allow_bind(struct lust_sandbox *sb, unsigned port);

/**
 * lust_sandbox_allow_connect - allow TCP connect() to this remote port.
 *
 * As lust_sandbox_allow_bind(), for connect(). The "connect" promise allows every port.
 */
LUST_API int lust_sandbox_allow_connect(struct lust_sandbox *sb, unsigned port);

/**
 * lust_sandbox_set_mode - choose LUST_SANDBOX_REQUIRE, _BEST, _LOG or _OFF.
 *
 * Errors: -EINVAL (unknown mode, NULL, a sandbox already prepared).
 */
LUST_API int lust_sandbox_set_mode(struct lust_sandbox *sb, int mode);

/**
 * lust_sandbox_mode_from_name - "require", "best", "log" or "off" to its LUST_SANDBOX_ value.
 *
 * Returns the mode, or -EINVAL (`unknown sandbox mode "x"`) for anything else. Thread-safe.
 */
LUST_API int lust_sandbox_mode_from_name(const char *name);

/**
 * lust_sandbox_prepare - check what the kernel offers, while / is the real one.
 *
 * Call once, before the chroot (not necessarily as root). It reads which seccomp actions and
 * which Landlock ABI the kernel offers; it loads no library (the filter is compiled by liblust,
 * with the system calls' numbers of the architecture it was built for). In
 * REQUIRE mode, it fails here, where the operator can still be told, when something explicitly
 * asked cannot be enforced:
 *   -ENOSYS      `seccomp filters unavailable: ...` (a kernel without seccomp filters, or a
 *                build for an architecture liblust has no filter for: x32, big-endian arm;
 *                the sentence says which); in every mode, log mode on a
 *                kernel without SECCOMP_RET_LOG (before Linux 4.14);
 *   -EOPNOTSUPP  `unveil needs Landlock: ...` or `TCP port rules need Landlock ABI 4 ...`.
 * In BEST and LOG modes these become lines of lust_sandbox_report() instead. Other errors:
 * -EINVAL (NULL, prepared twice), -ENOMEM. OFF mode: returns 0 and changes nothing.
 */
LUST_API int lust_sandbox_prepare(struct lust_sandbox *sb);

/**
 * lust_sandbox_lock_privs - the steps that need root: after the jail, before the privilege drop.
 *
 * Empties the capability bounding set (every capability up to /proc/sys/kernel/cap_last_cap,
 * or up to the first the kernel does not know) and the inheritable and ambient sets, and locks
 * securebits: SECBIT_NOROOT (root gains no capability by execve), SECBIT_NO_CAP_AMBIENT_RAISE,
 * each with its _LOCKED bit, and SECBIT_NO_SETUID_FIXUP_LOCKED with SECBIT_NO_SETUID_FIXUP
 * left clear, so the drop that follows still empties the capability sets. SECBIT_KEEP_CAPS is
 * left unlocked: lust_privs_drop() with LUST_PRIVS_KEEP_NET_BIND_SERVICE needs it, and once
 * the drop is done no capability to change ids remains for it to keep.
 * The calling thread's sets only (call it while single-threaded); the threads it creates later
 * inherit them.
 *
 * Errors: -EPERM `capability bounding set: ...` without CAP_SETPCAP (not root, or after the
 * drop) in REQUIRE mode (a report line in BEST and LOG modes); -EBUSY when /proc/self/task
 * shows other threads; -EINVAL (NULL, not prepared). OFF mode: returns 0 and changes nothing.
 */
LUST_API int lust_sandbox_lock_privs(struct lust_sandbox *sb);

/**
 * lust_sandbox_apply - put the sandbox in force: the last step before serving.
 *
 * In this order: PR_SET_NO_NEW_PRIVS; RLIMIT_CORE 0; RLIMIT_NPROC 0 when neither "thread" nor
 * "proc" is promised (no new task at all, even if a filter were missing; not in LOG mode);
 * the Landlock domain (unveiled paths opened with O_PATH here, so relative to the current
 * root); then the SIGSYS handler and the seccomp filter, built now (for this process's pid) and
 * installed in every thread. Once only, per process and handle.
 *
 * Errors, in REQUIRE mode and in the others: -ENOENT, -EACCES... `unveil /data: No such file or
 * directory` for a path that cannot be opened; -EBUSY other threads run and Landlock cannot
 * reach them (REQUIRE only); -EINVAL (NULL, not prepared, already applied); -ENOMEM; the errno of
 * a refused prctl, setrlimit, Landlock or seccomp call, with the step named. A failure may leave
 * the process partly restricted: treat it as fatal. OFF mode: returns 0, changes nothing.
 * Affects the whole process (the filter) and the calling thread (Landlock, rlimits are
 * per-process); call it from the thread that will start the others.
 */
LUST_API int lust_sandbox_apply(struct lust_sandbox *sb);

/**
 * lust_sandbox_report - what was asked but not enforced, for the log; "" when everything was.
 *
 * Lines separated by "; ", e.g. `TCP port rules not enforced: Landlock ABI 3, they need ABI 4
 * (Linux 6.7)`. Filled by lust_sandbox_prepare(), lust_sandbox_lock_privs() and
 * lust_sandbox_apply(); valid until the next of those calls or lust_sandbox_free(). Never NULL
 * (NULL sb gives ""). Not thread-safe on the same handle.
 */
LUST_API const char *lust_sandbox_report(const struct lust_sandbox *sb);

LUST_END_DECLS

#endif
