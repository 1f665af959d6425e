/*
 * lib/privs_jail.c - the jail: opened and checked with the real / (path, mounts, content),
 * entered later through the descriptor alone.
 *
 * A chroot is a jail only if nothing inside leads out or up: no component of its path that
 * someone other than root could swap, no procfs (whose /proc/PID/root of any process of the
 * same user is a way back to the real /), sysfs or device filesystem at it or below it, and
 * none of what python-lust's README forbids inside: a user with uid 0, set-uid or set-gid
 * files, device nodes.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lust/privs.h>

#define SCAN_MAX_DEPTH 64
#define MOUNTINFO_MAX  (16 * 1024 * 1024)
#define SCAN_BUF       4096 /* directory entries read at once */

/* Filesystems that reach past a chroot: processes, kernel objects, devices, namespaces. */
static const char *const pseudo_fs[] = {
    "proc",     "sysfs",   "devtmpfs",    "devpts",    "cgroup", "cgroup2",
    "debugfs",  "tracefs", "securityfs",  "configfs",  "bpf",    "pstore",
    "efivarfs", "fusectl", "binfmt_misc", "selinuxfs", "nsfs",
};

static int bad_jail_path(const char *path)
{
    if (path[0] != '/')
        return 1;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 1;
        p += n;
    }
    return strlen(path) >= PATH_MAX;
}

static int is_pseudo(const char *type)
{
    for (size_t i = 0; i < sizeof pseudo_fs / sizeof pseudo_fs[0]; i++)
        if (strcmp(type, pseudo_fs[i]) == 0)
            return 1;
    return 0;
}

