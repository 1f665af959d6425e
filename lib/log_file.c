/*
 * lib/log_file.c - the log's file: opened by path (never blocking, a regular file only), put
 * under stdout and stderr by setup, and reopened for logrotate. Two reopens, or a reopen and a
 * setup, never race over the remembered path: reopen_lock keeps them apart. Logging threads
 * never take it; a dup2 onto stderr is atomic for them.
 */
#include "log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_OPEN_MODE 0640
#define LOG_FLAGS     (O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)

static pthread_mutex_t reopen_lock = PTHREAD_MUTEX_INITIALIZER;
/* The remembered log file, under reopen_lock; on the heap, not a PATH_MAX array in .bss, whose
 * pages (and the small variables placed beside it) each daemon copy would dirty for a short
 * path. NULL with path_lost set: remembering it failed for want of memory. */
static char *log_path;
static bool path_lost;

static int dup2_retry(int from, int to)
{
    int r;
    /* EBUSY: Linux's dup2 racing an open() that is filling the target slot; it goes away. */
    do
        r = dup2(from, to);
    while (r < 0 && (errno == EINTR || errno == EBUSY));
    return r;
}

/* Open the log file without remembering it. Returns an fd >= 3 or -errno. */
static int open_log(const char *path)
{
    if (path == NULL || path[0] == '\0')
        return lust__fail_plain(EINVAL, "log file path empty");
    if (strlen(path) >= PATH_MAX)
        return lust__fail(ENAMETOOLONG, "log file %s", path);
    lust__log_load_zone();
    int fd;
    /* O_NONBLOCK: a FIFO planted in place of the log (with nobody reading) fails with ENXIO
     * instead of hanging root's start or reopen for good. It stays on: only a regular file is
     * taken, for which it changes nothing. */
    do
        fd = open(path, LOG_FLAGS | O_NONBLOCK, LOG_OPEN_MODE);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return lust__fail(errno, "log file %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return lust__fail(err, "log file %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        /* A FIFO someone holds open (or a device) would block every logging thread. */
        return lust__fail_plain(EPERM, "log file %s is not a regular file; refusing it", path);
    }
    if (st.st_nlink > 1) {
        close(fd);
        return lust__fail_plain(EMLINK, "log file %s has %ju hard links; refusing to append to it",
                                path, (uintmax_t)st.st_nlink);
    }
    /* stdin/out/err were closed: keep the log out of those slots, setup fills them. */
    fd = lust__fd_above_stdio(fd);
    return fd < 0 ? lust__fail(-fd, "log file %s", path) : fd;
}

static void remember_path(const char *path)
{
    char *copy = strdup(path);
    pthread_mutex_lock(&reopen_lock);
    free(log_path);
    log_path = copy;
    path_lost = copy == NULL;
    pthread_mutex_unlock(&reopen_lock);
}

int lust_log_open(const char *path)
{
    int fd = open_log(path);
    if (fd >= 0)
        remember_path(path);
    return fd;
}

/* Check fd, make it O_APPEND when it is a regular file; returns the line cap for it. */
static int prepare(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lust__fail(errno, "log descriptor %d", fd);
    if (S_ISREG(st.st_mode)) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || (!(fl & O_APPEND) && fcntl(fd, F_SETFL, fl | O_APPEND) < 0))
            return lust__fail(errno, "log descriptor %d: O_APPEND", fd);
    }
    return lust__log_cap_for(&st);
}

/* Put fd under stderr then stdout. Each dup2 is atomic: writers see the old or the new file. */
static int install(int fd, int cap)
{
    if (fd != STDERR_FILENO && dup2_retry(fd, STDERR_FILENO) < 0)
        return lust__fail(errno, "log descriptor %d onto stderr", fd);
    lust__log_set_cap(cap);
    lust__log_restyle(0, -1);
    if (fd != STDOUT_FILENO && dup2_retry(fd, STDOUT_FILENO) < 0)
        return lust__fail(errno, "log descriptor %d onto stdout", fd);
    return 0;
}

