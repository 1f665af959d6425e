/*
 * lifecycle_bench - start, stop and status times and memory of a liblust daemon, beside two
 * floors: the same job written by hand (hand_daemon) and the bare minimum (floor_daemon); and
 * the same daemon again in a sandbox (lust/sandbox.h), so its cost shows as a ratio of one run.
 *
 * How to run (as root, on an otherwise quiet machine; it exits 77 when not root):
 *
 *     cmake --workflow --preset release
 *     B=build/release; $B/test/bench/lifecycle_bench --daemon $B/examples/thread_server \
 *         --hand $B/test/bench/hand_daemon --floor $B/test/bench/floor_daemon
 *
 * Options:
 *   --daemon PATH        the daemon under test, run as `PATH -c FILE start|status|stop`
 *   --hand PATH          hand_daemon (built beside this program): thread_server's job by hand,
 *                        with the same config keys, run the same way
 *   --floor PATH         floor_daemon (built beside this program), the bare minimum:
 *                        `PATH -p PIDFILE -l ADDR start|status|stop`
 *   --port PORT          first loopback port used (default 18080); PORT .. PORT+3+4*copies
 *                        on 127.0.0.1 must be free
 *   --runs N             timed rounds (default 50), after 2 untimed warm-up rounds
 *   --copies N           copies running at once for the memory figure (default 10, max 25)
 *   --config FILE        the timed daemon's config, instead of a generated one: it must listen
 *                        on 127.0.0.1:PORT and have a `pidfile = "..."` line (read by the bench);
 *                        its jail and paths are the operator's. The copies for the memory figure
 *                        always get generated configs.
 *   --extra-config FILE  lines appended to every generated config (e.g. `group = ...`), the
 *                        daemon's and hand_daemon's alike
 *   --daemon-style S     `lust` (default): `-c FILE CMD`; `floor`: `-p PIDFILE -l ADDR CMD`.
 *                        `--daemon-style floor --daemon PATH_OF_floor_daemon` measures the floor
 *                        against itself: the ratios then show the noise of this machine.
 *
 * Everything lives in a fresh mkdtemp("/run/lust-bench-XXXXXX") (root-owned 0755, as a jail
 * path must be): per instance a directory with its config, pid file, log, jail (0755) and the
 * commands' output. The daemon's and hand_daemon's config is generated:
 *
 *     listen = {"127.0.0.1:PORT"}
 *     pidfile = "DIR/pid"
 *     jail = "DIR/jail"
 *     user = "nobody"
 *     logfile = "DIR/log"
 *     control_socket = "DIR/ctl"
 *
 * and for the daemon `sandbox = off` (as it was before it had one; not with --config), while
 * the sandboxed copy of it gets thread_server's profile:
 *
 *     sandbox = "require"
 *     promises = {"stdio", "thread", "inet"}
 *
 * Each round starts the four, then runs status on each, then stops each, their order going
 * through all 24 permutations from round to round: never all of one then all of another, and
 * each step of the four side by side in time, so bursts of load elsewhere hit all alike.
 * start-to-ready: from spawning `start` until it has returned (exit 0) and a connect to the port
 * succeeded. status: until the command returned (exit 0). stop: until the command returned
 * (exit 0) and the daemon is gone (exited, seen on a pidfd opened before the stop; a zombie
 * waiting for init counts as gone). The bench also notes when the stop command returned after
 * the daemon's exit. Then the memory: PSS and USS (Private_Clean + Private_Dirty) from
 * /proc/PID/smaps_rollup, of one idle daemon that served one request, and per copy with N
 * copies running, for each of the three.
 *
 * The table gives medians, the ratios daemon/hand and daemon/bare and the goals (against the
 * hand-written dance: the bare floor is there to show what the dance itself costs); a second one
 * the sandboxed daemon beside the daemon, with the sandbox's goals (at most 10% more to start,
 * nothing more to status and stop). Quote the ratios (from one run), not the absolute times: this
 * machine is noisy. Whatever the bench started, it stops and removes on every exit path, TERM and
 * INT included; every wait has a timeout. Exit status: 0 measured (goals met or not, see the
 * table), 1 failure, 2 usage, 77 not root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COPIES       25
#define MAX_INST         (4 + 4 * MAX_COPIES)
#define NPERMS           24 /* orders of the four programs */
#define WARMUP_ROUNDS    2
#define CMD_TIMEOUT_MS   10000
#define READY_TIMEOUT_MS 5000
#define REPLY_TIMEOUT_MS 2000
#define GREETING         "HI!\n"
#define MS               1000000LL

/* Goals, against the same dance written by hand (hand_daemon). */
#define GOAL_START      1.10
#define GOAL_STOP       1.10
#define GOAL_STATUS     1.05
#define GOAL_AFTER_EXIT 5000.0 /* us (the table's text says the same) */
#define GOAL_USS_COPY   1.10   /* with ten copies running */

