/*
 * lib/sandbox_filter.c - the seccomp rules of each promise, compiled by sandbox_bpf.c.
 *
 * An allow list: a call is allowed by the promises' rules or meets the default action. Calls
 * are named, not numbered; sandbox_calls.c gives each name its number on this build's
 * architecture and names the architecture lacks are skipped. The program checks the architecture
 * first (another ABI, and x32 numbers on x86-64, meet a trap).
 *
 * The lists must stay in step with the promise table in include/lust/sandbox.h.
 */
#include "sandbox_private.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lust/sandbox.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif

#define NS_FLAGS                                                                                  \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
     CLONE_NEWNET)

const char lust__sandbox_never[] =
    "ptrace process_vm_readv process_vm_writev bpf perf_event_open kexec_load kexec_file_load "
    "init_module finit_module delete_module mount umount2 pivot_root move_mount open_tree fsopen "
    "fsconfig fsmount fspick mount_setattr keyctl add_key request_key userfaultfd personality "
    "unshare setns io_uring_setup io_uring_enter io_uring_register open_by_handle_at chroot "
    "reboot";

static const char stdio_calls[] =
    "read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 lseek close "
    "close_range dup dup2 dup3 fcntl fstat fstatfs fsync fdatasync ftruncate fallocate flock "
    "getdents getdents64 fchdir sendmsg recvmsg sendto recvfrom sendmmsg recvmmsg shutdown pipe "
    "pipe2 eventfd eventfd2 memfd_create poll ppoll select pselect6 epoll_create epoll_create1 "
    "epoll_ctl epoll_wait epoll_pwait epoll_pwait2 brk mmap munmap mremap mprotect madvise msync "
    "mincore mlock munlock futex futex_waitv set_robust_list get_robust_list rseq "
    "set_tid_address clock_gettime clock_getres clock_nanosleep nanosleep gettimeofday time "
    "getitimer setitimer alarm timer_create timer_settime timer_gettime timer_getoverrun "
    "timer_delete timerfd_create timerfd_settime timerfd_gettime rt_sigprocmask rt_sigreturn "
    "rt_sigpending rt_sigsuspend rt_sigtimedwait sigaltstack signalfd signalfd4 restart_syscall "
    "pause getpid gettid getppid getuid geteuid getgid getegid getresuid getresgid getgroups "
    "getpgrp getpgid getsid capget getrlimit getrusage times sysinfo uname getcpu sched_yield "
    "sched_getaffinity getrandom umask wait4 waitid exit exit_group";

static const char proc_calls[] =
    "fork vfork kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_open pidfd_send_signal "
    "setsid setpgid setrlimit prlimit64 getpriority setpriority";

/* The new program's dynamic loader sets up its thread pointer with arch_prctl on x86-64. */
static const char exec_calls[] = "execve execveat arch_prctl";

static const char id_calls[] = "setuid setgid setreuid setregid setresuid setresgid setgroups "
                               "setfsuid setfsgid capset";

static const char socket_calls[] =
    "accept accept4 bind connect listen getsockname getpeername getsockopt setsockopt";

static const char rpath_calls[] =
    "stat lstat newfstatat statx access faccessat faccessat2 readlink readlinkat getcwd chdir "
    "statfs getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr inotify_init "
    "inotify_init1 inotify_add_watch inotify_rm_watch";

static const char wpath_calls[] = "truncate";

static const char cpath_calls[] = "mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 "
                                  "link linkat symlink symlinkat";

static const char fattr_calls[] =
    "chmod fchmod fchmodat chown fchown fchownat lchown utime utimes utimensat futimesat "
    "setxattr lsetxattr fsetxattr removexattr lremovexattr fremovexattr";

struct rules {
    struct lust__bpf_rule *rule;
    size_t n, cap;
    int err;
    char failed[32];
};

static void add(struct rules *c, uint32_t action, const char *name, unsigned n,
                const struct lust__arg_cmp *cmp)
{
    if (c->err)
        return;
    int nr = lust__call_number(name);
    if (nr < 0) /* not a call of this architecture */
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        struct lust__bpf_rule *grown = realloc(c->rule, cap * sizeof *grown);
        if (!grown) {
            c->err = -ENOMEM;
            snprintf(c->failed, sizeof c->failed, "%s", name);
            return;
        }
        c->rule = grown;
        c->cap = cap;
    }
    struct lust__bpf_rule *r = &c->rule[c->n];
    *r = (struct lust__bpf_rule){.nr = nr, .order = (unsigned)c->n, .action = action, .ncmp = n};
    if (n) /* cmp may be NULL then, which memcpy must not be given */
        memcpy(r->cmp, cmp, n * sizeof *cmp);
    c->n++;
}

