/*
 * test/sandbox_test_util.h - run a body of code in a sandboxed child and look at how it ended.
 *
 * The Check process never sandboxes itself: a child forked here sends its stderr (where the
 * SIGSYS handler writes) into a pipe, prepares and applies the sandbox, runs the body and
 * leaves with _exit (a sanitizer's exit work would meet the filter). The parent collects the
 * text and the wait status.
 *
 * Valgrind runs the program on a synthetic CPU and cannot run it under a seccomp filter, nor
 * does it know the seccomp and Landlock system calls (it answers ENOSYS): the tests that need
 * them say so and pass under valgrind (under_valgrind(), lust_test.h).
 */
#ifndef SANDBOX_TEST_UTIL_H
#define SANDBOX_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lust/error.h>
#include <lust/sandbox.h>

#include "lust_test.h"

#define SKIP_UNDER_VALGRIND()                                                                   \
    do {                                                                                        \
        if (under_valgrind()) {                                                                 \
            printf("SKIP %s: valgrind knows neither seccomp filters nor Landlock\n", __func__); \
            return;                                                                             \
        }                                                                                       \
    } while (0)

/*
 * ThreadSanitizer intercepts sigaction() and runs every signal handler through its own, so what
 * happens when seccomp traps a call (SIGSYS, the sandbox's handler naming it) is not the
 * program's own behaviour there: the tests of that path skip in the tsan build.
 */
#if defined(__SANITIZE_THREAD__)
#define SKIP_UNDER_TSAN()                                                                    \
    do {                                                                                     \
        printf("SKIP %s: ThreadSanitizer runs signal handlers through its own\n", __func__); \
        return;                                                                              \
    } while (0)
#else
#define SKIP_UNDER_TSAN() ((void)0)
#endif

struct run {
    int status;
    char err[8192];
};

/* The body's exit code becomes the child's; it may also die of a signal. */
typedef int (*sandbox_body)(void);

/* The sandbox a forked child applies; see run_sandboxed_after. */
static struct lust_sandbox *volatile sandbox_in_child;

/* Exit code of a child whose prepare or apply failed (the sentence is in err). */
#define APPLY_FAILED 99

/* The Landlock ABI of the running kernel, 0 without Landlock. */
static inline int real_landlock_abi(void)
{
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, 1u);
    return v < 0 ? 0 : (int)v;
}

/*
 * Fork; the child runs setup (when not NULL: threads to start before the sandbox), applies sb
 * (prepare too, unless already prepared) and runs body.
 */
static inline void run_sandboxed_after(struct lust_sandbox *sb, sandbox_body setup,
                                       sandbox_body body, struct run *out)
{
    /* Reachable from a global, so a leak checker at the child's _exit does not count it. */
    sandbox_in_child = sb;
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        if (setup && setup() != 0)
            _exit(APPLY_FAILED);
        int r = lust_sandbox_prepare(sb);
        if (r == -EINVAL && strstr(lust_error(), "already prepared"))
            r = 0;
        if (r == 0)
            r = lust_sandbox_apply(sb);
        if (r < 0) {
            dprintf(STDERR_FILENO, "apply failed: %s\n", lust_error());
            _exit(APPLY_FAILED);
        }
        _exit(body());
    }
    close(p[1]);
    read_fd(p[0], out->err, sizeof out->err);
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, &out->status, 0), pid);
}

static inline void run_sandboxed(struct lust_sandbox *sb, sandbox_body body, struct run *out)
{
    run_sandboxed_after(sb, NULL, body, out);
}

static inline void assert_exit_ok(const struct run *r)
{
    ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
                  "child did not exit 0 (status 0x%x); its stderr: %s", (unsigned)r->status,
                  r->err);
}

/* Killed by SIGSYS, after a line that names the call. */
static inline void assert_killed_naming(const struct run *r, const char *call)
{
    char want[64];
    snprintf(want, sizeof want, "system call %s (", call);
    ck_assert_msg(WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGSYS,
                  "child was not killed by SIGSYS (status 0x%x); its stderr: %s",
                  (unsigned)r->status, r->err);
    ck_assert_msg(strstr(r->err, want) && strstr(r->err, "; process killed\n"),
                  "no line naming %s before the kill; stderr: %s", call, r->err);
}

static inline struct lust_sandbox *sandbox_with(const char *promises, int mode)
{
    struct lust_sandbox *sb;
    ck_assert_int_eq(lust_sandbox_new(&sb), 0);
    if (promises)
        ck_assert_int_eq(lust_sandbox_promise(sb, promises), 0);
    ck_assert_int_eq(lust_sandbox_set_mode(sb, mode), 0);
    return sb;
}

#endif
