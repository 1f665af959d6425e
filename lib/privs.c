/*
 * lib/privs.c - user lookup, jail and privilege drop.
 *
 * Everything that needs the real / (NSS, time zone, libgcc_s, the jail's path) happens in
 * lookup, prepare and jail_open; jail_enter and drop only use what those returned, so they
 * work inside an empty jail.
 *
 * The jail is handed out as a bare descriptor (the 1.0 API), so jail_open remembers the device
 * and inode of each directory it checked, and jail_enter chroots only into one of those: a
 * descriptor closed by a careless keep list and its number reused (by the pid file, or another
 * directory) is refused instead of entered.
 */
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lust/privs.h>

#define NAME_MAX_SHOWN 64
#define SCAN_MAX_DEPTH 64

struct lust_creds {
    uid_t uid;
    gid_t gid;
    char name[NAME_MAX_SHOWN + 1]; /* as the caller gave it, for sentences */
    int ngroups;
    gid_t groups[];
};

/* A string of digits that fits an id, or -1. (uid_t)-1 is "no change" to the kernel: refused. */
static long long parse_id(const char *s)
{
    if (!*s)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno || v >= (unsigned long long)(uid_t)-1)
        return -1;
    return (long long)v;
}

static size_t nss_buf_size(int which)
{
    long n = sysconf(which);
    return n > 0 ? (size_t)n : 16384;
}

/* NSS "not found" comes back as 0 or as one of these, depending on the module. */
static int nss_not_found(int r)
{
    return r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM;
}

/* Returns 1 with *pw filled (strings in *buf, to free), 0 when absent, -errno on error. */
static int get_user(const char *name, long long id, struct passwd *pw, char **buf)
{
    size_t size = nss_buf_size(_SC_GETPW_R_SIZE_MAX);
    for (;;) {
        char *b = malloc(size);
        if (!b)
            return -ENOMEM;
        struct passwd *res = NULL;
        int r =
            name ? getpwnam_r(name, pw, b, size, &res) : getpwuid_r((uid_t)id, pw, b, size, &res);
        if (res) {
            *buf = b;
            return 1;
        }
        free(b);
        if (r == ERANGE && size < (1u << 24)) {
            size *= 2;
            continue;
        }
        return nss_not_found(r) ? 0 : -r;
    }
}

static int get_group(const char *name, long long id, gid_t *gid)
{
    size_t size = nss_buf_size(_SC_GETGR_R_SIZE_MAX);
    for (;;) {
        char *b = malloc(size);
        if (!b)
            return -ENOMEM;
        struct group gr, *res = NULL;
        int r =
            name ? getgrnam_r(name, &gr, b, size, &res) : getgrgid_r((gid_t)id, &gr, b, size, &res);
        if (res)
            *gid = gr.gr_gid;
        free(b);
        if (res)
            return 1;
        if (r == ERANGE && size < (1u << 24)) {
            size *= 2;
            continue;
        }
        return nss_not_found(r) ? 0 : -r;
    }
}

static int resolve_user(const char *user, uid_t *uid, gid_t *gid, int *has_entry, char **pwname,
                        char **buf)
{
    struct passwd pw;
    int r = get_user(user, -1, &pw, buf);
    long long id = parse_id(user);
    if (r == 0 && id >= 0)
        r = get_user(NULL, id, &pw, buf);
    if (r < 0)
        return lust__fail(-r, "user \"%s\"", user);
    if (r == 0 && id < 0)
        return lust__fail_plain(ENOENT, "user \"%s\" not found", user);
    *has_entry = r;
    *uid = r ? pw.pw_uid : (uid_t)id;
    *gid = r ? pw.pw_gid : (gid_t)-1;
    *pwname = r ? pw.pw_name : NULL;
    return 0;
}

static int resolve_group(const char *group, gid_t *gid)
{
    int r = get_group(group, -1, gid);
    long long id = parse_id(group);
    if (r == 0 && id >= 0) {
        *gid = (gid_t)id; /* a number is accepted without a group entry, as chown does */
        r = 1;
    }
    if (r < 0)
        return lust__fail(-r, "group \"%s\"", group);
    if (r == 0)
        return lust__fail_plain(ENOENT, "group \"%s\" not found", group);
    return 0;
}