static void allow_all(struct rules *c, const char *names)
{
    char name[32];
    while (lust__sandbox_word(&names, name, sizeof name) > 0)
        add(c, SECCOMP_RET_ALLOW, name, 0, NULL);
}

/* Allow name when its argument arg, masked with mask, equals value (mask ~0: plain equality). */
static void allow_if(struct rules *c, const char *name, unsigned arg, uint64_t mask, uint64_t value)
{
    struct lust__arg_cmp cmp = {arg, LUST__CMP_MASKED_EQ, mask, value};
    if (mask == ~0ull)
        cmp = (struct lust__arg_cmp){arg, LUST__CMP_EQ, value, 0};
    add(c, SECCOMP_RET_ALLOW, name, 1, &cmp);
}

/*
 * open and openat by their flags: the access mode asks for rpath (reading) and wpath
 * (writing), O_TRUNC for wpath, O_CREAT for cpath, O_TMPFILE for wpath and cpath.
 */
static void open_rules(struct rules *c, bool r, bool w, bool cr)
{
    const uint64_t tmpfile = O_TMPFILE & ~O_DIRECTORY;
    const uint64_t mask = O_ACCMODE | O_CREAT | O_TRUNC | tmpfile;
    if (r && w && cr) {
        allow_all(c, "open openat openat2 creat");
        return;
    }
    /* openat2 takes its flags through a pointer the filter cannot follow. */
    add(c, LUST__RET_ERRNO(ENOSYS), "openat2", 0, NULL);
    for (uint64_t acc = 0; acc <= O_ACCMODE; acc++)
        for (unsigned extra = 0; extra < 8; extra++) {
            uint64_t flags = acc | (extra & 1 ? O_CREAT : 0) | (extra & 2 ? O_TRUNC : 0) |
                             (extra & 4 ? tmpfile : 0);
            bool need_r = acc != O_WRONLY;
            bool need_w = acc != O_RDONLY || (flags & (O_TRUNC | tmpfile));
            bool need_c = flags & (O_CREAT | tmpfile);
            if ((need_r && !r) || (need_w && !w) || (need_c && !cr))
                continue;
            allow_if(c, "open", 1, mask, flags);
            allow_if(c, "openat", 2, mask, flags);
        }
    if (w && cr)
        allow_all(c, "creat");
}

static void stdio_rules(struct rules *c, const struct lust_sandbox *sb, pid_t self)
{
    allow_all(c, stdio_calls);
    static const unsigned long ioctls[] = {FIONREAD, FIONBIO, FIOCLEX,
                                           FIONCLEX, TCGETS,  TIOCGWINSZ};
    for (size_t i = 0; i < sizeof ioctls / sizeof ioctls[0]; i++)
        allow_if(c, "ioctl", 1, ~0ull, ioctls[i]);
    static const unsigned prctls[] = {PR_SET_NAME,         PR_GET_NAME,         PR_GET_DUMPABLE,
                                      PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS, PR_CAPBSET_READ,
                                      PR_GET_SECUREBITS,   PR_SET_VMA};
    for (size_t i = 0; i < sizeof prctls / sizeof prctls[0]; i++)
        allow_if(c, "prctl", 0, ~0ull, prctls[i]);
    allow_if(c, "socketpair", 0, ~0ull, AF_UNIX);
    allow_if(c, "personality", 0, ~0ull, 0xffffffffu);
    allow_if(c, "newfstatat", 3, AT_EMPTY_PATH, AT_EMPTY_PATH);
    allow_if(c, "statx", 2, AT_EMPTY_PATH, AT_EMPTY_PATH);
    /* Signals to this process only: raise(), abort(), pthread_kill(). */
    allow_if(c, "kill", 0, ~0ull, (uint64_t)self);
    allow_if(c, "tgkill", 0, ~0ull, (uint64_t)self);
    allow_if(c, "rt_sigqueueinfo", 0, ~0ull, (uint64_t)self);
    allow_if(c, "rt_tgsigqueueinfo", 0, ~0ull, (uint64_t)self);
    struct lust__arg_cmp own_limits[] = {{0, LUST__CMP_EQ, 0, 0}, {2, LUST__CMP_EQ, 0, 0}};
    add(c, SECCOMP_RET_ALLOW, "prlimit64", 2, own_limits);
    /*
     * Nobody replaces the SIGSYS handler that names refused calls, but a program about to
     * exec: posix_spawn resets every handler in its child.
     */
    if (lust__promised(sb, LUST__P_EXEC)) {
        allow_all(c, "rt_sigaction");
    } else {
        struct lust__arg_cmp other = {0, LUST__CMP_NE, SIGSYS, 0};
        add(c, SECCOMP_RET_ALLOW, "rt_sigaction", 1, &other);
        allow_if(c, "rt_sigaction", 1, ~0ull, 0);
    }
    /* clone3 passes its flags in memory; the C library falls back to clone, checked below. */
    add(c, LUST__RET_ERRNO(ENOSYS), "clone3", 0, NULL);
}

