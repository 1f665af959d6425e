/*
 * test/check_daemon.c - lust_daemonize() and the readiness report, as any user.
 *
 * Each test daemonizes from its own Check process. The daemon keeps two pipes: it writes what
 * it sees to `rep`, and then blocks reading `ctl` until end of file, which comes when the test
 * process ends (or closes it): no daemon outlives its test.
 */
#include "lust_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <lust/daemon.h>
#include <lust/error.h>
#include <lust/log.h>

static int ctl[2], rep_w; /* rep_w: the report pipe's write end, kept by every daemon */

typedef void (*body_fn)(void);

/* In the daemon: wait until the test is done with us, then leave. */
static void __attribute__((noreturn)) linger(void)
{
    char c;
    report_end();
    while (read(ctl[0], &c, 1) != 0 && (errno == EINTR || errno == 0))
        ;
    _exit(0);
}

static int spawn_with(struct lust_daemon_opts *o, const int *extra, unsigned nextra, body_fn body)
{
    ck_assert_int_eq(pipe2(ctl, O_CLOEXEC), 0);
    rep_w = report_open();
    int keep[8] = {ctl[0], rep_w};
    for (unsigned i = 0; i < nextra; i++)
        keep[2 + i] = extra[i];
    o->keep_fds = keep;
    o->keep_fds_len = 2 + nextra;
    int r = lust_daemonize(o);
    if (r == 0) {
        body();
        linger();
    }
    report_end();
    close(ctl[0]);
    return r;
}

static int spawn_daemon(body_fn body)
{
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.timeout_ms = 10000;
    return spawn_with(&o, NULL, 0, body);
}

static void report_status(const char *key)
{
    char v[256];
    report("%s=%s\n", key, status_field("/proc/self/status", key, v, sizeof v));
}

static void body_ready(void)
{
    report("pid=%ld\n", (long)getpid());
    lust_daemon_ready();
}

START_TEST(parent_gets_the_pid_of_the_ready_daemon)
{
    int r = spawn_daemon(body_ready);
    ck_assert_int_gt(r, 0);
    ck_assert_int_eq(atoi(report_get(report_read(), "pid")), r);
}
END_TEST

static void body_session(void)
{
    report("pid=%ld\nsid=%ld\npgrp=%ld\n", (long)getpid(), (long)getsid(0), (long)getpgrp());
    lust_daemon_ready();
}

START_TEST(daemon_is_in_a_new_session_it_does_not_lead)
{
    int r = spawn_daemon(body_session);
    ck_assert_int_gt(r, 0);
    const char *rep_text = report_read();
    long sid = atol(report_get(rep_text, "sid"));
    ck_assert_int_ne(sid, r);
    ck_assert_int_ne(sid, getsid(0));
    ck_assert_int_eq(atol(report_get(rep_text, "pgrp")), sid);
}
END_TEST