/* Undoes mountinfo's octal escapes (\040 for a space...) in place. */
static void unescape(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* 1 when dir is mount point mnt itself, 2 when below it (whole components), else 0. */
static int under(const char *dir, const char *mnt)
{
    size_t n = strlen(mnt);
    if (strcmp(mnt, "/") == 0)
        return strcmp(dir, "/") == 0 ? 1 : 2;
    if (strncmp(dir, mnt, n) != 0 || (dir[n] != '\0' && dir[n] != '/'))
        return 0;
    return dir[n] == '\0' ? 1 : 2;
}

/*
 * One mountinfo line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE ...",
 * fields split by single spaces (a space inside a path is written \040). Splits out the mount
 * point and the type; 0 when the line does not parse.
 */
static int parse_mount(char *line, char **mnt, char **type)
{
    char *p = line;
    for (int i = 0; i < 4; i++) {
        p = strchr(p, ' ');
        if (!p++)
            return 0;
    }
    char *end = strchr(p, ' ');
    char *dash = end ? strstr(end, " - ") : NULL;
    if (!dash || !dash[3] || dash[3] == ' ')
        return 0;
    *end = '\0';
    char *t = dash + 3;
    t[strcspn(t, " ")] = '\0';
    unescape(p);
    *mnt = p;
    *type = t;
    return 1;
}

/*
 * The mounts of this process's namespace, against the jail's canonical path: the filesystem
 * the jail is on must not be a pseudo one (-EINVAL: a value that can never work), and none may
 * be mounted below it (-EPERM).
 */
static int check_mounts(const char *path, const char *jail)
{
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lust__fail(
            errno, "jail %s: /proc/self/mountinfo (needed to look for procfs below it)", path);
    char *text;
    size_t len;
    int r = lust__read_all(fd, MOUNTINFO_MAX, &text, &len);
    close(fd);
    if (r < 0)
        return lust__fail(-r, "jail %s: /proc/self/mountinfo", path);
    /* Pointers into text, not copies: two PATH_MAX buffers were 8 KiB of stack every start. */
    const char *own_type = "", *own_mnt = "", *below_type = NULL, *below_mnt = NULL;
    size_t own_len = 0;
    for (char *line = text, *next; *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : line + strlen(line);
        if (nl)
            *nl = '\0';
        char *mnt, *type;
        if (!parse_mount(line, &mnt, &type))
            continue;
        if (under(mnt, jail) == 2 && is_pseudo(type) && !below_mnt) {
            below_type = type;
            below_mnt = mnt;
        } else if (under(jail, mnt) && strlen(mnt) >= own_len) {
            own_len = strlen(mnt);
            own_type = type;
            own_mnt = mnt;
        }
    }
    if (is_pseudo(own_type))
        r = lust__fail_plain(EINVAL, "jail %s: lies on the %s filesystem mounted at %s", path,
                             own_type, own_mnt);
    else if (below_mnt)
        r = lust__fail_plain(EPERM, "jail %s: a %s filesystem is mounted at %s", path, below_type,
                             below_mnt);
    free(text);
    return r;
}

/* The real root, or a bind mount of it, is no jail. */
static int check_not_root(const struct lust__walk *jail, const char *path)
{
    struct stat root;
    if (strcmp(jail->path, "/") == 0)
        return lust__fail_plain(EINVAL, "jail %s: the root directory is no jail", path);
    if (stat("/", &root) < 0)
        return lust__fail(errno, "jail %s", path);
    if (jail->dev == root.st_dev && jail->ino == root.st_ino)
        return lust__fail_plain(EINVAL, "jail %s: is the root directory (a bind mount of /)", path);
    return 0;
}

/*
 * The jail is handed out as a bare descriptor (the 1.0 API), so jail_open remembers the device
 * and inode of each directory it checked, and jail_enter chroots only into one of those: a
 * descriptor closed by a careless keep list and its number reused (by the pid file, or another
 * directory) is refused instead of entered.
 */
struct checked_jail {
    dev_t dev;
    ino_t ino;
    struct checked_jail *next;
};

static pthread_mutex_t checked_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct checked_jail *checked;

static int remember_jail(const struct lust__walk *jail)
{
    struct checked_jail *j = malloc(sizeof *j);
    if (!j)
        return -ENOMEM;
    j->dev = jail->dev;
    j->ino = jail->ino;
    pthread_mutex_lock(&checked_mutex);
    j->next = checked;
    checked = j;
    pthread_mutex_unlock(&checked_mutex);
    return 0;
}

/* Whether st is a directory jail_open checked; with take set, forget it (once entered). */
static int checked_jail(const struct stat *st, int take)
{
    int found = 0;
    pthread_mutex_lock(&checked_mutex);
    for (struct checked_jail **p = &checked; *p; p = &(*p)->next) {
        struct checked_jail *j = *p;
        if (j->dev == st->st_dev && j->ino == st->st_ino) {
            found = 1;
            if (take) {
                *p = j->next;
                free(j);
            }
            break;
        }
    }
    pthread_mutex_unlock(&checked_mutex);
    return found;
}

int lust__privs_jail_open(const char *path, int create, int *out, int *created)
{
    if (!path || !out || bad_jail_path(path))
        return lust__fail_plain(EINVAL, "jail %s: not an absolute path without . or .. components",
                                path ? path : "(null)");
    /* On the heap: two PATH_MAX arrays on the stack were pages every daemon keeps dirty. */
    struct lust__walk *w = malloc(sizeof *w);
    if (!w)
        return lust__fail(ENOMEM, "jail %s", path);
    int fd = lust__walk_dir("jail", path, path, strlen(path), create ? LUST__WALK_CREATE : 0, w);
    /* The walk's own fstat of the jail (w->dev, w->ino) is the one these checks use. */
    int r = fd < 0 ? fd : check_not_root(w, path);
    if (r == 0)
        r = check_mounts(path, w->path);
    if (r == 0 && (r = remember_jail(w)) < 0)
        r = lust__fail(-r, "jail %s", path);
    if (r == 0 && created)
        *created = w->created;
    free(w);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        return r;
    }
    *out = fd;
    return 0;
}

int lust_privs_jail_open(const char *path, int *out)
{
    LUST__REQUIRE(out != NULL, -EINVAL);
    return lust__privs_jail_open(path, 0, out, NULL);
}

