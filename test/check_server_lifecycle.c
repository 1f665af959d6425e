/*
 * test/check_server_lifecycle.c - the life of a server as an operator sees it: start, status,
 * stop, restart, the exit codes, starts that fail, the jail and the drop seen from /proc, two
 * daemons side by side, and callback structs of other sizes (test/server_harness.h).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <lust/pidfile.h>

#include "server_harness.h"

/* The "PID UID" a marker file holds; 0 when it does not exist. */
static int read_marker(const char *stage, long *pid, long *uid, struct timespec *mtime)
{
    char path[256], buf[64];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", markers, stage);
    if (!read_text(path, buf, sizeof buf) || stat(path, &st) < 0)
        return 0;
    if (sscanf(buf, "%ld %ld\n", pid, uid) != 2 || !strchr(buf, '\n'))
        return 0; /* being written */
    if (mtime)
        *mtime = st.st_mtim;
    return 1;
}

/*
 * Waits (at most 10 s) for a marker written after `start` returned: run() is called once the
 * daemon told it was ready, so its marker may come a moment later. inotify, not a sleep loop.
 */
static void wait_marker(const char *stage, long *pid, long *uid, struct timespec *mtime)
{
    int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ck_assert_int_ge(ifd, 0);
    ck_assert_int_ge(inotify_add_watch(ifd, markers, IN_CLOSE_WRITE | IN_MOVED_TO), 0);
    while (!read_marker(stage, pid, uid, mtime)) {
        struct pollfd p = {.fd = ifd, .events = POLLIN};
        char ev[4096];
        ck_assert_msg(poll(&p, 1, 10000) == 1, "no marker %s within 10 s", stage);
        while (read(ifd, ev, sizeof ev) > 0)
            continue;
    }
    close(ifd);
}

static int ts_le(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

START_TEST(start_runs_each_hook_in_order_as_the_right_process_and_user)
{
    static const char *const stages[] = {"1-before_daemonize", "2-before_jail",
                                         "3-before_drop_privs", "4-run"};
    long mpid[4], muid[4];
    struct timespec mt[4];

    marker_conf();
    pid_t pid = start(marker_server, "marker_server");
    /* The first three ran before the daemon was ready, so before start returned. */
    for (int i = 0; i < 3; i++)
        ck_assert_msg(read_marker(stages[i], &mpid[i], &muid[i], &mt[i]), "no marker %s",
                      stages[i]);
    wait_marker(stages[3], &mpid[3], &muid[3], &mt[3]);
    /* Who ran each hook: the started process, then the daemon as root, then as nobody. */
    ck_assert_int_ne(mpid[0], pid);
    ck_assert_int_eq(muid[0], 0);
    ck_assert_int_eq(mpid[1], pid);
    ck_assert_int_eq(muid[1], 0);
    ck_assert_int_eq(mpid[2], pid);
    ck_assert_int_eq(muid[2], 0);
    ck_assert_int_eq(mpid[3], pid);
    ck_assert_int_eq(muid[3], NOBODY);
    for (int i = 1; i < 4; i++)
        ck_assert_msg(ts_le(mt[i - 1], mt[i]), "%s written before %s", stages[i], stages[i - 1]);
    stop(marker_server, "marker_server", pid);
}
END_TEST

START_TEST(status_of_a_running_server_exits_0_naming_its_pid)
{
    struct result r;
    marker_conf();
    pid_t pid = start(marker_server, "marker_server");
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 0);
    ck_assert_int_eq(pid_in(r.out), pid);
    stop(marker_server, "marker_server", pid);
}
END_TEST

