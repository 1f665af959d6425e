/*
 * lib/daemon.c - daemonize with a readiness channel.
 *
 * The channel is a stream socketpair rather than a pipe: the daemon writes with MSG_NOSIGNAL,
 * so a starting process that went away costs the daemon an EPIPE, not a SIGPIPE death (its
 * dispositions are all default by then). Both ends are close-on-exec. Messages are short
 * lines, each written with one send():
 *     "P <pid>"              the intermediate process names the daemon it forked
 *     "R <pid>"              the daemon is ready
 *     "F <code> <sentence>"  the daemon (or the intermediate) failed
 * The starting process stops reading at the first verdict, never waiting for end of file, so
 * a child the daemon forked (which inherits the descriptor when it does not exec) cannot hold
 * it; the daemon closes its end right after the verdict anyway.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lust/daemon.h>

#define MSG_MAX      1100
#define SENTENCE_MAX 1000
#define KILL_WAIT_MS 5000
#define PROBE_MS     50   /* how often a daemon without a pidfd is checked for life */
#define REPORT_NONE  (-1) /* no waiting process: foreground, or not started by us */
#define REPORT_USED  (-2) /* the verdict was sent */

/* The daemon's end of the channel; see the REPORT_ states above. */
static int report_fd = REPORT_NONE;

struct options {
    unsigned flags;
    mode_t umask;
    int timeout_ms;
    const int *keep;
    unsigned nkeep;
};

static void read_options(const struct lust_daemon_opts *opts, struct options *o)
{
    struct lust_daemon_opts all = LUST_DAEMON_OPTS_INIT;

    /* Take only the members the caller's version of the struct has. */
    if (opts) {
        size_t n = opts->size < sizeof all ? opts->size : sizeof all;
        memcpy(&all, opts, n);
    }
    o->flags = all.flags;
    o->umask = all.umask < 0 ? LUST_DAEMON_DEFAULT_UMASK : (mode_t)all.umask & 0777;
    o->timeout_ms = all.timeout_ms == 0 ? LUST_DAEMON_DEFAULT_TIMEOUT_MS : all.timeout_ms;
    o->keep = all.keep_fds_len ? all.keep_fds : NULL;
    o->nkeep = all.keep_fds_len;
}