struct scan {
    const char *jail;
    unsigned max_entries, entries;
    long long deadline_ms;
    char path[PATH_MAX];
};

static int scan_entry(struct scan *s, int dfd, const char *name, size_t plen, int depth);

/* Walks the directory open at dfd (consumed), whose path is s->path[0..plen). */
static int scan_dir(struct scan *s, int dfd, size_t plen, int depth)
{
    /* getdents64() on the descriptor itself: fdopendir() would first fstat it and set its
     * flags again, three system calls per directory of every start's scan. */
    char *buf = malloc(SCAN_BUF);
    if (!buf) {
        close(dfd);
        return lust__fail(ENOMEM, "jail %s: %s", s->jail, s->path);
    }
    int r = 0;
    ssize_t n;
    while (r == 0 && (n = getdents64(dfd, buf, SCAN_BUF)) > 0) {
        for (ssize_t off = 0; r == 0 && off < n;) {
            const struct dirent64 *e = (const struct dirent64 *)(const void *)(buf + off);
            off += e->d_reclen;
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            r = scan_entry(s, dfd, e->d_name, plen, depth);
            s->path[plen] = '\0';
        }
    }
    if (r == 0 && n < 0)
        r = lust__fail(errno, "jail %s: reading %s", s->jail, s->path);
    free(buf);
    close(dfd);
    return r;
}

static int scan_entry(struct scan *s, int dfd, const char *name, size_t plen, int depth)
{
    if (s->max_entries && ++s->entries > s->max_entries)
        return lust__fail_plain(E2BIG, "jail %s: more than %u entries; content check stopped",
                                s->jail, s->max_entries);
    if (s->deadline_ms >= 0 && lust__now_ms() > s->deadline_ms)
        return lust__fail_plain(ETIME, "jail %s: content check ran out of time", s->jail);
    int n = snprintf(s->path + plen, sizeof s->path - plen, "/%s", name);
    if (n < 0 || (size_t)n >= sizeof s->path - plen)
        return lust__fail(ENAMETOOLONG, "jail %s", s->jail);
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return lust__fail(errno, "jail %s: %s", s->jail, s->path);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        return lust__fail_plain(EPERM, "jail %s: device node %s", s->jail, s->path);
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
        return lust__fail_plain(EPERM, "jail %s: set-uid or set-gid file %s", s->jail, s->path);
    if (!S_ISDIR(st.st_mode))
        return 0;
    if (depth >= SCAN_MAX_DEPTH)
        return lust__fail_plain(E2BIG, "jail %s: %s is nested too deep", s->jail, s->path);
    int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return lust__fail(errno, "jail %s: %s", s->jail, s->path);
    return scan_dir(s, sub, plen + (size_t)n, depth + 1);
}

/* 1 when a passwd line's third field is "0". */
static int passwd_defines_root(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    while (!found && getline(&line, &cap, f) > 0) {
        char *p = strchr(line, ':');
        p = p ? strchr(p + 1, ':') : NULL;
        if (p && p[1] == '0' && (p[2] == ':' || p[2] == '\n' || p[2] == '\0'))
            found = 1;
    }
    free(line);
    return found;
}