START_TEST(stop_calls_shutdown_then_run_returns_and_the_pid_file_goes)
{
    struct result r;
    long spid, suid, p, u;
    marker_conf();
    pid_t pid = start(marker_server, "marker_server");
    wait_marker("4-run", &p, &u, NULL);
    stop(marker_server, "marker_server", pid);
    ck_assert(read_marker("5-shutdown", &spid, &suid, NULL));
    ck_assert_int_eq(spid, pid);
    ck_assert(read_marker("6-run_returns", &spid, &suid, NULL));
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 3);
    ck_assert_int_eq(access(at("marker_server", "pid"), F_OK), -1);
    ck_assert_int_eq(count_left(dir), 0);
}
END_TEST

START_TEST(a_started_thread_server_serves_until_stop_and_leaves_nothing)
{
    struct result r;
    char buf[256];
    int port = thread_conf("hello from the test");
    pid_t tpid = start(thread_server, "thread_server");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "hello from the test\n");
    stop(thread_server, "thread_server", tpid);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 3);
    ck_assert_int_eq(count_left(dir), 0);
}
END_TEST

/* A thread_server started and greeted once, so that its serving threads exist. */
static pid_t start_greeted_thread_server(void)
{
    char buf[64];
    int port = thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    return pid;
}

/* One thread's /proc status text: nobody's ids, no privileges, the framework's signals. */
static void check_ids(const char *status, const char *tid)
{
    static const char *const keys[] = {"Uid",    "Gid",    "Groups", "NoNewPrivs",
                                       "CapEff", "CapPrm", "SigBlk", "SigCgt"};
    char v[8][256];
    for (int i = 0; i < 8; i++)
        ck_assert_msg(field_in(status, keys[i], v[i], sizeof v[i]), "no %s line in:\n%s", keys[i],
                      status);
    ck_assert_str_eq(v[0], "65534\t65534\t65534\t65534");
    ck_assert_str_eq(v[1], "65534\t65534\t65534\t65534");
    ck_assert_str_eq(v[2], "");
    ck_assert_str_eq(v[3], "1");
    ck_assert_str_eq(v[4], "0000000000000000");
    ck_assert_str_eq(v[5], "0000000000000000");
    unsigned long long blk = strtoull(v[6], NULL, 16);
    unsigned long long cgt = strtoull(v[7], NULL, 16);
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(blk & (1ULL << (sigs[i] - 1)), "task %s: signal %d not blocked", tid,
                      sigs[i]);
        ck_assert_msg(!(cgt & (1ULL << (sigs[i] - 1))), "task %s: handler for signal %d", tid,
                      sigs[i]);
    }
}

START_TEST(every_thread_of_a_running_server_is_nobody_without_privileges_or_signal_handlers)
{
    char path[320];
    pid_t pid = start_greeted_thread_server();
    /* Every thread, not only the main one: a drop that missed one would show there. */
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int threads = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char text[8192];
        snprintf(path, sizeof path, "/proc/%ld/task/%s/status", (long)pid, e->d_name);
        if (!read_text(path, text, sizeof text))
            continue; /* a client's thread that has just finished */
        check_ids(text, e->d_name);
        threads++;
    }
    closedir(d);
    ck_assert_int_ge(threads, 2); /* main and the signal thread */
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(a_running_server_is_chrooted_in_its_jail_in_a_session_it_does_not_lead)
{
    char path[256], link[PATH_MAX];
    pid_t pid = start_greeted_thread_server();
    snprintf(path, sizeof path, "/proc/%ld/root", (long)pid);
    ssize_t n = readlink(path, link, sizeof link - 1);
    ck_assert_int_gt(n, 0);
    link[n] = '\0';
    ck_assert_str_eq(link, jail);
    pid_t sid = getsid(pid);
    ck_assert_int_gt(sid, 0);
    ck_assert_int_ne(sid, pid);
    ck_assert_int_ne(sid, getsid(0));
    stop(thread_server, "thread_server", pid);
}
END_TEST

/* 1 when the process maps libgcc_s, the library glibc unwinds threads with. */
static int maps_libgcc_s(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    FILE *f = fopen(path, "re");
    ck_assert_ptr_nonnull(f);
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "/libgcc_s.so") != NULL;
    fclose(f);
    return found;
}

