/*
 * test/check_server_control.c - reaching a running server: the control socket (reload, reopen,
 * who may use it, what it answers), SIGHUP, and log rotation with reopen, all after the jail
 * and the drop (test/server_harness.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include <lust/version.h>

#include "server_harness.h"

/* A thread_server saying HI! on the returned port, started; its pid in *pid. */
static int start_hi(pid_t *pid)
{
    char buf[64];
    int port = thread_conf("HI!");
    *pid = start(thread_server, "thread_server");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    return port;
}

/* The program's own version, not liblust's, in -V and in the start line of the log. */
START_TEST(the_daemon_names_its_own_version_then_liblusts)
{
    struct result r;
    char want[128];
    thread_conf("HI!");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "-V"), 0);
    snprintf(want, sizeof want, "thread_server 1.0 (liblust %s)\n", lust_version());
    ck_assert_str_eq(r.out, want);
    pid_t pid = start(thread_server, "thread_server");
    snprintf(want, sizeof want, "thread_server 1.0 started (pid %ld) as uid 65534 (liblust %s)",
             (long)pid, lust_version());
    char *log = slurp(at("thread_server", "log"), NULL);
    ck_assert_msg(strstr(log, want), "log: %s", log);
    free(log);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/*
 * thread_server lists `listen` in restart_keys: a reload that moves it is named and the old
 * address keeps serving; a later force-reload of the same file names it again (it is still
 * pending); putting the start value back ends it.
 */
