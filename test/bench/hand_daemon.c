/*
 * hand_daemon - thread_server's job written by hand without liblust: lifecycle_bench's second
 * floor, the one a framework daemon is fairly compared with.
 *
 *     hand_daemon -c FILE start|stop|status
 *
 * It reads the same config as thread_server with libconfuse (the standard keys user, group,
 * jail, pidfile, logfile, log_level, umask, foreground, start_timeout, stop_timeout,
 * control_socket, and its own listen and greeting) and does the dance a competent C programmer
 * writes by hand:
 *
 *   start   config; a pid file already locked means "already running" (exit 0); the user's
 *           and the group's ids from NSS (getpwnam, getgrnam); the time zone, the
 *           log file and /dev/null opened and the listeners bound, all as root with the real /;
 *           fork, setsid, fork (the intermediate is reaped). The daemon blocks TERM and INT
 *           (read from a signalfd), closes every other descriptor, takes stdin from /dev/null
 *           and stdout and stderr into the log, sets the umask, creates and write-locks the pid
 *           file (0600), chroots into the jail, drops to the user (setgroups, setresgid,
 *           setresuid), sets PR_SET_NO_NEW_PRIVS and tells the waiting process "ready" over a
 *           close-on-exec pipe; start prints the pid only then. A failure after the fork travels
 *           up the same pipe and start prints it (exit 1). Each connection gets a thread that
 *           sends the greeting and logs a line; TERM or INT lets the threads finish and exits.
 *   status  config; the pid file's lock holder (F_GETLK): 0 running, 3 not running, 4 unknown.
 *   stop    config; TERM to the lock holder through a pidfd, wait until it is gone (KILL after
 *           stop_timeout), remove the pid file.
 *
 * Like thread_server it drops every supplementary group: the daemon runs with the configured
 * group alone. Log lines are "2026-11-26T18:31:35.123+00:00 INFO message", one write(2) each.
 * What it does not do, and liblust does: a control socket (control_socket is read and not used:
 * a hand-made daemon reloads on SIGHUP, which the greeting server does not need), sd_notify,
 * reload, the ownership checks of the jail's and pid file's paths, the check that the drop
 * cannot be undone, and resetting every signal disposition (an exec already reset the handlers;
 * only ignored signals survive it). foreground = true runs the same steps without the forks.
 */
#include <arpa/inet.h>
#include <confuse.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "holder.h"

#define PROG        "hand_daemon"
#define MAX_LISTEN  16
#define LINE_MAX_   1024
#define EXIT_CONFIG 6

enum level { L_DEBUG, L_INFO, L_NOTICE, L_WARNING, L_ERROR };
static const char *const level_names[] = {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR"};

/* What the start process learns from the config and NSS; the daemon keeps only this. */
struct settings {
    char pidfile[256], jail[256], logfile[256], greeting[256], user[64], group[64];
    char *listen[MAX_LISTEN];
    int nlisten;
    enum level level;
    mode_t umask;
    int foreground, start_timeout, stop_timeout;
    uid_t uid;
    gid_t gid;
};

static struct settings set;
static int listen_fd[MAX_LISTEN];

static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t clients_done = PTHREAD_COND_INITIALIZER;
static int clients;

static cfg_opt_t options[] = {
    CFG_STR("user", "nobody", CFGF_NONE),
    CFG_STR("group", "nogroup", CFGF_NONE),
    CFG_STR("jail", "/run/" PROG, CFGF_NONE),
    CFG_STR("pidfile", "/run/" PROG ".pid", CFGF_NONE),
    CFG_STR("logfile", "/var/log/" PROG ".log", CFGF_NONE),
    CFG_STR("log_level", "info", CFGF_NONE),
    CFG_INT("umask", 027, CFGF_NONE),
    CFG_BOOL("foreground", cfg_false, CFGF_NONE),
    CFG_INT("start_timeout", 10, CFGF_NONE),
    CFG_INT("stop_timeout", 10, CFGF_NONE),
    CFG_STR("control_socket", "/run/" PROG ".ctl", CFGF_NONE),
    CFG_STR_LIST("listen", "{\"127.0.0.1:8080\"}", CFGF_NONE),
    CFG_STR("greeting", "HI!", CFGF_NONE),
    CFG_END(),
};

static void logline(enum level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logline(enum level lv, const char *fmt, ...)
{
    char line[LINE_MAX_];
    struct timespec ts;
    struct tm tm;
    va_list ap;

    if (lv < set.level)
        return;
    int saved = errno;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    long off = tm.tm_gmtoff < 0 ? -tm.tm_gmtoff : tm.tm_gmtoff;
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ld%c%02ld:%02ld %s ",
                          ts.tv_nsec / 1000000, tm.tm_gmtoff < 0 ? '-' : '+', off / 3600,
                          off % 3600 / 60, level_names[lv]);
    errno = saved;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : n + (size_t)m < sizeof(line) - 1 ? n + (size_t)m : sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nowhere to report a failing log */
}

static int copy_str(char *dst, size_t size, const char *src, const char *key)
{
    if (strlen(src) >= size) {
        fprintf(stderr, PROG ": %s: too long\n", key);
        return -1;
    }
    strcpy(dst, src);
    return 0;
}

static int parse_level(const char *s, enum level *out)
{
    static const char *const names[] = {"debug", "info", "notice", "warning", "error"};
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum level)i;
            return 0;
        }
    }
    fprintf(stderr, PROG ": log_level: debug, info, notice, warning or error\n");
    return -1;
}