/*
 * glibc unwinds a thread that calls pthread_exit or is cancelled with libgcc_s, which it loads
 * at first use: inside an empty jail only if the framework loaded it before the chroot. It does
 * so, with no option set, for a daemon that imports either function, and for no other: a
 * daemon that never unwinds (thread_server) does not carry the library.
 */
START_TEST(threads_exit_and_are_cancelled_in_the_jail_and_only_such_daemons_load_libgcc_s)
{
    struct result r;
    write_conf("old_ops_server", "%s", "");
    ck_assert_msg(run_ops(&r, "unwind", "start") == 0, "%s%s", r.out, r.err);
    pid_t pid = pid_in(r.out);
    wait_in_file(at("old_ops_server", "log"), "threads unwound");
    ck_assert_int_eq(run_ops(&r, "unwind", "status"), 0);
    ck_assert_msg(run_ops(&r, "unwind", "stop") == 0, "%s%s", r.out, r.err);
    ck_assert(wait_gone(pid, 2000));
    char log[4096];
    ck_assert_ptr_nonnull(read_text(at("old_ops_server", "log"), log, sizeof log));
    ck_assert_msg(strstr(log, "exiting with status 0"), "%s", log);

    /* A sanitizer runtime links libgcc_s into every program: then there is nothing to see. */
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (h) {
        dlclose(h);
        return;
    }
    pid = start_greeted_thread_server();
    ck_assert_msg(!maps_libgcc_s(pid), "thread_server loaded libgcc_s");
    stop(thread_server, "thread_server", pid);
}
END_TEST

/* 1 when link ("socket:[INODE]") is a unix socket bound to path, from /proc/net/unix. */
static int is_unix_socket_at(const char *link, const char *path)
{
    unsigned long want = strtoul(link + 8, NULL, 10), inode;
    char line[512], name[300];
    int found = 0;
    FILE *f = fopen("/proc/net/unix", "re");
    ck_assert_ptr_nonnull(f);
    while (!found && fgets(line, sizeof line, f)) {
        name[0] = '\0';
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %299s", &inode, name) >= 1 && inode == want)
            found = strcmp(name, path) == 0;
    }
    fclose(f);
    return found;
}

/*
 * Descriptors: stdio, the log, the pid file, the config file (for SIGHUP), the listening socket
 * and the control socket, eventfds, signalfd. None is a directory: a jailed process holding one
 * outside its jail could fchdir() out of it.
 */
START_TEST(a_running_server_holds_only_its_own_descriptors_and_no_directory)
{
    char path[256], link[PATH_MAX];
    pid_t pid = start_greeted_thread_server();
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    int sockets = 0, pidfiles = 0, logs = 0, confs = 0, controls = 0;
    char bound[300];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char fdpath[300];
        struct stat st;
        snprintf(fdpath, sizeof fdpath, "/proc/%ld/fd/%s", (long)pid, e->d_name);
        ssize_t n = readlink(fdpath, link, sizeof link - 1);
        ck_assert_int_gt(n, 0);
        link[n] = '\0';
        ck_assert_int_eq(stat(fdpath, &st), 0);
        ck_assert_msg(!S_ISDIR(st.st_mode), "fd %s is a directory: %s", e->d_name, link);
        int fd = atoi(e->d_name);
        if (fd == 0 && strcmp(link, "/dev/null") == 0)
            continue;
        if (strcmp(link, at("thread_server", "log")) == 0) {
            logs++;
            continue;
        }
        if (strcmp(link, at("thread_server", "pid")) == 0) {
            pidfiles++;
            continue;
        }
        if (strcmp(link, at("thread_server", "conf")) == 0) {
            confs++;
            continue;
        }
        if (strncmp(link, "socket:", 7) == 0) {
            /* Bound under a temporary name (PATH.PID), then renamed into place. */
            snprintf(bound, sizeof bound, "%s.%ld", at("thread_server", "ctl"), (long)pid);
            controls += is_unix_socket_at(link, bound);
            sockets++;
            continue;
        }
        if (strcmp(link, "anon_inode:[eventfd]") == 0 || strcmp(link, "anon_inode:[signalfd]") == 0)
            continue;
        ck_abort_msg("unexpected descriptor %d -> %s", fd, link);
    }
    closedir(d);
    ck_assert_int_eq(pidfiles, 1);
    ck_assert_int_eq(confs, 1);
    ck_assert_int_ge(logs, 2); /* stdout and stderr at least */
    ck_assert_int_eq(sockets, 2);
    ck_assert_int_eq(controls, 1);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/* A marker_server started, then killed with SIGKILL: its pid file is left behind. */