/* The user's own groups, with gid among them (getgrouplist adds it). */
static int user_groups(const char *pwname, gid_t gid, gid_t **list, int *n)
{
    int cap = 32;
    for (;;) {
        gid_t *g = malloc((size_t)cap * sizeof *g);
        if (!g)
            return -ENOMEM;
        int want = cap;
        if (getgrouplist(pwname, gid, g, &want) >= 0) {
            *list = g;
            *n = want;
            return 0;
        }
        free(g);
        if (want <= cap || want > 65536)
            return lust__fail_plain(EIO, "groups of user \"%s\": getgrouplist failed", pwname);
        cap = want;
    }
}

int lust_privs_lookup(const char *user, const char *group, unsigned flags, struct lust_creds **out)
{
    if (!user || !*user || (group && !*group) || (flags & ~LUST_PRIVS_USER_GROUPS) || !out)
        return lust__fail_plain(EINVAL, "user lookup: empty name or unknown flag");
    uid_t uid = 0;
    gid_t gid = 0;
    int has_entry = 0;
    char *pwname = NULL, *buf = NULL;
    int r = resolve_user(user, &uid, &gid, &has_entry, &pwname, &buf);
    if (r < 0)
        return r;
    gid_t primary = gid;
    if (group)
        r = resolve_group(group, &gid);
    else if (!has_entry)
        r = lust__fail_plain(ENOENT, "user %s has no passwd entry: give a group", user);
    gid_t *list = NULL;
    int n = 0;
    if (r == 0 && (flags & LUST_PRIVS_USER_GROUPS)) {
        if (!has_entry)
            r = lust__fail_plain(ENOENT, "user %s has no passwd entry: it has no groups", user);
        else
            r = user_groups(pwname, primary, &list, &n);
    }
    free(buf);
    if (r < 0)
        return r == -ENOMEM ? lust__fail(ENOMEM, "user \"%s\"", user) : r;
    struct lust_creds *c = calloc(1, sizeof *c + (size_t)n * sizeof c->groups[0]);
    if (!c) {
        free(list);
        return lust__fail(ENOMEM, "user \"%s\"", user);
    }
    c->uid = uid;
    c->gid = gid;
    snprintf(c->name, sizeof c->name, "%s", user);
    c->ngroups = n;
    if (n)
        memcpy(c->groups, list, (size_t)n * sizeof *list);
    free(list);
    *out = c;
    return 0;
}

void lust_creds_free(struct lust_creds *creds)
{
    free(creds);
}

/* (unsigned)-1 is no id at all: the kernel reads it as "leave unchanged". */
unsigned lust_creds_uid(const struct lust_creds *creds)
{
    LUST__REQUIRE(creds != NULL, (unsigned)-1);
    return creds->uid;
}

unsigned lust_creds_gid(const struct lust_creds *creds)
{
    LUST__REQUIRE(creds != NULL, (unsigned)-1);
    return creds->gid;
}

int lust_creds_groups(const struct lust_creds *creds, unsigned *groups, unsigned max)
{
    LUST__REQUIRE(creds != NULL, -EINVAL);
    LUST__REQUIRE(groups != NULL || max == 0, -EINVAL);
    for (int i = 0; i < creds->ngroups && (unsigned)i < max; i++)
        groups[i] = creds->groups[i];
    return creds->ngroups;
}

int lust_privs_prepare(void)
{
    tzset();
    /*
     * glibc dlopens libgcc_s.so.1 to unwind a thread in pthread_exit or cancellation. Loaded
     * now and never unloaded, its later dlopen finds it by name without touching the disk.
     */
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE);
    if (!h) {
        const char *why = dlerror();
        return lust__fail_plain(ENOENT, "%s", why ? why : "libgcc_s.so.1: cannot load");
    }
    dlclose(h);
    return 0;
}

/* The directories jail_open checked and handed out, not yet entered. */
struct checked_jail {
    dev_t dev;
    ino_t ino;
    struct checked_jail *next;
};

static pthread_mutex_t checked_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct checked_jail *checked;

static int remember_jail(const struct stat *st)
{
    struct checked_jail *j = malloc(sizeof *j);
    if (!j)
        return -ENOMEM;
    j->dev = st->st_dev;
    j->ino = st->st_ino;
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

/* Check one opened component of a jail path; sofar is its path, for the sentence. */
static int check_component(int fd, const char *jail, const char *sofar, int last)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lust__fail(errno, "jail %s: %s", jail, sofar);
    if (S_ISLNK(st.st_mode))
        return lust__fail_plain(ELOOP, "jail %s: component %s is a symlink", jail, sofar);
    if (!S_ISDIR(st.st_mode))
        return last ? lust__fail_plain(ENOTDIR, "jail %s: not a directory", jail)
                    : lust__fail_plain(ENOTDIR, "jail %s: component %s is not a directory", jail,
                                       sofar);
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return lust__fail_plain(EPERM, "bad ownership or modes for jail component %s", sofar);
    return 0;
}

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

