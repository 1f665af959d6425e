/*
 * floor_daemon - the bare floor of lifecycle_bench: the least a correct forking daemon does.
 *
 *     floor_daemon -p PIDFILE -l 127.0.0.1:PORT start|stop|status
 *
 * The least a correct forking daemon does, written by hand without liblust: start double-forks
 * (the intermediate child is reaped), the daemon creates the pid file (0600) and holds an fcntl
 * write lock on it, listens on the loopback port, and tells the starting process it is ready over
 * a close-on-exec pipe; start prints the pid and exits 0 only then. The daemon answers each
 * connection with "HI!\n" and exits on TERM or INT. stop finds the lock holder with F_GETLK,
 * signals it through a pidfd and waits for the pidfd (or, without pidfd, for the lock the kernel
 * drops at exit), then removes the pid file. status: 0 running, 3 not running, 4 cannot tell.
 *
 * Anything a daemon could do cheaper than this would be incorrect, so it is a fair floor.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "holder.h"

#define STOP_TIMEOUT_MS 10000

/* What the daemon tells the starting process: err 0 and its pid, or what failed. */
struct verdict {
    int err;
    pid_t pid;
    char what[64];
};

static void usage(void)
{
    fprintf(stderr, "usage: floor_daemon -p PIDFILE -l 127.0.0.1:PORT start|stop|status\n");
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
    const char *colon = strrchr(s, ':');
    char host[INET_ADDRSTRLEN];
    char *end;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 || port > 65535)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int open_pidfile_ro(const char *path)
{
    return open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

static void report(int fd, int err, const char *what)
{
    struct verdict v = {.err = err, .pid = getpid()};
    snprintf(v.what, sizeof(v.what), "%s", what);
    /* A short or failed write reads as "died during startup" on the other side. */
    ssize_t n = write(fd, &v, sizeof(v));
    (void)n;
}

static void serve(int lfd, int sfd)
{
    struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};

    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[1].revents)
            return;
        if (p[0].revents) {
            int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) {
                ssize_t n = send(c, "HI!\n", 4, MSG_NOSIGNAL);
                (void)n; /* a client that went away is not the daemon's problem */
                close(c);
            }
        }
    }
}

/* The daemon itself (the grandchild): never returns. */
static void daemon_main(const char *pidfile, const struct sockaddr_in *sa, int rfd)
{
    sigset_t set;
    char buf[32];
    int one = 1;

    /* No inherited descriptor survives but the verdict pipe. */
    if ((rfd > 3 && close_range(3, (unsigned)rfd - 1, 0) < 0) ||
        close_range((unsigned)rfd + 1, ~0U, 0) < 0) {
        report(rfd, errno, "close_range");
        _exit(1);
    }
    /* TERM and INT are read from a signalfd, so they are blocked before anything else. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sfd = sigprocmask(SIG_BLOCK, &set, NULL) == 0 ? signalfd(-1, &set, SFD_CLOEXEC) : -1;
    if (sfd < 0) {
        report(rfd, errno, "signals");
        _exit(1);
    }
    umask(022);
    if (chdir("/") < 0) {
        report(rfd, errno, "chdir /");
        _exit(1);
    }
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nul < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0) {
        report(rfd, errno, "/dev/null");
        _exit(1);
    }
    if (nul > 2)
        close(nul);

    int pfd = open(pidfile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (pfd < 0) {
        report(rfd, errno, "open pid file");
        _exit(1);
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(pfd, F_SETLK, &fl) < 0) {
        report(rfd, errno == EAGAIN || errno == EACCES ? EEXIST : errno, "lock pid file");
        _exit(1);
    }
    /* Truncated only once locked: a running server's pid is never wiped. An empty file is not
     * truncated again: on ext4 that would make every later close() of it, by any reader, write
     * its block out (liblust's pid file module skips it too, so both are measured alike). */
    int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    struct stat st;
    if (fstat(pfd, &st) < 0 || (st.st_size != 0 && ftruncate(pfd, 0) < 0) ||
        pwrite(pfd, buf, (size_t)len, 0) != len) {
        report(rfd, errno ? errno : EIO, "write pid file");
        _exit(1);
    }

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(lfd, SOMAXCONN) < 0) {
        report(rfd, errno, "listen");
        _exit(1);
    }
    report(rfd, 0, "ready");
    close(rfd);
    serve(lfd, sfd);
    _exit(0);
}