static pid_t start_then_kill9(void)
{
    marker_conf();
    pid_t pid = start(marker_server, "marker_server");
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert(wait_gone(pid, 5000));
    return pid;
}

START_TEST(status_after_kill9_exits_1_saying_dead)
{
    struct result r;
    start_then_kill9();
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 1);
    ck_assert_ptr_nonnull(strstr(r.out, "dead"));
}
END_TEST

START_TEST(start_after_kill9_starts_a_new_server)
{
    struct result r;
    pid_t pid = start_then_kill9();
    pid_t again = start(marker_server, "marker_server");
    ck_assert_int_ne(again, pid);
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 0);
    stop(marker_server, "marker_server", again);
}
END_TEST

START_TEST(twenty_concurrent_starts_make_exactly_one_server)
{
    enum { N = 20 };
    char conf[256];
    snprintf(conf, sizeof conf, "%s", at("marker_server", "conf"));
    char *argv[] = {(char *)marker_server, "-c", conf, "start", NULL};
    pid_t pids[N];
    int outs[N], errs[N];
    static struct result r[N];

    marker_conf();
    for (int i = 0; i < N; i++)
        pids[i] = spawn(argv, NULL, &outs[i], &errs[i]);
    for (int i = 0; i < N; i++)
        collect(pids[i], outs[i], errs[i], &r[i]);
    pid_t server = holder("marker_server");
    ck_assert_int_gt(server, 0);
    int started = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_msg(r[i].code == 0, "start %d: %d: %s%s", i, r[i].code, r[i].out, r[i].err);
        ck_assert_msg(pid_in(r[i].out) == server, "start %d names another server: %s", i, r[i].out);
        started += strstr(r[i].out, "started") != NULL;
    }
    ck_assert_int_eq(started, 1);
    ck_assert_int_eq(count_left(dir), 1);
    pid_t left[4];
    ck_assert_int_eq(find_procs(dir, left, 4), 1);
    ck_assert_int_eq(left[0], server);
    stop(marker_server, "marker_server", server);
}
END_TEST

/* After a failed start: no process left, no pid file locked. */
static void nothing_left(const char *name)
{
    pid_t pid = 0;
    int q = lust_pidfile_query(at(name, "pid"), &pid);
    ck_assert_msg(q != LUST_PIDFILE_RUNNING && q != LUST_PIDFILE_RUNNING_UNKNOWN,
                  "pid file %s still locked (%d, pid %ld)", at(name, "pid"), q, (long)pid);
    ck_assert_int_eq(count_left(dir), 0);
}

/* Starts marker_server with dir/bad.conf holding text: exit 6, and file:line on stderr. */
static void start_with_bad_config(struct result *r, const char *text, int line)
{
    char want[300];
    marker_conf();
    write_file(at("bad", "conf"), text, strlen(text), 0644);
    ck_assert_int_eq(RUN(r, marker_server, "bad", "start"), 6);
    snprintf(want, sizeof want, "%s:%d", at("bad", "conf"), line);
    ck_assert_msg(strstr(r->err, want), "stderr: %s", r->err);
}

START_TEST(a_syntax_error_exits_6_naming_file_and_line)
{
    struct result r;
    start_with_bad_config(&r, "# a comment\nuser = = nobody\n", 2);
}
END_TEST

