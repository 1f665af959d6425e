/*
 * examples/skeleton.c - the smallest correct liblust daemon: copy it and fill in run().
 *
 *     skeleton [-c FILE] start|stop|restart|reload|status    # as root; /etc/skeleton.conf
 *     cc -o skeleton skeleton.c $(pkg-config --cflags --libs lust)
 *
 * One key of its own, `message`, checked at start and by reload() before the framework puts a
 * new config in force; run() reads it from a snapshot, which a reload never frees under it.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include <lust.h>

static cfg_opt_t options[] = {
    CFG_STR("message", "still here", CFGF_NONE),
    CFG_END(),
};

/* At start a refusal exits 6; on reload it keeps the running config (`reload` exits 1). */
static int check_config(struct lust_server *srv, void *data)
{
    (void)data;
    if (!*cfg_getstr(lust_server_config(srv), "message"))
        return lust_server_fail_config(srv, "message: must not be empty");
    return 0;
}

static int run(struct lust_server *srv, void *data)
{
    (void)data;
    struct pollfd stop = {.fd = lust_server_stop_fd(srv), .events = POLLIN};
    while (!lust_server_stopping(srv)) {
        lust_log(LUST_LOG_INFO, "%s", cfg_getstr(lust_server_config(srv), "message"));
        lust_server_alive(srv); /* for systemd's WatchdogSec= */
        int wait_ms = lust_server_alive_interval(srv);
        if (poll(&stop, 1, wait_ms >= 0 && wait_ms < 10000 ? wait_ms : 10000) < 0 && errno != EINTR)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct lust_server_ops ops = {
        .options = options,
        .before_daemonize = check_config,
        .run = run,
        .reload = check_config,
        .version = "1.0",
    };
    return lust_server_main("skeleton", &ops, NULL, argc, argv);
}