START_TEST(a_changed_restart_key_is_named_by_every_reload_until_a_restart)
{
    struct result r;
    char buf[64];
    int port = thread_conf("HI!"), other = free_port();
    pid_t pid = start(thread_server, "thread_server");
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"ONE\"\n", other);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "kept until a restart: listen"), "stdout: %s", r.out);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "ONE\n");
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "force-reload") == 0, "%d: %s%s", r.code,
                  r.out, r.err);
    ck_assert_msg(strstr(r.out, "kept until a restart: listen"), "stdout: %s", r.out);
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"TWO\"\n", port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "reloaded") && !strstr(r.out, "restart"), "stdout: %s", r.out);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "TWO\n");
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reload_takes_a_renamed_config_before_it_exits_0)
{
    struct result r;
    char buf[64];
    pid_t pid;
    int port = start_hi(&pid);
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"NEW ONE\"\n", port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "reloaded"), "stdout: %s", r.out);
    ck_assert_ptr_null(strstr(r.out, "restart"));
    /* Exit 0 came after the daemon's reload() ran: the very next client sees it. */
    ck_assert_str_eq(greet(port, buf, sizeof buf), "NEW ONE\n");
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reload_of_a_broken_config_exits_1_naming_the_line_and_the_daemon_never_hears_of_it)
{
    struct result r;
    char buf[64], want[300];
    pid_t pid;
    int port = start_hi(&pid);
    /* Broken on line 9: the command says where and exits 1. */
    rename_conf("thread_server",
                "listen = {\"127.0.0.1:%d\"}\ngreeting = \"BROKEN\"\nno_such_key = 1\n", port);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    snprintf(want, sizeof want, "%s:9:", at("thread_server", "conf"));
    ck_assert_msg(strstr(r.err, want), "stderr: %s", r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    char *log = slurp(at("thread_server", "log"), NULL);
    ck_assert_msg(!strstr(log, "no_such_key") && !strstr(log, "BROKEN"), "log: %s", log);
    free(log);
    /* stop reads the config too. */
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\n", port);
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reload_refused_by_the_daemon_exits_1_with_its_sentence_and_keeps_the_old_config)
{
    struct result r;
    char buf[64];
    pid_t pid;
    int port = start_hi(&pid);
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"\"\n", port);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    ck_assert_msg(strstr(r.err, "greeting must not be empty") &&
                      strstr(r.err, "the running config is unchanged"),
                  "stderr: %s", r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reload_names_the_keys_kept_until_a_restart)
{
    struct result r;
    char buf[64], v[64], status[64];
    pid_t pid;
    int port = start_hi(&pid);
    /* A key the running daemon cannot honour is named, not silently dropped. */
    rename_conf("thread_server", "user = daemon\nlisten = {\"127.0.0.1:%d\"}\ngreeting = \"3\"\n",
                port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_msg(strstr(r.out, "kept until a restart: user"), "stdout: %s", r.out);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "3\n");
    snprintf(status, sizeof status, "/proc/%ld/status", (long)pid);
    ck_assert_str_eq(status_field(status, "Uid", v, sizeof v), "65534\t65534\t65534\t65534");
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(stop_removes_the_control_socket_of_the_server_it_stopped)
{
    pid_t pid;
    start_hi(&pid);
    ck_assert_int_eq(access(at("thread_server", "ctl"), F_OK), 0);
    stop(thread_server, "thread_server", pid);
    ck_assert_int_eq(access(at("thread_server", "ctl"), F_OK), -1);
}
END_TEST

START_TEST(a_second_server_on_a_live_control_socket_fails_and_leaves_it_alone)
{
    struct result r;
    char buf[64], ctl[256];
    int port = thread_conf("FIRST");
    pid_t pid = start(thread_server, "thread_server");
    snprintf(ctl, sizeof ctl, "%s", at("thread_server", "ctl"));

    /* Another pid file, another port, the same control socket. */
    write_conf("second", "listen = {\"127.0.0.1:%d\"}\ncontrol_socket = \"%s\"\n", free_port(),
               ctl);
    ck_assert_int_ne(RUN(&r, thread_server, "second", "start"), 0);
    ck_assert_msg(strstr(r.err, "another server, with another pid file, answers there"), "%s",
                  r.err);
    ck_assert_int_eq(holder("second"), 0);
    /* The first server still owns its socket: reload reaches it. */
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"STILL ME\"\n", port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%s%s", r.out, r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "STILL ME\n");
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reload_without_an_answer_in_start_timeout_exits_1_saying_so)
{
    struct result r;
    /* A later assignment wins in libconfuse: start_timeout is 1 s here. */
    write_conf("old_ops_server", "start_timeout = 1\n");
    ck_assert_msg(run_ops(&r, "slow-reload", "start") == 0, "%s%s", r.out, r.err);
    pid_t pid = pid_in(r.out);
    ck_assert_int_eq(run_ops(&r, "slow-reload", "reload"), 1);
    ck_assert_msg(strstr(r.err, "no answer from the server within 1 s"), "stderr: %s", r.err);
    /* The daemon finishes its reload, then stops normally. */
    wait_in_file(at("old_ops_server", "log"), "slow reload done");
    ck_assert_msg(run_ops(&r, "slow-reload", "stop") == 0, "%s%s", r.out, r.err);
    ck_assert(wait_gone(pid, 2000));
}
END_TEST

START_TEST(the_control_socket_is_roots_0600_and_a_non_root_reload_is_refused)
{
    struct result r;
    char buf[64];
    struct stat st;
    struct how nobody = {.fd3 = -1, .as_nobody = 1};
    pid_t pid;
    int port = start_hi(&pid);

    ck_assert_int_eq(stat(at("thread_server", "ctl"), &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(st.st_uid, 0);

    /* A change a reload would show, and readable by nobody so only the socket stands between. */
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"CHANGED\"\n", port);
    ck_assert_int_eq(chmod(at("thread_server", "conf"), 0644), 0);
    run_how(&r, &nobody, thread_server, "thread_server", "reload", (char *)NULL);
    ck_assert_msg(r.code == 4 && strstr(r.err, "only root"), "%d: %s%s", r.code, r.out, r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    stop(thread_server, "thread_server", pid);
}
END_TEST

/* A started HI! server whose control socket everyone may connect to, and a changed config. */
static int start_with_open_socket(pid_t *pid)
{
    int port = start_hi(pid);
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"CHANGED\"\n", port);
    ck_assert_int_eq(chmod(at("thread_server", "conf"), 0644), 0);
    ck_assert_int_eq(chmod(at("thread_server", "ctl"), 0666), 0);
    return port;
}

/* command, run as nobody through the open socket: refused (4), the refusal logged, no change. */
static void refused_as_nobody(const char *command, int port, struct result *r)
{
    char buf[64];
    struct how nobody = {.fd3 = -1, .as_nobody = 1};
    run_how(r, &nobody, thread_server, "thread_server", command, (char *)NULL);
    ck_assert_msg(r->code == 4, "%d: %s%s", r->code, r->out, r->err);
    wait_in_file(at("thread_server", "log"), "refused uid 65534");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
}

START_TEST(a_non_root_reload_through_an_open_socket_is_refused_by_the_daemon)
{
    struct result r;
    char buf[64];
    pid_t pid;
    int port = start_with_open_socket(&pid);
    /* Even with the socket opened to everyone, the daemon checks who is asking. */
    refused_as_nobody("reload", port, &r);
    ck_assert_msg(strstr(r.err, "only root"), "%d: %s%s", r.code, r.out, r.err);
    /* Root may: the same file is taken. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 0);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "CHANGED\n");
    stop(thread_server, "thread_server", pid);
    char *log = slurp(at("thread_server", "log"), NULL);
    ck_assert_int_eq(count_in(log, "refused uid 65534"), 1);
    free(log);
}
END_TEST

START_TEST(a_non_root_reopen_is_refused)
{
    struct result r;
    pid_t pid;
    int port = start_with_open_socket(&pid);
    /* reopen: nobody cannot even open the log file it would hand over. */
    refused_as_nobody("reopen", port, &r);
    stop(thread_server, "thread_server", pid);
    char *log = slurp(at("thread_server", "log"), NULL);
    ck_assert_int_eq(count_in(log, "refused uid 65534"), 1);
    ck_assert_ptr_null(strstr(log, "log reopened"));
    free(log);
}
END_TEST

/* Sends SIGHUP to the foreground server; returns once it told it reloaded and is ready. */
static void sighup(struct fg *fg)
{
    ck_assert_int_eq(kill(fg->pid, SIGHUP), 0);
    expect_notify(fg->notify, "RELOADING=1");
    expect_notify(fg->notify, "READY=1");
}

START_TEST(sighup_in_the_foreground_rereads_the_config_edited_in_place)
{
    char buf[64];
    struct result r;
    struct fg fg;
    int port = thread_conf("HI!");
    fg_start(&fg, NULL);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    /* systemd's ExecReload=kill -HUP: the file the jailed daemon opened at start is re-read. */
    write_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"IN PLACE\"\n", port);
    sighup(&fg);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "IN PLACE\n");
    fg_term(&fg, &r);
}
END_TEST

START_TEST(sighup_in_the_foreground_keeps_the_config_when_the_file_was_renamed_and_says_why)
{
    char buf[64];
    struct result r;
    struct fg fg;
    int port = thread_conf("HI!");
    fg_start(&fg, NULL);
    /* A file replaced by rename is out of the jail's reach: kept, and the log says why. */
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"RENAMED\"\n", port);
    sighup(&fg);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    fg_term(&fg, &r);
    ck_assert_msg(strstr(r.err, "was replaced or removed since the start"), "stderr: %s", r.err);
}
END_TEST