START_TEST(an_unknown_key_exits_6_naming_file_line_and_key_and_starts_nothing)
{
    struct result r;
    start_with_bad_config(&r, "# a comment\n\ninterval = 2\nintreval = 3\n", 4);
    ck_assert_msg(strstr(r.err, "intreval"), "stderr: %s", r.err);
    ck_assert_str_eq(r.out, "");
    nothing_left("bad");
    ck_assert_int_eq(access(at("bad", "pid"), F_OK), -1);
    ck_assert_int_eq(access(at("bad", "log"), F_OK), -1);
}
END_TEST

START_TEST(unknown_user_exits_6_naming_the_user)
{
    struct result r;
    write_conf("marker_server", "user = \"lust-no-such-user\"\nmarkers = \"%s\"\n", markers);
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "start"), 6);
    ck_assert_msg(strstr(r.err, "user \"lust-no-such-user\" not found"), "stderr: %s", r.err);
    nothing_left("marker_server");
    long p, u;
    ck_assert(!read_marker("1-before_daemonize", &p, &u, NULL));
}
END_TEST

START_TEST(missing_jail_exits_5_naming_the_jail)
{
    struct result r;
    char missing[256], text[1024];
    /* A missing jail is made when its parent passes the checks; a missing parent is not. */
    snprintf(missing, sizeof missing, "%s/no-such-dir/jail", dir);
    int n = snprintf(text, sizeof text, "jail = \"%s\"\npidfile = \"%s\"\nlogfile = \"%s\"\n",
                     missing, at("marker_server", "pid"), at("marker_server", "log"));
    write_file(at("marker_server", "conf"), text, (size_t)n, 0644);
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "start"), 5);
    ck_assert_msg(strstr(r.err, missing), "stderr: %s", r.err);
    nothing_left("marker_server");
}
END_TEST

/*
 * examples/skeleton.c, the daemon to copy, does what it says: its own key in the log, a new
 * value by `reload`, an empty one refused at start (6) and by reload (1, the old one kept).
 */
START_TEST(the_skeleton_logs_its_message_and_reloads_it)
{
    struct result r;
    write_conf("skeleton", "message = \"first words\"\n");
    pid_t pid = start(skeleton, "skeleton");
    wait_in_file(at("skeleton", "log"), "INFO first words");
    rename_conf("skeleton", "message = \"second words\"\n");
    ck_assert_msg(RUN(&r, skeleton, "skeleton", "reload") == 0, "%d: %s%s", r.code, r.out, r.err);
    wait_in_file(at("skeleton", "log"), "INFO second words");
    rename_conf("skeleton", "message = \"\"\n");
    ck_assert_int_eq(RUN(&r, skeleton, "skeleton", "reload"), 1);
    ck_assert_msg(strstr(r.err, "message: must not be empty"), "stderr: %s", r.err);
    ck_assert_int_eq(holder("skeleton"), pid);
    stop(skeleton, "skeleton", pid);
    ck_assert_int_eq(RUN(&r, skeleton, "skeleton", "start"), 6);
    ck_assert_msg(strstr(r.err, "message: must not be empty"), "stderr: %s", r.err);
}
END_TEST

START_TEST(port_in_use_fails_with_the_daemons_bind_sentence)
{
    struct result r;
    char want[128];
    int port = thread_conf("HI!");
    int fd = tcp_listener(&port);

    ck_assert_int_ne(RUN(&r, thread_server, "thread_server", "start"), 0);
    snprintf(want, sizeof want, "listen 127.0.0.1:%d: Address already in use", port);
    ck_assert_msg(strstr(r.err, want), "stderr: %s", r.err);
    nothing_left("thread_server");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 3);
    close(fd);
}
END_TEST

/*
 * A mistake in the daemon's own keys, found by its hook in the daemon (before_drop_privs),
 * exits 6 like a file the framework cannot parse: the hook said so with
 * lust_server_fail_config(), and the verdict carried it to the starting process.
 */