int lust_privs_jail_open(const char *path, int *out)
{
    LUST__REQUIRE(out != NULL, -EINVAL);
    if (!path || bad_jail_path(path))
        return lust__fail_plain(EINVAL, "jail %s: not an absolute path without . or .. components",
                                path ? path : "(null)");
    char sofar[PATH_MAX] = "/";
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lust__fail(errno, "jail %s: /", path);
    int r = check_component(fd, path, "/", 0);
    size_t len = 0;
    for (const char *p = path; r == 0;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, "/");
        const char *rest = p + n;
        while (*rest == '/')
            rest++;
        int last = *rest == '\0';
        sofar[len++] = '/';
        memcpy(sofar + len, p, n);
        len += n;
        sofar[len] = '\0';
        char comp[NAME_MAX + 1];
        if (n > NAME_MAX) {
            r = lust__fail(ENAMETOOLONG, "jail %s", path);
            break;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            r = last ? lust__fail(errno, "jail %s", path)
                     : lust__fail(errno, "jail %s: %s", path, sofar);
            break;
        }
        close(fd);
        fd = next;
        r = check_component(fd, path, sofar, last);
        p += n;
    }
    struct stat st;
    if (r == 0 && fstat(fd, &st) < 0)
        r = lust__fail(errno, "jail %s", path);
    if (r == 0 && remember_jail(&st) < 0)
        r = lust__fail(ENOMEM, "jail %s", path);
    if (r < 0) {
        close(fd);
        return r;
    }
    *out = fd;
    return 0;
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
    DIR *d = fdopendir(dfd);
    if (!d) {
        int err = errno;
        close(dfd);
        return lust__fail(err, "jail %s: %s", s->jail, s->path);
    }
    int r = 0;
    struct dirent *e;
    errno = 0;
    while (r == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        r = scan_entry(s, dirfd(d), e->d_name, plen, depth);
        s->path[plen] = '\0';
        errno = 0;
    }
    if (r == 0 && errno)
        r = lust__fail(errno, "jail %s: reading %s", s->jail, s->path);
    closedir(d);
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

int lust_privs_jail_scan(const char *path, unsigned max_entries, unsigned max_ms)
{
    LUST__REQUIRE(path != NULL, -EINVAL);
    struct scan s = {.jail = path, .max_entries = max_entries, .deadline_ms = -1};
    if (max_ms)
        s.deadline_ms = lust__now_ms() + max_ms;
    size_t plen = strlen(path);
    if (plen >= sizeof s.path)
        return lust__fail(ENAMETOOLONG, "jail %s", path);
    memcpy(s.path, path, plen + 1);
    while (plen > 1 && s.path[plen - 1] == '/')
        s.path[--plen] = '\0';
    int root = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (root < 0)
        return lust__fail(errno, "jail %s", path);
    int r = scan_passwd(&s, root);
    if (r < 0) {
        close(root);
        return r;
    }
    return scan_dir(&s, root, plen, 0);
}

int lust_privs_jail_enter(int fd)
{
    char name[PATH_MAX] = "(jail)", link[64];
    struct stat want, got;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, name, sizeof name - 1);
    if (n > 0)
        name[n] = '\0';
    if (fstat(fd, &want) < 0)
        return lust__fail(errno, "chroot: descriptor %d", fd);
    if (!S_ISDIR(want.st_mode))
        return lust__fail(ENOTDIR, "chroot %s", name);
    if (!checked_jail(&want, 0))
        return lust__fail_plain(EBADF,
                                "chroot: descriptor %d (%s) is not a jail lust_privs_jail_open() "
                                "checked (closed, and its number reused?)",
                                fd, name);
    /* To put the working directory back if chroot is refused (not root, say). */
    int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fchdir(fd) < 0) {
        int err = errno;
        if (cwd >= 0)
            close(cwd);
        return lust__fail(err, "chroot %s", name);
    }
    if (chroot(".") < 0) {
        int err = errno;
        if (cwd >= 0) {
            (void)!fchdir(cwd);
            close(cwd);
        }
        return lust__fail(err, "chroot %s", name);
    }
    /* The saved directory lies outside the jail: it must not survive. */
    if (cwd >= 0)
        close(cwd);
    if (chdir("/") < 0)
        return lust__fail(errno, "chroot %s: chdir /", name);
    if (stat("/", &got) < 0)
        return lust__fail(errno, "chroot %s: stat /", name);
    if (got.st_dev != want.st_dev || got.st_ino != want.st_ino)
        return lust__fail_plain(EIO, "chroot %s: / is not the jail afterwards", name);
    checked_jail(&want, 1);
    close(fd);
    return 0;
}

