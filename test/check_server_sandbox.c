/*
 * test/check_server_sandbox.c - daemons in the sandbox their config asks for (lust/sandbox.h):
 * thread_server served and operated through its whole life under promises and unveil rules, the
 * sandbox seen from /proc, the commands that never load libseccomp, and test/sandbox_server
 * trying from inside run() what the sandbox refuses, in each mode, on this kernel and on one
 * without Landlock (test/server_harness.h runs them).
 *
 * The kills are seen through the SIGSYS handler's line in the log, which ThreadSanitizer's own
 * signal handling does not let the daemon write: those tests skip in the tsan build.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "sandbox_test_util.h"
#include "server_harness.h"

static const char *const sandbox_server = SANDBOX_SERVER;

/* The thread_server profile the tests run it under; "/m" is the markers' directory (jailed). */
#define THREAD_PROFILE                                                                           \
    "sandbox = \"require\"\npromises = {\"stdio\", \"thread\", \"inet\"}\nunveil = {\"/m:r\"}\n" \
    "log_level = notice\n"

/* The same without a jail (nor the jail's "/m"). */
#define UNJAILED_PROFILE "sandbox = \"require\"\npromises = {\"stdio\", \"thread\", \"inet\"}\n"

struct clients {
    int port;
    int rounds;
    const char *want;
    int wrong; /* answers other than want, from every client */
    pthread_mutex_t lock;
};

static void *client(void *arg)
{
    struct clients *c = arg;
    char buf[256];
    for (int i = 0; i < c->rounds; i++) {
        int bad = strcmp(greet(c->port, buf, sizeof buf), c->want) != 0;
        pthread_mutex_lock(&c->lock);
        c->wrong += bad;
        pthread_mutex_unlock(&c->lock);
    }
    return NULL;
}

/* n requests from 4 clients at once, each answered with want. */
static void serve_from_four(int port, int n, const char *want)
{
    struct clients c = {
        .port = port, .rounds = n / 4, .want = want, .lock = PTHREAD_MUTEX_INITIALIZER};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, client, &c), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_msg(c.wrong == 0, "%d of %d requests not answered \"%s\"", c.wrong, n, want);
}

static void expect_status(pid_t pid, const char *key, const char *want)
{
    char path[64], value[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    ck_assert_str_eq(status_field(path, key, value, sizeof value), want);
}

/* The log (and its rotated copy, when given) holds no line of a call the filter stopped. */
static void expect_no_kill(const char *log)
{
    char *text = slurp(log, NULL);
    const char *line = strstr(text, "sandbox: system call");
    ck_assert_msg(!line, "a call met the filter: %.300s", line);
    free(text);
}

START_TEST(thread_server_in_its_sandbox_serves_reloads_rotates_and_stops)
{
    struct result r;
    char buf[256], rotated[256];
    int port = thread_conf_lines(THREAD_PROFILE);
    pid_t pid = start(thread_server, "thread_server");
    expect_status(pid, "Seccomp", "2");
    expect_status(pid, "NoNewPrivs", "1");
    expect_status(pid, "CapBnd", "0000000000000000");
    wait_in_file(at("thread_server", "log"), "sandbox (require): promises \"stdio thread inet\"");
    serve_from_four(port, 1000, "HI!\n");

    /* `reload` hands over a file renamed into place; SIGHUP re-reads the one opened at start
     * (the sandbox promises no rpath, and the jail hides the path anyway). */
    char lines[512];
    snprintf(lines, sizeof lines, "listen = {\"127.0.0.1:%d\"}\ngreeting = \"AGAIN\"\n%s", port,
             THREAD_PROFILE);
    rename_conf("thread_server", "%s", lines);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reload") == 0, "reload: %.1000s", r.err);
    ck_assert_str_eq(greet(port, buf, sizeof buf), "AGAIN\n");
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    wait_in_file(at("thread_server", "log"), "SIGHUP: ");

    /* logrotate: the file moved away, `reopen` hands the daemon a new one. */
    snprintf(rotated, sizeof rotated, "%s.1", at("thread_server", "log"));
    ck_assert_int_eq(rename(at("thread_server", "log"), rotated), 0);
    ck_assert_msg(RUN(&r, thread_server, "thread_server", "reopen") == 0, "reopen: %.1000s", r.err);
    wait_in_file(at("thread_server", "log"), "log reopened");

    /* SIGUSR1 would open the log by path, which the filter kills for: it says so instead. */
    ck_assert_int_eq(kill(pid, SIGUSR1), 0);
    wait_in_file(at("thread_server", "log"), "SIGUSR1: log not reopened");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "AGAIN\n");

    stop(thread_server, "thread_server", pid);
    wait_in_file(at("thread_server", "log"), "exiting with status 0");
    expect_no_kill(rotated);
    expect_no_kill(at("thread_server", "log"));
}
END_TEST

