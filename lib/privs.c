/*
 * lib/privs.c - user lookup and prepare (the drop is in lib/privs_drop.c, the jail in
 * lib/privs_jail.c).
 *
 * Everything that needs the real / (NSS here; the time zone and libgcc_s in lib/privs_unwind.c)
 * happens before the jail; the drop only uses what lookup returned, so it works inside an empty
 * jail.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lust/privs.h>

#include "privs_internal.h"

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

/* Root's uid or gid, primary or supplementary, makes the drop no drop at all. */
static int refuse_root(const char *user, const char *group, uid_t uid, gid_t gid, const gid_t *list,
                       int n)
{
    if (uid == 0)
        return lust__fail_plain(EINVAL, "user \"%s\" is uid 0: refusing to run as root", user);
    if (gid == 0)
        return group ? lust__fail_plain(EINVAL, "group \"%s\" is gid 0: refusing to run as root",
                                        group)
                     : lust__fail_plain(EINVAL,
                                        "user \"%s\" has gid 0 as its group: refusing to run "
                                        "as root",
                                        user);
    for (int i = 0; i < n; i++)
        if (list[i] == 0)
            return lust__fail_plain(
                EINVAL, "user \"%s\" belongs to group 0: refusing to run as root", user);
    return 0;
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
    if (r == 0)
        r = refuse_root(user, group, uid, gid, list, n);
    if (r < 0) {
        free(list);
        return r == -ENOMEM ? lust__fail(ENOMEM, "user \"%s\"", user) : r;
    }
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
