/*
 * test/bench/holder.c - see holder.h.
 */
#include "holder.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KILL_TIMEOUT_MS 5000

pid_t holder_of(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    if (fcntl(fd, F_GETLK, &fl) < 0)
        return -1;
    if (fl.l_type == F_UNLCK)
        return 0;
    return fl.l_type == F_WRLCK && fl.l_pid > 0 ? fl.l_pid : -1;
}

static int poll_pidfd(int pidfd, int ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;

    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    return r;
}

static int stop_pidfd(const char *prog, int pidfd, int timeout_ms)
{
    if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
        return -1;
    if (poll_pidfd(pidfd, timeout_ms) > 0)
        return 0;
    fprintf(stderr, "%s: no exit after TERM, sending KILL\n", prog);
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    return poll_pidfd(pidfd, KILL_TIMEOUT_MS) > 0 ? 0 : -1;
}

static void on_alarm(int sig)
{
    (void)sig; /* only there to interrupt F_SETLKW */
}

/* The kernel drops the lock at exit, so a blocking read lock waits for it; ms < 0: no limit. */
static int wait_lock(int fd, int ms)
{
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: F_SETLKW gets EINTR */
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(ms < 0 ? 0 : ms < 1000 ? 1 : (unsigned)ms / 1000);
    int r = fcntl(fd, F_SETLKW, &fl);
    alarm(0);
    return r;
}

static int stop_kill(const char *prog, int fd, pid_t pid, int timeout_ms)
{
    if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
        return -1;
    if (wait_lock(fd, timeout_ms) == 0)
        return 0;
    pid_t holder = holder_of(fd);
    if (holder != pid)
        return holder == 0 ? 0 : -1;
    fprintf(stderr, "%s: no exit after TERM, sending KILL\n", prog);
    kill(pid, SIGKILL);
    return wait_lock(fd, KILL_TIMEOUT_MS);
}

int holder_stop(const char *prog, int fd, pid_t pid, int timeout_ms)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        if (errno == ESRCH)
            return 0;
        if (errno == ENOSYS)
            return stop_kill(prog, fd, pid, timeout_ms);
        fprintf(stderr, "%s: pidfd_open %ld: %m\n", prog, (long)pid);
        return -1;
    }
    int r = 0;
    /* The pid could have been reused between F_GETLK and pidfd_open: check again. */
    if (holder_of(fd) == pid)
        r = stop_pidfd(prog, pidfd, timeout_ms);
    close(pidfd);
    return r;
}