/* Goals of the sandbox, against the same daemon without it: status and stop within noise. */
#define GOAL_SANDBOX_START 1.10
#define GOAL_SANDBOX_OTHER 1.05

/* The config lines that set the daemon's sandbox off, and the sandboxed copy's profile. */
#define SANDBOX_OFF "sandbox = off\n"
#define SANDBOX_ON  "sandbox = \"require\"\npromises = {\"stdio\", \"thread\", \"inet\"}\n"

extern char **environ;

enum style { STYLE_LUST, STYLE_FLOOR };

struct inst {
    const char *prog;
    enum style style;
    int port;
    int out_fd;
    posix_spawn_file_actions_t fa;
    char dir[128];
    char pidfile[160];
    char conf[160];
    char log[160];
    char jail[160];
    char listen[32];
    const char *sandbox; /* config lines for the daemon's sandbox, or NULL (hand_daemon) */
};

struct sample {
    double start_us;
    double status_us;
    double stop_us;
    double after_exit_us; /* stop command's return minus the daemon's exit; < 0: returned first */
};

struct series {
    double start[1000], status[1000], stop[1000], after_exit[1000];
    int n;
};

struct mem {
    double pss_kib, uss_kib;
};

enum { BARE, HAND, DAEMON, SANDBOX, NPROGS };

/* One program measured: the bare floor, the hand-written floor, the daemon under test, or it
 * again in a sandbox. */
struct prog {
    const char *label, *tag, *path;
    enum style style;
    const char *sandbox; /* see struct inst */
    struct inst *in;
    struct series se;
    struct mem one, per; /* one idle copy; per copy with --copies running */
};

static char root_dir[64];
static struct inst insts[MAX_INST];
static int n_insts;
static const char *extra_config;
static const char *given_config; /* --config: the timed daemon's own config file */
static posix_spawnattr_t spawn_attr;
static volatile sig_atomic_t interrupted;
static int connect_retries;
static int stop_early; /* timed stops whose command returned before the daemon had exited */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_signal(int sig)
{
    interrupted = sig;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Wait until fd is readable: 1, or 0 at the deadline, or -1 on error or a TERM/INT. */
static int wait_readable(int fd, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    for (;;) {
        if (interrupted)
            return -1;
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return 0;
        int r = poll(&p, 1, (int)((left + MS - 1) / MS));
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* The pid holding the write lock on the pid file; 0 when unlocked or absent; -1 unknown. */
static pid_t lock_holder(const char *path)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int r = fcntl(fd, F_GETLK, &fl);
    close(fd);
    if (r < 0)
        return -1;
    if (fl.l_type == F_UNLCK)
        return 0;
    return fl.l_pid > 0 ? fl.l_pid : -1;
}

static void show_tail(const char *path)
{
    char buf[1536];

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, from);
    close(fd);
    if (n > 0) {
        buf[n] = '\0';
        fprintf(stderr, "--- %s:\n%s%s", path, buf, buf[n - 1] == '\n' ? "" : "\n");
    }
}

static void show_output(const struct inst *in)
{
    char path[192];

    if (interrupted)
        return;
    snprintf(path, sizeof(path), "%s/out", in->dir);
    show_tail(path);
    if (in->style == STYLE_LUST && in->log[0] != '\0')
        show_tail(in->log);
}

static int spawn_cmd(struct inst *in, const char *verb, pid_t *pid, int *pidfd)
{
    char *argv[8];
    int i = 0;

    argv[i++] = (char *)in->prog;
    if (in->style == STYLE_LUST) {
        argv[i++] = "-c";
        argv[i++] = in->conf;
    } else {
        argv[i++] = "-p";
        argv[i++] = in->pidfile;
        argv[i++] = "-l";
        argv[i++] = in->listen;
    }
    argv[i++] = (char *)verb;
    argv[i] = NULL;
    int rc = posix_spawn(pid, in->prog, &in->fa, &spawn_attr, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "lifecycle_bench: spawn %s: %s\n", in->prog, strerror(rc));
        return -1;
    }
    *pidfd = pidfd_open_(*pid);
    if (*pidfd < 0) {
        fprintf(stderr, "lifecycle_bench: pidfd_open: %s (the bench needs Linux >= 5.3)\n",
                strerror(errno));
        kill(*pid, SIGKILL);
        while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return -1;
    }
    return 0;
}

