/*
 * test/check_pidfile_root.c - pid file behaviour that only root can exercise: another user
 * facing root's file, files owned by someone else, a checker in a new pid namespace.
 */
#include "lust_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <lust.h>

#include "pidfile_fixture.h"

#define SENTINEL ((pid_t)424242)

struct as_nobody {
    int (*fn)(void);
};

static int become_nobody_then(void *arg)
{
    const struct as_nobody *job = arg;
    return become_nobody() < 0 ? 100 : job->fn();
}

/* Runs fn in a child that became nobody for good; returns the child's exit code. */
static int as_nobody(int (*fn)(void))
{
    struct as_nobody job = {fn};
    return exit_code(in_child(become_nobody_then, &job));
}

/* The directory must not be what stops nobody: only the file's own mode may. */
static void open_the_directory(void)
{
    ck_assert_int_eq(chmod(tmpdir, 0755), 0);
}

/* Every way nobody could lock the file: each must fail. Exit code = first one that worked. */
static int nobody_tries_every_lock(void)
{
    static const struct {
        int flags;
        short type;
    } tries[] = {{O_RDONLY, F_RDLCK}, {O_WRONLY, F_WRLCK}, {O_RDWR, F_WRLCK}, {O_RDWR, F_RDLCK}};
    for (unsigned i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        int fd = open(pidpath, tries[i].flags | O_CLOEXEC);
        if (fd >= 0) {
            struct flock fl = {.l_type = tries[i].type, .l_whence = SEEK_SET};
            if (fcntl(fd, F_SETLK, &fl) == 0 || fcntl(fd, F_OFD_SETLK, &fl) == 0)
                return 10 + (int)i;
            close(fd);
        } else if (errno != EACCES) {
            return 20 + (int)i;
        }
    }
    struct lust_pidfile *pf;
    if (lust_pidfile_open(pidpath, &pf, NULL) != -EACCES)
        return 30;
    int r = lust_pidfile_query(pidpath, NULL);
    if (r != -EACCES || lust_pidfile_lsb_status(r) != 4)
        return 31;
    if (lust_pidfile_remove(pidpath) != -EACCES)
        return 32;
    return 0;
}

START_TEST(nobody_cannot_take_any_lock_on_roots_pid_file)
{
    open_the_directory();
    struct lust_pidfile *pf = NULL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), 0);
    struct stat st;
    ck_assert_int_eq(stat(pidpath, &st), 0);
    ck_assert_uint_eq(st.st_uid, 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)getpid());

    ck_assert_int_eq(as_nobody(nobody_tries_every_lock), 0);

    ck_assert_str_eq(read_file(pidpath), want);
    lust_pidfile_release(pf);
    /* Also with nobody holding nothing: the file left behind is just as closed to nobody. */
    ck_assert_int_eq(as_nobody(nobody_tries_every_lock), 0);
}
END_TEST

/* Pitfall 10: a non-root `status` changes nothing and says "cannot tell". */
static int nobody_asks_status(void)
{
    pid_t who = SENTINEL;
    int r = lust_pidfile_query(pidpath, &who);
    return r == -EACCES && who == SENTINEL && lust_pidfile_lsb_status(r) == 4 ? 0 : 1;
}

START_TEST(a_status_query_by_nobody_cannot_tell_and_changes_nothing)
{
    open_the_directory();
    write_file(pidpath, "123\n", 4, 0600);
    struct stat before, after;
    ck_assert_int_eq(stat(pidpath, &before), 0);
    ck_assert_int_eq(as_nobody(nobody_asks_status), 0);
    ck_assert_int_eq(stat(pidpath, &after), 0);
    ck_assert_str_eq(read_file(pidpath), "123\n");
    ck_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
              after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
}
END_TEST

START_TEST(a_file_owned_by_another_user_is_refused)
{
    write_file(pidpath, "1\n", 2, 0600);
    ck_assert_int_eq(chown(pidpath, NOBODY, NOGROUP), 0);
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), -EPERM);
    ck_assert_ptr_nonnull(strstr(lust_error(), "65534"));
    pid_t who = SENTINEL;
    ck_assert_int_eq(lust_pidfile_query(pidpath, &who), -EPERM);
    ck_assert_int_eq(who, SENTINEL);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), -EPERM);
    ck_assert_str_eq(read_file(pidpath), "1\n");
}
END_TEST

