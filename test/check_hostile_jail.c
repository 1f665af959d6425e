/*
 * test/check_hostile_jail.c - the jail `start` enters is a jail, and the user is never root.
 *
 * The example daemons are started for real, as root (see server_harness.h). Each refusal must
 * come before anything forks: the exit status and the sentence on stderr, nothing running,
 * nothing created.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <lust/pidfile.h>

#include "server_harness.h"

/* A refused start: status code, the sentence, no process, no pid file, no log file. */
static void refused(const struct result *r, int code, const char *sentence)
{
    ck_assert_msg(r->code == code, "exit %d, not %d: %s%s", r->code, code, r->out, r->err);
    ck_assert_msg(strstr(r->err, sentence), "stderr lacks \"%s\": %s", sentence, r->err);
    ck_assert_int_eq(count_left(dir), 0);
    ck_assert_int_eq(access(at("marker_server", "pid"), F_OK), -1);
    ck_assert_int_eq(access(at("marker_server", "log"), F_OK), -1);
}

START_TEST(the_root_directory_and_a_pseudo_filesystem_are_no_jail_exit_6)
{
    struct result r;
    write_conf("marker_server", "jail = \"/\"\n");
    RUN(&r, marker_server, "marker_server", "start");
    refused(&r, 6, "jail /: the root directory is no jail");
    write_conf("marker_server", "jail = \"/proc\"\n");
    RUN(&r, marker_server, "marker_server", "start");
    refused(&r, 6, "jail /proc: lies on the proc filesystem");
    write_conf("marker_server", "jail = \"/sys\"\n");
    RUN(&r, marker_server, "marker_server", "start");
    refused(&r, 6, "jail /sys: lies on the sysfs filesystem");
}
END_TEST

