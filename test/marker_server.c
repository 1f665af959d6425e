/*
 * test/marker_server.c - the framework's stages seen from outside, for the root tests
 * (test/server_harness.h): a heartbeat in the log every `interval` seconds, its config logged on
 * reload, "beating" to a process manager (STATUS=) and life to its watchdog. With `markers` set
 * to a directory inside the jail, each hook leaves a file there ("1-before_daemonize",
 * "2-before_jail", ...) holding the pid and uid it ran with, so a test sees that every stage ran,
 * in order, and as whom. Its sandbox lets it write and create its markers after the drop, and
 * nothing else. examples/simple_server.c is the same daemon without the markers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lust.h>

static cfg_opt_t options[] = {
    CFG_INT("interval", 1, CFGF_NONE),
    CFG_STR("markers", "", CFGF_NONE),
    CFG_END(),
};

/*
 * The marker directory as this process sees it: outside the jail the configured path, inside
 * it the same path less the jail's prefix.
 */
static void mark(struct lust_server *srv, const char *stage, int jailed)
{
    cfg_t *cfg = lust_server_config(srv);
    const char *dir = cfg_getstr(cfg, "markers");
    const char *jail = cfg_getstr(cfg, "jail");
    char path[4096];

    if (!dir || !*dir)
        return;
    if (jailed && jail && strcmp(jail, "none") != 0) {
        size_t n = strlen(jail);
        if (strncmp(dir, jail, n) != 0 || dir[n] != '/')
            return; /* not reachable from inside the jail */
        dir += n;
    }
    snprintf(path, sizeof path, "%s/%s", dir, stage);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        lust_log(LUST_LOG_WARNING, "marker %s: %m", path);
        return;
    }
    dprintf(fd, "%ld %ld\n", (long)getpid(), (long)geteuid());
    close(fd);
}

static int before_daemonize(struct lust_server *srv, void *data)
{
    (void)data;
    mark(srv, "1-before_daemonize", 0);
    return 0;
}

static int before_jail(struct lust_server *srv, void *data)
{
    (void)data;
    mark(srv, "2-before_jail", 0);
    return 0;
}

static int before_drop_privs(struct lust_server *srv, void *data)
{
    (void)data;
    mark(srv, "3-before_drop_privs", 1);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run(struct lust_server *srv, void *data)
{
    (void)data;
    struct pollfd p = {.fd = lust_server_stop_fd(srv), .events = POLLIN};
    unsigned long beat = 0;

    mark(srv, "4-run", 1);
    lust_server_status(srv, "beating");
    while (!lust_server_stopping(srv)) {
        /* A snapshot per round: safe while the framework's thread reloads, and a reload
         * (SIGHUP, `reload`) shows at the next round. */
        long interval = cfg_getint(lust_server_config(srv), "interval");
        long long next = now_ms() + (interval > 0 ? interval * 1000 : 1000);
        lust_log(LUST_LOG_INFO, "heartbeat %lu", ++beat);
        /* Under a watchdog, wake up often enough to show life (see lust_server_alive()). */
        for (long long left; (left = next - now_ms()) > 0 && !lust_server_stopping(srv);) {
            int alive_ms = lust_server_alive_interval(srv);
            lust_server_alive(srv);
            if (poll(&p, 1, alive_ms >= 0 && alive_ms < left ? alive_ms : (int)left) < 0 &&
                errno != EINTR)
                return 1;
        }
    }
    mark(srv, "6-run_returns", 1);
    return 0;
}

static void shutdown_server(struct lust_server *srv, void *data)
{
    (void)data;
    mark(srv, "5-shutdown", 1);
}

static int reload(struct lust_server *srv, void *data)
{
    (void)data;
    cfg_t *cfg = lust_server_config(srv);
    lust_log(LUST_LOG_INFO, "reloaded: interval = %ld, markers = \"%s\", log_level = %s",
             cfg_getint(cfg, "interval"), cfg_getstr(cfg, "markers"), cfg_getstr(cfg, "log_level"));
    mark(srv, "7-reload", 1);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct lust_server_ops ops = {
        .options = options,
        .before_daemonize = before_daemonize,
        .before_jail = before_jail,
        .before_drop_privs = before_drop_privs,
        .run = run,
        .shutdown = shutdown_server,
        .reload = reload,
        /* After the drop: its log, its manager and, with markers, files it creates. */
        .sandbox = "best",
        .promises = "stdio wpath cpath",
    };
    return lust_server_main("marker_server", &ops, NULL, argc, argv);
}
