/*
 * test/pidfile_helpers.h - temporary directories and lock-holding children for the pid file
 * tests (check_pidfile.c, check_pidfile_root.c).
 *
 * A holder child takes its lock, reports one status byte, then blocks reading a pipe until the
 * test closes it (or dies): no child outlives its test, and no sleep is used to synchronise.
 */
#ifndef LUST_PIDFILE_HELPERS_H
#define LUST_PIDFILE_HELPERS_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lust/pidfile.h>

static char tmpdir[64];
static char pidpath[128];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void tmp_setup(void)
{
    strcpy(tmpdir, "/tmp/lust-pidfile-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(pidpath, sizeof pidpath, "%s/test.pid", tmpdir);
}

static void tmp_teardown(void)
{
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        ck_assert_int_gt(n, 0);
        done += (size_t)n;
    }
    ck_assert_int_eq(close(fd), 0);
}

/* The file's whole content, NUL-terminated, in a static buffer (pid files are small). */
static const char *read_file(const char *path)
{
    static char buf[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    close(fd);
    return buf;
}

enum holder_kind {
    HOLD_PIDFILE,     /* lust_pidfile_open, then exit without release (like a crash) */
    HOLD_READ_LOCK,   /* a plain fcntl read lock, as any user who can open the file */
    HOLD_OFD_LOCK,    /* an open-file-description write lock: F_GETLK says l_pid = -1 */
    HOLD_AND_RELEASE, /* lust_pidfile_open, then lust_pidfile_release when told to go */
    HOLD_DEAF,        /* lust_pidfile_open with SIGTERM ignored: only SIGKILL ends it */
};

struct holder {
    pid_t pid;
    int go; /* write end: close it to let the child finish */
};

static void child_hold(const char *path, enum holder_kind kind, int ready, int go)
{
    struct lust_pidfile *pf = NULL;
    int r = 0;
    /* Not Check's handler, which would take the whole test's process group down with it. */
    signal(SIGTERM, kind == HOLD_DEAF ? SIG_IGN : SIG_DFL);
    if (kind == HOLD_PIDFILE || kind == HOLD_AND_RELEASE || kind == HOLD_DEAF) {
        r = lust_pidfile_open(path, &pf, NULL);
    } else {
        int fd =
            open(path, (kind == HOLD_READ_LOCK ? O_RDONLY : O_RDWR) | O_CREAT | O_CLOEXEC, 0600);
        struct flock fl = {.l_type = kind == HOLD_READ_LOCK ? F_RDLCK : F_WRLCK,
                           .l_whence = SEEK_SET};
        r = fd < 0 || fcntl(fd, kind == HOLD_READ_LOCK ? F_SETLK : F_OFD_SETLK, &fl) < 0;
    }
    char status = r == 0 ? 'y' : 'n';
    if (write(ready, &status, 1) != 1)
        _exit(2);
    char c;
    while (read(go, &c, 1) < 0 && errno == EINTR)
        ;
    if (kind == HOLD_AND_RELEASE && lust_pidfile_release(pf) != 0)
        _exit(3);
    _exit(0);
}

/* Fork a child holding path as kind; returns once the lock is taken. */
static struct holder spawn_holder(const char *path, enum holder_kind kind)
{
    int ready[2], go[2];
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        child_hold(path, kind, ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    char status = 0;
    ck_assert_int_eq(read(ready[0], &status, 1), 1);
    close(ready[0]);
    ck_assert_int_eq(status, 'y');
    return (struct holder){.pid = pid, .go = go[1]};
}

/* Let the child finish and reap it; returns its exit status. */
static int finish_holder(struct holder h)
{
    close(h.go);
    int st;
    ck_assert_int_eq(waitpid(h.pid, &st, 0), h.pid);
    return st;
}

static void kill_holder(struct holder h)
{
    ck_assert_int_eq(kill(h.pid, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(h.pid, &st, 0), h.pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(h.go);
}

#endif