START_TEST(a_hook_blaming_the_config_exits_6_in_both_modes)
{
    struct result r;
    write_conf("thread_server", "listen = {\"nonsense\"}\n");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "start"), 6);
    ck_assert_msg(strstr(r.err, "listen \"nonsense\": not HOST:PORT"), "stderr: %s", r.err);
    nothing_left("thread_server");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "-f", "start"), 6);
    ck_assert_msg(strstr(r.err, "listen \"nonsense\": not HOST:PORT"), "stderr: %s", r.err);
    nothing_left("thread_server");
}
END_TEST

/* The device and inode of liblust.so.1 as mapped in pid. */
static void liblust_mapping(pid_t pid, char *out, size_t size)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    FILE *f = fopen(path, "re");
    ck_assert_ptr_nonnull(f);
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "/liblust.so.1"))
            continue;
        char dev[32];
        unsigned long inode;
        ck_assert_int_eq(sscanf(line, "%*s %*s %*s %31s %lu", dev, &inode), 2);
        snprintf(out, size, "%s %lu", dev, inode);
        break;
    }
    fclose(f);
    ck_assert_msg(out[0], "pid %ld maps no liblust.so.1", (long)pid);
}

START_TEST(two_different_daemons_share_liblust_and_collide_in_nothing)
{
    struct result r;
    char m1[64], m2[64], buf[64];

    marker_conf();
    int port = thread_conf("two");
    pid_t s = start(marker_server, "marker_server");
    pid_t t = start(thread_server, "thread_server");
    liblust_mapping(s, m1, sizeof m1);
    liblust_mapping(t, m2, sizeof m2);
    ck_assert_str_eq(m1, m2);
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 0);
    ck_assert_int_eq(pid_in(r.out), s);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 0);
    ck_assert_int_eq(pid_in(r.out), t);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "two\n");
    stop(marker_server, "marker_server", s);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 0);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "two\n");
    stop(thread_server, "thread_server", t);
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 3);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 3);
}
END_TEST

static const char *start_stop_daemon(void)
{
    if (access("/sbin/start-stop-daemon", X_OK) == 0)
        return "/sbin/start-stop-daemon";
    return "/usr/sbin/start-stop-daemon";
}

START_TEST(debian_start_stop_daemon_reads_and_stops_through_our_pid_file)
{
    struct result r;
    char *ssd = (char *)start_stop_daemon();
    char pidf[256];
    snprintf(pidf, sizeof pidf, "%s", at("thread_server", "pid"));
    char *status[] = {ssd, "--status", "--pidfile", pidf, NULL};
    char *stop_argv[] = {ssd, "--stop", "--pidfile", pidf, NULL};

    thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    run_argv(&r, NULL, status);
    ck_assert_msg(r.code == 0, "--status: %d: %s", r.code, r.err);
    run_argv(&r, NULL, stop_argv);
    ck_assert_msg(r.code == 0, "--stop: %d: %s", r.code, r.err);
    ck_assert_msg(wait_gone(pid, 5000), "still running after start-stop-daemon --stop");
    /* The daemon left an empty pid file: "not running" to us, "cannot tell" (4) to dpkg's. */
    run_argv(&r, NULL, status);
    ck_assert_msg(r.code == 1 || r.code == 3 || r.code == 4, "--status: %d", r.code);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "status"), 3);
    /* And after our own stop removed the file: 3, not running. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "stop"), 0);
    run_argv(&r, NULL, status);
    ck_assert_int_eq(r.code, 3);
}
END_TEST

START_TEST(older_smaller_callback_struct_still_works)
{
    struct result r;
    write_conf("old_ops_server", "%s", "");
    ck_assert_msg(run_ops(&r, "old", "start") == 0, "%s%s", r.out, r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_int_eq(holder("old_ops_server"), pid);
    ck_assert_int_eq(run_ops(&r, "old", "status"), 0);
    /* The bytes after the old struct are not taken for a reload hook... */
    ck_assert_int_eq(run_ops(&r, "old", "reload"), 3);
    /* ...nor for a shutdown hook: the daemon would crash on TERM calling it. */
    ck_assert_msg(run_ops(&r, "old", "stop") == 0, "%s%s", r.out, r.err);
    ck_assert(wait_gone(pid, 2000));
    char log[4096];
    ck_assert_ptr_nonnull(read_text(at("old_ops_server", "log"), log, sizeof log));
    ck_assert_ptr_nonnull(strstr(log, "old_ops_server running"));
    ck_assert_ptr_nonnull(strstr(log, "exiting with status 0"));
}
END_TEST