static int cmp_gid(const void *a, const void *b)
{
    gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
    return (x > y) - (x < y);
}

/*
 * Put the groups and gids back after a refused step, while still root. Best effort: the caller
 * is failing already and reports the first error, which says more than a failed rollback.
 */
static void restore(const gid_t *groups, int n, const gid_t gid[3])
{
    int failed = setresgid(gid[0], gid[1], gid[2]) < 0;
    failed |= setgroups((size_t)n, groups) < 0;
    (void)failed;
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

static int keep_net_bind_service(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    d[0].effective = d[0].permitted = 1u << CAP_NET_BIND_SERVICE;
    if (syscall(SYS_capset, &h, d) < 0)
        return -errno;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

static int verify_groups(const struct lust_creds *c, char *why, size_t size)
{
    int n = getgroups(0, NULL);
    if (n < 0) {
        snprintf(why, size, "getgroups: %s", strerror(errno));
        return -1;
    }
    gid_t *have = malloc(((size_t)n + 1) * sizeof *have);
    gid_t *want = malloc(((size_t)c->ngroups + 1) * sizeof *want);
    int ok = have && want && getgroups(n, have) == n && n == c->ngroups;
    if (ok) {
        memcpy(want, c->groups, (size_t)n * sizeof *want);
        qsort(have, (size_t)n, sizeof *have, cmp_gid);
        qsort(want, (size_t)n, sizeof *want, cmp_gid);
        ok = memcmp(have, want, (size_t)n * sizeof *have) == 0;
    }
    free(have);
    free(want);
    if (!ok)
        snprintf(why, size, "the supplementary groups are not the ones asked for");
    return ok ? 0 : -1;
}

/* Each of these must be refused once root is gone; any success means it is not. */
static int verify_no_way_back(char *why, size_t size)
{
    const char *back = NULL;
    if (setuid(0) == 0)
        back = "setuid(0)";
    else if (seteuid(0) == 0)
        back = "seteuid(0)";
    else if (setresuid((uid_t)-1, 0, (uid_t)-1) == 0)
        back = "setresuid(-1, 0, -1)";
    else if (setgid(0) == 0)
        back = "setgid(0)";
    else if (setegid(0) == 0)
        back = "setegid(0)";
    else if (setgroups(0, NULL) == 0)
        back = "setgroups";
    if (back)
        snprintf(why, size, "%s succeeded", back);
    return back ? -1 : 0;
}

static int verify_caps(unsigned long long want, char *why, size_t size)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d); /* valgrind does not know capget fills both halves */
    if (syscall(SYS_capget, &h, d) < 0) {
        snprintf(why, size, "capget: %s", strerror(errno));
        return -1;
    }
    unsigned long long eff = d[0].effective | (unsigned long long)d[1].effective << 32;
    unsigned long long prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
    if (eff != want || prm != want) {
        snprintf(why, size, "capabilities left: effective %llx, permitted %llx", eff, prm);
        return -1;
    }
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        snprintf(why, size, "NoNewPrivs is not set");
        return -1;
    }
    return 0;
}

/* 1 when the status text has "key:\t" followed by exactly value (then a newline). */
static int status_has(const char *text, const char *key, const char *value)
{
    const char *p = strstr(text, key);
    if (!p)
        return 0;
    p += strlen(key);
    while (*p == '\t' || *p == ' ')
        p++;
    size_t n = strlen(value);
    return strncmp(p, value, n) == 0 && p[n] == '\n';
}

static int verify_thread(const char *tid, const char *ids, const char *gids, const char *caps,
                         char *why, size_t size)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/self/task/%s/status", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* the thread has ended */
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char *bad = !status_has(text, "\nUid:", ids)          ? "Uid"
                      : !status_has(text, "\nGid:", gids)       ? "Gid"
                      : !status_has(text, "\nCapEff:", caps)    ? "CapEff"
                      : !status_has(text, "\nCapPrm:", caps)    ? "CapPrm"
                      : !status_has(text, "\nNoNewPrivs:", "1") ? "NoNewPrivs"
                                                                : NULL;
    if (bad)
        snprintf(why, size, "thread %s: %s is not as expected", tid, bad);
    return bad ? -1 : 0;
}

