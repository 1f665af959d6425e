/*
 * test/check_privs.c - user lookup, jail path checks and jail content scan, as any user.
 * What needs root (chroot, the drop itself) is in check_privs_root.c.
 */
#include "lust_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include <lust/error.h>
#include <lust/privs.h>

START_TEST(lookup_by_name_gives_ids_and_no_groups)
{
    struct lust_creds *c = NULL;
    ck_assert_int_eq(lust_privs_lookup("nobody", NULL, 0, &c), 0);
    ck_assert_uint_eq(lust_creds_uid(c), 65534);
    ck_assert_uint_eq(lust_creds_gid(c), 65534);
    ck_assert_int_eq(lust_creds_groups(c, NULL, 0), 0);
    lust_creds_free(c);
}
END_TEST

START_TEST(lookup_accepts_numbers_and_a_group)
{
    struct lust_creds *c = NULL;
    ck_assert_int_eq(lust_privs_lookup("65534", "nogroup", 0, &c), 0);
    ck_assert_uint_eq(lust_creds_uid(c), 65534);
    ck_assert_uint_eq(lust_creds_gid(c), 65534);
    lust_creds_free(c);
    ck_assert_int_eq(lust_privs_lookup("nobody", "4242", 0, &c), 0);
    ck_assert_uint_eq(lust_creds_gid(c), 4242);
    lust_creds_free(c);
    ck_assert_int_eq(lust_privs_lookup("4243", "4244", 0, &c), 0);
    ck_assert_uint_eq(lust_creds_uid(c), 4243);
    ck_assert_uint_eq(lust_creds_gid(c), 4244);
    lust_creds_free(c);
}
END_TEST

START_TEST(lookup_with_user_groups_takes_the_users_own_list)
{
    struct lust_creds *c = NULL;
    ck_assert_int_eq(lust_privs_lookup("nobody", NULL, LUST_PRIVS_USER_GROUPS, &c), 0);
    unsigned g[64];
    int n = lust_creds_groups(c, g, 64);
    ck_assert_int_ge(n, 1);
    int has_primary = 0;
    for (int i = 0; i < n && i < 64; i++)
        has_primary |= g[i] == lust_creds_gid(c);
    ck_assert(has_primary);
    lust_creds_free(c);
}
END_TEST

START_TEST(root_is_refused_at_lookup)
{
    struct lust_creds *c = (struct lust_creds *)0x1;
    ck_assert_int_eq(lust_privs_lookup("root", NULL, 0, &c), -EINVAL);
    ck_assert_str_eq(lust_error(), "user \"root\" is uid 0: refusing to run as root");
    ck_assert_int_eq(lust_privs_lookup("0", "nogroup", 0, &c), -EINVAL);
    ck_assert_int_eq(lust_privs_lookup("nobody", "root", 0, &c), -EINVAL);
    ck_assert_str_eq(lust_error(), "group \"root\" is gid 0: refusing to run as root");
    ck_assert_int_eq(lust_privs_lookup("nobody", "0", 0, &c), -EINVAL);
    ck_assert_ptr_eq(c, (struct lust_creds *)0x1);
}
END_TEST

START_TEST(unknown_user_or_group_is_named)
{
    struct lust_creds *c = (struct lust_creds *)0x1;
    ck_assert_int_eq(lust_privs_lookup("nobdy", NULL, 0, &c), -ENOENT);
    ck_assert_str_eq(lust_error(), "user \"nobdy\" not found");
    ck_assert_int_eq(lust_privs_lookup("nobody", "staf", 0, &c), -ENOENT);
    ck_assert_str_eq(lust_error(), "group \"staf\" not found");
    ck_assert_int_eq(lust_privs_lookup("4243", NULL, 0, &c), -ENOENT);
    ck_assert_str_eq(lust_error(), "user 4243 has no passwd entry: give a group");
    ck_assert_int_eq(lust_privs_lookup("", NULL, 0, &c), -EINVAL);
    ck_assert_ptr_eq(c, (struct lust_creds *)0x1);
}
END_TEST