START_TEST(no_zombie_is_left_after_daemonizing)
{
    int r = spawn_daemon(body_ready);
    ck_assert_int_gt(r, 0);
    int st;
    ck_assert_int_eq(waitpid(-1, &st, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

static void body_state(void)
{
    char cwd[PATH_MAX] = "";
    struct rlimit core;
    if (!getcwd(cwd, sizeof cwd))
        cwd[0] = '?';
    getrlimit(RLIMIT_CORE, &core);
    report("cwd=%s\ncore=%llu\n", cwd, (unsigned long long)core.rlim_cur);
    /* The handlers as the process sees them: /proc's SigCgt would show valgrind's own. */
    unsigned long long caught = 0;
    for (int sig = 1; sig <= 64; sig++) {
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
            caught |= 1ULL << (sig - 1);
    }
    report("caught=%llx\n", caught);
    report_status("SigIgn");
    report_status("SigBlk");
    report_status("NoNewPrivs");
    report_status("Umask");
    lust_daemon_ready();
}

static void on_usr2(int sig)
{
    (void)sig;
}

/* What a starting shell may pass on: ignored TERM, blocked HUP, odd umask and cwd, cores; and
 * what the program may have done before: a handler of its own for USR2. */
static void spoil_process_state(void)
{
    signal(SIGTERM, SIG_IGN);
    signal(SIGUSR2, on_usr2);
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_BLOCK, &hup, NULL);
    umask(0);
    ck_assert_int_eq(chdir("/proc"), 0);
    struct rlimit core;
    getrlimit(RLIMIT_CORE, &core);
    core.rlim_cur = core.rlim_max;
    setrlimit(RLIMIT_CORE, &core);
}

START_TEST(daemon_starts_with_clean_process_state)
{
    spoil_process_state();
    int r = spawn_daemon(body_state);
    ck_assert_int_gt(r, 0);
    const char *t = report_read();
    ck_assert_str_eq(report_get(t, "cwd"), "/");
    ck_assert_str_eq(report_get(t, "core"), "0");
    /* glibc reserves signals 32 and 33 (SIGCANCEL, SIGSETXID) and refuses to change them, so
     * when the caller inherited them ignored (dpkg-buildpackage's make does) they stay so. */
    unsigned long long ign = strtoull(report_get(t, "SigIgn"), NULL, 16);
    ck_assert_uint_eq(ign & ~((1ULL << 31) | (1ULL << 32)), 0);
    ck_assert_str_eq(report_get(t, "caught"), "0");
    ck_assert_str_eq(report_get(t, "SigBlk"), "0000000000000000");
    ck_assert_str_eq(report_get(t, "NoNewPrivs"), "1");
    ck_assert_str_eq(report_get(t, "Umask"), "0027");
}
END_TEST

START_TEST(umask_and_core_limit_follow_the_options)
{
    spoil_process_state();
    struct rlimit core;
    getrlimit(RLIMIT_CORE, &core);
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.umask = 077;
    o.flags = LUST_DAEMON_ALLOW_CORE;
    int r = spawn_with(&o, NULL, 0, body_state);
    ck_assert_int_gt(r, 0);
    const char *t = report_read();
    ck_assert_str_eq(report_get(t, "Umask"), "0077");
    ck_assert_uint_eq(strtoull(report_get(t, "core"), NULL, 10), core.rlim_cur);
}
END_TEST

static void report_fds(void)
{
    struct rlimit nofile;
    getrlimit(RLIMIT_NOFILE, &nofile);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int fd = atoi(e->d_name);
        /* Valgrind keeps its own descriptors above the limit it shows the program. */
        if (e->d_name[0] == '.' || fd == dirfd(d) || (rlim_t)fd >= nofile.rlim_cur)
            continue;
        char link[300], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        report("fd%d=%s\n", fd, target);
    }
    if (d)
        closedir(d);
}

static void body_fds(void)
{
    /* After the verdict, so the report channel is closed and only what we kept remains. */
    lust_daemon_ready();
    report_fds();
}

START_TEST(daemon_keeps_only_the_listed_descriptors)
{
    int stray = open("/dev/zero", O_RDONLY); /* not close-on-exec: must still be closed */
    int kept = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    /* One as far up as the limit allows: close_range covers it without walking up to it. */
    struct rlimit nofile;
    getrlimit(RLIMIT_NOFILE, &nofile);
    int high = fcntl(stray, F_DUPFD, (int)nofile.rlim_cur - 1);
    ck_assert_int_ge(stray, 3);
    ck_assert_int_eq(high, (int)nofile.rlim_cur - 1);
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    int r = spawn_with(&o, &kept, 1, body_fds);
    ck_assert_int_gt(r, 0);
    const char *t = report_read();
    int n = 0;
    for (const char *p = t; *p; p++)
        n += *p == '\n';
    ck_assert_msg(n == 6, "descriptors left: %s", t);
    ck_assert_str_eq(report_get(t, "fd0"), "/dev/null");
    ck_assert_str_eq(report_get(t, "fd1"), "/dev/null");
    ck_assert_str_eq(report_get(t, "fd2"), "/dev/null");
    char key[16];
    int fds[3] = {kept, ctl[0], rep_w};
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "fd%d", fds[i]);
        ck_assert_str_ne(report_get(t, key), "");
    }
    snprintf(key, sizeof key, "fd%d", kept);
    ck_assert_str_eq(report_get(t, key), "/dev/zero");
}
END_TEST

