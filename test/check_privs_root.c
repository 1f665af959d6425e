/*
 * test/check_privs_root.c - the jail and the drop for real, as root (skipped otherwise).
 *
 * Whatever chroots or drops runs in a child forked here that reports over a pipe and leaves
 * with _exit, so the Check process itself stays root with the real / (and a sanitizer's exit
 * work never runs in a jail). Jails live under a fresh root-owned 0755 directory in /run (not
 * /tmp, whose mode 1777 the jail check refuses), removed after each test.
 */
#include "lust_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

#include <lust/daemon.h>
#include <lust/error.h>
#include <lust/privs.h>

static char *base, *jail;

static void make_jail(void)
{
    base = new_dir(jail_top, "b", 0755);
    ck_assert_ptr_nonnull(base);
    jail = path_in(base, "jail");
    ck_assert_int_eq(mkdir(jail, 0755), 0);
    report_open();
}

static void remove_jail(void)
{
    ck_assert_int_eq(remove_tree(base), 0);
    free(jail);
    free(base);
}

static void assert_exit0(int st)
{
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
}

static void report_ids(void)
{
    uid_t u[3];
    gid_t g[3], groups[64];
    getresuid(&u[0], &u[1], &u[2]);
    getresgid(&g[0], &g[1], &g[2]);
    int n = getgroups(64, groups);
    report("uid=%u %u %u\ngid=%u %u %u\ngroups=", u[0], u[1], u[2], g[0], g[1], g[2]);
    for (int i = 0; i < n; i++)
        report("%s%u", i ? " " : "", groups[i]);
    report("\n");
}