START_TEST(larger_struct_with_unknown_members_set_is_refused)
{
    struct result r;
    write_conf("old_ops_server", "%s", "");
    ck_assert_int_ne(run_ops(&r, "big-set", "start"), 0);
    ck_assert_msg(strstr(r.err, "newer liblust"), "stderr: %s", r.err);
    nothing_left("old_ops_server");
    ck_assert_int_eq(access(at("old_ops_server", "pid"), F_OK), -1);
}
END_TEST

START_TEST(larger_struct_with_zero_tail_works)
{
    struct result r;
    write_conf("old_ops_server", "%s", "");
    ck_assert_msg(run_ops(&r, "big-zero", "start") == 0, "%s%s", r.out, r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_int_eq(holder("old_ops_server"), pid);
    ck_assert_msg(run_ops(&r, "big-zero", "stop") == 0, "%s%s", r.out, r.err);
    ck_assert(wait_gone(pid, 2000));
}
END_TEST

START_TEST(an_unknown_command_exits_2_naming_it)
{
    struct result r;
    marker_conf();
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "frobnicate"), 2);
    ck_assert_ptr_nonnull(strstr(r.err, "frobnicate"));
    ck_assert_int_eq(count_left(dir), 0);
}
END_TEST

START_TEST(no_command_exits_2_with_the_usage)
{
    struct result r;
    marker_conf();
    char *none[] = {(char *)marker_server, "-c", (char *)at("marker_server", "conf"), NULL};
    run_argv(&r, NULL, none);
    ck_assert_int_eq(r.code, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "Usage"));
    ck_assert_int_eq(count_left(dir), 0);
}
END_TEST

START_TEST(reload_on_a_stopped_server_exits_7)
{
    struct result r;
    marker_conf();
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "reload"), 7);
}
END_TEST

START_TEST(stop_on_a_stopped_server_exits_0_and_status_3)
{
    struct result r;
    marker_conf();
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "stop"), 0);
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "status"), 3);
}
END_TEST

START_TEST(start_on_running_server_exits_0_saying_already_running)
{
    struct result r;
    marker_conf();
    pid_t pid = start(marker_server, "marker_server");
    ck_assert_int_eq(RUN(&r, marker_server, "marker_server", "start"), 0);
    ck_assert_msg(strstr(r.out, "already running"), "stdout: %s", r.out);
    ck_assert_int_eq(pid_in(r.out), pid);
    ck_assert_int_eq(holder("marker_server"), pid);
    stop(marker_server, "marker_server", pid);
}
END_TEST