static int check_keep(const struct options *o)
{
    if (o->nkeep && !o->keep)
        return lust__fail_plain(EINVAL, "daemonize: keep_fds is NULL but keep_fds_len is %u",
                                o->nkeep);
    for (unsigned i = 0; i < o->nkeep; i++) {
        int fd = o->keep[i];
        if (fd < 3)
            return lust__fail_plain(EINVAL, "daemonize: kept descriptor %d is below 3", fd);
        if (fcntl(fd, F_GETFD) < 0)
            return lust__fail(errno, "daemonize: kept descriptor %d", fd);
    }
    return 0;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Format "F <code> <sentence>\n" with the sentence on one line. */
static size_t format_failure(char *msg, int code, const char *sentence)
{
    int n = snprintf(msg, MSG_MAX - 1, "F %d %.*s", code, SENTENCE_MAX, sentence);
    size_t len = n < 0 ? 0 : (size_t)n < MSG_MAX - 1 ? (size_t)n : MSG_MAX - 2;
    for (size_t i = 2; i < len; i++)
        if (msg[i] == '\n' || msg[i] == '\r')
            msg[i] = ' ';
    msg[len++] = '\n';
    return len;
}

/* The intermediate and the daemon report their own setup failures and leave (see callers). */
static void die_reporting(int fd, int err, const char *what)
{
    char sentence[256], msg[MSG_MAX];
    snprintf(sentence, sizeof sentence, "daemonize: %s: %s", what, strerror(err));
    size_t len = format_failure(msg, err, sentence);
    (void)send_all(fd, msg, len);
    _exit(1);
}

/*
 * The 64-bit mask after "\nKEY:\t" in a /proc status text, looked for from *at on (the
 * Sig* lines come in order) and then from the start; *at moves to it. Clears *found if absent.
 */
static uint64_t status_mask(const char *text, const char **at, const char *key, int *found)
{
    const char *p = strstr(*at, key);
    char *end;
    if (!p && !(p = strstr(text, key))) {
        *found = 0;
        return 0;
    }
    errno = 0;
    uint64_t mask = strtoull(p + strlen(key), &end, 16);
    if (errno || *end != '\n')
        *found = 0;
    *at = end;
    return mask;
}

/*
 * The signals whose disposition is not the default (ignored or caught) and whether any is
 * blocked, from /proc/self/status: one read instead of a sigaction() per signal, which cost
 * a start more than the rest of the daemon's setup. 0 when it cannot tell.
 */
static int changed_signals(uint64_t *changed, int *blocked)
{
    char text[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n;
    do
        n = read(fd, text, sizeof text - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    int found = 1;
    const char *at = text;
    uint64_t blk = status_mask(text, &at, "\nSigBlk:\t", &found);
    uint64_t ign = status_mask(text, &at, "\nSigIgn:\t", &found);
    uint64_t cgt = status_mask(text, &at, "\nSigCgt:\t", &found);
    *changed = ign | cgt;
    *blocked = blk != 0;
    return found;
}

static void reset_signals(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    uint64_t changed = ~(uint64_t)0;
    int blocked = 1;
    if (!changed_signals(&changed, &blocked)) {
        changed = ~(uint64_t)0; /* no /proc: every signal, as if each had been changed */
        blocked = 1;
    }
    /* glibc refuses its two internal signals with EINVAL; they are not ours to reset. */
    for (int s = 1; s < NSIG && s <= 64; s++)
        if (s != SIGKILL && s != SIGSTOP && (changed >> (s - 1) & 1))
            (void)sigaction(s, &dfl, NULL);
    if (blocked) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    }
}

/*
 * In the daemon, before any caller code runs. Every step is process state a daemon must not
 * inherit from whoever started it.
 */
static int setup_daemon(const struct options *o, int chan, int devnull)
{
    reset_signals();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die_reporting(chan, errno, "PR_SET_NO_NEW_PRIVS");
    if (!(o->flags & LUST_DAEMON_ALLOW_CORE)) {
        struct rlimit none = {0, 0};
        if (setrlimit(RLIMIT_CORE, &none) < 0)
            die_reporting(chan, errno, "RLIMIT_CORE");
    }
    umask(o->umask);
    if (chdir("/") < 0)
        die_reporting(chan, errno, "chdir /");
    if (dup2(devnull, 0) < 0)
        die_reporting(chan, errno, "stdin");
    if (!(o->flags & LUST_DAEMON_KEEP_STDIO) && (dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0))
        die_reporting(chan, errno, "stdout and stderr");

    /* Owned, so a close-all the daemon runs later (a log setup, say) keeps it too. */
    lust__fd_own(chan);
    int *keep = malloc((o->nkeep + 1) * sizeof *keep);
    if (!keep)
        die_reporting(chan, ENOMEM, "keep list");
    if (o->nkeep)
        memcpy(keep, o->keep, o->nkeep * sizeof *keep);
    keep[o->nkeep] = chan;
    int r = lust__close_all_except(keep, o->nkeep + 1);
    free(keep);
    if (r < 0)
        die_reporting(chan, -r, "closing descriptors");

    __atomic_store_n(&report_fd, chan, __ATOMIC_SEQ_CST);
    return 0;
}

/* The intermediate child: a new session, then the daemon; it never returns, the daemon does. */
static int intermediate(const struct options *o, int chan, int devnull)
{
    if (setsid() < 0)
        die_reporting(chan, errno, "setsid");
    pid_t pid = fork();
    if (pid < 0)
        die_reporting(chan, errno, "fork");
    if (pid == 0)
        return setup_daemon(o, chan, devnull);
    char msg[32];
    int n = snprintf(msg, sizeof msg, "P %ld\n", (long)pid);
    (void)send_all(chan, msg, (size_t)n);
    /* Exiting here is the point of the second fork: the daemon is no session leader. */
    _exit(0);
}

struct waiter {
    char buf[MSG_MAX * 2];
    size_t len;
    pid_t pid;   /* the daemon, once named */
    int pidfd;   /* a pidfd for it, when the kernel has them */
    int verdict; /* 1 once a verdict was parsed */
    int result;
};

static void name_daemon(struct waiter *w, pid_t pid)
{
    if (w->pid > 0 || pid <= 0)
        return;
    w->pid = pid;
    /*
     * The daemon is not our child, so in theory its pid could be reused between the message and
     * this call; it would take the daemon dying and the pid space wrapping within that window.
     */
    w->pidfd = lust__pidfd_open(pid);
}

/* Parse every complete line in the buffer; stop at the first verdict. */
static void parse_lines(struct waiter *w)
{
    char *nl;
    while (!w->verdict && (nl = memchr(w->buf, '\n', w->len))) {
        *nl = '\0';
        char *line = w->buf;
        if (line[0] == 'P' || line[0] == 'R') {
            name_daemon(w, (pid_t)strtol(line + 1, NULL, 10));
            if (line[0] == 'R') {
                w->verdict = 1;
                w->result = w->pid;
            }
        } else if (line[0] == 'F') {
            char *end;
            long code = strtol(line + 1, &end, 10);
            if (code < 0)
                code = -code;
            if (code == 0 || code > 4095)
                code = EIO;
            if (*end == ' ')
                end++;
            w->verdict = 1;
            w->result = lust__fail_plain((int)code, "%s", end);
        }
        size_t used = (size_t)(nl + 1 - w->buf);
        memmove(w->buf, nl + 1, w->len - used);
        w->len -= used;
    }
}

/*
 * Without a pidfd (kernels before 5.3, or valgrind), whether the daemon still runs: a process
 * that is gone or a zombie waiting for its new parent to reap it does not.
 */
static int still_running(pid_t pid)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : kill(pid, 0) == 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char *p = strrchr(text, ')');
    return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

static void kill_daemon(struct waiter *w)
{
    if (w->pidfd >= 0) {
        if (lust__pidfd_signal(w->pidfd, SIGKILL) == 0)
            (void)lust__pidfd_wait(w->pidfd, KILL_WAIT_MS);
    } else if (w->pid > 0 && kill(w->pid, SIGKILL) == 0) {
        for (int waited = 0; waited < KILL_WAIT_MS && still_running(w->pid); waited += PROBE_MS)
            poll(NULL, 0, PROBE_MS);
    }
}

static int wait_verdict(int chan, int timeout_ms)
{
    struct waiter w = {.pidfd = -1};
    long long deadline = timeout_ms < 0 ? -1 : lust__now_ms() + timeout_ms;

    for (;;) {
        parse_lines(&w);
        if (w.verdict)
            break;
        struct pollfd p[2] = {{.fd = chan, .events = POLLIN}, {.fd = w.pidfd, .events = POLLIN}};
        int left = -1;
        if (deadline >= 0) {
            long long d = deadline - lust__now_ms();
            left = d < 0 ? 0 : d > INT_MAX ? INT_MAX : (int)d;
        }
        int probing = w.pidfd < 0 && w.pid > 0;
        if (probing && (left < 0 || left > PROBE_MS))
            left = PROBE_MS;
        int n = poll(p, w.pidfd >= 0 ? 2 : 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            w.result = lust__fail(errno, "daemonize: waiting for the daemon");
            kill_daemon(&w);
            break;
        }
        if (n == 0) {
            int alive = probing ? still_running(w.pid) : 1;
            if (alive && probing && (deadline < 0 || lust__now_ms() < deadline))
                continue;
            if (alive) {
                kill_daemon(&w);
                w.result = lust__fail_plain(
                    ETIMEDOUT, "daemon (pid %ld) did not report within %d ms: killed it",
                    (long)w.pid, timeout_ms);
                break;
            }
            p[1].revents = POLLIN; /* gone: read what it left, then report */
        }
        int died = (p[1].revents & POLLIN) != 0;
        if (!p[0].revents && !died)
            continue;
        /* Never block here: a child of the daemon may hold the channel open. */
        ssize_t r = recv(chan, w.buf + w.len, sizeof w.buf - 1 - w.len, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0) {
            w.len += (size_t)r;
            if (w.len == sizeof w.buf - 1 && !memchr(w.buf, '\n', w.len))
                w.len = 0; /* garbage without a newline: drop it */
            continue;
        }
        if (r < 0 && errno == EAGAIN && !died)
            continue;
        /* End of file, or the daemon exited and nothing is left to read: no verdict. */
        w.result = lust__fail_plain(ECHILD,
                                    "daemon (pid %ld) died during startup without reporting "
                                    "(its exit status is unknown: it is not our child)",
                                    (long)w.pid);
        break;
    }
    if (w.pidfd >= 0)
        close(w.pidfd);
    return w.result;
}

int lust_daemonize(const struct lust_daemon_opts *opts)
{
    struct options o;
    read_options(opts, &o);
    int r = check_keep(&o);
    if (r < 0)
        return r;
    r = lust__count_threads();
    if (r < 0)
        return lust__fail(-r, "cannot count threads: /proc/self/task");
    if (r > 1)
        return lust__fail_plain(EBUSY,
                                "cannot daemonize: the process runs %d threads "
                                "(fork would copy only the calling one)",
                                r);
    int devnull = lust__devnull();
    if (devnull < 0)
        return lust__fail(-devnull, "/dev/null");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        r = lust__fail(errno, "daemonize: socketpair");
        close(devnull);
        return r;
    }
    /* Buffered output would otherwise be written once by each process. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        r = lust__fail(errno, "daemonize: fork");
        close(sv[0]);
        close(sv[1]);
        close(devnull);
        return r;
    }
    if (pid == 0) {
        close(sv[0]);
        return intermediate(&o, sv[1], devnull);
    }
    close(sv[1]);
    close(devnull);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    r = wait_verdict(sv[0], o.timeout_ms);
    close(sv[0]);
    return r;
}

static int send_verdict(const char *msg, size_t len)
{
    int fd = __atomic_load_n(&report_fd, __ATOMIC_SEQ_CST);
    while (fd >= 0 && !__atomic_compare_exchange_n(&report_fd, &fd, REPORT_USED, 0,
                                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
    if (fd == REPORT_NONE)
        return 0;
    if (fd < 0)
        return lust__fail_plain(EALREADY, "daemon: the start verdict was already sent");
    int r = send_all(fd, msg, len);
    lust__fd_disown(fd);
    close(fd);
    if (r < 0)
        return lust__fail(-r, "daemon: reporting to the starting process");
    return 0;
}

int lust_daemon_report_fd(void)
{
    int fd = __atomic_load_n(&report_fd, __ATOMIC_SEQ_CST);
    return fd >= 0 ? fd : -1;
}

int lust_daemon_ready(void)
{
    char msg[32];
    int n = snprintf(msg, sizeof msg, "R %ld\n", (long)getpid());
    return send_verdict(msg, (size_t)n);
}

int lust_daemon_failed(int code, const char *fmt, ...)
{
    LUST__REQUIRE(fmt != NULL, -EINVAL);
    char sentence[SENTENCE_MAX + 1], msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sentence, sizeof sentence, fmt, ap);
    va_end(ap);
    if (code < 0)
        code = -code;
    if (code == 0)
        code = EIO;
    size_t len = format_failure(msg, code, sentence);
    int r = send_verdict(msg, len);
    if (r < 0)
        return r;
    lust__fail_plain(code, "%s", sentence);
    return 0;
}