static int load_config(const char *path)
{
    cfg_t *cfg = cfg_init(options, CFGF_NONE);
    int r = cfg_parse(cfg, path);
    if (r == CFG_FILE_ERROR)
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
    if (r != CFG_SUCCESS) {
        cfg_free(cfg);
        return -1;
    }
    r = copy_str(set.pidfile, sizeof(set.pidfile), cfg_getstr(cfg, "pidfile"), "pidfile");
    r |= copy_str(set.jail, sizeof(set.jail), cfg_getstr(cfg, "jail"), "jail");
    r |= copy_str(set.logfile, sizeof(set.logfile), cfg_getstr(cfg, "logfile"), "logfile");
    r |= copy_str(set.greeting, sizeof(set.greeting), cfg_getstr(cfg, "greeting"), "greeting");
    r |= copy_str(set.user, sizeof(set.user), cfg_getstr(cfg, "user"), "user");
    r |= copy_str(set.group, sizeof(set.group), cfg_getstr(cfg, "group"), "group");
    r |= parse_level(cfg_getstr(cfg, "log_level"), &set.level);
    set.umask = (mode_t)cfg_getint(cfg, "umask") & 0777;
    set.foreground = cfg_getbool(cfg, "foreground");
    set.start_timeout = (int)cfg_getint(cfg, "start_timeout");
    set.stop_timeout = (int)cfg_getint(cfg, "stop_timeout");
    set.nlisten = (int)cfg_size(cfg, "listen");
    if (set.nlisten < 1 || set.nlisten > MAX_LISTEN) {
        fprintf(stderr, PROG ": listen: between 1 and %d addresses\n", MAX_LISTEN);
        r = -1;
    }
    for (int i = 0; r == 0 && i < set.nlisten; i++)
        if ((set.listen[i] = strdup(cfg_getnstr(cfg, "listen", i))) == NULL)
            r = -1;
    cfg_free(cfg);
    return r;
}

/* The ids to drop to, for start only. */
static int lookup_user(void)
{
    struct passwd *pw = getpwnam(set.user);
    if (pw == NULL) {
        fprintf(stderr, PROG ": user \"%s\" not found\n", set.user);
        return -1;
    }
    set.uid = pw->pw_uid;
    struct group *gr = getgrnam(set.group);
    if (gr == NULL) {
        fprintf(stderr, PROG ": group \"%s\" not found\n", set.group);
        return -1;
    }
    set.gid = gr->gr_gid;
    return 0;
}