START_TEST(keep_stdio_leaves_stdout_alone)
{
    char path[] = "/tmp/lust-daemon-out-XXXXXX";
    int out = mkstemp(path);
    ck_assert_int_ge(out, 0);
    unlink(path);
    ck_assert_int_eq(dup2(out, 1), 1);
    close(out);
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.flags = LUST_DAEMON_KEEP_STDIO;
    int r = spawn_with(&o, NULL, 0, body_fds);
    ck_assert_int_gt(r, 0);
    const char *t = report_read();
    ck_assert_str_eq(report_get(t, "fd0"), "/dev/null");
    ck_assert_ptr_nonnull(strstr(report_get(t, "fd1"), "lust-daemon-out-"));
}
END_TEST

static void body_buffered(void)
{
    lust_daemon_ready();
    report_end();
    exit(0); /* a normal exit flushes whatever stdio buffers the daemon inherited */
}

START_TEST(buffered_output_is_written_once)
{
    char path[] = "/tmp/lust-daemon-once-XXXXXX";
    int out = mkstemp(path);
    ck_assert_int_ge(out, 0);
    unlink(path);
    ck_assert_int_eq(dup2(out, 1), 1);
    printf("x");
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.flags = LUST_DAEMON_KEEP_STDIO;
    int r = spawn_with(&o, NULL, 0, body_buffered);
    ck_assert_int_gt(r, 0);
    report_read(); /* end of file: the daemon has exited and flushed */
    fflush(stdout);
    char buf[8] = "";
    ck_assert_int_eq(pread(out, buf, sizeof buf, 0), 1);
    ck_assert_str_eq(buf, "x");
}
END_TEST

static char log_path[] = "/tmp/lust-daemon-log-XXXXXX";

/* A daemon written without the framework: its log setup lists its own descriptors only. */
static void body_log_setup_then_ready(void)
{
    int keep[2] = {ctl[0], rep_w};
    if (lust_log_setup(log_path, keep, 2) < 0)
        lust_daemon_failed(EIO, "log setup: %s", lust_error());
    else
        lust_daemon_ready();
}

START_TEST(a_log_setup_in_the_daemon_keeps_the_report_channel)
{
    int fd = mkstemp(log_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    int r = spawn_daemon(body_log_setup_then_ready);
    unlink(log_path);
    ck_assert_msg(r > 0, "start: %d %s", r, lust_error());
}
END_TEST

static void body_fail(void)
{
    lust_daemon_failed(EADDRINUSE, "port %d: in use\nreally", 81);
}

START_TEST(parent_gets_the_daemons_failure_sentence)
{
    int r = spawn_daemon(body_fail);
    ck_assert_int_eq(r, -EADDRINUSE);
    ck_assert_str_eq(lust_error(), "port 81: in use really");
}
END_TEST

static void body_abort(void)
{
    abort();
}

START_TEST(daemon_dying_before_a_verdict_is_a_failure)
{
    int r = spawn_daemon(body_abort);
    ck_assert_int_eq(r, -ECHILD);
    ck_assert_ptr_nonnull(strstr(lust_error(), "died during startup"));
}
END_TEST

static void body_fork_then_ready(void)
{
    /* A child forked without exec inherits the report channel, then lives on. */
    pid_t child = fork();
    if (child == 0)
        linger();
    lust_daemon_ready();
}

START_TEST(a_forked_child_holding_the_channel_does_not_delay_ready)
{
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.timeout_ms = 3000; /* a parent waiting for end of file would time out */
    int r = spawn_with(&o, NULL, 0, body_fork_then_ready);
    ck_assert_int_gt(r, 0);
}
END_TEST

static void body_fork_then_die(void)
{
    pid_t child = fork();
    if (child == 0)
        linger();
    _exit(3);
}

START_TEST(a_forked_child_holding_the_channel_does_not_hide_a_death)
{
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.timeout_ms = 60000; /* beyond the test's own timeout: only the death may end the wait */
    int r = spawn_with(&o, NULL, 0, body_fork_then_die);
    ck_assert_int_eq(r, -ECHILD);
    ck_assert_ptr_nonnull(strstr(lust_error(), "died during startup"));
}
END_TEST

static void body_twice(void)
{
    int a = lust_daemon_ready();
    int b = lust_daemon_ready();
    int c = lust_daemon_failed(EIO, "too late");
    report("a=%d\nb=%d\nc=%d\n", a, b, c);
}

START_TEST(only_the_first_verdict_counts)
{
    int r = spawn_daemon(body_twice);
    ck_assert_int_gt(r, 0);
    const char *t = report_read();
    ck_assert_int_eq(atoi(report_get(t, "a")), 0);
    ck_assert_int_eq(atoi(report_get(t, "b")), -EALREADY);
    ck_assert_int_eq(atoi(report_get(t, "c")), -EALREADY);
}
END_TEST

START_TEST(report_without_a_waiting_parent_does_nothing)
{
    ck_assert_int_eq(lust_daemon_ready(), 0);
    ck_assert_int_eq(lust_daemon_ready(), 0);
    ck_assert_int_eq(lust_daemon_failed(ENOENT, "config %s missing", "x"), 0);
    ck_assert_str_eq(lust_error(), "config x missing");
}
END_TEST

static void body_hang(void)
{
    report("pid=%ld\n", (long)getpid());
}

START_TEST(timeout_kills_the_daemon)
{
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.timeout_ms = 300;
    int r = spawn_with(&o, NULL, 0, body_hang);
    ck_assert_int_eq(r, -ETIMEDOUT);
    ck_assert_ptr_nonnull(strstr(lust_error(), "did not report within 300 ms: killed it"));
    long pid = atol(report_get(report_read(), "pid"));
    ck_assert_int_gt(pid, 0);
    /* Gone, or a zombie waiting for its new parent to reap it: not running anyway. */
    ck_assert_msg(wait_gone((pid_t)pid, 0), "daemon %ld still running", pid);
}
END_TEST

static void *block_until_told(void *arg)
{
    char c;
    (void)!read(*(int *)arg, &c, 1);
    return NULL;
}

START_TEST(a_multithreaded_process_is_refused)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, block_until_told, &p[0]), 0);
    int r = lust_daemonize(NULL);
    ck_assert_int_eq(r, -EBUSY);
    ck_assert_str_eq(lust_error(), "cannot daemonize: the process runs 2 threads (fork would copy "
                                   "only the calling one)");
    int st;
    ck_assert_int_eq(waitpid(-1, &st, WNOHANG), -1); /* nothing was forked */
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    pthread_join(t, NULL);
}
END_TEST