/* The whole sequence, as a framework would run it: daemon, jail, drop, ready. */
static void daemon_side(struct lust_creds *creds, int jailfd, int ctl)
{
    if (lust_privs_jail_enter(jailfd) < 0 || lust_privs_drop(creds, 0) < 0) {
        lust_daemon_failed(EPERM, "%s", lust_error());
        _exit(1);
    }
    struct stat root;
    char cwd[PATH_MAX] = "";
    stat("/", &root);
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '?';
    report_ids();
    report("root=%llu:%llu\ncwd=%s\n", (unsigned long long)root.st_dev,
           (unsigned long long)root.st_ino, cwd);
    report("pid=%ld\nsid=%ld\nnnp=%d\n", (long)getpid(), (long)getsid(0),
           prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    report("setuid0=%d\nsetresuid=%d\n", setuid(0), setresuid((uid_t)-1, 0, (uid_t)-1));
    lust_daemon_ready();
    report("fds=");
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            report("%d ", fd);
    report("\n");
    report_end();
    char c;
    while (read(ctl, &c, 1) < 0 && errno == EINTR)
        ;
    _exit(0);
}

START_TEST(whole_sequence_runs_the_daemon_jailed_as_nobody)
{
    make_jail();
    int ctl[2];
    ck_assert_int_eq(pipe2(ctl, O_CLOEXEC), 0);
    struct lust_creds *creds;
    int jailfd;
    ck_assert_int_eq(lust_privs_lookup("nobody", NULL, 0, &creds), 0);
    ck_assert_int_eq(lust_privs_prepare(), 0);
    ck_assert_int_eq(lust_privs_jail_open(jail, &jailfd), 0);
    ck_assert_int_eq(setgroups(2, (gid_t[]){4, 27}), 0); /* must not survive the drop */
    int rep_w = report_fd();
    int keep[] = {rep_w, ctl[0], jailfd};
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.keep_fds = keep;
    o.keep_fds_len = 3;
    o.timeout_ms = 10000;
    int r = lust_daemonize(&o);
    if (r == 0)
        daemon_side(creds, jailfd, ctl[0]);
    ck_assert_msg(r > 0, "daemonize: %d %s", r, lust_error());
    close(ctl[0]);
    close(jailfd);
    lust_creds_free(creds);

    /* From outside, while it runs. */
    char eff[64], prm[64], nnp[16], uid[64], fd0[PATH_MAX] = "", link[64], status[64];
    snprintf(status, sizeof status, "/proc/%d/status", r);
    status_field(status, "CapEff", eff, sizeof eff);
    status_field(status, "CapPrm", prm, sizeof prm);
    status_field(status, "NoNewPrivs", nnp, sizeof nnp);
    status_field(status, "Uid", uid, sizeof uid);
    snprintf(link, sizeof link, "/proc/%d/fd/0", r);
    ssize_t n = readlink(link, fd0, sizeof fd0 - 1);
    fd0[n > 0 ? n : 0] = '\0';

    const char *t = report_read();
    struct stat js;
    ck_assert_int_eq(stat(jail, &js), 0);
    char root[64];
    snprintf(root, sizeof root, "%llu:%llu", (unsigned long long)js.st_dev,
             (unsigned long long)js.st_ino);
    char fds[64];
    snprintf(fds, sizeof fds, "0 1 2 %d %d ", rep_w < ctl[0] ? rep_w : ctl[0],
             rep_w < ctl[0] ? ctl[0] : rep_w);
    ck_assert_str_eq(report_get(t, "uid"), "65534 65534 65534");
    ck_assert_str_eq(report_get(t, "gid"), "65534 65534 65534");
    ck_assert_str_eq(report_get(t, "groups"), "");
    ck_assert_str_eq(report_get(t, "root"), root);
    ck_assert_str_eq(report_get(t, "cwd"), "/");
    ck_assert_int_eq(atol(report_get(t, "pid")), r);
    ck_assert_int_ne(atol(report_get(t, "sid")), r);
    ck_assert_str_eq(report_get(t, "nnp"), "1");
    ck_assert_str_eq(report_get(t, "setuid0"), "-1");
    ck_assert_str_eq(report_get(t, "setresuid"), "-1");
    ck_assert_str_eq(report_get(t, "fds"), fds);
    ck_assert_str_eq(eff, "0000000000000000");
    ck_assert_str_eq(prm, "0000000000000000");
    ck_assert_str_eq(nnp, "1");
    ck_assert_str_eq(uid, "65534\t65534\t65534\t65534");
    ck_assert_str_eq(fd0, "/dev/null");

    close(ctl[1]);
    ck_assert(wait_gone(r, 5000));
    remove_jail();
}
END_TEST

static int child_failing_in_the_daemon(void *arg)
{
    (void)arg;
    int r = lust_daemonize(NULL);
    if (r == 0) {
        struct lust_creds *c;
        lust_privs_lookup("nobody", NULL, 0, &c);
        int fd = -1;
        lust_privs_jail_open(jail, &fd);
        lust_privs_drop(c, 0);
        r = lust_privs_jail_enter(fd); /* no longer root: refused */
        lust_daemon_failed(r, "%s", lust_error());
        _exit(4);
    }
    report("r=%d\nerror=%s\n", r, lust_error());
    return r < 0 ? 4 : 0;
}

START_TEST(parent_sees_the_daemons_failure_sentence_and_status)
{
    make_jail();
    int st = in_child(child_failing_in_the_daemon, NULL);
    const char *t = report_read();
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 4);
    ck_assert_int_eq(atoi(report_get(t, "r")), -EPERM);
    char want[320];
    snprintf(want, sizeof want, "chroot %s: Operation not permitted", jail);
    ck_assert_str_eq(report_get(t, "error"), want);
    remove_jail();
}
END_TEST