START_TEST(thread_server_runs_in_its_default_profile_without_sandbox_keys)
{
    char buf[256];
    int port = thread_conf("HI!");
    pid_t pid = start(thread_server, "thread_server");
    expect_status(pid, "Seccomp", "2");
    expect_status(pid, "NoNewPrivs", "1");
    expect_status(pid, "CapBnd", "0000000000000000");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "HI!\n");
    wait_in_file(at("thread_server", "log"), "sandbox (best): promises \"stdio thread inet\", and "
                                             "\"thread unix\" for liblust");
    stop(thread_server, "thread_server", pid);
    expect_no_kill(at("thread_server", "log"));
}
END_TEST

/* marker_server's default profile lets it write its markers after the drop, and no more. */
START_TEST(marker_server_writes_its_markers_in_its_default_profile)
{
    char path[256];
    marker_conf();
    pid_t pid = start(marker_server, "marker_server");
    expect_status(pid, "Seccomp", "2");
    wait_in_file(at("marker_server", "log"), "heartbeat 1"); /* logged after its marker */
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    wait_in_file(at("marker_server", "log"), "SIGHUP: reloaded");
    stop(marker_server, "marker_server", pid);
    static const char *const written[] = {"4-run", "7-reload", "5-shutdown", "6-run_returns"};
    for (size_t i = 0; i < sizeof written / sizeof written[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", markers, written[i]);
        ck_assert_msg(access(path, F_OK) == 0, "no marker %s", written[i]);
    }
    wait_in_file(at("marker_server", "log"), "sandbox (best): promises \"stdio wpath cpath\"");
    expect_no_kill(at("marker_server", "log"));
}
END_TEST

/*
 * examples/simple_server, as a reader copies it: its own key, reload by command and SIGHUP,
 * logrotate's reopen, under its default profile (stdio), with no call killed.
 */
START_TEST(the_simple_server_example_runs_reloads_and_rotates_in_its_default_profile)
{
    struct result r;
    char rotated[256];
    write_conf("simple_server", "interval = 60\n");
    pid_t pid = start(simple_server, "simple_server");
    expect_status(pid, "Seccomp", "2");
    wait_in_file(at("simple_server", "log"), "heartbeat 1");
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    wait_in_file(at("simple_server", "log"), "SIGHUP: reloaded");
    rename_conf("simple_server", "interval = 30\n");
    ck_assert_msg(RUN(&r, simple_server, "simple_server", "reload") == 0, "reload: %.1000s", r.err);
    wait_in_file(at("simple_server", "log"), "reloaded: interval = 30, log_level = info");
    snprintf(rotated, sizeof rotated, "%s.1", at("simple_server", "log"));
    ck_assert_int_eq(rename(at("simple_server", "log"), rotated), 0);
    ck_assert_msg(RUN(&r, simple_server, "simple_server", "reopen") == 0, "reopen: %.1000s", r.err);
    wait_in_file(at("simple_server", "log"), "log reopened");
    stop(simple_server, "simple_server", pid);
    wait_in_file(at("simple_server", "log"), "exiting with status 0");
    wait_in_file(rotated, "sandbox (best): promises \"stdio\"");
    expect_no_kill(rotated);
    expect_no_kill(at("simple_server", "log"));
}
END_TEST

START_TEST(sandbox_off_leaves_the_daemon_as_before)
{
    thread_conf_lines("sandbox = off\n");
    pid_t pid = start(thread_server, "thread_server");
    expect_status(pid, "Seccomp", "0");
    char path[64], *maps;
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    maps = slurp(path, NULL);
    ck_assert_msg(!strstr(maps, "libseccomp"), "libseccomp loaded with the sandbox off");
    free(maps);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/*
 * Out of a jail, SIGHUP would open the config by path, which a filter without rpath kills for:
 * the daemon re-reads the file it opened at start instead, and says so when it was replaced.
 */
START_TEST(sighup_without_rpath_rereads_the_file_opened_at_start)
{
    char buf[256], lines[512];
    int port = thread_conf_lines("jail = none\n" UNJAILED_PROFILE);
    pid_t pid = start(thread_server, "thread_server");
    snprintf(lines, sizeof lines, "listen = {\"127.0.0.1:%d\"}\ngreeting = \"IN PLACE\"\n%s%s",
             port, "jail = none\n", UNJAILED_PROFILE);
    write_conf("thread_server", "%s", lines);
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    wait_in_file(at("thread_server", "log"), "SIGHUP: reloaded");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "IN PLACE\n");
    rename_conf("thread_server", "%s", lines);
    ck_assert_int_eq(kill(pid, SIGHUP), 0);
    wait_in_file(at("thread_server", "log"), "was replaced or removed since the start, and from "
                                             "its sandbox the daemon can re-read only the file");
    ck_assert_str_eq(greet(port, buf, sizeof buf), "IN PLACE\n");
    stop(thread_server, "thread_server", pid);
    expect_no_kill(at("thread_server", "log"));
}
END_TEST

/* In the foreground under a manager: READY=1, watchdog pings, STOPPING=1, and exit 0. */
START_TEST(thread_server_in_its_sandbox_talks_to_its_manager_and_exits_0)
{
    struct fg fg;
    struct result r;
    thread_conf_lines(THREAD_PROFILE);
    fg_start(&fg, "WATCHDOG_USEC=100000");
    expect_status(fg.pid, "Seccomp", "2");
    for (int i = 0; i < 3; i++)
        expect_notify(fg.notify, "WATCHDOG=1");
    ck_assert_int_eq(kill(fg.pid, SIGTERM), 0);
    expect_notify(fg.notify, "STOPPING=1");
    fg_end(&fg, &r);
    ck_assert_msg(strstr(r.err, "sandbox (require)"), "stderr: %.1000s", r.err);
    ck_assert_msg(!strstr(r.err, "sandbox: system call"), "stderr: %.1000s", r.err);
}
END_TEST

/*
 * No command loads libseccomp, start included: the filter is compiled by liblust from its own
 * table of calls. The dynamic loader's LD_DEBUG lines name every object it maps; they go to a
 * file: under a sanitizer there are many.
 */
static int loads_libseccomp(const char *command)
{
    char path[256];
    snprintf(path, sizeof path, "%s/ld-%s.txt", dir, command);
    struct how debug = {.env = {"LD_DEBUG=files"}, .out_file = path};
    struct result r;
    ck_assert_msg(run_how(&r, &debug, thread_server, "thread_server", command, (char *)NULL) == 0,
                  "%s exited %d", command, r.code);
    char *text = slurp(path, NULL);
    int loaded = strstr(text, "libseccomp") != NULL;
    free(text);
    return loaded;
}

START_TEST(no_command_loads_libseccomp)
{
    thread_conf_lines(THREAD_PROFILE);
    ck_assert_msg(!loads_libseccomp("start"), "start loaded libseccomp");
    pid_t pid = holder("thread_server");
    ck_assert_int_gt(pid, 0);
    expect_status(pid, "Seccomp", "2");
    static const char *const commands[] = {"status", "reload", "reopen", "stop"};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        ck_assert_msg(!loads_libseccomp(commands[i]), "%s loaded libseccomp", commands[i]);
    ck_assert(wait_gone(pid, 2000));
}
END_TEST

START_TEST(a_bad_sandbox_key_is_a_config_error_naming_its_line)
{
    static const char *const bad[] = {
        "sandbox = \"strict\"\n", "promises = {\"stdio\", \"inett\"}\n",
        "unveil = {\"/m\"}\n",    "unveil = {\"/m:rq\"}\n",
        "unveil = {\"m:r\"}\n",
    };
    static const char *const said[] = {"sandbox must be require, best, log or off",
                                       "unknown promise \"inett\"", "not PATH:RIGHTS",
                                       "not one of r, w, c, x", "not an absolute path"};
    struct result r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        thread_conf_lines(bad[i]);
        ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "start"), 6);
        char want[300];
        snprintf(want, sizeof want, "%s:8: ", at("thread_server", "conf"));
        ck_assert_msg(strstr(r.err, want) && strstr(r.err, said[i]), "%s -> %.1000s", bad[i],
                      r.err);
    }
    ck_assert_int_eq(count_left(dir), 0);
}
END_TEST