/*
 * setvbuf(stdout, NULL, _IOLBF, 0) on a stream that was already written to only sets a flag:
 * glibc keeps the fully-buffered write window, and a line printed by putc or puts then sits in
 * the buffer until exit (lost on a crash). Handing setvbuf a buffer resets the window. The
 * stream was flushed before, so nothing is lost. A stream without a buffer yet (the usual
 * daemon: nothing printed before setup) needs only the flag; glibc then allocates its buffer at
 * the first write, if there is one, and no daemon carries 8 KiB it never uses.
 */
static void line_buffer_stdout(void)
{
    static char *buf; /* allocated once, kept for the stream's life */
    if (__fbufsize(stdout) == 0 || (buf == NULL && (buf = malloc(BUFSIZ)) == NULL)) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        return;
    }
    setvbuf(stdout, buf, _IOLBF, BUFSIZ);
}

int lust_log_setup_fd(int fd, const int *keep, size_t nkeep)
{
    LUST__REQUIRE(keep != NULL || nkeep == 0, -EINVAL);
    int cap = prepare(fd);
    if (cap < 0)
        return cap;
    int null = lust__devnull();
    if (null < 0)
        return lust__fail(-null, "/dev/null");
    lust__log_load_zone();
    fflush(stdout);
    fflush(stderr);
    int r = install(fd, cap);
    if (r == 0 && dup2_retry(null, STDIN_FILENO) < 0)
        r = lust__fail(errno, "/dev/null onto stdin");
    close(null);
    if (r < 0)
        return r;
    r = lust__close_all_except(keep, nkeep);
    if (r < 0)
        return lust__fail(-r, "closing the descriptors not kept");
    line_buffer_stdout();
    return 0;
}

int lust__log_take(int fd)
{
    /* From lust_log_open(): a regular file opened O_APPEND, nothing to look at again. */
    int cap = LINE_BUF - 1;
    fflush(stdout);
    fflush(stderr);
    int r = install(fd, cap);
    if (r < 0)
        return r;
    if (fd > 2)
        close(fd);
    line_buffer_stdout();
    return 0;
}

/* JOURNAL_STREAM is "DEV:INODE" of the stream journald connected to the service's stderr. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    if (js == NULL)
        return false;
    char *end;
    errno = 0;
    unsigned long long dev = strtoull(js, &end, 10);
    if (errno != 0 || *end != ':')
        return false;
    unsigned long long ino = strtoull(end + 1, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    struct stat st;
    return fstat(LOG_FD, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int lust_log_setup(const char *path, const int *keep, size_t nkeep)
{
    LUST__REQUIRE(keep != NULL || nkeep == 0, -EINVAL);
    if (path == NULL) {
        int saved = errno;
        lust__log_load_zone();
        struct stat st;
        lust__log_set_cap(fstat(LOG_FD, &st) == 0 ? lust__log_cap_for(&st) : PIPE_BUF);
        lust__log_restyle(stderr_is_journal(), -1);
        errno = saved;
        return 0;
    }
    int fd = open_log(path);
    if (fd < 0)
        return fd;
    int r = lust_log_setup_fd(fd, keep, nkeep);
    if (r < 0) {
        close(fd);
        return r;
    }
    remember_path(path);
    return 0;
}

int lust_log_reopen_fd(int fd)
{
    int cap = prepare(fd);
    if (cap < 0)
        return cap;
    int r = install(fd, cap);
    if (r == 0 && fd > 2)
        close(fd);
    return r;
}

int lust_log_reopen(void)
{
    pthread_mutex_lock(&reopen_lock);
    int r = 0;
    if (path_lost)
        r = lust__fail(ENOMEM, "log reopen: the log file's path could not be remembered");
    if (log_path != NULL) {
        int fd = open_log(log_path);
        r = fd < 0 ? fd : lust_log_reopen_fd(fd);
        if (r < 0 && fd >= 0)
            close(fd);
    }
    pthread_mutex_unlock(&reopen_lock);
    return r;
}