TEST_PRINTF(3, 4)
static void assert_refused(const char *path, int err, const char *fmt, ...)
{
    char want[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    int fd = -7;
    ck_assert_int_eq(lust_privs_jail_open(path, &fd), -err);
    ck_assert_str_eq(lust_error(), want);
    ck_assert_int_eq(fd, -7);
}

#define WRITABLE "jail %s: directory %s is writable by group or others (mode %04o)"

START_TEST(unsafe_jails_are_refused_with_a_sentence)
{
    make_jail();
    ck_assert_int_eq(chmod(jail, 0777), 0);
    assert_refused(jail, EPERM, WRITABLE, jail, jail, 0777);
    ck_assert_int_eq(chmod(jail, 0775), 0);
    assert_refused(jail, EPERM, WRITABLE, jail, jail, 0775);
    ck_assert_int_eq(chmod(jail, 0755), 0);
    ck_assert_int_eq(chown(jail, 65534, 0), 0);
    assert_refused(jail, EPERM, "jail %s: directory %s is owned by uid 65534, not root", jail,
                   jail);
    ck_assert_int_eq(chown(jail, 0, 0), 0);
    ck_assert_int_eq(chmod(base, 0775), 0);
    assert_refused(jail, EPERM, WRITABLE, jail, base, 0775);
    ck_assert_int_eq(chmod(base, 0755), 0);
    char link[256];
    snprintf(link, sizeof link, "%s/link", base);
    ck_assert_int_eq(symlink("jail", link), 0);
    assert_refused(link, ELOOP, "jail %s: component %s is a symlink", link, link);
    int fd;
    ck_assert_int_eq(lust_privs_jail_open(jail, &fd), 0);
    close(fd);
    remove_jail();
}
END_TEST

START_TEST(a_device_node_in_the_jail_is_reported)
{
    make_jail();
    char dev[256], want[640];
    snprintf(dev, sizeof dev, "%s/dev", jail);
    ck_assert_int_eq(mkdir(dev, 0755), 0);
    snprintf(dev, sizeof dev, "%s/dev/null", jail);
    ck_assert_int_eq(mknod(dev, S_IFCHR | 0666, makedev(1, 3)), 0);
    snprintf(want, sizeof want, "jail %s: device node %s", jail, dev);
    ck_assert_int_eq(lust_privs_jail_scan(jail, 100, 1000), -EPERM);
    ck_assert_str_eq(lust_error(), want);
    remove_jail();
}
END_TEST

static int enter_jail(void)
{
    int fd;
    if (lust_privs_jail_open(jail, &fd) < 0 || lust_privs_jail_enter(fd) < 0)
        return 10;
    return fcntl(fd, F_GETFD) < 0 && errno == EBADF ? 0 : 11; /* the descriptor is closed */
}

static void *exit_thread(void *arg)
{
    pthread_exit(arg);
}

static int thread_exit_in_jail(void)
{
    int r = enter_jail();
    if (r)
        return r;
    pthread_t t;
    if (pthread_create(&t, NULL, exit_thread, NULL) != 0)
        return 12;
    pthread_join(t, NULL);
    return 0;
}

static int quiet_thread_exit_in_jail(void *arg)
{
    (void)arg;
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, 2) < 0)
        return 14;
    return thread_exit_in_jail(); /* glibc's abort message would clutter the test log */
}

static int prepared_thread_exit_in_jail(void *arg)
{
    (void)arg;
    return lust_privs_prepare() < 0 ? 13 : thread_exit_in_jail();
}

static int libgcc_s_loaded(void)
{
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (h)
        dlclose(h);
    return h != NULL;
}

START_TEST(a_thread_may_exit_inside_an_empty_jail_after_prepare)
{
    make_jail();
    assert_exit0(in_child(prepared_thread_exit_in_jail, NULL));
    /* The control: unprepared, glibc aborts (unless something loaded libgcc_s already). */
    if (!libgcc_s_loaded()) {
        int st = in_child(quiet_thread_exit_in_jail, NULL);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %#x", st);
    }
    remove_jail();
}
END_TEST

static int zone_in_jail(void *arg)
{
    (void)arg;
    if (enter_jail())
        return 10;
    time_t jan = 1767268800; /* 2026-01-01 12:00 UTC */
    struct tm tm;
    char zone[16] = "";
    localtime_r(&jan, &tm);
    strftime(zone, sizeof zone, "%Z", &tm);
    report("zone=%s\n", zone);
    return 0;
}

static int prepared_zone_in_jail(void *arg)
{
    (void)arg;
    return lust_privs_prepare() < 0 ? 13 : zone_in_jail(NULL);
}

START_TEST(the_time_zone_survives_the_jail_after_prepare)
{
    make_jail();
    setenv("TZ", "America/New_York", 1);
    assert_exit0(in_child(prepared_zone_in_jail, NULL));
    ck_assert_str_eq(report_get(report_read(), "zone"), "EST");
    report_open();
    assert_exit0(in_child(zone_in_jail, NULL));
    ck_assert_str_ne(report_get(report_read(), "zone"), "EST"); /* the control */
    remove_jail();
}
END_TEST