/* Ids, groups, descriptors, cwd and umask: what a lookup must not change. */
static void snapshot(char *out, size_t size)
{
    char text[8192] = "", line[PATH_MAX + 512];
    FILE *f = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
            !strncmp(line, "Groups:", 7) || !strncmp(line, "Umask:", 6) ||
            !strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs:", 11))
            strncat(text, line, sizeof text - strlen(text) - 1);
    fclose(f);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while ((e = readdir(d))) {
        if (atoi(e->d_name) == dirfd(d))
            continue;
        char link[PATH_MAX + 64], target[PATH_MAX] = "";
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        snprintf(line, sizeof line, "fd %s %s\n", e->d_name, target);
        strncat(text, line, sizeof text - strlen(text) - 1);
    }
    closedir(d);
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, size, "%scwd %s\n", text, cwd);
}

START_TEST(a_failed_lookup_leaves_the_process_as_it_was)
{
    static char before[16384], after[16384];
    struct lust_creds *c = NULL;
    /* The first lookup loads NSS modules; compare from a warmed-up state. */
    ck_assert_int_eq(lust_privs_lookup("nobody", NULL, LUST_PRIVS_USER_GROUPS, &c), 0);
    lust_creds_free(c);
    c = NULL;
    snapshot(before, sizeof before);
    ck_assert_int_eq(lust_privs_lookup("nobdy", NULL, LUST_PRIVS_USER_GROUPS, &c), -ENOENT);
    ck_assert_int_eq(lust_privs_lookup("nobody", "staf", LUST_PRIVS_USER_GROUPS, &c), -ENOENT);
    snapshot(after, sizeof after);
    ck_assert_str_eq(before, after);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(prepare_succeeds)
{
    ck_assert_int_eq(lust_privs_prepare(), 0);
}
END_TEST

static void assert_jail_refused(const char *path, int err, const char *sentence)
{
    int fd = -7;
    ck_assert_int_eq(lust_privs_jail_open(path, &fd), -err);
    ck_assert_str_eq(lust_error(), sentence);
    ck_assert_int_eq(fd, -7);
}

START_TEST(jail_paths_that_are_refused_say_why)
{
    assert_jail_refused("run/web", EINVAL,
                        "jail run/web: not an absolute path without . or .. components");
    assert_jail_refused("/run/../etc", EINVAL,
                        "jail /run/../etc: not an absolute path without . or .. components");
    assert_jail_refused("/nonexistent-lust-jail", ENOENT,
                        "jail /nonexistent-lust-jail: No such file or directory");
    assert_jail_refused("/nonexistent-lust-jail/x", ENOENT,
                        "jail /nonexistent-lust-jail/x: /nonexistent-lust-jail: No such file or "
                        "directory");
    assert_jail_refused("/etc/passwd", ENOTDIR, "jail /etc/passwd: not a directory");
    assert_jail_refused("/etc/passwd/x", ENOTDIR,
                        "jail /etc/passwd/x: component /etc/passwd is not a directory");
    assert_jail_refused("/proc/self", ELOOP, "jail /proc/self: component /proc/self is a symlink");
    assert_jail_refused("/proc/self/fd", ELOOP,
                        "jail /proc/self/fd: component /proc/self is a symlink");
    /* Sticky and world-writable: refused even though root owns it (see lust/privs.h). */
    assert_jail_refused("/tmp", EPERM,
                        "jail /tmp: directory /tmp is writable by group or others (mode 1777)");
    /* The root directory, and a jail on a pseudo filesystem, can never be jails. */
    assert_jail_refused("/", EINVAL, "jail /: the root directory is no jail");
    assert_jail_refused("///", EINVAL, "jail ///: the root directory is no jail");
    assert_jail_refused("/proc", EINVAL,
                        "jail /proc: lies on the proc filesystem mounted at /proc");
    assert_jail_refused("/sys", EINVAL, "jail /sys: lies on the sysfs filesystem mounted at /sys");
}
END_TEST

START_TEST(a_root_owned_path_opens_as_a_directory)
{
    int fd = -1;
    ck_assert_int_eq(lust_privs_jail_open("//usr//share/", &fd), 0);
    struct stat a, b;
    ck_assert_int_eq(fstat(fd, &a), 0);
    ck_assert_int_eq(stat("/usr/share", &b), 0);
    ck_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    close(fd);
}
END_TEST

static char *scan_dir;

static void make_scan_dir(void)
{
    scan_dir = new_dir("/tmp", "lust-scan", 0700);
    ck_assert_ptr_nonnull(scan_dir);
}

static void remove_scan_dir(void)
{
    ck_assert_int_eq(remove_tree(scan_dir), 0);
    free(scan_dir);
}

static void put(const char *rel, const char *text, mode_t mode)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", scan_dir, rel);
    if (!text) {
        ck_assert_int_eq(mkdir(path, mode), 0);
        return;
    }
    write_file(path, text, strlen(text), mode);
}

