/*
 * lib/pidfile_stop.c - stop the server holding a pid file: lust_pidfile_stop().
 *
 * Built on the pid file module's own query and removal, so the holder is always the kernel's
 * lock holder. It is signalled through a pidfd taken before the lock is asked again (on the
 * descriptor the query opened), so a pid reused in between is never signalled; without pidfds
 * (Linux before 5.3, valgrind) the lock itself is watched. Nothing here touches signal dispositions
 * or alarms: a library helper must not take SIGALRM from its caller.
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <lust/pidfile.h>

/* How long stop waits for a holder it killed with SIGKILL, and how often it looks without a
 * pidfd. */
#define KILL_WAIT_MS 5000
#define PROBE_MS     50

/* Whether pid still holds the lock on the file open on fd, by the kernel's lock table. */
static int still_holds(int fd, pid_t pid)
{
    return lust__pidfile_holder(fd) == pid;
}

/* Without a pidfd: up to timeout_ms (< 0: no limit) for pid to let go. 1 gone, 0 not yet. */
static int wait_released(int fd, pid_t pid, int timeout_ms)
{
    long long deadline = timeout_ms < 0 ? -1 : lust__now_ms() + timeout_ms;
    while (still_holds(fd, pid)) {
        if (deadline >= 0 && lust__now_ms() >= deadline)
            return 0;
        poll(NULL, 0, PROBE_MS);
    }
    return 1;
}

/*
 * Sends sig to pid, the holder of the lock on the pid file open on fd, and waits up to
 * timeout_ms for it to be gone. The pidfd is taken before the lock is asked again, so a pid
 * reused in between is never signalled. Returns 1 gone, 0 still there, or -errno.
 */
static int signal_and_wait(int fd, pid_t pid, int sig, int timeout_ms)
{
    int pidfd = lust__pidfd_open(pid);
    if (pidfd == -ESRCH || (pidfd != -ENOSYS && pidfd < 0))
        return pidfd == -ESRCH ? 1 : pidfd;
    int r;
    if (!still_holds(fd, pid))
        r = 1;
    else if (pidfd == -ENOSYS)
        r = kill(pid, sig) < 0 ? (errno == ESRCH ? 1 : -errno) : wait_released(fd, pid, timeout_ms);
    else if ((r = lust__pidfd_signal(pidfd, sig)) == 0)
        r = lust__pidfd_wait(pidfd, timeout_ms);
    else if (r == -ESRCH)
        r = 1;
    if (pidfd >= 0)
        close(pidfd);
    return r;
}

static int kill_wait_fd(const char *path, int fd, pid_t holder, int timeout_ms)
{
    if (holder == getpid())
        return lust__fail_plain(EDEADLK, "pid file %s is held by this process", path);
    int r = signal_and_wait(fd, holder, SIGTERM, timeout_ms);
    int result = LUST_PIDFILE_STOPPED;
    if (r == 0) {
        r = signal_and_wait(fd, holder, SIGKILL, KILL_WAIT_MS);
        result = LUST_PIDFILE_KILLED;
    }
    if (r < 0)
        return lust__fail(-r, "pid file %s: signalling pid %ld", path, (long)holder);
    if (r == 0)
        return lust__fail_plain(ETIMEDOUT, "pid %ld (pid file %s) survived SIGKILL", (long)holder,
                                path);
    return result;
}

int lust__pidfile_kill_wait(const char *path, int timeout_ms, pid_t *pid, int *state)
{
    pid_t holder = 0;
    int fd = -1;
    int found = lust__pidfile_query_fd(path, &holder, &fd);
    if (state)
        *state = found;
    if (found < 0)
        return found;
    if (found == LUST_PIDFILE_RUNNING_UNKNOWN || found == LUST_PIDFILE_FOREIGN)
        return lust__fail_plain(EBUSY,
                                "pid file %s is locked by a process that cannot be named from "
                                "here (another pid namespace, or not a server); not signalling",
                                path);
    if (found != LUST_PIDFILE_RUNNING)
        return LUST_PIDFILE_NOT_RUNNING;
    *pid = holder;
    if (fd < 0) /* held by this process: no descriptor was opened */
        return lust__fail_plain(EDEADLK, "pid file %s is held by this process", path);
    int r = kill_wait_fd(path, fd, holder, timeout_ms);
    close(fd);
    return r;
}

int lust_pidfile_stop(const char *path, int timeout_ms, pid_t *pid)
{
    LUST__REQUIRE(path != NULL, -EINVAL);
    pid_t holder = 0;
    int r = lust__pidfile_kill_wait(path, timeout_ms, &holder, NULL);
    if (holder > 0 && pid != NULL)
        *pid = holder;
    if (r < 0)
        return r;
    /* A server that started meanwhile (EBUSY) keeps its file. */
    int removed = lust_pidfile_remove(path);
    return removed < 0 && removed != -EBUSY ? removed : r;
}