/* Without /proc (a mount namespace that has none) the jail is entered through fchdir(). */
static int enter_without_proc(void *arg)
{
    (void)arg;
    struct stat want, got;
    int fd;
    if (lust_privs_jail_open(jail, &fd) < 0 || fstat(fd, &want) < 0)
        return 10;
    if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
        umount2("/proc", MNT_DETACH) < 0 || access("/proc/self", F_OK) == 0)
        return 11;
    if (lust_privs_jail_enter(fd) < 0)
        return 12;
    if (stat("/", &got) < 0 || got.st_dev != want.st_dev || got.st_ino != want.st_ino)
        return 13;
    return stat(".", &got) == 0 && got.st_ino == want.st_ino ? 0 : 14; /* cwd: the jail */
}

START_TEST(the_jail_is_entered_without_proc_too)
{
    make_jail();
    assert_exit0(in_child(enter_without_proc, NULL));
    remove_jail();
}
END_TEST

static int chroot_refused(void *arg)
{
    (void)arg;
    char before[PATH_MAX], after[PATH_MAX];
    int fd;
    if (lust_privs_jail_open(jail, &fd) < 0 || !getcwd(before, sizeof before))
        return 10;
    if (setresuid(65534, 65534, 65534) < 0)
        return 11;
    int r = lust_privs_jail_enter(fd);
    report("r=%d\nerror=%s\nsame_cwd=%d\nfd_open=%d\n", r, lust_error(),
           getcwd(after, sizeof after) && !strcmp(before, after), fcntl(fd, F_GETFD) >= 0);
    return 0;
}

START_TEST(a_refused_chroot_leaves_cwd_and_root_alone)
{
    make_jail();
    ck_assert_int_eq(chdir(base), 0);
    assert_exit0(in_child(chroot_refused, NULL));
    const char *t = report_read();
    char want[320];
    snprintf(want, sizeof want, "chroot %s: Operation not permitted", jail);
    ck_assert_int_eq(atoi(report_get(t, "r")), -EPERM);
    ck_assert_str_eq(report_get(t, "error"), want);
    ck_assert_str_eq(report_get(t, "same_cwd"), "1");
    ck_assert_str_eq(report_get(t, "fd_open"), "1");
    ck_assert_int_eq(chdir("/"), 0);
    remove_jail();
}
END_TEST

/*
 * The jail's descriptor closed (a keep list that forgot it) and its number reused for an
 * unchecked directory that anyone may write: entering it is refused. A dup() of a checked
 * jail is the same directory and is entered.
 */
