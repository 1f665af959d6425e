/*
 * examples/simple_server.c - the smallest useful liblust daemon: a heartbeat in the log.
 *
 *     simple_server -c simple_server.conf start|stop|status|reload|reopen
 *
 * It logs a heartbeat every `interval` seconds and its config on reload, tells a process
 * manager "beating" (STATUS=), and shows life to its watchdog (lust_server_alive()). It runs in
 * a sandbox (lust/sandbox.h): after the drop it may use the descriptors it has, and nothing else.
 *
 * Built alone, from an installed liblust (or with examples/CMakeLists.txt):
 *     cc -o simple_server simple_server.c $(pkg-config --cflags --libs lust)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <lust.h>

static cfg_opt_t options[] = {
    CFG_INT("interval", 1, CFGF_NONE),
    CFG_END(),
};

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
    return 0;
}

static int reload(struct lust_server *srv, void *data)
{
    (void)data;
    cfg_t *cfg = lust_server_config(srv);
    lust_log(LUST_LOG_INFO, "reloaded: interval = %ld, log_level = %s", cfg_getint(cfg, "interval"),
             cfg_getstr(cfg, "log_level"));
    return 0;
}

int main(int argc, char **argv)
{
    static const struct lust_server_ops ops = {
        .options = options,
        .run = run,
        .reload = reload,
        /* After the drop: its log and its manager, on the descriptors it already has. */
        .sandbox = "best",
        .promises = "stdio",
    };
    return lust_server_main("simple_server", &ops, NULL, argc, argv);
}