/* Reap a command whose pidfd is readable (or kill it first when !done); its exit code. */
static int reap_cmd(pid_t pid, int pidfd, int done)
{
    int st;

    if (!done)
        kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    close(pidfd);
    if (!done)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run `prog ... verb` to its end; its exit code, or -1 (timeout, signal, spawn failure). */
static int run_cmd(struct inst *in, const char *verb)
{
    pid_t pid;
    int pidfd;

    if (spawn_cmd(in, verb, &pid, &pidfd) < 0)
        return -1;
    int r = wait_readable(pidfd, now_ns() + CMD_TIMEOUT_MS * MS);
    if (r == 0)
        fprintf(stderr, "lifecycle_bench: `%s %s` took more than %d ms, killed\n", in->prog, verb,
                CMD_TIMEOUT_MS);
    return reap_cmd(pid, pidfd, r > 0);
}

static void close_hard(int fd)
{
    /* Linger 0: close with a reset, so no TIME_WAIT is left on the server's port. */
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

/* Connect to 127.0.0.1:port, retrying on refusal until the deadline. The socket, or -1. */
static int connect_port(int port, int64_t deadline)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    for (int tries = 0;; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            connect_retries += tries;
            return fd;
        }
        int err = errno;
        close(fd);
        if ((err != ECONNREFUSED && err != EINTR) || interrupted || now_ns() >= deadline) {
            fprintf(stderr, "lifecycle_bench: connect 127.0.0.1:%d: %s\n", port, strerror(err));
            return -1;
        }
        struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
}

/* Read the greeting, then reset the connection. 0 when it was GREETING. */
static int check_greeting(int fd, int port)
{
    char buf[64];
    size_t got = 0;
    int64_t deadline = now_ns() + REPLY_TIMEOUT_MS * MS;

    while (got < sizeof(buf) - 1 && memchr(buf, '\n', got) == NULL) {
        if (wait_readable(fd, deadline) <= 0)
            break;
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close_hard(fd);
    buf[got] = '\0';
    if (strcmp(buf, GREETING) != 0) {
        fprintf(stderr, "lifecycle_bench: 127.0.0.1:%d replied \"%s\", not \"HI!\\n\"\n", port,
                buf);
        return -1;
    }
    return 0;
}

static int append_file(FILE *out, const char *path)
{
    char buf[4096];
    size_t n;

    FILE *in = fopen(path, "re");
    if (in == NULL) {
        fprintf(stderr, "lifecycle_bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    int bad = ferror(in);
    fclose(in);
    return bad ? -1 : 0;
}

/* The quoted value of a `key = "..."` line, into out. 0, or -1 when there is none. */
static int config_value(const char *path, const char *key, char *out, size_t size)
{
    char line[512];
    size_t klen = strlen(key);
    int found = -1;

    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
        char *p = line + strspn(line, " \t");
        if (strncmp(p, key, klen) != 0)
            continue;
        p += klen;
        p += strspn(p, " \t");
        if (*p++ != '=')
            continue;
        p += strspn(p, " \t");
        char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (end == NULL || (size_t)(end - p - 1) >= size)
            continue;
        memcpy(out, p + 1, (size_t)(end - p - 1));
        out[end - p - 1] = '\0';
        found = 0;
    }
    fclose(f);
    return found;
}

/* --config FILE: the file is the operator's; the bench only learns its pid file and log. */
static int use_given_config(struct inst *in)
{
    snprintf(in->conf, sizeof(in->conf), "%s", given_config);
    if (config_value(given_config, "pidfile", in->pidfile, sizeof(in->pidfile)) < 0) {
        fprintf(stderr, "lifecycle_bench: %s: no `pidfile = \"...\"` line\n", given_config);
        return -1;
    }
    if (config_value(given_config, "logfile", in->log, sizeof(in->log)) < 0)
        in->log[0] = '\0';
    return 0;
}

static int write_config(const struct inst *in)
{
    FILE *f = fopen(in->conf, "wxe");
    if (f == NULL) {
        fprintf(stderr, "lifecycle_bench: %s: %s\n", in->conf, strerror(errno));
        return -1;
    }
    fprintf(f,
            "listen = {\"127.0.0.1:%d\"}\npidfile = \"%s\"\njail = \"%s\"\nuser = \"nobody\"\n"
            "logfile = \"%s\"\ncontrol_socket = \"%s/ctl\"\n",
            in->port, in->pidfile, in->jail, in->log, in->dir);
    if (in->sandbox != NULL)
        fputs(in->sandbox, f);
    int bad = extra_config != NULL && append_file(f, extra_config) < 0;
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "lifecycle_bench: writing %s failed\n", in->conf);
        return -1;
    }
    return 0;
}

static struct inst *inst_new(const char *prog, enum style style, const char *sandbox,
                             const char *tag, int port)
{
    char out[192], dir[sizeof(insts[0].dir)];

    if (n_insts == MAX_INST)
        return NULL;
    struct inst *in = &insts[n_insts];
    memset(in, 0, sizeof(*in));
    in->prog = prog;
    in->style = style;
    in->sandbox = sandbox;
    in->port = port;
    in->out_fd = -1;
    snprintf(dir, sizeof(dir), "%s/%s", root_dir, tag);
    memcpy(in->dir, dir, sizeof(dir));
    snprintf(in->pidfile, sizeof(in->pidfile), "%s/pid", dir);
    snprintf(in->conf, sizeof(in->conf), "%s/conf", dir);
    snprintf(in->log, sizeof(in->log), "%s/log", dir);
    snprintf(in->jail, sizeof(in->jail), "%s/jail", dir);
    snprintf(in->listen, sizeof(in->listen), "127.0.0.1:%d", port);
    snprintf(out, sizeof(out), "%s/out", dir);
    if (mkdir(in->dir, 0755) < 0 || (style == STYLE_LUST && mkdir(in->jail, 0755) < 0)) {
        fprintf(stderr, "lifecycle_bench: mkdir in %s: %s\n", in->dir, strerror(errno));
        return NULL;
    }
    if (style == STYLE_LUST && given_config != NULL && strcmp(tag, "daemon") == 0) {
        if (use_given_config(in) < 0)
            return NULL;
    } else if (style == STYLE_LUST && write_config(in) < 0) {
        return NULL;
    }
    in->out_fd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (in->out_fd < 0) {
        fprintf(stderr, "lifecycle_bench: %s: %s\n", out, strerror(errno));
        return NULL;
    }
    /* The commands read /dev/null and write into DIR/out, shown when something fails. */
    if (posix_spawn_file_actions_init(&in->fa) != 0 ||
        posix_spawn_file_actions_addopen(&in->fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_adddup2(&in->fa, in->out_fd, 1) != 0 ||
        posix_spawn_file_actions_adddup2(&in->fa, in->out_fd, 2) != 0) {
        close(in->out_fd);
        return NULL;
    }
    n_insts++;
    return in;
}

/* Start, wait for the port, check the greeting; the daemon's pid, or -1. *ready_ns: timing. */
static pid_t start_ready(struct inst *in, int64_t *ready_ns)
{
    /* DIR/out then holds this start/status/stop only. */
    if (ftruncate(in->out_fd, 0) < 0)
        return -1;
    int64_t t0 = now_ns();
    int code = run_cmd(in, "start");
    if (code != 0) {
        fprintf(stderr, "lifecycle_bench: `%s start` (port %d) exited %d\n", in->prog, in->port,
                code);
        show_output(in);
        return -1;
    }
    int fd = connect_port(in->port, now_ns() + READY_TIMEOUT_MS * MS);
    int64_t t1 = now_ns();
    if (fd < 0) {
        show_output(in);
        return -1;
    }
    if (ready_ns != NULL)
        *ready_ns = t1 - t0;
    if (check_greeting(fd, in->port) < 0)
        return -1;
    pid_t pid = lock_holder(in->pidfile);
    if (pid <= 0) {
        fprintf(stderr, "lifecycle_bench: %s is not locked by a visible pid after start\n",
                in->pidfile);
        return -1;
    }
    return pid;
}

/* Stop the daemon pid through the instance's command; timings into *s (when not NULL). */
static int stop_gone(struct inst *in, pid_t pid, struct sample *s)
{
    pid_t cpid;
    int cfd;
    int64_t t_ret = 0, t_exit = 0;

    int dfd = pidfd_open_(pid);
    if (dfd < 0) {
        fprintf(stderr, "lifecycle_bench: pidfd_open %ld: %s\n", (long)pid, strerror(errno));
        return -1;
    }
    int64_t t0 = now_ns();
    if (spawn_cmd(in, "stop", &cpid, &cfd) < 0) {
        close(dfd);
        return -1;
    }
    struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = dfd, .events = POLLIN}};
    int64_t deadline = t0 + CMD_TIMEOUT_MS * MS;
    while ((t_ret == 0 || t_exit == 0) && !interrupted && now_ns() < deadline) {
        int r = poll(p, 2, (int)((deadline - now_ns() + MS - 1) / MS));
        if (r < 0 && errno != EINTR)
            break;
        int64_t t = now_ns();
        if (r > 0 && p[0].revents) {
            t_ret = t;
            p[0].fd = -1; /* poll skips negative descriptors */
        }
        if (r > 0 && p[1].revents) {
            t_exit = t;
            p[1].fd = -1;
        }
    }
    close(dfd);
    int code = reap_cmd(cpid, cfd, t_ret != 0);
    if (code != 0 || t_exit == 0) {
        fprintf(stderr, "lifecycle_bench: `%s stop` (port %d) exited %d, daemon %s\n", in->prog,
                in->port, code, t_exit ? "gone" : "still there");
        show_output(in);
        return -1;
    }
    if (s != NULL) {
        s->stop_us = (double)((t_ret > t_exit ? t_ret : t_exit) - t0) / 1e3;
        s->after_exit_us = (double)(t_ret - t_exit) / 1e3;
        stop_early += t_ret < t_exit;
    }
    return 0;
}

