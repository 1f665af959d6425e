/*
 * lib/pidfile.c - locked pid files; the kernel's lock table, not the file's text, names the
 * running server.
 *
 * The order in lust_pidfile_open() matters: lock first, truncate second. Truncating first (as
 * O_TRUNC would) wipes the live server's pid before we learn it is alive.
 *
 * POSIX locks vanish when the owning process closes any descriptor of the file. So this module
 * remembers, per process, which files it holds (device and inode, in a small list), and the
 * path-based functions answer from that list instead of opening a file the caller holds.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lust/pidfile.h>

struct lust_pidfile {
    int fd;
    pid_t pid; /* the process that took the lock; no other process holds it through this fd */
    dev_t dev;
    ino_t ino;
    struct lust_pidfile *next;
    char path[]; /* for sentences only: after chroot it may name nothing */
};

/* How many times a start retries when the file changed under it (unlinked by a concurrent
 * `stop`, or the holder died between our F_SETLK and F_GETLK). Each retry means another
 * process made progress, so a small bound is enough. */
#define OPEN_ATTEMPTS 16

static pthread_mutex_t held_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct lust_pidfile *held;

static void held_remove(struct lust_pidfile *pf)
{
    pthread_mutex_lock(&held_mutex);
    for (struct lust_pidfile **p = &held; *p != NULL; p = &(*p)->next) {
        if (*p == pf) {
            *p = pf->next;
            break;
        }
    }
    pthread_mutex_unlock(&held_mutex);
}

/* Does this process hold the file (dev, ino) through a handle? A handle inherited across fork
 * does not count: the child holds no lock. Call with held_mutex held. */
static int held_by_self_locked(const struct stat *st)
{
    if (held == NULL)
        return 0; /* and no getpid(): status and stop hold nothing */
    pid_t self = getpid();
    for (const struct lust_pidfile *p = held; p != NULL; p = p->next)
        if (p->pid == self && p->dev == st->st_dev && p->ino == st->st_ino)
            return 1;
    return 0;
}

static int held_by_self(const struct stat *st)
{
    pthread_mutex_lock(&held_mutex);
    int found = held_by_self_locked(st);
    pthread_mutex_unlock(&held_mutex);
    return found;
}

static int close_keep_errno(int fd)
{
    int saved = errno;
    /* Linux closes the descriptor even when close() reports EINTR: never retry. */
    int r = close(fd);
    errno = saved;
    return r;
}

/* O_NONBLOCK keeps open() from hanging on a FIFO or device swapped in at the path; O_NOCTTY
 * keeps a terminal from becoming ours. Both only matter until the file is known regular. */