static int reused_jail_number(void *unused)
{
    (void)unused;
    char open_dir[256];
    struct stat root_before, root_after;
    int fd, dup_fd;
    snprintf(open_dir, sizeof open_dir, "%s/anyone", base);
    if (mkdir(open_dir, 0777) < 0 || chmod(open_dir, 0777) < 0 || stat("/", &root_before) < 0)
        return 10;
    if (lust_privs_jail_open(jail, &fd) < 0)
        return 11;
    close(fd);
    int reused = open(open_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (reused != fd)
        return 12;
    int r = lust_privs_jail_enter(reused);
    report("reused=%d\nreused_error=%s\n", r, lust_error());
    if (stat("/", &root_after) < 0 || root_after.st_ino != root_before.st_ino ||
        fcntl(reused, F_GETFD) < 0)
        return 13;
    if (lust_privs_jail_open(jail, &fd) < 0 || (dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
        return 14;
    close(fd);
    report("dup=%d\n", lust_privs_jail_enter(dup_fd));
    return 0;
}

START_TEST(a_jail_number_reused_by_another_directory_is_not_entered)
{
    make_jail();
    assert_exit0(in_child(reused_jail_number, NULL));
    const char *t = report_read();
    ck_assert_int_eq(atoi(report_get(t, "reused")), -EBADF);
    ck_assert_ptr_nonnull(
        strstr(report_get(t, "reused_error"), "is not a jail lust_privs_jail_open() checked"));
    ck_assert_str_eq(report_get(t, "dup"), "0");
    remove_jail();
}
END_TEST

static int drop_to(const char *user, unsigned lookup_flags, unsigned drop_flags)
{
    struct lust_creds *c;
    int r = lust_privs_lookup(user, NULL, lookup_flags, &c);
    if (r < 0)
        return r;
    r = lust_privs_drop(c, drop_flags);
    lust_creds_free(c);
    report("r=%d\nerror=%s\n", r, r < 0 ? lust_error() : "");
    report_ids();
    return r;
}

static int drop_plain(void *arg)
{
    (void)arg;
    if (setgroups(2, (gid_t[]){4, 27}) < 0)
        return 20;
    if (drop_to("nobody", 0, 0) < 0)
        return 21;
    char line[256] = "";
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10))
            report("%.*s=%s", (int)strcspn(line, ":"), line, line + strcspn(line, "\t") + 1);
    if (f)
        fclose(f);
    report("setuid0=%d\nseteuid0=%d\nsetgid0=%d\nsetgroups=%d\n", setuid(0), seteuid(0), setgid(0),
           setgroups(0, NULL));
    return 0;
}

START_TEST(drop_leaves_no_way_back_to_root)
{
    make_jail();
    assert_exit0(in_child(drop_plain, NULL));
    const char *t = report_read();
    ck_assert_str_eq(report_get(t, "uid"), "65534 65534 65534");
    ck_assert_str_eq(report_get(t, "gid"), "65534 65534 65534");
    ck_assert_str_eq(report_get(t, "groups"), "");
    ck_assert_str_eq(report_get(t, "CapEff"), "0000000000000000");
    ck_assert_str_eq(report_get(t, "CapPrm"), "0000000000000000");
    ck_assert_str_eq(report_get(t, "CapAmb"), "0000000000000000");
    ck_assert_str_eq(report_get(t, "NoNewPrivs"), "1");
    ck_assert_str_eq(report_get(t, "setuid0"), "-1");
    ck_assert_str_eq(report_get(t, "seteuid0"), "-1");
    ck_assert_str_eq(report_get(t, "setgid0"), "-1");
    ck_assert_str_eq(report_get(t, "setgroups"), "-1");
    remove_jail();
}
END_TEST

static int drop_user_groups(void *arg)
{
    (void)arg;
    return drop_to("nobody", LUST_PRIVS_USER_GROUPS, 0) < 0 ? 21 : 0;
}

START_TEST(user_groups_policy_sets_the_users_own_groups)
{
    make_jail();
    assert_exit0(in_child(drop_user_groups, NULL));
    ck_assert_str_eq(report_get(report_read(), "groups"), "65534");
    remove_jail();
}
END_TEST

static int drop_not_root(void *arg)
{
    (void)arg;
    if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
        return 20;
    int a = drop_to("daemon", 0, 0);
    int b = drop_to("nobody", 0, 0);
    report("a=%d\nb=%d\n", a, b);
    return 0;
}

START_TEST(not_root_gets_eperm_unless_already_the_target)
{
    make_jail();
    assert_exit0(in_child(drop_not_root, NULL));
    const char *t = report_read();
    ck_assert_int_eq(atoi(report_get(t, "a")), -EPERM);
    ck_assert_int_eq(atoi(report_get(t, "b")), 0);
    ck_assert_str_eq(report_get(t, "error"),
                     "cannot become user \"daemon\" (uid 1): not running as root");
    ck_assert_str_eq(report_get(t, "uid"), "65534 65534 65534");
    remove_jail();
}
END_TEST

START_TEST(dropping_to_root_is_refused)
{
    struct lust_creds *c = NULL;
    ck_assert_int_eq(lust_privs_lookup("root", NULL, 0, &c), -EINVAL);
    ck_assert_str_eq(lust_error(), "user \"root\" is uid 0: refusing to run as root");
    ck_assert_ptr_null(c);
    ck_assert_int_eq(geteuid(), 0);
}
END_TEST

/* Writes text into an existing file (a /proc one: no O_CREAT, no O_TRUNC). 0 or -1. */
static int write_proc(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = write_all(fd, text, strlen(text));
    close(fd);
    return r;
}

/* The credential lines of /proc/self/status, for a before/after comparison. */
static void creds_text(char *out, size_t size)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    out[0] = '\0';
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
            !strncmp(line, "Groups:", 7) || !strncmp(line, "Cap", 3) ||
            !strncmp(line, "NoNewPrivs:", 11))
            strncat(out, line, size - strlen(out) - 1);
    if (f)
        fclose(f);
}