/* A change to the sandbox is named by every reload until a restart applies it. */
START_TEST(a_reload_names_a_changed_sandbox_key_as_needing_a_restart)
{
    struct result r;
    int port = thread_conf_lines(THREAD_PROFILE);
    pid_t pid = start(thread_server, "thread_server");
    char lines[512];
    snprintf(lines, sizeof lines,
             "listen = {\"127.0.0.1:%d\"}\nsandbox = \"require\"\npromises = {\"stdio\", "
             "\"thread\", \"inet\", \"rpath\"}\nunveil = {\"/m:r\"}\n",
             port);
    write_conf("thread_server", "%s", lines);
    ck_assert_int_eq(RUN(&r, thread_server, "thread_server", "reload"), 0);
    ck_assert_msg(strstr(r.out, "kept until a restart: promises") ||
                      strstr(r.err, "kept until a restart: promises"),
                  "reload: %.1000s%.1000s", r.out, r.err);
    stop(thread_server, "thread_server", pid);
}
END_TEST

/*
 * sandbox_server with jail none, so its paths and /proc are in sight (but for the sandbox), in
 * mode (NULL: no sandbox key).
 */
static int sandbox_conf(const char *mode)
{
    int port = free_port();
    char file[256];
    snprintf(file, sizeof file, "%s/allowed", dir);
    ck_assert_int_eq(mkdir(file, 0755), 0);
    char *readable = path_in(file, "file");
    write_text(readable, "readable\n");
    free(readable);
    write_text(at("secret", "txt"), "not for the daemon\n");
    write_conf("sandbox_server",
               "jail = none\nport = %d\n%s%s%spromises = {\"stdio\", \"inet\", "
               "\"rpath\"}\nunveil = {\"%s:r\", \"/proc:r\"}\n",
               port, mode ? "sandbox = \"" : "", mode ? mode : "", mode ? "\"\n" : "", file);
    return port;
}