START_TEST(a_clean_jail_passes_the_scan)
{
    make_scan_dir();
    put("etc", NULL, 0755);
    put("etc/passwd", "nobody:x:65534:65534:nobody:/:/bin/false\n", 0644);
    put("bin", NULL, 0755);
    put("bin/tool", "#!/bin/sh\n", 0755);
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/bin/su", scan_dir);
    ck_assert_int_eq(symlink("/usr/bin/su", link), 0); /* resolves inside the jail: harmless */
    ck_assert_int_eq(lust_privs_jail_scan(scan_dir, 0, 0), 0);
    remove_scan_dir();
}
END_TEST

START_TEST(a_setuid_file_in_the_jail_is_reported)
{
    make_scan_dir();
    put("bin", NULL, 0755);
    put("bin/su", "x", 04755);
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "jail %s: set-uid or set-gid file %s/bin/su", scan_dir, scan_dir);
    ck_assert_int_eq(lust_privs_jail_scan(scan_dir, 0, 0), -EPERM);
    ck_assert_str_eq(lust_error(), want);
    remove_scan_dir();
}
END_TEST

START_TEST(a_passwd_defining_uid_0_is_reported)
{
    make_scan_dir();
    put("etc", NULL, 0755);
    put("etc/passwd", "nobody:x:65534:65534::/:/bin/false\ntoor:x:0:0::/:/bin/sh\n", 0644);
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "jail %s: %s/etc/passwd defines uid 0", scan_dir, scan_dir);
    ck_assert_int_eq(lust_privs_jail_scan(scan_dir, 0, 0), -EPERM);
    ck_assert_str_eq(lust_error(), want);
    remove_scan_dir();
}
END_TEST

START_TEST(the_scan_stops_at_its_entry_limit)
{
    make_scan_dir();
    put("a", "", 0644);
    put("b", "", 0644);
    put("c", NULL, 0755);
    put("c/d", "", 0644);
    ck_assert_int_eq(lust_privs_jail_scan(scan_dir, 4, 0), 0);
    ck_assert_int_eq(lust_privs_jail_scan(scan_dir, 3, 0), -E2BIG);
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "jail %s: more than 3 entries; content check stopped", scan_dir);
    ck_assert_str_eq(lust_error(), want);
    remove_scan_dir();
}
END_TEST

static Suite *privs_suite(void)
{
    Suite *s = suite_create("privs");
    TCase *tc = tcase_create("privs");
    tcase_add_test(tc, lookup_by_name_gives_ids_and_no_groups);
    tcase_add_test(tc, lookup_accepts_numbers_and_a_group);
    tcase_add_test(tc, lookup_with_user_groups_takes_the_users_own_list);
    tcase_add_test(tc, root_is_refused_at_lookup);
    tcase_add_test(tc, unknown_user_or_group_is_named);
    tcase_add_test(tc, a_failed_lookup_leaves_the_process_as_it_was);
    tcase_add_test(tc, prepare_succeeds);
    tcase_add_test(tc, jail_paths_that_are_refused_say_why);
    tcase_add_test(tc, a_root_owned_path_opens_as_a_directory);
    tcase_add_test(tc, a_clean_jail_passes_the_scan);
    tcase_add_test(tc, a_setuid_file_in_the_jail_is_reported);
    tcase_add_test(tc, a_passwd_defining_uid_0_is_reported);
    tcase_add_test(tc, the_scan_stops_at_its_entry_limit);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(privs_suite)