/* "HOST:PORT" or "[V6HOST]:PORT" into a bound, listening socket; -1 with the reason printed. */
static int listen_on(const char *spec)
{
    char host[256];
    const char *port = strrchr(spec, ':');
    if (port == NULL || port == spec || (size_t)(port - spec) >= sizeof(host)) {
        fprintf(stderr, PROG ": listen \"%s\": not HOST:PORT\n", spec);
        return -1;
    }
    size_t n = (size_t)(port - spec);
    memcpy(host, spec, n);
    host[n] = '\0';
    if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai;
    int e = getaddrinfo(host, port + 1, &hints, &ai);
    if (e != 0) {
        fprintf(stderr, PROG ": listen \"%s\": %s\n", spec, gai_strerror(e));
        return -1;
    }
    int one = 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        fprintf(stderr, PROG ": listen %s: %m\n", spec);
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* The verdict on the readiness pipe: "0 PID\n" when ready, "ERRNO sentence\n" on failure. */
static void tell(int fd, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void tell(int fd, int err, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    int n = snprintf(msg, sizeof(msg), "%d ", err);
    va_start(ap, fmt);
    n += vsnprintf(msg + n, sizeof(msg) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(msg) - 2)
        n = (int)sizeof(msg) - 2;
    msg[n++] = '\n';
    if (fd < 0) {
        if (err != 0)
            fprintf(stderr, PROG ": %.*s", n, msg + 2);
        return;
    }
    ssize_t w = write(fd, msg, (size_t)n); /* a short write reads as a failure up there */
    (void)w;
}

static void fail(int fd, const char *what)
{
    int err = errno;
    logline(L_ERROR, "start failed: %s: %s", what, strerror(err));
    tell(fd, err, "%s: %s", what, strerror(err));
    _exit(1);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Close every descriptor above 2 but the kept ones (sorted here). */
static int close_all_except(int *keep, int n)
{
    unsigned lo = 3;

    qsort(keep, (size_t)n, sizeof(*keep), cmp_int);
    for (int i = 0; i < n; i++) {
        if ((unsigned)keep[i] > lo && close_range(lo, (unsigned)keep[i] - 1, 0) < 0)
            return -1;
        lo = (unsigned)keep[i] + 1;
    }
    return close_range(lo, ~0U, 0);
}

static int take_pidfile(void)
{
    char buf[32];
    struct stat st;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

    int fd = open(set.pidfile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    if (fcntl(fd, F_SETLK, &fl) < 0) {
        if (errno == EAGAIN || errno == EACCES)
            errno = EEXIST;
        return -1;
    }
    /* Truncated only once locked; an empty file is left alone (as liblust and the bare floor
     * do: on ext4 truncating makes every later close of the file write it out). */
    int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (fstat(fd, &st) < 0 || (st.st_size != 0 && ftruncate(fd, 0) < 0) ||
        pwrite(fd, buf, (size_t)len, 0) != len)
        return -1;
    return fd; /* held open for the daemon's whole life: closing it would drop the lock */
}

/* "HOST:PORT" or "[V6HOST]:PORT" of the client, as thread_server writes it. */
static void describe_peer(int fd, char *out, size_t size)
{
    struct sockaddr_storage ss = {.ss_family = AF_UNSPEC};
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";

    snprintf(out, size, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(out, size, "%s:%d", host, ntohs(in->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(out, size, "[%s]:%d", host, ntohs(in6->sin6_port));
    }
}

static void *serve_client(void *arg)
{
    int fd = (int)(long)arg;
    char line[300], peer[64];

    describe_peer(fd, peer, sizeof(peer));
    int n = snprintf(line, sizeof(line), "%s\n", set.greeting);
    if (send(fd, line, (size_t)n, MSG_NOSIGNAL) < 0)
        logline(L_WARNING, "client %s: send: %m", peer);
    else
        logline(L_INFO, "greeted %s", peer);
    close(fd);
    pthread_mutex_lock(&clients_lock);
    if (--clients == 0)
        pthread_cond_signal(&clients_done);
    pthread_mutex_unlock(&clients_lock);
    return NULL;
}

static void accept_one(int lfd, const pthread_attr_t *attr)
{
    pthread_t t;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    pthread_mutex_lock(&clients_lock);
    clients++;
    pthread_mutex_unlock(&clients_lock);
    int e = pthread_create(&t, attr, serve_client, (void *)(long)fd);
    if (e != 0) {
        logline(L_WARNING, "no thread for a client: %s", strerror(e));
        close(fd);
        pthread_mutex_lock(&clients_lock);
        clients--;
        pthread_mutex_unlock(&clients_lock);
    }
}

static int serve(int sfd)
{
    struct pollfd p[MAX_LISTEN + 1];
    struct signalfd_siginfo si;
    pthread_attr_t attr;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    p[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (int i = 0; i < set.nlisten; i++)
        p[i + 1] = (struct pollfd){.fd = listen_fd[i], .events = POLLIN};
    for (;;) {
        if (poll(p, (nfds_t)set.nlisten + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            logline(L_ERROR, "poll: %m");
            return 1;
        }
        if (p[0].revents && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
            break;
        for (int i = 0; i < set.nlisten; i++)
            if (p[i + 1].revents & POLLIN)
                accept_one(listen_fd[i], &attr);
    }
    logline(L_NOTICE, "%s: stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
    for (int i = 0; i < set.nlisten; i++)
        close(listen_fd[i]);
    pthread_mutex_lock(&clients_lock);
    while (clients > 0)
        pthread_cond_wait(&clients_done, &clients_lock);
    pthread_mutex_unlock(&clients_lock);
    logline(L_NOTICE, PROG " exiting with status 0");
    return 0;
}

/* The daemon, from its own process (or the started one in the foreground). Never returns. */
static void daemon_main(int chan, int logfd, int devnull)
{
    sigset_t sigs;
    int keep[MAX_LISTEN + 3], nkeep = 0;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    /* SETMASK: whatever the starting shell had blocked is unblocked too. */
    int sfd = sigprocmask(SIG_SETMASK, &sigs, NULL) == 0 ? signalfd(-1, &sigs, SFD_CLOEXEC) : -1;
    if (sfd < 0)
        fail(chan, "signalfd");
    if (!set.foreground) {
        keep[nkeep++] = chan;
        keep[nkeep++] = sfd;
        for (int i = 0; i < set.nlisten; i++)
            keep[nkeep++] = listen_fd[i];
        keep[nkeep++] = logfd;
        keep[nkeep++] = devnull;
        if (close_all_except(keep, nkeep) < 0)
            fail(chan, "close_range");
        if (dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            fail(chan, "stdio");
        close(devnull);
        close(logfd);
    }
    umask(set.umask);
    if (take_pidfile() < 0) {
        if (errno != EEXIST)
            fail(chan, set.pidfile);
        tell(chan, EEXIST, "already running");
        _exit(1);
    }
    if (chroot(set.jail) < 0 || chdir("/") < 0)
        fail(chan, set.jail);
    /* No supplementary groups, as thread_server (liblust's lookup without its USER_GROUPS flag):
     * getgrouplist() would ask every NSS module of nsswitch.conf's `group` line, and with
     * `files systemd` that alone costs more instructions than the rest of start. */
    if (setgroups(0, NULL) < 0 || setresgid(set.gid, set.gid, set.gid) < 0 ||
        setresuid(set.uid, set.uid, set.uid) < 0)
        fail(chan, "dropping privileges");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail(chan, "PR_SET_NO_NEW_PRIVS");
    for (int i = 0; i < set.nlisten; i++)
        logline(L_INFO, "listening on %s", set.listen[i]);
    logline(L_NOTICE, PROG " started (pid %ld) as uid %u", (long)getpid(), (unsigned)set.uid);
    tell(chan, 0, "%ld", (long)getpid());
    if (chan >= 0)
        close(chan);
    exit(serve(sfd));
}

/* The starting process: waits for the daemon's verdict. */
static int wait_ready(int rfd, pid_t child)
{
    char msg[512];
    size_t got = 0;
    int st;
    struct pollfd p = {.fd = rfd, .events = POLLIN};

    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    while (got < sizeof(msg) - 1 && memchr(msg, '\n', got) == NULL) {
        int r = poll(&p, 1, set.start_timeout > 0 ? set.start_timeout * 1000 : -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            fprintf(stderr, PROG ": the daemon did not report within %d s\n", set.start_timeout);
            return 1;
        }
        ssize_t n = r < 0 ? -1 : read(rfd, msg + got, sizeof(msg) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    msg[got] = '\0';
    char *end;
    long err = strtol(msg, &end, 10);
    if (got == 0 || end == msg || *end != ' ') {
        fprintf(stderr, PROG ": the daemon died during startup\n");
        return 1;
    }
    if (err == EEXIST) {
        printf(PROG ": %s", end + 1);
        return 0;
    }
    if (err != 0) {
        fprintf(stderr, PROG ": start failed: %s", end + 1);
        return 1;
    }
    printf(PROG " started (pid %ld)\n", strtol(end + 1, NULL, 10));
    return 0;
}

static int cmd_start(void)
{
    int p[2];

    int fd = open(set.pidfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    pid_t holder = fd >= 0 ? holder_of(fd) : 0;
    if (fd >= 0)
        close(fd);
    if (holder > 0) {
        printf(PROG " is already running (pid %ld)\n", (long)holder);
        return 0;
    }
    if (lookup_user() < 0)
        return EXIT_CONFIG;
    tzset(); /* /etc/localtime is out of reach in the jail */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int logfd = set.foreground ? STDERR_FILENO
                               : open(set.logfile,
                                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (devnull < 0 || logfd < 0) {
        fprintf(stderr, PROG ": %s: %m\n", devnull < 0 ? "/dev/null" : set.logfile);
        return 1;
    }
    for (int i = 0; i < set.nlisten; i++)
        if ((listen_fd[i] = listen_on(set.listen[i])) < 0)
            return 1;
    if (set.foreground)
        daemon_main(-1, logfd, devnull);
    if (pipe2(p, O_CLOEXEC) < 0) {
        perror(PROG ": pipe2");
        return 1;
    }
    fflush(NULL); /* nothing buffered may be written twice by the children */
    pid_t child = fork();
    if (child < 0) {
        perror(PROG ": fork");
        return 1;
    }
    if (child == 0) {
        close(p[0]);
        if (setsid() < 0)
            fail(p[1], "setsid");
        pid_t grandchild = fork();
        if (grandchild < 0)
            fail(p[1], "fork");
        if (grandchild > 0)
            _exit(0); /* the daemon is no session leader: it never gets a terminal */
        daemon_main(p[1], logfd, devnull);
    }
    close(p[1]);
    return wait_ready(p[0], child);
}

static int cmd_status(void)
{
    int fd = open(set.pidfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT) {
        printf(PROG ": cannot tell: %s: %m\n", set.pidfile);
        return 4;
    }
    pid_t pid = fd >= 0 ? holder_of(fd) : 0;
    if (fd >= 0)
        close(fd);
    if (pid < 0) {
        printf(PROG ": cannot tell: %s is locked by no visible server\n", set.pidfile);
        return 4;
    }
    if (pid == 0) {
        printf(PROG " is not running\n");
        return 3;
    }
    printf(PROG " is running (pid %ld)\n", (long)pid);
    return 0;
}

static int cmd_stop(void)
{
    int fd = open(set.pidfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno != ENOENT) {
        fprintf(stderr, PROG ": %s: %m\n", set.pidfile);
        return 1;
    }
    pid_t pid = fd >= 0 ? holder_of(fd) : 0;
    if (pid < 0) {
        fprintf(stderr, PROG ": %s: no usable holder pid, not signalling\n", set.pidfile);
        close(fd);
        return 1;
    }
    int r = pid > 0 ? holder_stop(PROG, fd, pid, set.stop_timeout * 1000) : 0;
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        fprintf(stderr, PROG ": could not stop pid %ld\n", (long)pid);
        return 1;
    }
    if (unlink(set.pidfile) < 0 && errno != ENOENT) {
        fprintf(stderr, PROG ": unlink %s: %m\n", set.pidfile);
        return 1;
    }
    if (pid > 0)
        printf(PROG " stopped (pid %ld)\n", (long)pid);
    else
        printf(PROG " is not running\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = "/etc/" PROG ".conf";
    int opt;

    while ((opt = getopt(argc, argv, "c:")) != -1) {
        if (opt != 'c') {
            fprintf(stderr, "usage: " PROG " [-c FILE] start|stop|status\n");
            return 2;
        }
        conf = optarg;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: " PROG " [-c FILE] start|stop|status\n");
        return 2;
    }
    const char *cmd = argv[optind];
    if (strcmp(cmd, "start") != 0 && strcmp(cmd, "stop") != 0 && strcmp(cmd, "status") != 0) {
        fprintf(stderr, "usage: " PROG " [-c FILE] start|stop|status\n");
        return 2;
    }
    if (load_config(conf) < 0)
        return EXIT_CONFIG;
    if (strcmp(cmd, "start") == 0)
        return cmd_start();
    return strcmp(cmd, "stop") == 0 ? cmd_stop() : cmd_status();
}