START_TEST(reload_reaches_a_foreground_server_through_its_control_socket)
{
    char buf[64];
    struct result r;
    struct fg fg;
    int port = thread_conf("HI!");
    fg_start(&fg, NULL);
    rename_conf("thread_server", "listen = {\"127.0.0.1:%d\"}\ngreeting = \"RENAMED\"\n", port);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "%d: %s%s", r.code, r.out,
                  r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "RENAMED\n");
    fg_term(&fg, &r);
}
END_TEST

START_TEST(reopen_of_a_foreground_server_exits_1_it_logs_to_stderr)
{
    struct result r;
    struct fg fg;
    thread_conf("HI!");
    fg_start(&fg, NULL);
    /* There is no log file to reopen: it logs to stderr. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reopen"), 1);
    ck_assert_msg(strstr(r.err, "stderr"), "stderr: %s", r.err);
    fg_term(&fg, &r);
}
END_TEST

/* A client loop for the rotation test: greets until told to stop, noting each source port. */
struct client_loop {
    int port;
    int stop;
    int count;        /* requests completed */
    int failures;     /* requests that did not get the greeting */
    int ports[20000]; /* the source port of each completed request */
};

static void *client_loop(void *arg)
{
    struct client_loop *cl = arg;
    while (!__atomic_load_n(&cl->stop, __ATOMIC_ACQUIRE) && cl->count < 20000) {
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)cl->port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        char buf[64];
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
            cl->failures++;
            if (fd >= 0)
                close(fd);
            continue;
        }
        /* EOF comes after the server logged the request: the line is written by then. */
        read_fd(fd, buf, sizeof buf);
        close(fd);
        if (strcmp(buf, "HI!\n") != 0) {
            cl->failures++;
            continue;
        }
        cl->ports[cl->count] = ntohs(a.sin_port);
        __atomic_store_n(&cl->count, cl->count + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* Waits until the loop has completed at least n requests (at most 20 s). */
static void wait_requests(struct client_loop *cl, int n)
{
    for (int i = 0; i < 2000 && __atomic_load_n(&cl->count, __ATOMIC_ACQUIRE) < n; i++) {
        struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_ge(__atomic_load_n(&cl->count, __ATOMIC_ACQUIRE), n);
}

START_TEST(logrotate_create_mode_with_reopen_loses_no_request_line)
{
    static const char *const logrotate = "/usr/sbin/logrotate";
    static struct client_loop cl;
    char lr_conf[256], lr_state[256], log_path[256], rotated[260], line[64], text[1024];
    struct result r;
    struct stat st;
    pthread_t thread;

    ck_assert_msg(access(logrotate, X_OK) == 0, "%s is missing: apt-get install logrotate",
                  logrotate);
    cl.port = thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    snprintf(log_path, sizeof log_path, "%s", at("thread_server", "log"));
    snprintf(rotated, sizeof rotated, "%s.1", log_path);
    snprintf(lr_conf, sizeof lr_conf, "%s/logrotate.conf", dir);
    snprintf(lr_state, sizeof lr_state, "%s/logrotate.state", dir);
    /* The snippet of examples/thread_server.logrotate, with this test's paths. */
    int n = snprintf(text, sizeof text,
                     "%s {\n    create 0640 root adm\n    rotate 4\n    missingok\n"
                     "    postrotate\n        %s -c %s reopen\n    endscript\n}\n",
                     log_path, thread_server, at("thread_server", "conf"));
    write_file(lr_conf, text, (size_t)n, 0644);

    ck_assert_int_eq(pthread_create(&thread, NULL, client_loop, &cl), 0);
    wait_requests(&cl, 50);
    char *lr_argv[] = {(char *)logrotate, "-f", "-s", lr_state, lr_conf, NULL};
    run_argv(&r, NULL, lr_argv);
    int at_rotation = __atomic_load_n(&cl.count, __ATOMIC_ACQUIRE);
    wait_requests(&cl, at_rotation + 50);
    __atomic_store_n(&cl.stop, 1, __ATOMIC_RELEASE);
    pthread_join(thread, NULL);
    ck_assert_msg(r.code == 0, "logrotate: %d: %s%s", r.code, r.out, r.err);
    ck_assert_int_eq(cl.failures, 0);

    /* The new file: made by logrotate as its snippet says, and the daemon writes to it. */
    ck_assert_int_eq(stat(log_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    ck_assert_int_eq(st.st_uid, 0);
    struct group *adm = getgrnam("adm");
    ck_assert_ptr_nonnull(adm);
    ck_assert_int_eq(st.st_gid, adm->gr_gid);
    char *old_text = slurp(rotated, NULL), *new_text = slurp(log_path, NULL);
    ck_assert_msg(strstr(old_text, "log: switching to a freshly opened file"), "%s", old_text);
    ck_assert_msg(strstr(new_text, "log reopened"), "%s", new_text);
    ck_assert_int_gt(count_in(old_text, "greeted "), 0);
    ck_assert_int_gt(count_in(new_text, "greeted "), 0);
    /* Every request's line exactly once across both files (a port used twice, twice). */
    ck_assert_int_eq(count_in(old_text, "greeted ") + count_in(new_text, "greeted "), cl.count);
    for (int i = 0; i < cl.count; i++) {
        int used = 0;
        for (int j = 0; j < cl.count; j++)
            used += cl.ports[j] == cl.ports[i];
        snprintf(line, sizeof line, "greeted 127.0.0.1:%d\n", cl.ports[i]);
        ck_assert_int_eq(count_in(old_text, line) + count_in(new_text, line), used);
    }
    free(old_text);
    free(new_text);
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reopen_on_a_stopped_server_exits_0_and_opens_nothing)
{
    struct result r;
    thread_conf("HI!");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reopen"), 0);
    ck_assert_msg(strstr(r.out, "not running"), "stdout: %s", r.out);
    ck_assert_int_eq(access(at("thread_server", "log"), F_OK), -1); /* nothing was opened */
}
END_TEST

/* How many of pid's descriptors lead to path; fails on any directory among them. */
static int fds_to(pid_t pid, const char *path)
{
    char dirpath[64], fdpath[320], link[PATH_MAX];
    struct stat st;
    int n = 0;
    snprintf(dirpath, sizeof dirpath, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(dirpath);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(fdpath, sizeof fdpath, "%s/%s", dirpath, e->d_name);
        if (stat(fdpath, &st) == 0)
            ck_assert_msg(!S_ISDIR(st.st_mode), "fd %s is a directory", e->d_name);
        ssize_t len = readlink(fdpath, link, sizeof link - 1);
        if (len > 0) {
            link[len] = '\0';
            n += strcmp(link, path) == 0;
        }
    }
    closedir(d);
    return n;
}

START_TEST(descriptors_sent_without_a_request_are_closed_not_kept)
{
    struct result r;
    char sentinel[256];
    thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    snprintf(sentinel, sizeof sentinel, "%s/sentinel", dir);
    int file = open(sentinel, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert_int_ge(file, 0);
    ck_assert_int_ge(root, 0);

    /* Empty messages carrying `/` (kept, a way out of the jail) and a file (kept, a leak). */
    for (int i = 0; i < 3; i++) {
        int fd = dial_control("thread_server"), pass[2] = {root, file};
        union {
            struct cmsghdr align;
            char space[CMSG_SPACE(sizeof pass)];
        } ctl;
        struct iovec iov = {.iov_base = "", .iov_len = 0};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.space,
                            .msg_controllen = sizeof ctl.space};
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof pass);
        memcpy(CMSG_DATA(c), pass, sizeof pass);
        ck_assert_int_eq(sendmsg(fd, &mh, MSG_NOSIGNAL), 0);
        close(fd);
    }
    close(root);
    close(file);
    /* The signal thread takes connections in order and is done with each before the next:
     * once this reload is answered, those three were handled. */
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 0);
    ck_assert_int_eq(fds_to(pid, sentinel), 0);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/* A started server whose control socket was removed from under it. */
static pid_t start_then_lose_the_socket(void)
{
    thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    ck_assert_int_eq(unlink(at("thread_server", "ctl")), 0);
    return pid;
}

/* Not "not running" (7, or 0 for reopen): logrotate must hear that the log stays put. */
START_TEST(reload_exits_1_when_the_running_server_lost_its_socket)
{
    struct result r;
    pid_t pid = start_then_lose_the_socket();
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    ck_assert_msg(strstr(r.err, "does not answer"), "stderr: %s", r.err);
    stop(thread_server, "thread_server", pid);
}
END_TEST

START_TEST(reopen_exits_1_when_the_running_server_lost_its_socket)
{
    struct result r;
    pid_t pid = start_then_lose_the_socket();
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reopen"), 1);
    ck_assert_msg(strstr(r.err, "does not answer"), "stderr: %s", r.err);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/*
 * A fake server at dir/thread_server.ctl, bound by root: it listens as nobody when as_nobody,
 * and answers its first request with answer (unless NULL: it only waits). Returns once it
 * listens; the caller reaps it.
 */
static pid_t fake_control(int as_nobody, const char *answer)
{
    int ready[2];
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    pid_t fake = fork();
    ck_assert_int_ge(fake, 0);
    if (fake == 0) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        char buf[4096];
        snprintf(a.sun_path, sizeof a.sun_path, "%s", at("thread_server", "ctl"));
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || chmod(a.sun_path, 0666) < 0)
            _exit(1);
        if (as_nobody && become_nobody() < 0)
            _exit(1);
        if (listen(fd, 4) < 0 || write(ready[1], "x", 1) != 1)
            _exit(1);
        if (!answer) {
            pause();
            _exit(0);
        }
        int c = accept(fd, NULL, NULL);
        if (c < 0 || recv(c, buf, sizeof buf, 0) < 0 ||
            send(c, answer, strlen(answer), MSG_NOSIGNAL) < 0)
            _exit(1);
        _exit(0);
    }
    close(ready[1]);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    close(ready[0]);
    return fake;
}

/* An impostor: bound at the control path by root, but listening as nobody. */
START_TEST(reload_refuses_a_control_socket_that_listens_as_another_user)
{
    struct result r;
    thread_conf("HI!");
    pid_t fake = fake_control(1, NULL);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 4);
    ck_assert_msg(strstr(r.err, "listens as another user"), "stderr: %s", r.err);
    kill(fake, SIGKILL);
    waitpid(fake, NULL, 0);
}
END_TEST

START_TEST(reopen_hands_no_log_to_a_control_socket_that_listens_as_another_user)
{
    struct result r;
    thread_conf("HI!");
    pid_t fake = fake_control(1, NULL);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reopen"), 4);
    ck_assert_int_eq(access(at("thread_server", "log"), F_OK), -1); /* no log opened for it */
    kill(fake, SIGKILL);
    waitpid(fake, NULL, 0);
}
END_TEST

START_TEST(the_answer_of_a_server_reaches_the_terminal_without_escape_sequences)
{
    struct result r;
    thread_conf("HI!");
    /* A root-owned listener that answers like a daemon gone bad: ESC, CSI (0x9b) and a C1
     * control written as UTF-8, around a UTF-8 name that must survive. */
    pid_t fake = fake_control(0, "5\n\x1b]52;c;ZXZpbA==\x07\x1b[2J\x9b"
                                 "31m\xc2\x9b"
                                 "0m caf\xc3\xa9");
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 1);
    int status;
    ck_assert_int_eq(waitpid(fake, &status, 0), fake);
    ck_assert_int_eq(status, 0);
    for (const char *p = r.err; *p; p++) {
        unsigned char b = (unsigned char)*p;
        ck_assert_msg(b != 0x1b && b != 0x07 && b != 0x9b, "control byte 0x%02x in: %s", b, r.err);
    }
    ck_assert_msg(strstr(r.err, "caf\xc3\xa9"), "stderr: %s", r.err);
    ck_assert_msg(strstr(r.err, "?]52;c;"), "stderr: %s", r.err);
}
END_TEST

static Suite *server_control_suite(void)
{
    Suite *s = suite_create("server_control");
    TCase *tc = server_tcase("reload", 60);
    tcase_add_test(tc, reload_takes_a_renamed_config_before_it_exits_0);
    tcase_add_test(tc, the_daemon_names_its_own_version_then_liblusts);
    tcase_add_test(tc, a_changed_restart_key_is_named_by_every_reload_until_a_restart);
    tcase_add_test(
        tc, reload_of_a_broken_config_exits_1_naming_the_line_and_the_daemon_never_hears_of_it);
    tcase_add_test(tc,
                   reload_refused_by_the_daemon_exits_1_with_its_sentence_and_keeps_the_old_config);
    tcase_add_test(tc, reload_names_the_keys_kept_until_a_restart);
    tcase_add_test(tc, reload_without_an_answer_in_start_timeout_exits_1_saying_so);
    suite_add_tcase(s, tc);

    tc = server_tcase("control socket", 60);
    tcase_add_test(tc, stop_removes_the_control_socket_of_the_server_it_stopped);
    tcase_add_test(tc, a_second_server_on_a_live_control_socket_fails_and_leaves_it_alone);
    tcase_add_test(tc, the_control_socket_is_roots_0600_and_a_non_root_reload_is_refused);
    tcase_add_test(tc, a_non_root_reload_through_an_open_socket_is_refused_by_the_daemon);
    tcase_add_test(tc, a_non_root_reopen_is_refused);
    tcase_add_test(tc, descriptors_sent_without_a_request_are_closed_not_kept);
    tcase_add_test(tc, reload_exits_1_when_the_running_server_lost_its_socket);
    tcase_add_test(tc, reopen_exits_1_when_the_running_server_lost_its_socket);
    tcase_add_test(tc, reload_refuses_a_control_socket_that_listens_as_another_user);
    tcase_add_test(tc, reopen_hands_no_log_to_a_control_socket_that_listens_as_another_user);
    tcase_add_test(tc, the_answer_of_a_server_reaches_the_terminal_without_escape_sequences);
    suite_add_tcase(s, tc);

    tc = server_tcase("sighup", 60);
    tcase_add_test(tc, sighup_in_the_foreground_rereads_the_config_edited_in_place);
    tcase_add_test(
        tc, sighup_in_the_foreground_keeps_the_config_when_the_file_was_renamed_and_says_why);
    tcase_add_test(tc, reload_reaches_a_foreground_server_through_its_control_socket);
    tcase_add_test(tc, reopen_of_a_foreground_server_exits_1_it_logs_to_stderr);
    suite_add_tcase(s, tc);

    tc = server_tcase("log rotation", 60);
    tcase_add_test(tc, logrotate_create_mode_with_reopen_loses_no_request_line);
    tcase_add_test(tc, reopen_on_a_stopped_server_exits_0_and_opens_nothing);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(server_control_suite)