static int status_timed(struct inst *in, struct sample *s)
{
    int64_t t0 = now_ns();
    int code = run_cmd(in, "status");
    s->status_us = (double)(now_ns() - t0) / 1e3;
    if (code != 0) {
        fprintf(stderr, "lifecycle_bench: `%s status` on a running daemon exited %d\n", in->prog,
                code);
        show_output(in);
        return -1;
    }
    return 0;
}

/*
 * One round: start all, status all, stop all, in the given order each time. Measurements of
 * the same step sit side by side in time, so a burst of load elsewhere on the machine hits the
 * floors and the daemon alike more often than not.
 */
static int round_all(struct inst *order[NPROGS], struct sample s[NPROGS])
{
    pid_t pid[NPROGS];
    int64_t ready;

    for (int k = 0; k < NPROGS; k++) {
        if (interrupted || (pid[k] = start_ready(order[k], &ready)) < 0)
            return -1;
        s[k].start_us = (double)ready / 1e3;
    }
    for (int k = 0; k < NPROGS; k++)
        if (interrupted || status_timed(order[k], &s[k]) < 0)
            return -1;
    for (int k = 0; k < NPROGS; k++)
        if (interrupted || stop_gone(order[k], pid[k], &s[k]) < 0)
            return -1;
    return 0;
}

