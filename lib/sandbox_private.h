/*
 * lib/sandbox_private.h - what the sandbox module's files share; never installed.
 *
 * The module is six files, one job each: sandbox.c (the specification and its report),
 * sandbox_steps.c (prepare and apply: libseccomp loaded, the kernel probed, the steps in
 * order), sandbox_privs.c (bounding set, securebits, rlimits), sandbox_landlock.c (unveil and
 * ports), sandbox_filter.c + sandbox_bpf.c (the seccomp rules, and their program) and
 * sandbox_trap.c (the SIGSYS handler and the filter's installation).
 *
 * libseccomp's header gives the types of the functions liblust calls through pointers, so the
 * compiler checks every call; nothing links against the library.
 */
#ifndef LUST_SANDBOX_PRIVATE_H
#define LUST_SANDBOX_PRIVATE_H

#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

enum lust__promise {
    LUST__P_STDIO,
    LUST__P_THREAD,
    LUST__P_PROC,
    LUST__P_EXEC,
    LUST__P_ID,
    LUST__P_INET,
    LUST__P_UNIX,
    LUST__P_CONNECT,
    LUST__P_RPATH,
    LUST__P_WPATH,
    LUST__P_CPATH,
    LUST__P_FATTR,
    LUST__P_SENDFD,
    LUST__P_RECVFD,
    LUST__P_COUNT
};

/* Unveil rights, from the letters r, w, c, x. */
#define LUST__UNVEIL_R 0x1u
#define LUST__UNVEIL_W 0x2u
#define LUST__UNVEIL_C 0x4u
#define LUST__UNVEIL_X 0x8u

/* The libseccomp functions used (call names and numbers, the architecture), by dlsym. */
struct lust__seccomp_api {
    void *handle;
    __typeof__(seccomp_syscall_resolve_name) *resolve_name;
    __typeof__(seccomp_syscall_resolve_num_arch) *resolve_num_arch;
    __typeof__(seccomp_arch_native) *arch_native;
};

struct lust__unveil {
    char *path;
    unsigned rights;
};

struct lust__ports {
    uint16_t *port;
    size_t n, cap;
};

struct lust_sandbox {
    int mode;
    unsigned promises; /* bit per enum lust__promise */
    bool promised;     /* lust_sandbox_promise() was called: a filter is wanted */
    bool prepared, applied;
    struct lust__unveil *unveil;
    size_t nunveil;
    struct lust__ports bind, connect;
    int landlock_abi; /* 0: none */
    char landlock_why[96];
    bool seccomp_ok;  /* libseccomp loaded and the kernel has filters with SECCOMP_RET_TRAP */
    bool seccomp_log; /* the kernel has SECCOMP_RET_LOG */
    struct lust__seccomp_api api;
    char *report;
    size_t report_len;
};

static inline bool lust__promised(const struct lust_sandbox *sb, enum lust__promise p)
{
    return (sb->promises >> p) & 1u;
}

/* Append a sentence to the report ("; " between sentences). Allocation failure drops it. */
LUST__HIDDEN void lust__sandbox_note(struct lust_sandbox *sb, const char *fmt, ...)
    LUST__PRINTF(2, 3);

/*
 * Something the kernel lacks: in REQUIRE mode when asked explicitly, fail with err and the
 * sentence; otherwise note it in the report and return 0.
 */
LUST__HIDDEN int lust__sandbox_lack(struct lust_sandbox *sb, bool explicit_ask, int err,
                                    const char *fmt, ...) LUST__PRINTF(4, 5);

/* The number of threads in /proc/self/task, or 0 when it cannot be read (inside a jail). */
LUST__HIDDEN int lust__sandbox_threads(void);

/* sandbox_landlock.c: the ABI (probed at prepare, checked against the specification). */
LUST__HIDDEN int lust__landlock_prepare(struct lust_sandbox *sb);
LUST__HIDDEN int lust__landlock_apply(struct lust_sandbox *sb);

/* Test hook: behave as if the kernel's Landlock ABI were at most abi (0: none; -1: the real). */
LUST__HIDDEN void lust__sandbox_fake_landlock_abi(int abi);

/* Test hook: dlopen this name instead of libseccomp.so.2 (NULL: the real one). */
LUST__HIDDEN void lust__sandbox_fake_libseccomp(const char *name);

/* sandbox_privs.c: RLIMIT_CORE, RLIMIT_NPROC. */
LUST__HIDDEN int lust__sandbox_limits(struct lust_sandbox *sb);

/* The most comparisons of arguments one rule makes (all must hold). */
#define LUST__BPF_CMP_MAX 2

/* One rule: a call, by number, and its action when its comparisons (if any) all hold. */
struct lust__bpf_rule {
    int nr;
    unsigned order; /* rules of one call are tried in the order they were added */
    uint32_t action;
    unsigned ncmp;
    struct scmp_arg_cmp cmp[LUST__BPF_CMP_MAX];
};

/*
 * sandbox_bpf.c: the rules (sorted here by number) compiled into a program for the audit
 * architecture arch: another meets SECCOMP_RET_TRAP, a call without a rule default_action.
 * On success *prog is malloc'd (the caller frees it) and *len its instruction count.
 */
LUST__HIDDEN int lust__bpf_compile(struct lust__bpf_rule *rules, size_t n, uint32_t arch,
                                   uint32_t default_action, struct sock_filter **prog, size_t *len);

/*
 * sandbox_filter.c: the BPF program for the promises (lust__bpf_compile).
 * default_action is SCMP_ACT_TRAP, or SCMP_ACT_LOG in log mode without re-issuing. On success
 * *prog is malloc'd (the caller frees it) and *len its instruction count.
 */
LUST__HIDDEN int lust__filter_build(struct lust_sandbox *sb, uint32_t default_action,
                                    struct sock_filter **prog, size_t *len);

/* The calls never allowed, space-separated; sandbox_trap.c treats them as fatal in log mode. */
LUST__HIDDEN extern const char lust__sandbox_never[];

/* Copy the next space-separated word of *s into word (of size n); 0 at the end. */
LUST__HIDDEN int lust__sandbox_word(const char **s, char *word, size_t n);

/*
 * sandbox_trap.c: the program with what the SIGSYS handler will need (built while files such as
 * the time zone can still be read), then the handler and the filter, in every thread.
 */
LUST__HIDDEN int lust__seccomp_build(struct lust_sandbox *sb, struct sock_filter **prog,
                                     size_t *len);
LUST__HIDDEN int lust__seccomp_load(const struct sock_filter *prog, size_t len);

#endif