START_TEST(a_kept_descriptor_that_is_not_open_is_refused)
{
    int bad = 1000;
    struct lust_daemon_opts o = LUST_DAEMON_OPTS_INIT;
    o.keep_fds = &bad;
    o.keep_fds_len = 1;
    ck_assert_int_eq(lust_daemonize(&o), -EBADF);
    ck_assert_str_eq(lust_error(), "daemonize: kept descriptor 1000: Bad file descriptor");
    int low = 1;
    o.keep_fds = &low;
    ck_assert_int_eq(lust_daemonize(&o), -EINVAL);
}
END_TEST

static Suite *daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    TCase *tc = tcase_create("daemon");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, parent_gets_the_pid_of_the_ready_daemon);
    tcase_add_test(tc, daemon_is_in_a_new_session_it_does_not_lead);
    tcase_add_test(tc, no_zombie_is_left_after_daemonizing);
    tcase_add_test(tc, daemon_starts_with_clean_process_state);
    tcase_add_test(tc, umask_and_core_limit_follow_the_options);
    tcase_add_test(tc, daemon_keeps_only_the_listed_descriptors);
    tcase_add_test(tc, keep_stdio_leaves_stdout_alone);
    tcase_add_test(tc, buffered_output_is_written_once);
    tcase_add_test(tc, a_log_setup_in_the_daemon_keeps_the_report_channel);
    tcase_add_test(tc, parent_gets_the_daemons_failure_sentence);
    tcase_add_test(tc, daemon_dying_before_a_verdict_is_a_failure);
    tcase_add_test(tc, a_forked_child_holding_the_channel_does_not_delay_ready);
    tcase_add_test(tc, a_forked_child_holding_the_channel_does_not_hide_a_death);
    tcase_add_test(tc, only_the_first_verdict_counts);
    tcase_add_test(tc, report_without_a_waiting_parent_does_nothing);
    tcase_add_test(tc, timeout_kills_the_daemon);
    tcase_add_test(tc, a_multithreaded_process_is_refused);
    tcase_add_test(tc, a_kept_descriptor_that_is_not_open_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(daemon_suite)
