/*
 * lib/sandbox_privs.c - what root must lock before the drop, and the resource limits after it.
 *
 * The bounding set and securebits can only be changed with CAP_SETPCAP, which the drop takes
 * away: lust_sandbox_lock_privs() runs as root, between the jail and lust_privs_drop(). The
 * limits can be lowered by anyone, so they go with the rest in lust_sandbox_apply().
 */
#include "sandbox_private.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lust/sandbox.h>

/*
 * Root gains nothing by execve and no capability can be raised into the ambient set, for good.
 * Setuid fixups are locked ON (NO_SETUID_FIXUP stays clear): with it set, setresuid() would
 * keep root's capabilities through the drop. KEEP_CAPS stays unlocked; see the header.
 */
#define LOCKED_BITS                                                         \
    (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED | \
     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/*
 * Every capability the kernel knows: PR_CAPBSET_READ answers EINVAL past the last one, which
 * is what /proc/sys/kernel/cap_last_cap says, and needs no /proc inside a jail.
 */
static int clear_bounding_set(void)
{
    for (unsigned long cap = 0; cap < 64; cap++) {
        int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
        if (in < 0)
            return errno == EINVAL ? 0 : -errno;
        if (in == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            return -errno;
    }
    return 0;
}

static int clear_inheritable(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d); /* valgrind does not know capget fills both halves */
    if (syscall(SYS_capget, &h, d) < 0)
        return -errno;
    if (!d[0].inheritable && !d[1].inheritable)
        return 0;
    d[0].inheritable = d[1].inheritable = 0;
    return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int lust_sandbox_lock_privs(struct lust_sandbox *sb)
{
    if (!sb)
        return lust__fail_plain(EINVAL, "sandbox lock_privs: no sandbox");
    if (sb->mode == LUST_SANDBOX_OFF)
        return 0;
    if (!sb->prepared)
        return lust__fail_plain(EINVAL, "sandbox lock_privs: call lust_sandbox_prepare first");
    int n = lust__sandbox_threads();
    if (n > 1)
        return lust__fail_plain(EBUSY,
                                "sandbox lock_privs: %d threads run, and capability sets are "
                                "per thread: lock before starting threads",
                                n);
    /* Neither needs a privilege: lowering one's own sets is always allowed. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return lust__fail(errno, "sandbox: clearing the ambient capabilities");
    int r = clear_inheritable();
    if (r < 0)
        return lust__fail(-r, "sandbox: clearing the inheritable capabilities");
    r = clear_bounding_set();
    if (r == 0) {
        int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
        if (bits < 0 || prctl(PR_SET_SECUREBITS, (unsigned long)bits | LOCKED_BITS, 0, 0, 0) < 0)
            return lust__fail(errno, "sandbox: locking securebits");
        return 0;
    }
    return lust__sandbox_lack(sb, true, -r,
                              "capability bounding set not cleared, securebits not locked: %s "
                              "(it takes CAP_SETPCAP: root, before the privilege drop)",
                              strerror(-r));
}

int lust__sandbox_limits(struct lust_sandbox *sb)
{
    const struct rlimit zero = {0, 0};
    if (setrlimit(RLIMIT_CORE, &zero) < 0)
        return lust__fail(errno, "sandbox: RLIMIT_CORE");
    /*
     * RLIMIT_NPROC counts every task of the real uid, threads included, and is checked at
     * clone: 0 means this process can start neither a process nor a thread, whatever the
     * user's other processes do. Not in log mode, which must not break what it watches.
     */
    bool tasks = lust__promised(sb, LUST__P_THREAD) || lust__promised(sb, LUST__P_PROC);
    if (sb->promised && !tasks && sb->mode != LUST_SANDBOX_LOG &&
        setrlimit(RLIMIT_NPROC, &zero) < 0)
        return lust__fail(errno, "sandbox: RLIMIT_NPROC");
    return 0;
}
