/*
 * lib/sandbox_steps.c - prepare (real /: the kernel's offer) and apply (in force).
 */
#include "sandbox_private.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lust/sandbox.h>

static bool no_arch;

void lust__sandbox_fake_no_arch(bool none)
{
    no_arch = none;
}

static bool kernel_action(uint32_t action)
{
    return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

/* Which filter actions the kernel has: TRAP is needed, LOG for log mode without re-issuing. */
static bool kernel_has_filters(struct lust_sandbox *sb, char *why, size_t size)
{
    if (!kernel_action(SECCOMP_RET_TRAP)) {
        snprintf(why, size, "the kernel has no seccomp filters with SECCOMP_RET_TRAP (%s)",
                 strerror(errno));
        return false;
    }
    sb->seccomp_log = kernel_action(SECCOMP_RET_LOG);
    return true;
}

static int seccomp_prepare(struct lust_sandbox *sb)
{
    char why[256];
    if (no_arch || lust__call_arch() == 0)
        return lust__sandbox_lack(sb, true, ENOSYS,
                                  "seccomp filters unavailable: liblust knows no audit "
                                  "architecture for the calls of this build");
    if (!kernel_has_filters(sb, why, sizeof why))
        return lust__sandbox_lack(sb, true, ENOSYS, "seccomp filters unavailable: %s", why);
    sb->seccomp_ok = true;
    if (sb->mode != LUST_SANDBOX_LOG)
        return 0;
    /* Log mode lets clone, fork and vfork through with SECCOMP_RET_LOG on every architecture. */
    if (!sb->seccomp_log)
        return lust__fail_plain(ENOSYS, "sandbox log mode: the kernel has no SECCOMP_RET_LOG "
                                        "(Linux 4.14)");
#if !defined(__x86_64__)
    lust__sandbox_note(sb, "log mode: calls outside the promises are named in the kernel's "
                           "audit log, not in this log");
#endif
    return 0;
}

int lust_sandbox_prepare(struct lust_sandbox *sb)
{
    if (!sb)
        return lust__fail_plain(EINVAL, "sandbox prepare: no sandbox");
    if (sb->prepared)
        return lust__fail_plain(EINVAL, "sandbox prepare: already prepared");
    if (sb->mode != LUST_SANDBOX_OFF) {
        int r = sb->promised ? seccomp_prepare(sb) : 0;
        if (r == 0)
            r = lust__landlock_prepare(sb);
        if (r < 0) {
            sb->seccomp_ok = false;
            return r;
        }
    }
    sb->prepared = true;
    return 0;
}

int lust_sandbox_apply(struct lust_sandbox *sb)
{
    if (!sb)
        return lust__fail_plain(EINVAL, "sandbox apply: no sandbox");
    if (sb->mode == LUST_SANDBOX_OFF)
        return 0;
    if (!sb->prepared)
        return lust__fail_plain(EINVAL, "sandbox apply: call lust_sandbox_prepare first");
    if (sb->applied)
        return lust__fail_plain(EINVAL, "sandbox apply: already applied");
    sb->applied = true;
    /* Landlock and seccomp both want it from an unprivileged caller; set for every thread
     * created from now on. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return lust__fail(errno, "sandbox: PR_SET_NO_NEW_PRIVS");
    int r = lust__sandbox_limits(sb);
    struct sock_filter *prog = NULL;
    size_t len = 0;
    bool filter = sb->promised && sb->seccomp_ok;
    if (r == 0 && filter)
        r = lust__seccomp_build(sb, &prog, &len);
    if (r == 0)
        r = lust__landlock_apply(sb);
    if (r == 0 && filter)
        r = lust__seccomp_load(prog, len);
    free(prog);
    return r;
}
