/*
 * lib/privs_drop.c - the privilege drop, then its proof: ids, groups, no way back,
 * capabilities, every thread.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lust/privs.h>

#include "privs_internal.h"

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

/*
 * The supplementary groups in a new array (*list, freed by the caller): one getgroups() into a
 * small buffer first, which a daemon's few groups fit; asked for the count only when they do
 * not. Returns how many, or -errno.
 */
static int get_groups(gid_t **list)
{
    gid_t few[32];
    const gid_t *from = few;
    int n = getgroups(32, few);
    if (n < 0 && errno == EINVAL) { /* more than fit */
        n = getgroups(0, NULL);
        from = NULL;
    }
    if (n < 0)
        return -errno;
    gid_t *g = malloc(((size_t)n + 1) * sizeof *g);
    if (!g)
        return -ENOMEM;
    if (from) {
        memcpy(g, from, (size_t)n * sizeof *g);
    } else if (getgroups(n, g) != n) {
        free(g);
        return -EAGAIN; /* the list changed between the two calls */
    }
    *list = g;
    return n;
}

static int verify_groups(const struct lust_creds *c, char *why, size_t size)
{
    gid_t *have = NULL;
    int n = get_groups(&have);
    if (n < 0) {
        snprintf(why, size, "getgroups: %s", strerror(-n));
        return -1;
    }
    gid_t *want = malloc(((size_t)c->ngroups + 1) * sizeof *want);
    int ok = want && n == c->ngroups;
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
    /* seteuid(0) is setresuid(-1, 0, -1) in glibc and musl alike: one call tries both. */
    if (setuid(0) == 0)
        back = "setuid(0)";
    else if (seteuid(0) == 0)
        back = "seteuid(0) (setresuid(-1, 0, -1))";
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
    lust__runtime_settle();
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

/* old_gid: the gids before, for putting them back if a step is refused. */
static int drop_as_root(const struct lust_creds *c, int keep, const gid_t old_gid[3])
{
    gid_t *old = NULL;
    int n = get_groups(&old);
    if (n < 0)
        return lust__fail(-n, "getgroups");
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
    gid_t old_gid[3] = {rg, eg, sg};
    return drop_as_root(c, keep, old_gid);
}