/* Sends sandbox_server one command; its answer ("ok", "errno 13"), or "" when it died. */
static const char *ask(int port, const char *fmt, ...) TEST_PRINTF(2, 3);
static const char *ask(int port, const char *fmt, ...)
{
    static char answer[64];
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(write_all(fd, cmd, strlen(cmd)), 0);
    read_fd(fd, answer, sizeof answer);
    close(fd);
    answer[strcspn(answer, "\n")] = '\0';
    return answer;
}

/*
 * Another process of the daemon's user, whose /proc/PID/root the daemon could open but for
 * the sandbox: nobody, dumpable, gone with the test. Returns once it is so.
 */
static pid_t nobody_neighbour(void)
{
    int p[2];
    char c;
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (become_nobody() < 0 || prctl(PR_SET_DUMPABLE, 1) < 0 ||
            prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || write(p[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

static void end_neighbour(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The line the SIGSYS handler writes for call nr, named name, in this mode. */
static const char *trap_line(const char *name, long nr, const char *how)
{
    static char line[160];
    snprintf(line, sizeof line, "sandbox: system call %s (%ld) %s", name, nr, how);
    return line;
}

#define KILLED  "not promised; process killed"
#define NEVER   "is never allowed; process killed"
#define ALLOWED "not promised; allowed (log mode)"

/* The daemon died of a call the filter stopped, after the line naming it. */
static void expect_killed_naming(pid_t pid, const char *line)
{
    ck_assert_msg(wait_gone(pid, 5000), "pid %ld still there", (long)pid);
    wait_in_file(at("sandbox_server", "log"), line);
}

START_TEST(from_run_the_sandbox_refuses_files_proc_and_ports)
{
    int port = sandbox_conf("require");
    pid_t neighbour = nobody_neighbour();
    pid_t pid = start(sandbox_server, "sandbox_server");
    ck_assert_str_eq(ask(port, "open %s/allowed/file", dir), "ok");
    ck_assert_str_eq(ask(port, "open %s", at("secret", "txt")), "errno 13");
    ck_assert_str_eq(ask(port, "open /proc/%ld/root%s/allowed/file", (long)neighbour, dir),
                     "errno 13");
    if (real_landlock_abi() >= 4)
        ck_assert_str_eq(ask(port, "bind %d", free_port()), "errno 13");
    else
        printf("%s: no bind check: Landlock ABI %d has no TCP port rules\n", __func__,
               real_landlock_abi());
    stop(sandbox_server, "sandbox_server", pid);
    end_neighbour(neighbour);
}
END_TEST

START_TEST(from_run_a_netlink_socket_kills_naming_socket)
{
    SKIP_UNDER_TSAN();
    int port = sandbox_conf("require");
    pid_t pid = start(sandbox_server, "sandbox_server");
    ck_assert_str_eq(ask(port, "netlink"), "");
    expect_killed_naming(pid, trap_line("socket", SYS_socket, KILLED));
}
END_TEST

START_TEST(from_run_execve_without_exec_kills_naming_execve)
{
    SKIP_UNDER_TSAN();
    int port = sandbox_conf("require");
    pid_t pid = start(sandbox_server, "sandbox_server");
    ck_assert_str_eq(ask(port, "exec"), "");
    expect_killed_naming(pid, trap_line("execve", SYS_execve, KILLED));
}
END_TEST

START_TEST(from_run_ptrace_kills_in_every_mode_but_off)
{
    SKIP_UNDER_TSAN();
    static const char *const modes[] = {"require", "log"};
    for (size_t i = 0; i < 2; i++) {
        int port = sandbox_conf(modes[i]);
        pid_t neighbour = nobody_neighbour();
        pid_t pid = start(sandbox_server, "sandbox_server");
        ck_assert_str_eq(ask(port, "ptrace %ld", (long)neighbour), "");
        expect_killed_naming(pid, trap_line("ptrace", SYS_ptrace, NEVER));
        end_neighbour(neighbour);
        unlink(at("sandbox_server", "log"));
        char *allowed = path_in(dir, "allowed");
        remove_tree(allowed);
        free(allowed);
    }
}
END_TEST

/* Log mode: the calls outside the promises run and are named; Landlock still refuses. */
START_TEST(log_mode_lets_each_call_through_and_names_it)
{
    SKIP_UNDER_TSAN();
    int port = sandbox_conf("log");
    pid_t pid = start(sandbox_server, "sandbox_server");
    ck_assert_str_eq(ask(port, "exec"), "errno 2");
    wait_in_file(at("sandbox_server", "log"), trap_line("execve", SYS_execve, ALLOWED));
    ck_assert_str_eq(ask(port, "netlink"), "ok");
    wait_in_file(at("sandbox_server", "log"), trap_line("socket", SYS_socket, ALLOWED));
    ck_assert_str_eq(ask(port, "open %s", at("secret", "txt")), "errno 13");
    stop(sandbox_server, "sandbox_server", pid);
}
END_TEST

/* The same attempts without a sandbox all succeed: what refused them above was the sandbox. */
START_TEST(with_the_sandbox_off_every_attempt_succeeds)
{
    int port = sandbox_conf("off");
    pid_t neighbour = nobody_neighbour();
    pid_t pid = start(sandbox_server, "sandbox_server");
    ck_assert_str_eq(ask(port, "open %s", at("secret", "txt")), "ok");
    ck_assert_str_eq(ask(port, "open /proc/%ld/root%s/allowed/file", (long)neighbour, dir), "ok");
    ck_assert_str_eq(ask(port, "bind %d", free_port()), "ok");
    ck_assert_str_eq(ask(port, "netlink"), "ok");
    ck_assert_str_eq(ask(port, "exec"), "errno 2");
    stop(sandbox_server, "sandbox_server", pid);
    end_neighbour(neighbour);
}
END_TEST

/* The two lines without a mode ask for a sandbox: require. */
START_TEST(promises_and_unveil_without_a_mode_mean_require)
{
    int port = sandbox_conf(NULL);
    pid_t pid = start(sandbox_server, "sandbox_server");
    expect_status(pid, "Seccomp", "2");
    wait_in_file(at("sandbox_server", "log"), "sandbox (require): promises \"stdio inet rpath\"");
    ck_assert_str_eq(ask(port, "open %s", at("secret", "txt")), "errno 13");
    stop(sandbox_server, "sandbox_server", pid);
}
END_TEST

/* The program's default promises apply where the file has none; a wrong one stops the start. */
START_TEST(the_programs_default_promises_apply_and_a_wrong_one_is_refused)
{
    struct result r;
    struct how defaults = {.env = {"LUST_TEST_PROMISES=stdio inet"}};
    write_conf("sandbox_server", "jail = none\nport = %d\n", free_port());
    ck_assert_int_eq(
        run_how(&r, &defaults, sandbox_server, "sandbox_server", "start", (char *)NULL), 0);
    pid_t pid = pid_in(r.out);
    expect_status(pid, "Seccomp", "2");
    wait_in_file(at("sandbox_server", "log"), "sandbox (require): promises \"stdio inet\"");
    stop(sandbox_server, "sandbox_server", pid);

    struct how wrong = {.env = {"LUST_TEST_PROMISES=stdio inett"}};
    ck_assert_int_eq(run_how(&r, &wrong, sandbox_server, "sandbox_server", "start", (char *)NULL),
                     6);
    ck_assert_msg(strstr(r.err, "promises in the program's default: unknown promise \"inett\""),
                  "%.2000s", r.err);
    ck_assert_int_eq(count_left(dir), 0);
}
END_TEST

/* A kernel without Landlock (the test hook): require refuses on the terminal, exit 6. */
START_TEST(require_refuses_to_start_on_a_kernel_without_landlock)
{
    struct result r;
    struct how no_landlock = {.env = {"LUST_TEST_LANDLOCK_ABI=0"}};
    sandbox_conf("require");
    ck_assert_int_eq(
        run_how(&r, &no_landlock, sandbox_server, "sandbox_server", "start", (char *)NULL), 6);
    ck_assert_msg(strstr(r.err, "sandbox_server: sandbox: unveil rules") &&
                      strstr(r.err, "not enforced: the kernel has no Landlock (sandbox = "
                                    "\"best\" starts without it)"),
                  "%.2000s", r.err);
    ck_assert_int_eq(count_left(dir), 0);
    ck_assert_int_eq(access(at("sandbox_server", "pid"), F_OK), -1);
}
END_TEST

/* best starts there, logs what was not enforced, and the filter is in force all the same. */
START_TEST(best_starts_on_a_kernel_without_landlock_and_logs_it)
{
    struct result r;
    struct how no_landlock = {.env = {"LUST_TEST_LANDLOCK_ABI=0"}};
    int port = sandbox_conf("best");
    ck_assert_int_eq(
        run_how(&r, &no_landlock, sandbox_server, "sandbox_server", "start", (char *)NULL), 0);
    pid_t pid = pid_in(r.out);
    wait_in_file(at("sandbox_server", "log"), "not enforced: the kernel has no Landlock");
    expect_status(pid, "Seccomp", "2");
    ck_assert_str_eq(ask(port, "open %s", at("secret", "txt")), "ok");
    stop(sandbox_server, "sandbox_server", pid);
}
END_TEST

static Suite *server_sandbox_suite(void)
{
    Suite *s = suite_create("server_sandbox");
    TCase *tc = server_tcase("thread_server", 120);
    tcase_add_test(tc, thread_server_in_its_sandbox_serves_reloads_rotates_and_stops);
    tcase_add_test(tc, thread_server_runs_in_its_default_profile_without_sandbox_keys);
    tcase_add_test(tc, marker_server_writes_its_markers_in_its_default_profile);
    tcase_add_test(tc, the_simple_server_example_runs_reloads_and_rotates_in_its_default_profile);
    tcase_add_test(tc, sandbox_off_leaves_the_daemon_as_before);
    tcase_add_test(tc, sighup_without_rpath_rereads_the_file_opened_at_start);
    tcase_add_test(tc, thread_server_in_its_sandbox_talks_to_its_manager_and_exits_0);
    tcase_add_test(tc, no_command_loads_libseccomp);
    tcase_add_test(tc, a_bad_sandbox_key_is_a_config_error_naming_its_line);
    tcase_add_test(tc, a_reload_names_a_changed_sandbox_key_as_needing_a_restart);
    suite_add_tcase(s, tc);
    tc = server_tcase("attempts", 60);
    tcase_add_test(tc, from_run_the_sandbox_refuses_files_proc_and_ports);
    tcase_add_test(tc, from_run_a_netlink_socket_kills_naming_socket);
    tcase_add_test(tc, from_run_execve_without_exec_kills_naming_execve);
    tcase_add_test(tc, from_run_ptrace_kills_in_every_mode_but_off);
    tcase_add_test(tc, log_mode_lets_each_call_through_and_names_it);
    tcase_add_test(tc, with_the_sandbox_off_every_attempt_succeeds);
    tcase_add_test(tc, promises_and_unveil_without_a_mode_mean_require);
    tcase_add_test(tc, the_programs_default_promises_apply_and_a_wrong_one_is_refused);
    tcase_add_test(tc, require_refuses_to_start_on_a_kernel_without_landlock);
    tcase_add_test(tc, best_starts_on_a_kernel_without_landlock_and_logs_it);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(server_sandbox_suite)