static void record(struct series *se, const struct sample *s)
{
    se->start[se->n] = s->start_us;
    se->status[se->n] = s->status_us;
    se->stop[se->n] = s->stop_us;
    se->after_exit[se->n] = s->after_exit_us;
    se->n++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int read_smaps(pid_t pid, struct mem *m)
{
    char path[64], line[256];
    long pss = -1, pclean = -1, pdirty = -1, v;

    snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        fprintf(stderr, "lifecycle_bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Pss: %ld kB", &v) == 1)
            pss = v;
        else if (sscanf(line, "Private_Clean: %ld kB", &v) == 1)
            pclean = v;
        else if (sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
            pdirty = v;
    }
    fclose(f);
    if (pss < 0 || pclean < 0 || pdirty < 0) {
        fprintf(stderr, "lifecycle_bench: %s: no Pss/Private_* lines\n", path);
        return -1;
    }
    m->pss_kib += (double)pss;
    m->uss_kib += (double)(pclean + pdirty);
    return 0;
}

/* One idle copy, then `copies` at once, each its own instance; all stopped again. */
static int measure_memory(const struct prog *pr, const char *tag, int port0, int copies,
                          struct mem *one, struct mem *per)
{
    struct inst *c[MAX_COPIES];
    pid_t pids[MAX_COPIES];
    char name[48];
    int started = 0, rc = 0;

    memset(one, 0, sizeof(*one));
    memset(per, 0, sizeof(*per));
    for (int i = 0; i < copies && rc == 0; i++) {
        snprintf(name, sizeof(name), "%s%d", tag, i);
        c[i] = inst_new(pr->path, pr->style, pr->sandbox, name, port0 + i);
        if (c[i] == NULL || (pids[i] = start_ready(c[i], NULL)) < 0) {
            rc = -1;
            break;
        }
        started++;
        if (i == 0)
            rc = read_smaps(pids[0], one);
    }
    for (int i = 0; i < started && rc == 0; i++)
        rc = read_smaps(pids[i], per);
    if (rc == 0) {
        per->pss_kib /= copies;
        per->uss_kib /= copies;
    }
    for (int i = 0; i < started; i++)
        if (stop_gone(c[i], pids[i], NULL) < 0)
            rc = -1;
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) < 0)
        fprintf(stderr, "lifecycle_bench: remove %s: %s\n", path, strerror(errno));
    return 0;
}

static void kill_pid(pid_t pid)
{
    int fd = pidfd_open_(pid);
    if (fd < 0)
        return;
    fprintf(stderr, "lifecycle_bench: cleanup: KILL pid %ld\n", (long)pid);
    syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
    wait_readable(fd, now_ns() + CMD_TIMEOUT_MS * MS);
    close(fd);
}

/* 1 when /proc/PID/cmdline has an argument naming a path under root_dir. */
static int started_by_us(const char *pid)
{
    char path[64], args[4096];
    size_t len = strlen(root_dir);

    snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, args, sizeof(args) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    args[n] = '\0';
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(args + i) + 1) {
        if (strncmp(args + i, root_dir, len) == 0 && args[i + len] == '/')
            return 1;
    }
    return 0;
}

/* The last resort: a daemon that never locked its pid file is still found by its argv. */
static void kill_strays(void)
{
    struct dirent *e;

    DIR *d = opendir("/proc");
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end == '\0' && pid > 0 && pid != getpid() && started_by_us(e->d_name))
            kill_pid((pid_t)pid);
    }
    closedir(d);
}

