/*
 * lib/sandbox_private.h - what the sandbox module's files share; never installed.
 *
 * The module is seven files, one job each: sandbox.c (the specification and its report),
 * sandbox_steps.c (prepare and apply: the kernel probed, the steps in order), sandbox_privs.c
 * (bounding set, securebits, rlimits), sandbox_landlock.c (unveil and ports), sandbox_filter.c
 * + sandbox_bpf.c (the seccomp rules, and their program), sandbox_calls.c (the system calls'
 * names and numbers, from <sys/syscall.h> at build time) and sandbox_trap.c (the SIGSYS
 * handler and the filter's installation). No library is loaded for any of it.
 */
#ifndef LUST_SANDBOX_PRIVATE_H
#define LUST_SANDBOX_PRIVATE_H

#include <linux/filter.h>
#include <linux/seccomp.h>
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
    bool seccomp_ok;  /* an architecture known, and the kernel has filters with SECCOMP_RET_TRAP */
    bool seccomp_log; /* the kernel has SECCOMP_RET_LOG */
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

/* Test hook: behave as if liblust knew no audit architecture for this build (true), or as
 * built (false). */
LUST__HIDDEN void lust__sandbox_fake_no_arch(bool none);

/* sandbox_privs.c: RLIMIT_CORE, RLIMIT_NPROC. */
LUST__HIDDEN int lust__sandbox_limits(struct lust_sandbox *sb);

/* A rule's action when it returns an errno: SECCOMP_RET_ERRNO with the errno in its data. */
#define LUST__RET_ERRNO(e) (SECCOMP_RET_ERRNO | ((uint32_t)(e)&SECCOMP_RET_DATA))

/* One comparison of a call's argument (all 64 bits of it). */
enum lust__cmp_op {
    LUST__CMP_EQ,       /* args[arg] == a */
    LUST__CMP_NE,       /* args[arg] != a */
    LUST__CMP_MASKED_EQ /* (args[arg] & a) == b */
};
struct lust__arg_cmp {
    unsigned arg;
    enum lust__cmp_op op;
    uint64_t a, b;
};

/* sandbox_calls.c: this build's audit architecture (0: none known), and its calls. */
LUST__HIDDEN uint32_t lust__call_arch(void);
/* The number of the call named name on this architecture, or -1 when it has none. */
LUST__HIDDEN int lust__call_number(const char *name);
/* The name of call nr, or NULL. Async-signal-safe. */
LUST__HIDDEN const char *lust__call_name(int nr);

/* The most comparisons of arguments one rule makes (all must hold). */
#define LUST__BPF_CMP_MAX 2

/* One rule: a call, by number, and its action when its comparisons (if any) all hold. */
struct lust__bpf_rule {
    int nr;
    unsigned order; /* rules of one call are tried in the order they were added */
    uint32_t action;
    unsigned ncmp;
    struct lust__arg_cmp cmp[LUST__BPF_CMP_MAX];
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
 * default_action is SECCOMP_RET_TRAP, or SECCOMP_RET_LOG in log mode without re-issuing. On success
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