static int open_path(const char *path, int flags, mode_t mode)
{
    int fd;
    do
        fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

static int set_lock(int fd, short type, int cmd, struct flock *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = type;
    fl->l_whence = SEEK_SET; /* start 0, length 0: the whole file, however it grows */
    int r;
    do
        r = fcntl(fd, cmd, fl);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

/* A file we may act on as root: regular, and owned by root or by us (not by the user a daemon
 * drops to, who could otherwise point root at any file it likes). With strict set, also what
 * we will write into: one link only (a hard link to /etc/shadow is not a pid file) and not
 * writable by group or others (who could rewrite it under us). */
static int check_trusted(const char *path, const struct stat *st, int strict)
{
    if (S_ISLNK(st->st_mode))
        return lust__fail(ELOOP, "pid file %s is a symbolic link", path);
    if (!S_ISREG(st->st_mode))
        return lust__fail_plain(EPERM, "pid file %s is not a regular file", path);
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return lust__fail_plain(EPERM, "pid file %s is owned by uid %ju, neither root nor uid %ju",
                                path, (uintmax_t)st->st_uid, (uintmax_t)geteuid());
    if (strict && st->st_nlink > 1)
        return lust__fail_plain(EPERM, "pid file %s has %ju hard links", path,
                                (uintmax_t)st->st_nlink);
    if (strict && (st->st_mode & (S_IWGRP | S_IWOTH)))
        return lust__fail_plain(EPERM, "pid file %s is writable by group or others (mode %04o)",
                                path, (unsigned)(st->st_mode & 07777));
    return 0;
}

/* Is the file behind fd still the one at path? Not when a concurrent `stop` unlinked it, or
 * someone renamed another file over it, between our open and our lock. */
static int still_at_path(const char *path, int fd, struct stat *fst)
{
    struct stat st;
    if (fstat(fd, fst) < 0)
        return -errno;
    if (fst->st_nlink == 0 || lstat(path, &st) < 0)
        return 0;
    return st.st_dev == fst->st_dev && st.st_ino == fst->st_ino;
}

static int write_all_at0(int fd, const char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

/*
 * Whether the file behind fd holds our format: nothing, or one decimal pid and a newline.
 * Returns 1 or 0, or -errno. Anything else (a copy of /etc/passwd named by a careless config)
 * is not ours to truncate, write or unlink.
 */
static int our_format(int fd)
{
    char buf[24];
    ssize_t n;
    do
        n = pread(fd, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    size_t digits = 0;
    while (digits < (size_t)n && buf[digits] >= '0' && buf[digits] <= '9')
        digits++;
    /* No leading zero: "0\n" is no pid, and our writer never makes one. */
    return n == 0 || (digits >= 1 && digits <= 10 && buf[0] != '0' && (size_t)n == digits + 1 &&
                      buf[digits] == '\n');
}

static int not_ours(const char *path, const char *what)
{
    return lust__fail_plain(EBADMSG, "pid file %s holds something other than a pid: %s", path,
                            what);
}

/* Someone else's lock stopped our F_SETLK: say who, from the kernel. Returns 1 when the lock
 * is gone again (the holder just died), so the caller retries. */
static int report_conflict(const char *path, int fd, pid_t *holder)
{
    struct flock fl;
    int r = set_lock(fd, F_WRLCK, F_GETLK, &fl);
    if (r < 0)
        return lust__fail(-r, "pid file %s: asking for the lock holder", path);
    if (fl.l_type == F_UNLCK)
        return 1;
    if (fl.l_type == F_RDLCK)
        return lust__fail_plain(EBUSY, "pid file %s is read-locked by process %ld, not a server",
                                path, (long)fl.l_pid);
    if (holder != NULL)
        *holder = fl.l_pid > 0 ? fl.l_pid : 0;
    if (fl.l_pid > 0)
        return lust__fail_plain(EEXIST, "pid file %s is locked: already running (pid %ld)", path,
                                (long)fl.l_pid);
    return lust__fail_plain(EEXIST, "pid file %s is locked: already running (pid not visible)",
                            path);
}

/* One attempt at open-lock-write. Returns 0 with *pf filled, 1 to retry, or -errno. */
static int try_open(const char *path, struct lust_pidfile *pf, pid_t *holder)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        int r = check_trusted(path, &st, 0);
        if (r < 0)
            return r; /* refuse a device or FIFO before opening it */
        if (held_by_self_locked(&st)) {
            if (holder != NULL)
                *holder = getpid();
            return lust__fail_plain(EEXIST, "pid file %s is already held by this process", path);
        }
    } else if (errno != ENOENT) {
        return lust__fail(errno, "pid file %s", path);
    }

    int fd = open_path(path, O_RDWR | O_CREAT, 0600);
    if (fd >= 0)
        fd = lust__fd_above_stdio(fd); /* a closed stdin must not become the pid file */
    if (fd < 0)
        return lust__fail(-fd, "pid file %s", path);
    int r;
    if (fstat(fd, &st) < 0) {
        r = lust__fail(errno, "pid file %s", path);
        goto fail;
    }
    if (st.st_nlink == 0) {
        r = 1;
        goto fail;
    }
    r = check_trusted(path, &st, 1);
    if (r < 0)
        goto fail;

    struct flock fl;
    r = set_lock(fd, F_WRLCK, F_SETLK, &fl);
    if (r == -EAGAIN || r == -EACCES) {
        r = report_conflict(path, fd, holder);
        goto fail;
    }
    if (r < 0) {
        r = lust__fail(-r, "pid file %s: locking", path);
        goto fail;
    }
    /* Locked. Only now may we look at and change the file. */
    r = still_at_path(path, fd, &st);
    if (r <= 0) {
        r = r < 0 ? lust__fail(-r, "pid file %s", path) : 1;
        goto fail;
    }
    r = our_format(fd);
    if (r <= 0) {
        r = r < 0 ? lust__fail(-r, "pid file %s", path)
                  : not_ours(path, "refusing to overwrite it");
        goto fail;
    }
    /* O_NONBLOCK stays: it changes nothing for a regular file, which this one is by now. */
    if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
        r = lust__fail(errno, "pid file %s", path);
        goto fail;
    }
    char text[32];
    pid_t self = getpid();
    int len = snprintf(text, sizeof text, "%ld\n", (long)self);
    /* An empty file (fresh, or emptied by the last holder's release) is not truncated again:
     * on ext4 a truncation to 0 marks the inode so that every later close(), by any reader,
     * forces the block out to disk, and our own truncation at exit then waits for that I/O. */
    if (st.st_size != 0 && ftruncate(fd, 0) < 0) {
        r = lust__fail(errno, "pid file %s: truncating", path);
        goto fail;
    }
    r = write_all_at0(fd, text, (size_t)len);
    if (r < 0) {
        r = lust__fail(-r, "pid file %s: writing", path);
        goto fail;
    }
    pf->fd = fd;
    pf->pid = self;
    pf->dev = st.st_dev;
    pf->ino = st.st_ino;
    return 0;

fail:
    close_keep_errno(fd);
    return r;
}

/*
 * The directories above the pid file: whoever may write one of them may delete the file (and
 * with it what `status` and `stop` see) or swap it. Root's or the caller's, writable by
 * nobody else; a sticky one such as /tmp passes (others cannot remove what is not theirs).
 */
static int check_directory(const char *path)
{
    char *abs = NULL;
    const char *p = path;
    if (path[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (!cwd)
            return lust__fail(errno, "pid file %s: the current directory", path);
        int n = asprintf(&abs, "%s/%s", cwd, path);
        free(cwd);
        if (n < 0)
            return lust__fail(ENOMEM, "pid file %s", path);
        if ((size_t)n >= PATH_MAX) {
            free(abs);
            return lust__fail(ENAMETOOLONG, "pid file %s", path);
        }
        p = abs;
    }
    /* On the heap, as the walk's own buffers: 8 KiB of stack would stay dirty in the daemon. */
    struct lust__walk *w = malloc(sizeof *w);
    int fd = w ? lust__walk_dir("pid file", path, p, lust__dir_len(p),
                                LUST__WALK_SELF | LUST__WALK_STICKY | LUST__WALK_FOLLOW, w)
               : lust__fail(ENOMEM, "pid file %s", path);
    free(w);
    free(abs);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

int lust_pidfile_open(const char *path, struct lust_pidfile **out, pid_t *holder)
{
    LUST__REQUIRE(path != NULL, -EINVAL);
    LUST__REQUIRE(out != NULL, -EINVAL);
    return lust__pidfile_open(path, 1, out, holder);
}

int lust__pidfile_open(const char *path, int walk, struct lust_pidfile **out, pid_t *holder)
{
    if (!*path)
        return lust__fail_plain(EINVAL, "pid file: empty path");
    int r = walk ? check_directory(path) : 0;
    if (r < 0)
        return r;
    size_t len = strlen(path);
    struct lust_pidfile *pf = calloc(1, sizeof *pf + len + 1);
    if (pf == NULL)
        return lust__fail(ENOMEM, "pid file %s", path);
    memcpy(pf->path, path, len + 1);
    /* POSIX locks belong to the process, so two threads opening the same path would both
     * "win". Opening under the list's mutex makes the second one see the first's entry. */
    pthread_mutex_lock(&held_mutex);
    r = 1;
    for (int i = 0; i < OPEN_ATTEMPTS && r == 1; i++)
        r = try_open(path, pf, holder);
    if (r == 1)
        r = lust__fail_plain(EAGAIN, "pid file %s keeps changing under us", path);
    if (r == 0) {
        pf->next = held;
        held = pf;
        lust__fd_own(pf->fd);
    }
    pthread_mutex_unlock(&held_mutex);
    if (r < 0) {
        free(pf);
        return r;
    }
    *out = pf;
    return 0;
}

int lust_pidfile_fd(const struct lust_pidfile *pf)
{
    return pf != NULL ? pf->fd : -1;
}

pid_t lust_pidfile_pid(const struct lust_pidfile *pf)
{
    return pf != NULL ? pf->pid : -1;
}

int lust_pidfile_release(struct lust_pidfile *pf)
{
    if (pf == NULL)
        return 0;
    int r = 0;
    held_remove(pf);
    /* A forked child has a copy of the descriptor but not the lock: emptying the file there
     * would erase the live holder's pid. */
    if (pf->pid == getpid() && ftruncate(pf->fd, 0) < 0)
        r = lust__fail(errno, "pid file %s: emptying", pf->path);
    lust__fd_disown(pf->fd);
    if (close(pf->fd) < 0 && errno != EINTR && r == 0)
        r = lust__fail(errno, "pid file %s: closing", pf->path);
    free(pf);
    return r;
}

int lust__pidfile_query_fd(const char *path, pid_t *holder, int *keep)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? LUST_PIDFILE_NONE : lust__fail(errno, "pid file %s", path);
    if (held_by_self(&st)) {
        if (holder != NULL)
            *holder = getpid();
        return LUST_PIDFILE_RUNNING;
    }
    int r = check_trusted(path, &st, 0);
    if (r < 0)
        return r;

    int fd = open_path(path, O_RDONLY, 0);
    if (fd == -ENOENT)
        return LUST_PIDFILE_NONE;
    if (fd < 0)
        return lust__fail(-fd, "pid file %s", path);
    struct flock fl;
    if (fstat(fd, &st) < 0)
        r = lust__fail(errno, "pid file %s", path);
    else
        r = check_trusted(path, &st, 0);
    if (r == 0) {
        r = set_lock(fd, F_WRLCK, F_GETLK, &fl);
        if (r < 0)
            r = lust__fail(-r, "pid file %s: asking for the lock holder", path);
    }
    if (r == 0 && fl.l_type == F_UNLCK && (r = our_format(fd)) <= 0)
        r = r < 0 ? lust__fail(-r, "pid file %s", path) : not_ours(path, "not a server's");
    else if (r > 0)
        r = 0;
    if (r < 0) {
        close_keep_errno(fd);
        return r;
    }

    if (fl.l_type == F_UNLCK)
        r = st.st_size > 0 ? LUST_PIDFILE_STALE : LUST_PIDFILE_EMPTY;
    else if (fl.l_type == F_RDLCK)
        r = LUST_PIDFILE_FOREIGN;
    else if (fl.l_pid <= 0)
        r = LUST_PIDFILE_RUNNING_UNKNOWN;
    else
        r = LUST_PIDFILE_RUNNING;
    if (r == LUST_PIDFILE_RUNNING && holder != NULL)
        *holder = fl.l_pid;
    if (r == LUST_PIDFILE_RUNNING && keep != NULL)
        *keep = fd;
    else
        close_keep_errno(fd);
    return r;
}

int lust_pidfile_query(const char *path, pid_t *holder)
{
    LUST__REQUIRE(path != NULL, -EINVAL);
    return lust__pidfile_query_fd(path, holder, NULL);
}

pid_t lust__pidfile_holder(int fd)
{
    struct flock fl;
    int r = set_lock(fd, F_WRLCK, F_GETLK, &fl);
    if (r < 0)
        return r;
    return fl.l_type == F_WRLCK && fl.l_pid > 0 ? fl.l_pid : 0;
}

int lust_pidfile_remove(const char *path)
{
    LUST__REQUIRE(path != NULL, -EINVAL);
    return lust__pidfile_remove_with(path, NULL, NULL);
}

int lust__pidfile_remove_with(const char *path, void (*while_locked)(void *arg), void *arg)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : lust__fail(errno, "pid file %s", path);
    if (held_by_self(&st))
        return lust__fail_plain(EBUSY, "pid file %s is held by this process", path);
    int r = check_trusted(path, &st, 0);
    if (r < 0)
        return r;

    int fd = open_path(path, O_RDWR, 0);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return lust__fail(-fd, "pid file %s", path);
    if (fstat(fd, &st) < 0)
        r = lust__fail(errno, "pid file %s", path);
    else
        r = check_trusted(path, &st, 0);
    /* Holding the lock while unlinking: a server that opened this inode before the unlink
     * cannot lock it until we are done, and then sees it has no link left and starts over. */
    struct flock fl;
    if (r == 0) {
        r = set_lock(fd, F_WRLCK, F_SETLK, &fl);
        if (r == -EAGAIN || r == -EACCES)
            r = lust__fail_plain(EBUSY, "pid file %s is locked by a running process", path);
        else if (r < 0)
            r = lust__fail(-r, "pid file %s: locking", path);
    }
    if (r == 0) {
        r = still_at_path(path, fd, &st);
        if (r == 0)
            r = lust__fail_plain(EBUSY, "pid file %s was replaced while removing it", path);
        else if (r < 0)
            r = lust__fail(-r, "pid file %s", path);
        else if ((r = our_format(fd)) <= 0)
            r = r < 0 ? lust__fail(-r, "pid file %s", path) : not_ours(path, "not removing it");
        else
            r = 0;
    }
    if (r == 0 && while_locked)
        while_locked(arg);
    if (r == 0 && unlink(path) < 0 && errno != ENOENT)
        r = lust__fail(errno, "pid file %s: removing", path);
    close_keep_errno(fd);
    return r;
}

int lust_pidfile_lsb_status(int query_result)
{
    switch (query_result) {
    case LUST_PIDFILE_RUNNING:
    case LUST_PIDFILE_RUNNING_UNKNOWN:
        return 0;
    case LUST_PIDFILE_STALE:
        return 1;
    case LUST_PIDFILE_NONE:
    case LUST_PIDFILE_EMPTY:
        return 3;
    default:
        return 4;
    }
}