static int cmd_start(const char *pidfile, const struct sockaddr_in *sa)
{
    struct verdict v;
    int p[2];
    int st;

    int fd = open_pidfile_ro(pidfile);
    if (fd >= 0) {
        pid_t holder = holder_of(fd);
        close(fd);
        if (holder > 0) {
            printf("already running (pid %ld)\n", (long)holder);
            return 0;
        }
    }
    if (pipe2(p, O_CLOEXEC) < 0) {
        perror("pipe2");
        return 1;
    }
    fflush(NULL); /* nothing buffered may be written twice by the children */
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        close(p[0]);
        if (setsid() < 0) {
            report(p[1], errno, "setsid");
            _exit(1);
        }
        pid_t grandchild = fork();
        if (grandchild < 0) {
            report(p[1], errno, "fork");
            _exit(1);
        }
        if (grandchild > 0)
            _exit(0); /* the intermediate: the daemon is no session leader, never gets a tty */
        daemon_main(pidfile, sa, p[1]);
    }
    close(p[1]);
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    ssize_t n;
    do
        n = read(p[0], &v, sizeof(v));
    while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n != (ssize_t)sizeof(v)) {
        fprintf(stderr, "floor_daemon: the daemon died during startup\n");
        return 1;
    }
    if (v.err == EEXIST) {
        fd = open_pidfile_ro(pidfile);
        pid_t holder = fd >= 0 ? holder_of(fd) : -1;
        if (fd >= 0)
            close(fd);
        printf("already running (pid %ld)\n", (long)holder);
        return 0;
    }
    if (v.err != 0) {
        fprintf(stderr, "floor_daemon: %s: %s\n", v.what, strerror(v.err));
        return 1;
    }
    printf("%ld\n", (long)v.pid);
    return 0;
}

static int cmd_stop(const char *pidfile)
{
    int fd = open_pidfile_ro(pidfile);
    if (fd < 0) {
        if (errno == ENOENT) {
            printf("not running\n");
            return 0;
        }
        fprintf(stderr, "floor_daemon: %s: %s\n", pidfile, strerror(errno));
        return 1;
    }
    pid_t pid = holder_of(fd);
    int rc = 0;
    if (pid < 0) {
        fprintf(stderr, "floor_daemon: %s: no usable holder pid, not signalling\n", pidfile);
        close(fd);
        return 1;
    }
    if (pid > 0)
        rc = holder_stop("floor_daemon", fd, pid, STOP_TIMEOUT_MS);
    close(fd);
    if (rc < 0) {
        fprintf(stderr, "floor_daemon: could not stop pid %ld\n", (long)pid);
        return 1;
    }
    if (unlink(pidfile) < 0 && errno != ENOENT) {
        fprintf(stderr, "floor_daemon: unlink %s: %s\n", pidfile, strerror(errno));
        return 1;
    }
    return 0;
}

static int cmd_status(const char *pidfile)
{
    int fd = open_pidfile_ro(pidfile);
    if (fd < 0) {
        if (errno == ENOENT) {
            printf("not running\n");
            return 3;
        }
        fprintf(stderr, "floor_daemon: %s: %s\n", pidfile, strerror(errno));
        return 4;
    }
    pid_t pid = holder_of(fd);
    close(fd);
    if (pid == 0) {
        printf("not running\n");
        return 3;
    }
    if (pid < 0) {
        fprintf(stderr, "floor_daemon: %s: cannot tell\n", pidfile);
        return 4;
    }
    printf("running (pid %ld)\n", (long)pid);
    return 0;
}

int main(int argc, char **argv)
{
    const char *pidfile = NULL, *listen_addr = NULL;
    struct sockaddr_in sa;
    int opt;

    while ((opt = getopt(argc, argv, "p:l:")) != -1) {
        switch (opt) {
        case 'p':
            pidfile = optarg;
            break;
        case 'l':
            listen_addr = optarg;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (pidfile == NULL || optind != argc - 1) {
        usage();
        return 2;
    }
    const char *cmd = argv[optind];
    if (strcmp(cmd, "stop") == 0)
        return cmd_stop(pidfile);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(pidfile);
    if (strcmp(cmd, "start") != 0) {
        usage();
        return 2;
    }
    if (listen_addr == NULL || parse_listen(listen_addr, &sa) < 0) {
        fprintf(stderr, "floor_daemon: -l wants HOST:PORT (IPv4)\n");
        return 2;
    }
    return cmd_start(pidfile, &sa);
}