static int caller_owned_file_is_accepted(void)
{
    struct lust_pidfile *pf;
    int r = lust_pidfile_open(pidpath, &pf, NULL);
    if (r != 0)
        return 1;
    return lust_pidfile_release(pf) == 0 && lust_pidfile_remove(pidpath) == 0 ? 0 : 2;
}

START_TEST(a_file_owned_by_the_caller_is_accepted)
{
    open_the_directory();
    ck_assert_int_eq(chown(tmpdir, NOBODY, NOGROUP), 0);
    write_file(pidpath, "1\n", 2, 0600);
    ck_assert_int_eq(chown(pidpath, NOBODY, NOGROUP), 0);
    ck_assert_int_eq(as_nobody(caller_owned_file_is_accepted), 0);
}
END_TEST

/* In a new pid namespace (unshare(CLONE_NEWPID) + fork: the grandchild is pid 1 there), the
 * kernel reports a lock held outside with l_pid 0 (LAB-4). Exit 0 when nothing signallable
 * came out. */
static int query_from_new_pid_namespace(void *arg)
{
    (void)arg;
    if (unshare(CLONE_NEWPID) < 0)
        return 50;
    pid_t kid = fork();
    if (kid < 0)
        return 51;
    if (kid == 0) {
        if (getpid() != 1)
            _exit(52);
        pid_t who = SENTINEL;
        int r = lust_pidfile_query(pidpath, &who);
        if (r != LUST_PIDFILE_RUNNING_UNKNOWN || who != SENTINEL)
            _exit(53);
        if (lust_pidfile_lsb_status(r) != 0)
            _exit(54);
        struct lust_pidfile *pf;
        who = SENTINEL;
        if (lust_pidfile_open(pidpath, &pf, &who) != -EEXIST || who != 0)
            _exit(55);
        if (lust_pidfile_remove(pidpath) != -EBUSY)
            _exit(56);
        _exit(0);
    }
    int st;
    if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st))
        return 57;
    return WEXITSTATUS(st);
}

START_TEST(a_query_from_another_pid_namespace_never_yields_a_pid)
{
    struct holder h = spawn_holder(pidpath, HOLD_PIDFILE);
    ck_assert_int_eq(exit_code(in_child(query_from_new_pid_namespace, NULL)), 0);
    /* Outside, the same file names the holder. */
    pid_t who = 0;
    ck_assert_int_eq(lust_pidfile_query(pidpath, &who), LUST_PIDFILE_RUNNING);
    ck_assert_int_eq(who, h.pid);
    finish_holder(h);
}
END_TEST

/* At exit the server is chrooted and unprivileged, yet must empty its pid file. */
static char *jail;

static int release_from_jail_as_nobody(void *arg)
{
    struct lust_pidfile *pf = NULL;
    (void)arg;
    if (lust_pidfile_open(pidpath, &pf, NULL) != 0)
        return 60;
    if (chroot(jail) < 0 || chdir("/") < 0)
        return 61;
    if (become_nobody() < 0)
        return 62;
    if (access(pidpath, F_OK) == 0)
        return 63; /* the path must really be out of reach for this test to mean anything */
    return lust_pidfile_release(pf) == 0 ? 0 : 64;
}

START_TEST(release_empties_the_file_after_chroot_and_drop)
{
    /* A jail under a root-owned 0755 directory, not under the world-writable /tmp. */
    jail = new_dir("/run", "lust-test", 0700);
    ck_assert_ptr_nonnull(jail);
    int st = in_child(release_from_jail_as_nobody, NULL);
    rmdir(jail);
    free(jail);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    pid_t who = SENTINEL;
    int r = lust_pidfile_query(pidpath, &who);
    ck_assert_int_eq(r, LUST_PIDFILE_EMPTY);
    ck_assert_int_eq(lust_pidfile_lsb_status(r), 3);
    ck_assert_int_eq(who, SENTINEL);
    ck_assert_str_eq(read_file(pidpath), "");
}
END_TEST

static Suite *pidfile_root_suite(void)
{
    Suite *s = suite_create("pidfile_root");
    TCase *tc = tcase_create("pidfile_root");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, nobody_cannot_take_any_lock_on_roots_pid_file);
    tcase_add_test(tc, a_status_query_by_nobody_cannot_tell_and_changes_nothing);
    tcase_add_test(tc, a_file_owned_by_another_user_is_refused);
    tcase_add_test(tc, a_file_owned_by_the_caller_is_accepted);
    tcase_add_test(tc, a_query_from_another_pid_namespace_never_yields_a_pid);
    tcase_add_test(tc, release_empties_the_file_after_chroot_and_drop);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(pidfile_root_suite)