/* On every exit: stop whatever still holds a pid file, KILL what will not stop, remove all. */
static void cleanup(void)
{
    static int done;

    if (done)
        return;
    done = 1;
    interrupted = 0; /* let the stop commands below run to their end */
    for (int i = 0; i < n_insts; i++) {
        struct inst *in = &insts[i];
        pid_t pid = lock_holder(in->pidfile);
        if (pid > 0) {
            fprintf(stderr, "lifecycle_bench: cleanup: stopping pid %ld (%s)\n", (long)pid,
                    in->dir);
            run_cmd(in, "stop");
        }
        pid = lock_holder(in->pidfile);
        if (pid > 0)
            kill_pid(pid);
        posix_spawn_file_actions_destroy(&in->fa);
        close(in->out_fd);
    }
    if (root_dir[0] != '\0') {
        kill_strays();
        nftw(root_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

#define MAX_RUNS ((int)(sizeof(((struct series *)0)->start) / sizeof(double)))

/* The median of the per-round ratios d[i]/f[i]: a cross-check of the ratio of the medians,
 * less moved by load that drifts during the run. */
static double paired_ratio(const double *f, const double *d, int n)
{
    double r[MAX_RUNS];

    for (int i = 0; i < n; i++)
        r[i] = d[i] / f[i];
    return median(r, n);
}

static void print_time_row(const char *what, struct series *const se[NPROGS], size_t off,
                           double goal)
{
    double m[NPROGS], v[MAX_RUNS];
    const double *col[NPROGS];
    int n = se[BARE]->n;
    char g[32];

    for (int k = 0; k < NPROGS; k++) {
        col[k] = (const double *)((const char *)se[k] + off);
        memcpy(v, col[k], (size_t)n * sizeof(*v));
        m[k] = median(v, n);
    }
    double to_hand = m[DAEMON] / m[HAND];
    snprintf(g, sizeof(g), "<= %.2fx hand", goal);
    printf("%-28s %8.0f %8.0f %8.0f %7.2fx %6.2fx %7.2fx %6.2fx   %-15s %s\n", what, m[BARE],
           m[HAND], m[DAEMON], to_hand, paired_ratio(col[HAND], col[DAEMON], n),
           m[DAEMON] / m[BARE], paired_ratio(col[BARE], col[DAEMON], n), g,
           to_hand <= goal ? "yes" : "NO");
}

static void print_mem_row(const char *what, const double v[NPROGS], const char *goal, int met)
{
    printf("%-28s %8.0f %8.0f %8.0f %7.2fx %7s %7.2fx %7s   %-15s %s\n", what, v[BARE], v[HAND],
           v[DAEMON], v[DAEMON] / v[HAND], "", v[DAEMON] / v[BARE], "", goal,
           met < 0 ? ""
           : met   ? "yes"
                   : "NO");
}

/* One row of the sandbox's table: on/off, paired, the goal. */
static void print_sandbox_row(const char *what, struct series *const se[NPROGS], size_t off,
                              double goal)
{
    double m[NPROGS], v[MAX_RUNS];
    const double *col[NPROGS];
    int n = se[DAEMON]->n;

    for (int k = DAEMON; k <= SANDBOX; k++) {
        col[k] = (const double *)((const char *)se[k] + off);
        memcpy(v, col[k], (size_t)n * sizeof(*v));
        m[k] = median(v, n);
    }
    double ratio = m[SANDBOX] / m[DAEMON];
    printf("%-28s %8.0f %8.0f %7.2fx %6.2fx   <= %.2fx         %s\n", what, m[DAEMON], m[SANDBOX],
           ratio, paired_ratio(col[DAEMON], col[SANDBOX], n), goal, ratio <= goal ? "yes" : "NO");
}

/* The same daemon with its sandbox on beside off: what the sandbox costs. */
static void report_sandbox(struct prog *pr, int copies)
{
    struct series *se[NPROGS];
    for (int k = 0; k < NPROGS; k++)
        se[k] = &pr[k].se;
    printf("\nThe daemon with the sandbox off and on (require; promises stdio thread inet):\n\n");
    printf("%-28s %8s %8s %8s %6s   %-15s %s\n", "median", "off", "on", "on/off", "paired", "goal",
           "met");
    print_sandbox_row("start to ready (us)", se, offsetof(struct series, start),
                      GOAL_SANDBOX_START);
    print_sandbox_row("status (us)", se, offsetof(struct series, status), GOAL_SANDBOX_OTHER);
    print_sandbox_row("stop until gone (us)", se, offsetof(struct series, stop),
                      GOAL_SANDBOX_OTHER);
    printf("%-28s %8.0f %8.0f %7.2fx\n", "PSS one idle (KiB)", pr[DAEMON].one.pss_kib,
           pr[SANDBOX].one.pss_kib, pr[SANDBOX].one.pss_kib / pr[DAEMON].one.pss_kib);
    char what[64];
    snprintf(what, sizeof(what), "PSS per copy, %d up (KiB)", copies);
    printf("%-28s %8.0f %8.0f %7.2fx\n", what, pr[DAEMON].per.pss_kib, pr[SANDBOX].per.pss_kib,
           pr[SANDBOX].per.pss_kib / pr[DAEMON].per.pss_kib);
    snprintf(what, sizeof(what), "USS per copy, %d up (KiB)", copies);
    printf("%-28s %8.0f %8.0f %7.2fx\n", what, pr[DAEMON].per.uss_kib, pr[SANDBOX].per.uss_kib,
           pr[SANDBOX].per.uss_kib / pr[DAEMON].per.uss_kib);
}

static void report(struct prog *pr, int copies)
{
    struct series *se[NPROGS];
    double after[NPROGS], after_max[NPROGS], v[MAX_RUNS], mem[4][NPROGS];
    char what[64];

    for (int k = 0; k < NPROGS; k++) {
        se[k] = &pr[k].se;
        memcpy(v, se[k]->after_exit, (size_t)se[k]->n * sizeof(*v));
        after[k] = median(v, se[k]->n); /* sorted now */
        after_max[k] = v[se[k]->n - 1];
        mem[0][k] = pr[k].one.pss_kib;
        mem[1][k] = pr[k].one.uss_kib;
        mem[2][k] = pr[k].per.pss_kib;
        mem[3][k] = pr[k].per.uss_kib;
    }
    printf("\nlifecycle_bench: %d rounds after %d warm-up; in each round start, status and stop\n"
           "of the four side by side, their order going through all %d permutations\n",
           se[BARE]->n, WARMUP_ROUNDS, NPERMS);
    for (int k = 0; k < NPROGS; k++)
        printf("  %-7s %s (%s)\n", pr[k].label, pr[k].in->prog,
               pr[k].in->style == STYLE_LUST ? "-c FILE CMD" : "-p PIDFILE -l ADDR CMD");
    printf("  connect retries after a start returned: %d (0 expected)\n", connect_retries);
    printf("  stops returning before the daemon exited: %d (0 expected)\n\n", stop_early);
    printf("%-28s %8s %8s %8s %8s %6s %8s %6s   %-15s %s\n", "median", "bare", "hand", "daemon",
           "d/hand", "paired", "d/bare", "paired", "goal", "met");
    print_time_row("start to ready (us)", se, offsetof(struct series, start), GOAL_START);
    print_time_row("stop until gone (us)", se, offsetof(struct series, stop), GOAL_STOP);
    print_time_row("status (us)", se, offsetof(struct series, status), GOAL_STATUS);
    printf("%-28s %8.0f %8.0f %8.0f\n", "stop return after exit (us)", after[BARE], after[HAND],
           after[DAEMON]);
    printf("%-28s %8.0f %8.0f %8.0f %38s   %-15s %s\n", "  max of the above (us)", after_max[BARE],
           after_max[HAND], after_max[DAEMON], "", "<= 5000 us",
           after_max[DAEMON] <= GOAL_AFTER_EXIT ? "yes" : "NO");
    print_mem_row("PSS one idle (KiB)", mem[0], "", -1);
    print_mem_row("USS one idle (KiB)", mem[1], "", -1);
    snprintf(what, sizeof(what), "PSS per copy, %d up (KiB)", copies);
    print_mem_row(what, mem[2], "", -1);
    snprintf(what, sizeof(what), "USS per copy, %d up (KiB)", copies);
    print_mem_row(what, mem[3], copies == 10 ? "<= 1.10x hand" : "<= 1.10x at 10",
                  mem[3][DAEMON] <= GOAL_USS_COPY * mem[3][HAND]);
    report_sandbox(pr, copies);
    printf("\nd/hand, d/bare: median(daemon) / median(floor); paired: median of the per-round\n"
           "ratios, a cross-check. The goals are judged against the hand-written dance, the\n"
           "sandbox's "
           "against the daemon without it. USS is Private_Clean + Private_Dirty. Quote ratios\n"
           "from one run, not absolute times.\n");
}

/* Every order of the four, so each one goes first, second, third and last equally often. */
static void make_perms(int perms[NPERMS][NPROGS])
{
    int n = 0, p[NPROGS];
    for (p[0] = 0; p[0] < NPROGS; p[0]++)
        for (p[1] = 0; p[1] < NPROGS; p[1]++)
            for (p[2] = 0; p[2] < NPROGS; p[2]++) {
                if (p[0] == p[1] || p[0] == p[2] || p[1] == p[2])
                    continue;
                p[3] = 0 + 1 + 2 + 3 - p[0] - p[1] - p[2]; /* the one left */
                memcpy(perms[n++], p, sizeof p);
            }
}

static void usage(void)
{
    fprintf(stderr, "usage: lifecycle_bench --daemon PATH --floor PATH --hand PATH [--port PORT]\n"
                    "         [--runs N] [--copies N] [--config FILE] [--extra-config FILE]\n"
                    "         [--daemon-style lust|floor]\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int setup(void)
{
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: waits see EINTR */
    sigset_t dflt, none;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* The commands start with default dispositions and an empty mask, whatever ours are. */
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGHUP);
    sigaddset(&dflt, SIGPIPE);
    if (posix_spawnattr_init(&spawn_attr) != 0 ||
        posix_spawnattr_setsigdefault(&spawn_attr, &dflt) != 0 ||
        posix_spawnattr_setsigmask(&spawn_attr, &none) != 0 ||
        posix_spawnattr_setflags(&spawn_attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) != 0)
        return -1;
    umask(022);
    strcpy(root_dir, "/run/lust-bench-XXXXXX");
    if (mkdtemp(root_dir) == NULL) {
        fprintf(stderr, "lifecycle_bench: mkdtemp %s: %s\n", root_dir, strerror(errno));
        root_dir[0] = '\0';
        return -1;
    }
    atexit(cleanup);
    /* A jail's every component must be root's and writable by no one else; 0755 lets the
     * dropped user reach the jail. */
    if (chmod(root_dir, 0755) < 0) {
        fprintf(stderr, "lifecycle_bench: chmod %s: %s\n", root_dir, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct prog pr[NPROGS] = {
        [BARE] = {.label = "bare", .tag = "floor", .style = STYLE_FLOOR},
        [HAND] = {.label = "hand", .tag = "hand", .style = STYLE_LUST},
        [DAEMON] = {.label = "daemon",
                    .tag = "daemon",
                    .style = STYLE_LUST,
                    .sandbox = SANDBOX_OFF},
        [SANDBOX] = {.label = "sandbox",
                     .tag = "sandbox",
                     .style = STYLE_LUST,
                     .sandbox = SANDBOX_ON},
    };
    static int perms[NPERMS][NPROGS];
    int port = 18080, runs = 50, copies = 10;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = v == NULL;
        if (!bad && strcmp(a, "--daemon") == 0)
            pr[DAEMON].path = pr[SANDBOX].path = v;
        else if (!bad && strcmp(a, "--floor") == 0)
            pr[BARE].path = v;
        else if (!bad && strcmp(a, "--hand") == 0)
            pr[HAND].path = v;
        else if (!bad && strcmp(a, "--config") == 0)
            given_config = v;
        else if (!bad && strcmp(a, "--extra-config") == 0)
            extra_config = v;
        else if (!bad && strcmp(a, "--port") == 0)
            bad = parse_int(v, 1024, 65535, &port) < 0;
        else if (!bad && strcmp(a, "--runs") == 0)
            bad = parse_int(v, 1, MAX_RUNS, &runs) < 0;
        else if (!bad && strcmp(a, "--copies") == 0)
            bad = parse_int(v, 1, MAX_COPIES, &copies) < 0;
        else if (!bad && strcmp(a, "--daemon-style") == 0 && strcmp(v, "lust") == 0)
            pr[DAEMON].style = pr[SANDBOX].style = STYLE_LUST;
        else if (!bad && strcmp(a, "--daemon-style") == 0 && strcmp(v, "floor") == 0)
            pr[DAEMON].style = pr[SANDBOX].style = STYLE_FLOOR;
        else
            bad = 1;
        if (bad) {
            usage();
            return 2;
        }
        i++;
    }
    if (pr[BARE].path == NULL || pr[HAND].path == NULL || pr[DAEMON].path == NULL ||
        port + NPROGS + NPROGS * copies > 65535) {
        usage();
        return 2;
    }
    for (int k = 0; k < NPROGS; k++) {
        if (access(pr[k].path, X_OK) < 0) {
            fprintf(stderr, "lifecycle_bench: %s: %s\n", pr[k].path, strerror(errno));
            return 1;
        }
    }
    if (geteuid() != 0) {
        printf("lifecycle_bench: needs root (jail, user drop, /run); skipped\n");
        return 77;
    }
    if (setup() < 0)
        return 1;

    /* The daemon keeps the port it always had (PORT), so a --config for it still fits. */
    static const int port_of[NPROGS] = {[DAEMON] = 0, [BARE] = 1, [HAND] = 2, [SANDBOX] = 3};
    for (int k = 0; k < NPROGS; k++) {
        pr[k].in = inst_new(pr[k].path, pr[k].style, pr[k].sandbox, pr[k].tag, port + port_of[k]);
        if (pr[k].in == NULL)
            return 1;
    }
    make_perms(perms);
    for (int r = 0; r < WARMUP_ROUNDS + runs; r++) {
        struct inst *order[NPROGS];
        struct sample s[NPROGS];
        for (int k = 0; k < NPROGS; k++)
            order[k] = pr[perms[r % NPERMS][k]].in;
        if (round_all(order, s) < 0) {
            fprintf(stderr, "lifecycle_bench: stopped in round %d\n", r);
            return 1;
        }
        for (int k = 0; r >= WARMUP_ROUNDS && k < NPROGS; k++)
            record(&pr[perms[r % NPERMS][k]].se, &s[k]);
    }
    for (int k = 0; k < NPROGS; k++) {
        char tag[32];
        snprintf(tag, sizeof(tag), "%s-copy", pr[k].tag);
        if (measure_memory(&pr[k], tag, port + NPROGS + k * copies, copies, &pr[k].one,
                           &pr[k].per) < 0 ||
            interrupted)
            return 1;
    }
    report(pr, copies);
    return 0;
}
