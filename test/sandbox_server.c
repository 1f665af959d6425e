/*
 * test/sandbox_server.c - a daemon that tries, on command, what its sandbox should refuse.
 *
 * check_server_sandbox runs it as root with the sandbox its config gives. Its own key `port`
 * is a TCP port on 127.0.0.1, bound while root. run() serves one command per connection, a
 * line, from run()'s own thread (inside the sandbox's Landlock domain), and answers "ok" or
 * "errno N" before it closes the connection:
 *
 *   open PATH   open(PATH, O_RDONLY)
 *   exec        execve("/nonexistent-lust-test", ...): fails with ENOENT where it may run
 *   ptrace PID  ptrace(PTRACE_SEIZE, PID)
 *   netlink     socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)
 *   bind PORT   a TCP socket bound to 127.0.0.1:PORT
 *
 * A call the sandbox kills for ends the daemon before the answer: the connection closes
 * without one. Its promises, unveil rules and mode are the config's (no defaults in code but
 * the one below).
 *
 * LUST_TEST_PROMISES=WORDS gives the program a default for promises (struct lust_server_ops).
 * LUST_TEST_LANDLOCK_ABI=N makes the sandbox see a kernel with Landlock ABI N at most (0: none),
 * through the sandbox module's hook for tests: this program links the library's objects
 * (lust_internal), not liblust.so, so that hidden hook is within reach. No liblust reads it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lust.h>

#include "sandbox_private.h"

static cfg_opt_t options[] = {
    CFG_INT("port", 0, CFGF_NONE),
    CFG_END(),
};

static int listen_fd = -1;

static int bind_port(struct lust_server *srv, void *data)
{
    (void)data;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port =
                                 htons((uint16_t)cfg_getint(lust_server_config(srv), "port")),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listen_fd, 8) < 0)
        return lust_server_fail(srv, errno, "port %d", ntohs(sa.sin_port));
    return 0;
}

static int try_bind(const char *arg)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)atoi(arg)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* Runs one command; 0 or -errno. */
static int attempt(char *line)
{
    char *arg = strchr(line, ' ');
    int fd;
    if (arg)
        *arg++ = '\0';
    if (strcmp(line, "open") == 0 && arg) {
        fd = open(arg, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        close(fd);
        return 0;
    }
    if (strcmp(line, "exec") == 0) {
        char *argv[] = {"/nonexistent-lust-test", NULL};
        execve(argv[0], argv, environ);
        return -errno;
    }
    if (strcmp(line, "ptrace") == 0 && arg)
        return ptrace(PTRACE_SEIZE, (pid_t)atoi(arg), NULL, NULL) < 0 ? -errno : 0;
    if (strcmp(line, "netlink") == 0) {
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
            return -errno;
        close(fd);
        return 0;
    }
    if (strcmp(line, "bind") == 0 && arg)
        return try_bind(arg);
    return -EINVAL;
}

static void serve(int cfd)
{
    char line[512];
    ssize_t n = recv(cfd, line, sizeof line - 1, 0);
    if (n <= 0)
        return;
    line[n] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    lust_log(LUST_LOG_INFO, "trying: %s", line);
    int r = attempt(line);
    char reply[64];
    int len = r == 0 ? snprintf(reply, sizeof reply, "ok\n")
                     : snprintf(reply, sizeof reply, "errno %d\n", -r);
    if (send(cfd, reply, (size_t)len, MSG_NOSIGNAL) < 0)
        lust_log(LUST_LOG_WARNING, "cannot answer: %m");
}

static int run(struct lust_server *srv, void *data)
{
    (void)data;
    struct pollfd pfd[2] = {{.fd = lust_server_stop_fd(srv), .events = POLLIN},
                            {.fd = listen_fd, .events = POLLIN}};
    while (!lust_server_stopping(srv)) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            return 1;
        if (!(pfd[1].revents & POLLIN))
            continue;
        int cfd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0)
            continue;
        serve(cfd);
        close(cfd);
    }
    close(listen_fd);
    return 0;
}

int main(int argc, char **argv)
{
    struct lust_server_ops ops = {
        .options = options,
        .before_drop_privs = bind_port,
        .run = run,
        .promises = getenv("LUST_TEST_PROMISES"),
    };
    const char *abi = getenv("LUST_TEST_LANDLOCK_ABI");
    if (abi)
        lust__sandbox_fake_landlock_abi(atoi(abi));
    return lust_server_main("sandbox_server", &ops, NULL, argc, argv);
}
