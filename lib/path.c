/*
 * lib/path.c - walking a directory path as root without letting anyone else steer the walk.
 *
 * A path root acts on (a jail, the directory of a pid file or a control socket) is only as
 * safe as every directory on the way to it: whoever may write one of them may swap what comes
 * after it. So each component is opened relative to the one before (O_PATH, O_NOFOLLOW) and
 * checked before the next is looked up, as OpenSSH checks a ChrootDirectory.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* As the kernel's own limit on symlinks in one lookup. */
#define MAX_HOPS 40

struct walk_state {
    const char *what, *obj; /* for sentences: "pid file", "/run/x.pid" */
    unsigned flags;
    int fd;         /* the directory reached so far */
    int open_above; /* others may write it (sticky or not): a symlink there is not trusted */
    struct lust__walk *w;
};

static int trusted_owner(uid_t uid, unsigned flags)
{
    return uid == 0 || ((flags & LUST__WALK_SELF) && uid == geteuid());
}

/* One directory on the way (its path w->path, st from fstat): owner, mode, type. */
static int check_dir(struct walk_state *s, const struct stat *st, int last)
{
    const char *p = s->w->path;
    s->w->dev = st->st_dev;
    s->w->ino = st->st_ino;
    if (!S_ISDIR(st->st_mode))
        return last && strcmp(p, s->obj) == 0
                   ? lust__fail_plain(ENOTDIR, "%s %s: not a directory", s->what, s->obj)
                   : lust__fail_plain(ENOTDIR, "%s %s: component %s is not a directory", s->what,
                                      s->obj, p);
    if (!trusted_owner(st->st_uid, s->flags))
        return lust__fail_plain(EPERM, "%s %s: directory %s is owned by uid %u, not root%s",
                                s->what, s->obj, p, (unsigned)st->st_uid,
                                s->flags & LUST__WALK_SELF ? " nor this user" : "");
    s->open_above = (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
    if (!s->open_above)
        return 0;
    if ((s->flags & LUST__WALK_STICKY) && (st->st_mode & S_ISVTX)) {
        if (!s->w->sticky[0])
            snprintf(s->w->sticky, sizeof s->w->sticky, "%s", p);
        return 0;
    }
    return lust__fail_plain(EPERM, "%s %s: directory %s is writable by group or others (mode %04o)",
                            s->what, s->obj, p, (unsigned)(st->st_mode & 07777));
}

/* Appends component c (n bytes) to w->path, or takes the last one off for "..". */
static int step_path(struct walk_state *s, const char *c, size_t n)
{
    char *p = s->w->path;
    size_t len = strlen(p);
    if (n == 2 && c[0] == '.' && c[1] == '.') {
        char *slash = strrchr(p, '/');
        if (slash)
            *(slash == p ? slash + 1 : slash) = '\0';
        return 0;
    }
    if (len + 1 + n >= sizeof s->w->path)
        return lust__fail(ENAMETOOLONG, "%s %s", s->what, s->obj);
    if (len > 1)
        p[len++] = '/';
    memcpy(p + len, c, n);
    p[len + n] = '\0';
    return 0;
}

static int reopen_root(struct walk_state *s)
{
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lust__fail(errno, "%s %s: /", s->what, s->obj);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = fd;
    strcpy(s->w->path, "/");
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lust__fail(errno, "%s %s: /", s->what, s->obj);
    return check_dir(s, &st, 0);
}

/*
 * A symlink met on the way: followed (its target spliced in front of rest) only when asked
 * and when nobody but root (or the caller) could have put it there. Returns 0 or -errno.
 */
__attribute__((noinline)) static int follow(struct walk_state *s, int link, const struct stat *st,
                                            const char *name, char *rest, size_t size, int *hops)
{
    char target[PATH_MAX];
    char shown[PATH_MAX + NAME_MAX + 2];
    snprintf(shown, sizeof shown, "%s%s%s", s->w->path, strcmp(s->w->path, "/") ? "/" : "", name);
    if (!(s->flags & LUST__WALK_FOLLOW))
        return lust__fail_plain(ELOOP, "%s %s: component %s is a symlink", s->what, s->obj, shown);
    if (s->open_above || !trusted_owner(st->st_uid, s->flags))
        return lust__fail_plain(ELOOP, "%s %s: component %s is a symlink that others could replace",
                                s->what, s->obj, shown);
    ssize_t n = readlinkat(link, "", target, sizeof target - 1);
    if (n < 0)
        return lust__fail(errno, "%s %s: %s", s->what, s->obj, shown);
    target[n] = '\0';
    if (++*hops > MAX_HOPS)
        return lust__fail(ELOOP, "%s %s", s->what, s->obj);
    size_t rlen = strlen(rest);
    if ((size_t)n + 1 + rlen >= size)
        return lust__fail(ENAMETOOLONG, "%s %s", s->what, s->obj);
    memmove(rest + n + 1, rest, rlen + 1);
    memcpy(rest, target, (size_t)n);
    rest[n] = '/';
    return target[0] == '/' ? reopen_root(s) : 0;
}

/* Makes the missing last component: 0755 whatever the umask, owned by the caller. */
static int create_last(struct walk_state *s, const char *name)
{
    if (mkdirat(s->fd, name, 0755) < 0 && errno != EEXIST)
        return -errno;
    int fd = openat(s->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fchmod(fd, 0755) < 0 ? -errno : 0;
    close(fd);
    if (r == 0)
        s->w->created = 1;
    return r;
}

/* The next component of rest, taken off it into name (NAME_MAX + 1). 0 at the end. */
static size_t next_component(char *rest, char *name)
{
    char *p = rest;
    while (*p == '/')
        p++;
    size_t n = strcspn(p, "/");
    if (n > NAME_MAX)
        return (size_t)-1;
    memcpy(name, p, n);
    name[n] = '\0';
    memmove(rest, p + n, strlen(p + n) + 1);
    return n;
}

static int only_slashes(const char *s)
{
    return s[strspn(s, "/")] == '\0';
}

static int walk(struct walk_state *s, char *rest, size_t size)
{
    int hops = 0;
    int r = reopen_root(s);
    char name[NAME_MAX + 1];
    while (r == 0) {
        size_t n = next_component(rest, name);
        if (n == (size_t)-1)
            return lust__fail(ENAMETOOLONG, "%s %s", s->what, s->obj);
        if (n == 0)
            return 0;
        if (strcmp(name, ".") == 0)
            continue;
        int last = only_slashes(rest);
        int next = openat(s->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && last && (s->flags & LUST__WALK_CREATE)) {
            r = create_last(s, name);
            next = r < 0 ? -1 : openat(s->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (r < 0)
                errno = -r;
        }
        int err = errno;
        r = step_path(s, name, n);
        if (r < 0) {
            if (next >= 0)
                close(next);
            return r;
        }
        if (next < 0)
            return strcmp(s->w->path, s->obj) == 0
                       ? lust__fail(err, "%s %s", s->what, s->obj)
                       : lust__fail(err, "%s %s: %s", s->what, s->obj, s->w->path);
        struct stat st;
        if (fstat(next, &st) < 0) {
            r = lust__fail(errno, "%s %s: %s", s->what, s->obj, s->w->path);
            close(next);
            return r;
        }
        if (S_ISLNK(st.st_mode)) {
            step_path(s, "..", 2);
            r = follow(s, next, &st, name, rest, size, &hops);
            close(next);
            continue;
        }
        close(s->fd);
        s->fd = next;
        r = check_dir(s, &st, last);
    }
    return r;
}

int lust__walk_dir(const char *what, const char *obj, const char *dir, size_t dirlen,
                   unsigned flags, struct lust__walk *w)
{
    struct walk_state s = {.what = what, .obj = obj, .flags = flags, .fd = -1, .w = w};
    /* Not a memset of both PATH_MAX arrays: a start walks four paths. */
    w->path[0] = w->sticky[0] = '\0';
    w->created = 0;
    if (dir[0] != '/' || dirlen >= PATH_MAX)
        return lust__fail_plain(EINVAL, "%s %s: not an absolute path", what, obj);
    /* What is left to walk (symlink targets are spliced in), on the heap: as a stack array its
     * 8 KiB were pages every daemon kept dirty for good. */
    char *rest = malloc(PATH_MAX * 2);
    if (!rest)
        return lust__fail(ENOMEM, "%s %s", what, obj);
    memcpy(rest, dir, dirlen);
    rest[dirlen] = '\0';
    int r = walk(&s, rest, PATH_MAX * 2);
    free(rest);
    if (r < 0) {
        if (s.fd >= 0)
            close(s.fd);
        return r;
    }
    int fd = lust__fd_above_stdio(s.fd);
    return fd < 0 ? lust__fail(-fd, "%s %s", what, obj) : fd;
}

size_t lust__dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return 0;
    while (slash > path && slash[-1] == '/')
        slash--;
    return slash == path ? 1 : (size_t)(slash - path);
}