/* In a mount namespace of its own: procfs on jail/proc, then `start`; reports over a pipe. */
static void start_with_procfs_inside(struct result *r)
{
    int rep[2];
    char proc[256];
    snprintf(proc, sizeof proc, "%s/proc", jail);
    ck_assert_int_eq(mkdir(proc, 0555), 0);
    ck_assert_int_eq(pipe2(rep, O_CLOEXEC), 0);
    memset(r, 0, sizeof *r); /* sent whole through the pipe, the unused tails too */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("proc", proc, "proc", 0, NULL) < 0)
            _exit(99);
        RUN(r, marker_server, "marker_server", "start");
        if (write(rep[1], r, sizeof *r) != (ssize_t)sizeof *r)
            _exit(98);
        _exit(0);
    }
    close(rep[1]);
    ck_assert_int_eq(read(rep[0], r, sizeof *r), (ssize_t)sizeof *r);
    close(rep[0]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(procfs_mounted_inside_the_jail_is_refused_exit_5)
{
    struct result r;
    char want[600];
    write_conf("marker_server", "%s", "");
    start_with_procfs_inside(&r);
    snprintf(want, sizeof want, "jail %s: a proc filesystem is mounted at %s/proc", jail, jail);
    refused(&r, 5, want);
}
END_TEST

/* What python-lust's README forbids inside a jail, each refused with its path named. */
START_TEST(a_device_a_setuid_file_or_a_root_user_in_the_jail_is_refused_exit_5)
{
    struct result r;
    char path[300], want[700];
    write_conf("marker_server", "%s", "");

    snprintf(path, sizeof path, "%s/null", jail);
    ck_assert_int_eq(mknod(path, S_IFCHR | 0666, makedev(1, 3)), 0);
    RUN(&r, marker_server, "marker_server", "start");
    snprintf(want, sizeof want, "jail %s: device node %s", jail, path);
    refused(&r, 5, want);
    ck_assert_int_eq(unlink(path), 0);

    snprintf(path, sizeof path, "%s/su", jail);
    write_text(path, "x");
    ck_assert_int_eq(chmod(path, 04755), 0);
    RUN(&r, marker_server, "marker_server", "start");
    snprintf(want, sizeof want, "jail %s: set-uid or set-gid file %s", jail, path);
    refused(&r, 5, want);
    ck_assert_int_eq(unlink(path), 0);

    snprintf(path, sizeof path, "%s/etc", jail);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/etc/passwd", jail);
    write_text(path, "nobody:x:65534:65534::/:/bin/false\ntoor:x:0:0::/:/bin/sh\n");
    RUN(&r, marker_server, "marker_server", "start");
    snprintf(want, sizeof want, "jail %s: %s/etc/passwd defines uid 0", jail, jail);
    refused(&r, 5, want);
}
END_TEST

START_TEST(a_jail_too_large_to_scan_quickly_is_refused_exit_5)
{
    struct result r;
    char path[300], want[300];
    write_conf("marker_server", "%s", "");
    snprintf(path, sizeof path, "%s/many", jail);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    for (int i = 0; i < 10001; i++) {
        snprintf(path, sizeof path, "%s/many/%d", jail, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
    }
    RUN(&r, marker_server, "marker_server", "start");
    snprintf(want, sizeof want, "jail %s: more than 10000 entries", jail);
    refused(&r, 5, want);
}
END_TEST

START_TEST(a_missing_jail_is_made_root_0755_and_an_existing_one_never_changed)
{
    char fresh[256];
    struct stat st;
    snprintf(fresh, sizeof fresh, "%s/fresh", dir);
    write_conf("marker_server", "jail = \"%s\"\n", fresh);
    pid_t pid = start(marker_server, "marker_server");
    ck_assert_int_eq(lstat(fresh, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0755);
    ck_assert_int_eq(st.st_uid, 0);
    stop(marker_server, "marker_server", pid);

    ck_assert_int_eq(chmod(jail, 0711), 0);
    write_conf("marker_server", "%s", "");
    pid = start(marker_server, "marker_server");
    ck_assert_int_eq(stat(jail, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0711);
    stop(marker_server, "marker_server", pid);
}
END_TEST

START_TEST(nothing_is_created_before_the_config_and_the_jail_are_known_good)
{
    struct result r;
    char missing[256];
    /* The parent of the jail is missing: not made, and refused before any file exists. */
    snprintf(missing, sizeof missing, "%s/nowhere/jail", dir);
    write_conf("marker_server", "jail = \"%s\"\n", missing);
    RUN(&r, marker_server, "marker_server", "start");
    refused(&r, 5, missing);
    ck_assert_int_eq(access(missing, F_OK), -1);
    /* A jail that is unsafe: the same. */
    ck_assert_int_eq(chmod(jail, 0777), 0);
    write_conf("marker_server", "%s", "");
    RUN(&r, marker_server, "marker_server", "start");
    refused(&r, 5, "writable by group or others");
}
END_TEST

START_TEST(user_or_group_root_is_refused_at_lookup_exit_6)
{
    struct result r;
    write_conf("marker_server", "user = root\n");
    RUN(&r, marker_server, "marker_server", "start");
    refused(&r, 6, "refusing to run as root");
    write_conf("marker_server", "user = \"0\"\ngroup = nogroup\n");
    RUN(&r, marker_server, "marker_server", "start");
    refused(&r, 6, "refusing to run as root");
    write_conf("marker_server", "group = root\n");
    RUN(&r, marker_server, "marker_server", "start");
    refused(&r, 6, "refusing to run as root");
}
END_TEST

static Suite *hostile_jail_suite(void)
{
    Suite *s = suite_create("hostile_jail");
    TCase *tc = server_tcase("jail", 60);
    tcase_add_test(tc, the_root_directory_and_a_pseudo_filesystem_are_no_jail_exit_6);
    tcase_add_test(tc, procfs_mounted_inside_the_jail_is_refused_exit_5);
    tcase_add_test(tc, a_device_a_setuid_file_or_a_root_user_in_the_jail_is_refused_exit_5);
    tcase_add_test(tc, a_jail_too_large_to_scan_quickly_is_refused_exit_5);
    tcase_add_test(tc, a_missing_jail_is_made_root_0755_and_an_existing_one_never_changed);
    tcase_add_test(tc, nothing_is_created_before_the_config_and_the_jail_are_known_good);
    tcase_add_test(tc, user_or_group_root_is_refused_at_lookup_exit_6);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(hostile_jail_suite)
