/*
 * lib/fd.c - descriptors, threads and processes: the few helpers several modules need.
 *
 * One copy each, so that the daemon's and the log's "close everything else" cannot drift apart
 * again: both used to carry their own, with different fallbacks. (The monotonic clock in
 * milliseconds for deadlines lives here too, for the same reason.)
 *
 * The registry of descriptors the library owns is a fixed array of atomics rather than a list
 * under a mutex: close_all runs in a child after fork(), where a mutex another thread held at
 * the fork would stay locked for good.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Beyond this many numbers, closing one by one is not a fallback but a hang. */
#define CLOSE_LOOP_MAX (1 << 20)

/* More handles than any daemon holds at once: a report channel, a pid file or two, a notify
 * socket. */
#define OWNED_MAX 64

static struct {
    atomic_int fd1; /* the descriptor + 1; 0: free; -1: being filled in */
    dev_t dev;
    ino_t ino;
} owned[OWNED_MAX];

void lust__fd_own(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return;
    for (size_t i = 0; i < OWNED_MAX; i++) {
        int free_slot = 0;
        if (atomic_compare_exchange_strong(&owned[i].fd1, &free_slot, -1)) {
            owned[i].dev = st.st_dev;
            owned[i].ino = st.st_ino;
            atomic_store_explicit(&owned[i].fd1, fd + 1, memory_order_release);
            return;
        }
    }
}

void lust__fd_disown(int fd)
{
    for (size_t i = 0; i < OWNED_MAX; i++) {
        int mine = fd + 1;
        if (atomic_compare_exchange_strong(&owned[i].fd1, &mine, 0))
            return;
    }
}

/* Registered, and still the file it was: a number the caller closed and reused is not ours. */
static int owned_at(size_t i, int *fd)
{
    *fd = atomic_load_explicit(&owned[i].fd1, memory_order_acquire) - 1;
    struct stat st;
    return *fd >= 0 && fstat(*fd, &st) == 0 && st.st_dev == owned[i].dev &&
           st.st_ino == owned[i].ino;
}

static int is_owned(int fd)
{
    int at;
    for (size_t i = 0; i < OWNED_MAX; i++)
        if (owned_at(i, &at) && at == fd)
            return 1;
    return 0;
}

int lust__fd_above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int err = errno;
    close(fd);
    return high < 0 ? -err : high;
}

int lust__devnull(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
    return fd < 0 ? -errno : lust__fd_above_stdio(fd);
}

int lust__fd_fill_stdio(void)
{
    /* One poll() tells which of the three are closed (POLLNVAL), where fcntl() takes three. */
    struct pollfd p[3] = {{.fd = 0}, {.fd = 1}, {.fd = 2}};
    int polled = poll(p, 3, 0) >= 0;
    for (int fd = 0; fd < 3; fd++) {
        if (polled ? !(p[fd].revents & POLLNVAL) : fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* The lowest free number is fd itself: the ones below it are open by now. */
        int null = open("/dev/null", O_RDWR | O_NOCTTY);
        if (null < 0)
            return -errno;
        if (null != fd) {
            close(null);
            return -EBADF;
        }
    }
    return 0;
}

static int listed(int fd, const int *keep, size_t nkeep)
{
    for (size_t i = 0; i < nkeep; i++)
        if (keep[i] == fd)
            return 1;
    return 0;
}

/* Kernels without close_range: what /proc/self/fd lists, else every number the limit allows. */
static int close_listed_by_proc(const int *keep, size_t nkeep)
{
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int self = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d))) {
            char *end;
            long fd = strtol(e->d_name, &end, 10);
            if (*end == '\0' && end != e->d_name && fd > 2 && fd != self &&
                !listed((int)fd, keep, nkeep) && !is_owned((int)fd))
                close((int)fd);
        }
        closedir(d);
        return 0;
    }
    int err = errno;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > CLOSE_LOOP_MAX)
        return -err;
    for (int fd = 3; fd < (int)rl.rlim_cur; fd++)
        if (!listed(fd, keep, nkeep) && !is_owned(fd))
            close(fd);
    return 0;
}