static int scan_passwd(struct scan *s, int root)
{
    int etc = openat(root, "etc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (etc < 0)
        return 0; /* no etc/ directory (a symlinked one was reported by the walk's rules) */
    int fd = openat(etc, "passwd", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close(etc);
    if (fd < 0 && err == ENOENT)
        return 0;
    if (fd < 0 && err == ELOOP)
        return lust__fail_plain(EPERM, "jail %s: %s/etc/passwd is a symlink", s->jail, s->jail);
    if (fd < 0)
        return lust__fail(err, "jail %s: %s/etc/passwd", s->jail, s->jail);
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return lust__fail(ENOMEM, "jail %s", s->jail);
    }
    int bad = passwd_defines_root(f);
    fclose(f);
    if (bad)
        return lust__fail_plain(EPERM, "jail %s: %s/etc/passwd defines uid 0", s->jail, s->jail);
    return 0;
}

/* Scans the directory open on root (consumed), named path. */
static int scan_open(int root, const char *path, unsigned max_entries, unsigned max_ms)
{
    struct scan s = {.jail = path, .max_entries = max_entries, .deadline_ms = -1};
    if (max_ms)
        s.deadline_ms = lust__now_ms() + max_ms;
    size_t plen = strlen(path);
    if (plen >= sizeof s.path) {
        close(root);
        return lust__fail(ENAMETOOLONG, "jail %s", path);
    }
    memcpy(s.path, path, plen + 1);
    while (plen > 1 && s.path[plen - 1] == '/')
        s.path[--plen] = '\0';
    int r = scan_passwd(&s, root);
    if (r < 0) {
        close(root);
        return r;
    }
    return scan_dir(&s, root, plen, 0);
}

int lust_privs_jail_scan(const char *path, unsigned max_entries, unsigned max_ms)
{
    LUST__REQUIRE(path != NULL, -EINVAL);
    int root = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0)
        return lust__fail(errno, "jail %s", path);
    return scan_open(root, path, max_entries, max_ms);
}

int lust__privs_jail_scan_fd(int fd, const char *path, unsigned max_entries, unsigned max_ms)
{
    int root = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return lust__fail(errno, "jail %s", path);
    return scan_open(root, path, max_entries, max_ms);
}

/* The jail's path, read from its descriptor only when a sentence needs it. */
static void jail_name(int fd, char *name, size_t size)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, name, size - 1);
    if (n > 0)
        name[n] = '\0';
    else
        snprintf(name, size, "(jail)");
}

/* "chroot JAIL<after>", with ": strerror(err)" when with_strerror. Off the way of a success. */
__attribute__((noinline)) static int enter_failed(int fd, int err, int with_strerror,
                                                  const char *after)
{
    char name[PATH_MAX];
    jail_name(fd, name, sizeof name);
    if (with_strerror)
        return lust__fail(err, "chroot %s%s", name, after);
    return lust__fail_plain(err, "chroot %s%s", name, after);
}

__attribute__((noinline)) static int not_checked(int fd)
{
    char name[PATH_MAX];
    jail_name(fd, name, sizeof name);
    return lust__fail_plain(EBADF,
                            "chroot: descriptor %d (%s) is not a jail lust_privs_jail_open() "
                            "checked (closed, and its number reused?)",
                            fd, name);
}

/*
 * chroot through the descriptor: by its /proc/self/fd link, so a refused chroot (not root)
 * leaves the working directory alone; without /proc, by fchdir() and chroot("."), putting the
 * working directory back when refused. Returns 0 or -errno.
 */
static int chroot_fd(int fd)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (chroot(link) == 0)
        return 0;
    if (errno != ENOENT && errno != ENOTDIR)
        return -errno;
    int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    int r = fchdir(fd) < 0 || chroot(".") < 0 ? -errno : 0;
    if (r < 0 && cwd >= 0)
        (void)!fchdir(cwd);
    /* The saved directory lies outside the jail: it must not survive. */
    if (cwd >= 0)
        close(cwd);
    return r;
}

int lust_privs_jail_enter(int fd)
{
    struct stat want, got;
    if (fstat(fd, &want) < 0)
        return lust__fail(errno, "chroot: descriptor %d", fd);
    if (!S_ISDIR(want.st_mode))
        return enter_failed(fd, ENOTDIR, 1, "");
    if (!checked_jail(&want, 0))
        return not_checked(fd);
    int r = chroot_fd(fd);
    if (r < 0)
        return enter_failed(fd, -r, 1, "");
    /* From here on /proc is out of reach: a sentence says "(jail)". */
    if (chdir("/") < 0)
        return enter_failed(fd, errno, 1, ": chdir /");
    if (stat("/", &got) < 0)
        return enter_failed(fd, errno, 1, ": stat /");
    if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
        return enter_failed(fd, EIO, 0, ": / is not the jail afterwards");
    checked_jail(&want, 1);
    close(fd);
    return 0;
}