static int drop_where_setgroups_is_denied(void *arg)
{
    (void)arg;
    if (unshare(CLONE_NEWUSER) < 0)
        return 77;
    if (write_proc("/proc/self/setgroups", "deny") < 0 ||
        write_proc("/proc/self/uid_map", "0 0 1\n") < 0 ||
        write_proc("/proc/self/gid_map", "0 0 1\n") < 0)
        return 78;
    char before[2048], after[2048];
    creds_text(before, sizeof before);
    drop_to("nobody", 0, 0);
    creds_text(after, sizeof after);
    report("same=%d\n", strcmp(before, after) == 0);
    return 0;
}

START_TEST(a_refused_drop_in_a_user_namespace_changes_nothing)
{
    make_jail();
    int st = in_child(drop_where_setgroups_is_denied, NULL);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        report_read();
        remove_jail();
        return; /* user namespaces unavailable here */
    }
    assert_exit0(st);
    const char *t = report_read();
    ck_assert_int_eq(atoi(report_get(t, "r")), -EPERM);
    ck_assert_str_eq(report_get(t, "error"), "setgroups for user \"nobody\" (a user namespace with "
                                             "setgroups denied?): Operation not permitted");
    ck_assert_str_eq(report_get(t, "same"), "1");
    ck_assert_str_eq(report_get(t, "uid"), "0 0 0");
    remove_jail();
}
END_TEST

static int gate[2];