/* The lowest descriptor at or above lo in either list, or -1. */
static long next_kept(unsigned lo, const int *keep, size_t nkeep, const int *own, size_t nown)
{
    long next = -1;
    for (size_t i = 0; i < nkeep + nown; i++) {
        int fd = i < nkeep ? keep[i] : own[i - nkeep];
        if (fd >= 0 && (unsigned)fd >= lo && (next < 0 || fd < next))
            next = fd;
    }
    return next;
}

int lust__close_all_except(const int *keep, size_t nkeep)
{
    /* The owned descriptors, each checked once (one fstat), not once per gap. */
    int own[OWNED_MAX];
    size_t nown = 0;
    for (size_t i = 0; i < OWNED_MAX; i++)
        if (owned_at(i, &own[nown]))
            nown++;
    unsigned lo = 3;
    for (;;) {
        long next = next_kept(lo, keep, nkeep, own, nown);
        if (next < 0 || (unsigned)next > lo) {
            unsigned hi = next < 0 ? UINT_MAX : (unsigned)next - 1;
            if (close_range(lo, hi, 0) < 0)
                return close_listed_by_proc(keep, nkeep);
        }
        if (next < 0)
            return 0;
        lo = (unsigned)next + 1;
    }
}

long long lust__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* num_threads, field 20 of /proc/self/stat: one read, where listing /proc/self/task took five
 * system calls. */
static int count_tasks(void)
{
    char buf[512];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int err = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -err : -EIO;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the name, which may hold spaces and ')' */
    for (int field = 3; p && field <= 20; field++)
        p = strchr(p + 1, ' ');
    char *end;
    long threads = p ? strtol(p + 1, &end, 10) : 0;
    return p && end != p + 1 && threads > 0 && threads <= INT_MAX ? (int)threads : -EIO;
}

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LUST__TSAN 1 /* clang's way to say -fsanitize=thread; gcc defines __SANITIZE_THREAD__ */
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(LUST__TSAN)
/*
 * Only in -fsanitize=thread builds, which are test builds. ThreadSanitizer's runtime runs a
 * thread of its own, and starts one again in each child a single-threaded process forks: the
 * checks that a process runs one thread (daemonize, keeping a capability) and that every thread
 * dropped its privileges would see it. __sanitizer_sandbox_on_notify() stops it for good, but
 * only once the process created a thread itself (the first pthread_create installs the stop),
 * hence the one made here. A child forked later still starts one, which sees the stop and ends
 * at once: lust__runtime_settle() waits for that.
 */
void __sanitizer_sandbox_on_notify(void *args);

static void *no_op(void *arg)
{
    return arg;
}

__attribute__((constructor)) static void stop_sanitizer_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, no_op, NULL) == 0)
        pthread_join(t, NULL);
    __sanitizer_sandbox_on_notify(NULL);
}

void lust__runtime_settle(void)
{
    for (int i = 0; i < 100 && count_tasks() > 1; i++)
        usleep(1000);
}
#else
void lust__runtime_settle(void)
{
}
#endif

int lust__count_threads(void)
{
    lust__runtime_settle();
    return count_tasks();
}

int lust__pidfd_open(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

int lust__pidfd_signal(int pidfd, int sig)
{
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int lust__pidfd_wait(int pidfd, int timeout_ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r > 0;
}

int lust__read_all(int fd, size_t max, char **text, size_t *len)
{
    size_t size = 4096, n = 0;
    char *buf = malloc(size);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (n + 1 >= size) {
            if (size > max) {
                free(buf);
                return -EFBIG;
            }
            char *bigger = realloc(buf, size * 2);
            if (!bigger) {
                free(buf);
                return -ENOMEM;
            }
            buf = bigger;
            size *= 2;
        }
        ssize_t got = read(fd, buf + n, size - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int err = errno;
            free(buf);
            return -err;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > max) {
        free(buf);
        return -EFBIG;
    }
    buf[n] = '\0';
    /* Exactly the text and its NUL: also lets ASan see a scan that runs past the end. */
    char *fit = realloc(buf, n + 1);
    *text = fit ? fit : buf;
    *len = n;
    return 0;
}