static void task_rules(struct rules *c, const struct lust_sandbox *sb, bool log)
{
    bool thread = lust__promised(sb, LUST__P_THREAD), proc = lust__promised(sb, LUST__P_PROC);
    const uint64_t mask = NS_FLAGS | CLONE_THREAD;
    if (thread)
        allow_if(c, "clone", 0, mask, CLONE_THREAD);
    if (proc) {
        allow_if(c, "clone", 0, mask, 0);
        allow_all(c, proc_calls);
    }
    /*
     * The C library makes these with every signal blocked (pthread_create, posix_spawn), where
     * a trap would kill without a word from the handler: outside the promises they fail with
     * EPERM instead, which the caller sees and reports. Log mode lets them through, and the
     * kernel's audit log names them: a clone cannot be re-issued from a signal handler (the
     * child would return into it on another stack). Namespace flags still meet the trap.
     */
    uint32_t refused = log ? SECCOMP_RET_LOG : LUST__RET_ERRNO(EPERM);
    if (!thread) {
        struct lust__arg_cmp threads = {0, LUST__CMP_MASKED_EQ, mask, CLONE_THREAD};
        add(c, refused, "clone", 1, &threads);
    }
    if (!proc) {
        struct lust__arg_cmp forks = {0, LUST__CMP_MASKED_EQ, mask, 0};
        add(c, refused, "clone", 1, &forks);
        add(c, refused, "fork", 0, NULL);
        add(c, refused, "vfork", 0, NULL);
    }
}

static void path_rules(struct rules *c, const struct lust_sandbox *sb)
{
    bool r = lust__promised(sb, LUST__P_RPATH), w = lust__promised(sb, LUST__P_WPATH),
         cr = lust__promised(sb, LUST__P_CPATH);
    open_rules(c, r, w, cr);
    if (r)
        allow_all(c, rpath_calls);
    if (w)
        allow_all(c, wpath_calls);
    if (cr) {
        allow_all(c, cpath_calls);
        static const unsigned kinds[] = {0, S_IFREG, S_IFIFO};
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            allow_if(c, "mknod", 1, S_IFMT, kinds[i]);
            allow_if(c, "mknodat", 2, S_IFMT, kinds[i]);
        }
    }
    if (lust__promised(sb, LUST__P_FATTR))
        allow_all(c, fattr_calls);
}

static void other_rules(struct rules *c, const struct lust_sandbox *sb)
{
    bool inet = lust__promised(sb, LUST__P_INET), unix_ = lust__promised(sb, LUST__P_UNIX);
    if (inet) {
        allow_if(c, "socket", 0, ~0ull, AF_INET);
        allow_if(c, "socket", 0, ~0ull, AF_INET6);
    }
    if (unix_)
        allow_if(c, "socket", 0, ~0ull, AF_UNIX);
    if (inet || unix_)
        allow_all(c, socket_calls);
    if (lust__promised(sb, LUST__P_EXEC))
        allow_all(c, exec_calls);
    if (lust__promised(sb, LUST__P_ID))
        allow_all(c, id_calls);
}

/* The never-allowed calls must stay fatal when the default action only logs. */
static void never_rules(struct rules *c)
{
    char name[32];
    const char *names = lust__sandbox_never;
    while (lust__sandbox_word(&names, name, sizeof name) > 0)
        if (strcmp(name, "personality") != 0)
            add(c, SECCOMP_RET_TRAP, name, 0, NULL);
    struct lust__arg_cmp change = {0, LUST__CMP_NE, 0xffffffffu, 0};
    add(c, SECCOMP_RET_TRAP, "personality", 1, &change);
}

int lust__filter_build(struct lust_sandbox *sb, uint32_t default_action, struct sock_filter **prog,
                       size_t *len)
{
    struct rules c = {0};
    bool log = sb->mode == LUST_SANDBOX_LOG;
    stdio_rules(&c, sb, getpid());
    task_rules(&c, sb, log);
    path_rules(&c, sb);
    other_rules(&c, sb);
    if (default_action != SECCOMP_RET_TRAP)
        never_rules(&c);
    int r;
    if (c.err)
        r = lust__fail(-c.err, "sandbox: seccomp rule for %s", c.failed);
    else
        r = lust__bpf_compile(c.rule, c.n, lust__call_arch(), default_action, prog, len);
    free(c.rule);
    return r;
}