static void *thread_waits_then_reports(void *arg)
{
    char c;
    (void)arg;
    (void)!read(gate[0], &c, 1);
    uid_t u[3];
    getresuid(&u[0], &u[1], &u[2]);
    report("thread_uid=%u %u %u\nthread_nnp=%d\n", u[0], u[1], u[2],
           prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    return NULL;
}

static int drop_with_thread(int nnp_first)
{
    pthread_t t;
    if (pipe(gate) < 0)
        return 20;
    if (nnp_first && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return 21;
    if (pthread_create(&t, NULL, thread_waits_then_reports, NULL) != 0)
        return 22;
    drop_to("nobody", 0, 0);
    (void)!write(gate[1], "x", 1);
    pthread_join(t, NULL);
    return 0;
}

static int drop_with_nnp_thread(void *arg)
{
    (void)arg;
    return drop_with_thread(1);
}

static int drop_with_old_thread(void *arg)
{
    (void)arg;
    return drop_with_thread(0);
}

START_TEST(every_thread_is_dropped)
{
    make_jail();
    assert_exit0(in_child(drop_with_nnp_thread, NULL));
    const char *t = report_read();
    ck_assert_int_eq(atoi(report_get(t, "r")), 0);
    ck_assert_str_eq(report_get(t, "thread_uid"), "65534 65534 65534");
    ck_assert_str_eq(report_get(t, "thread_nnp"), "1");
    remove_jail();
}
END_TEST

START_TEST(a_thread_without_no_new_privs_fails_the_verification)
{
    make_jail();
    assert_exit0(in_child(drop_with_old_thread, NULL));
    const char *t = report_read();
    ck_assert_int_eq(atoi(report_get(t, "r")), -EPERM);
    ck_assert_ptr_nonnull(strstr(report_get(t, "error"), "NoNewPrivs is not as expected"));
    ck_assert_ptr_nonnull(
        strstr(report_get(t, "error"), "privilege drop to user \"nobody\" not verified"));
    remove_jail();
}
END_TEST

static int bind_port(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = bind(s, (struct sockaddr *)&a, sizeof a) < 0 ? -errno : 0;
    close(s);
    return r;
}

static int drop_keep(int keep)
{
    if (drop_to("nobody", 0, keep ? LUST_PRIVS_KEEP_NET_BIND_SERVICE : 0) < 0)
        return 21;
    char eff[64] = "";
    status_field("/proc/self/status", "CapEff", eff, sizeof eff);
    report("bind=%d\ncapeff=%s\nsetuid0=%d\n", bind_port(81), eff, setuid(0));
    return 0;
}

static int drop_keeping(void *arg)
{
    (void)arg;
    return drop_keep(1);
}

static int drop_not_keeping(void *arg)
{
    (void)arg;
    return drop_keep(0);
}

static int low_ports_privileged(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
    int start = 1024;
    if (f) {
        if (fscanf(f, "%d", &start) != 1)
            start = 1024;
        fclose(f);
    }
    return start > 81;
}

START_TEST(net_bind_service_alone_can_be_kept)
{
    make_jail();
    assert_exit0(in_child(drop_keeping, NULL));
    const char *t = report_read();
    ck_assert_str_eq(report_get(t, "capeff"), "0000000000000400");
    ck_assert_str_eq(report_get(t, "setuid0"), "-1");
    ck_assert_str_eq(report_get(t, "uid"), "65534 65534 65534");
    if (low_ports_privileged())
        ck_assert_int_eq(atoi(report_get(t, "bind")), 0);
    report_open();
    assert_exit0(in_child(drop_not_keeping, NULL));
    t = report_read();
    ck_assert_str_eq(report_get(t, "capeff"), "0000000000000000");
    if (low_ports_privileged())
        ck_assert_int_eq(atoi(report_get(t, "bind")), -EACCES);
    remove_jail();
}
END_TEST

static void *idle(void *arg)
{
    char c;
    (void)!read(*(int *)arg, &c, 1);
    return NULL;
}

START_TEST(keeping_a_capability_with_threads_is_refused)
{
    int p[2];
    pthread_t t;
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, idle, &p[0]), 0);
    struct lust_creds *c;
    ck_assert_int_eq(lust_privs_lookup("nobody", NULL, 0, &c), 0);
    ck_assert_int_eq(lust_privs_drop(c, LUST_PRIVS_KEEP_NET_BIND_SERVICE), -EBUSY);
    ck_assert_int_eq(geteuid(), 0);
    ck_assert_int_eq(getuid(), 0);
    lust_creds_free(c);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    pthread_join(t, NULL);
}
END_TEST

static Suite *privs_root_suite(void)
{
    Suite *s = suite_create("privs_root");
    TCase *tc = tcase_create("privs_root");
    tcase_set_timeout(tc, 10);
    tcase_add_unchecked_fixture(tc, jail_top_make, jail_top_remove);
    tcase_add_test(tc, whole_sequence_runs_the_daemon_jailed_as_nobody);
    tcase_add_test(tc, parent_sees_the_daemons_failure_sentence_and_status);
    tcase_add_test(tc, unsafe_jails_are_refused_with_a_sentence);
    tcase_add_test(tc, a_device_node_in_the_jail_is_reported);
    tcase_add_test(tc, a_thread_may_exit_inside_an_empty_jail_after_prepare);
    tcase_add_test(tc, the_time_zone_survives_the_jail_after_prepare);
    tcase_add_test(tc, a_refused_chroot_leaves_cwd_and_root_alone);
    tcase_add_test(tc, the_jail_is_entered_without_proc_too);
    tcase_add_test(tc, a_jail_number_reused_by_another_directory_is_not_entered);
    tcase_add_test(tc, drop_leaves_no_way_back_to_root);
    tcase_add_test(tc, user_groups_policy_sets_the_users_own_groups);
    tcase_add_test(tc, not_root_gets_eperm_unless_already_the_target);
    tcase_add_test(tc, dropping_to_root_is_refused);
    tcase_add_test(tc, a_refused_drop_in_a_user_namespace_changes_nothing);
    tcase_add_test(tc, every_thread_is_dropped);
    tcase_add_test(tc, a_thread_without_no_new_privs_fails_the_verification);
    tcase_add_test(tc, net_bind_service_alone_can_be_kept);
    tcase_add_test(tc, keeping_a_capability_with_threads_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(privs_root_suite)