/* Every thread, through /proc; skipped when /proc is not there (an empty jail). */
static int verify_threads(const struct lust_creds *c, unsigned long long caps, char *why,
                          size_t size)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    char ids[64], gids[64], capstr[32];
    unsigned u = c->uid, g = c->gid;
    snprintf(ids, sizeof ids, "%u\t%u\t%u\t%u", u, u, u, u);
    snprintf(gids, sizeof gids, "%u\t%u\t%u\t%u", g, g, g, g);
    snprintf(capstr, sizeof capstr, "%016llx", caps);
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d)))
        if (e->d_name[0] != '.')
            r = verify_thread(e->d_name, ids, gids, capstr, why, size);
    closedir(d);
    return r;
}

static int verify(const struct lust_creds *c, unsigned long long caps)
{
    char why[160] = "";
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
        snprintf(why, sizeof why, "getresuid: %s", strerror(errno));
    else if (ru != c->uid || eu != c->uid || su != c->uid)
        snprintf(why, sizeof why, "uids are %u %u %u", (unsigned)ru, (unsigned)eu, (unsigned)su);
    else if (rg != c->gid || eg != c->gid || sg != c->gid)
        snprintf(why, sizeof why, "gids are %u %u %u", (unsigned)rg, (unsigned)eg, (unsigned)sg);
    else if (verify_groups(c, why, sizeof why) == 0 && verify_no_way_back(why, sizeof why) == 0 &&
             verify_caps(caps, why, sizeof why) == 0)
        verify_threads(c, caps, why, sizeof why);
    if (why[0])
        return lust__fail_plain(EPERM, "privilege drop to user \"%s\" not verified: %s", c->name,
                                why);
    return 0;
}

static int drop_as_root(const struct lust_creds *c, int keep)
{
    gid_t old_gid[3];
    if (getresgid(&old_gid[0], &old_gid[1], &old_gid[2]) < 0)
        return lust__fail(errno, "getresgid");
    int n = getgroups(0, NULL);
    gid_t *old = n >= 0 ? malloc(((size_t)n + 1) * sizeof *old) : NULL;
    if (!old || getgroups(n, old) != n) {
        free(old);
        return lust__fail(n < 0 ? errno : ENOMEM, "getgroups");
    }
    int r = 0;
    if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        r = lust__fail(errno, "PR_SET_KEEPCAPS");
    else if (setgroups((size_t)c->ngroups, c->groups) < 0)
        r = lust__fail(errno, "setgroups for user \"%s\"%s", c->name,
                       errno == EPERM ? " (a user namespace with setgroups denied?)" : "");
    else if (setresgid(c->gid, c->gid, c->gid) < 0)
        r = lust__fail(errno, "setresgid(%u) for user \"%s\"", (unsigned)c->gid, c->name);
    else if (setresuid(c->uid, c->uid, c->uid) < 0)
        r = lust__fail(errno, "setresuid(%u) for user \"%s\"", (unsigned)c->uid, c->name);
    if (r < 0) {
        restore(old, n, old_gid);
        free(old);
        return r;
    }
    free(old);
    /* After the ids, so a refused step above leaves nothing changed; it cannot fail here. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return lust__fail(errno, "PR_SET_NO_NEW_PRIVS");
    if (keep && (r = keep_net_bind_service()) < 0)
        return lust__fail(-r, "keeping CAP_NET_BIND_SERVICE for user \"%s\"", c->name);
    return verify(c, keep ? 1ull << CAP_NET_BIND_SERVICE : 0);
}

int lust_privs_drop(const struct lust_creds *c, unsigned flags)
{
    if (!c || (flags & ~LUST_PRIVS_KEEP_NET_BIND_SERVICE))
        return lust__fail_plain(EINVAL, "privilege drop: no user or unknown flag");
    if (c->uid == 0)
        return lust__fail_plain(EINVAL, "user \"%s\": uid 0 is not a privilege drop", c->name);
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
        return lust__fail(errno, "getresuid");
    if (eu != 0) {
        if (ru == c->uid && eu == c->uid && su == c->uid && rg == c->gid && eg == c->gid &&
            sg == c->gid)
            return 0;
        return lust__fail_plain(EPERM, "cannot become user \"%s\" (uid %u): not running as root",
                                c->name, (unsigned)c->uid);
    }
    int keep = (flags & LUST_PRIVS_KEEP_NET_BIND_SERVICE) != 0;
    if (keep && lust__count_threads() > 1)
        return lust__fail_plain(EBUSY,
                                "cannot keep CAP_NET_BIND_SERVICE for user \"%s\": more than one "
                                "thread runs (capabilities are per thread)",
                                c->name);
    return drop_as_root(c, keep);
}