START_TEST(status_as_nobody_on_roots_pid_file_exits_4_and_changes_nothing)
{
    struct result r;
    struct stat before, after;
    char text1[64], text2[64];

    marker_conf();
    ck_assert_int_eq(chmod(at("marker_server", "conf"), 0644), 0);
    pid_t pid = start(marker_server, "marker_server");
    ck_assert_int_eq(stat(at("marker_server", "pid"), &before), 0);
    ck_assert_ptr_nonnull(read_text(at("marker_server", "pid"), text1, sizeof text1));
    struct how how = {.fd3 = -1, .as_nobody = 1};
    ck_assert_int_eq(run_how(&r, &how, marker_server, "marker_server", "status", (char *)NULL), 4);
    ck_assert_int_eq(stat(at("marker_server", "pid"), &after), 0);
    ck_assert_ptr_nonnull(read_text(at("marker_server", "pid"), text2, sizeof text2));
    ck_assert_str_eq(text1, text2);
    ck_assert_int_eq(before.st_ino, after.st_ino);
    ck_assert_int_eq(before.st_mode, after.st_mode);
    ck_assert_int_eq(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    ck_assert_int_eq(holder("marker_server"), pid);
    stop(marker_server, "marker_server", pid);
}
END_TEST

static Suite *server_lifecycle_suite(void)
{
    Suite *s = suite_create("server_lifecycle");
    TCase *tc = server_tcase("life", 30);
    tcase_add_test(tc, start_runs_each_hook_in_order_as_the_right_process_and_user);
    tcase_add_test(tc, status_of_a_running_server_exits_0_naming_its_pid);
    tcase_add_test(tc, stop_calls_shutdown_then_run_returns_and_the_pid_file_goes);
    tcase_add_test(tc, a_started_thread_server_serves_until_stop_and_leaves_nothing);
    tcase_add_test(tc, status_after_kill9_exits_1_saying_dead);
    tcase_add_test(tc, start_after_kill9_starts_a_new_server);
    tcase_add_test(tc, twenty_concurrent_starts_make_exactly_one_server);
    tcase_add_test(tc, two_different_daemons_share_liblust_and_collide_in_nothing);
    tcase_add_test(tc, debian_start_stop_daemon_reads_and_stops_through_our_pid_file);
    suite_add_tcase(s, tc);

    tc = server_tcase("jail and drop", 30);
    tcase_add_test(
        tc, every_thread_of_a_running_server_is_nobody_without_privileges_or_signal_handlers);
    tcase_add_test(tc, a_running_server_is_chrooted_in_its_jail_in_a_session_it_does_not_lead);
    tcase_add_test(tc, a_running_server_holds_only_its_own_descriptors_and_no_directory);
    tcase_add_test(tc,
                   threads_exit_and_are_cancelled_in_the_jail_and_only_such_daemons_load_libgcc_s);
    suite_add_tcase(s, tc);

    tc = server_tcase("failed starts", 30);
    tcase_add_test(tc, a_syntax_error_exits_6_naming_file_and_line);
    tcase_add_test(tc, an_unknown_key_exits_6_naming_file_line_and_key_and_starts_nothing);
    tcase_add_test(tc, unknown_user_exits_6_naming_the_user);
    tcase_add_test(tc, missing_jail_exits_5_naming_the_jail);
    tcase_add_test(tc, the_skeleton_logs_its_message_and_reloads_it);
    tcase_add_test(tc, port_in_use_fails_with_the_daemons_bind_sentence);
    tcase_add_test(tc, a_hook_blaming_the_config_exits_6_in_both_modes);
    suite_add_tcase(s, tc);

    tc = server_tcase("exit codes", 30);
    tcase_add_test(tc, an_unknown_command_exits_2_naming_it);
    tcase_add_test(tc, no_command_exits_2_with_the_usage);
    tcase_add_test(tc, reload_on_a_stopped_server_exits_7);
    tcase_add_test(tc, stop_on_a_stopped_server_exits_0_and_status_3);
    tcase_add_test(tc, start_on_running_server_exits_0_saying_already_running);
    tcase_add_test(tc, status_as_nobody_on_roots_pid_file_exits_4_and_changes_nothing);
    suite_add_tcase(s, tc);

    tc = server_tcase("callback struct sizes", 30);
    tcase_add_test(tc, older_smaller_callback_struct_still_works);
    tcase_add_test(tc, larger_struct_with_unknown_members_set_is_refused);
    tcase_add_test(tc, larger_struct_with_zero_tail_works);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(server_lifecycle_suite)
