/*
 * test/compat/server_1_0.c - a daemon as written for liblust 1.0, built against the frozen 1.0
 * declarations (lust-1.0.h), never against today's headers. check_compat_1_0.sh runs it through
 * start, status, reload and stop against the library of this tree: what a 1.0 binary on a
 * host that upgraded liblust1 does.
 *
 * Its own key `greeting` is logged by run() at LUST_LOG_INFO and by reload() at
 * LUST_LOG_NOTICE, as 1.0 numbered them; a reload with an empty greeting is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>

#include "lust-1.0.h"

static cfg_opt_t options[] = {
    CFG_STR("greeting", "HELLO", CFGF_NONE),
    CFG_END(),
};

static int run(struct lust_server *srv, void *data)
{
    struct pollfd p = {.fd = lust_server_stop_fd(srv), .events = POLLIN};
    (void)data;
    lust_log(LUST_LOG_INFO, "1.0 daemon serving, greeting %s",
             cfg_getstr(lust_server_config(srv), "greeting"));
    while (!lust_server_stopping(srv))
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return 1;
    return 0;
}

static int reload(struct lust_server *srv, void *data)
{
    const char *greeting = cfg_getstr(lust_server_config(srv), "greeting");
    (void)data;
    if (!*greeting)
        return lust_server_fail(srv, EINVAL, "greeting must not be empty");
    lust_log(LUST_LOG_NOTICE, "1.0 daemon reloaded, greeting %s", greeting);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct lust_server_ops ops = {.options = options, .run = run, .reload = reload};
    return lust_server_main("server_1_0", &ops, NULL, argc, argv);
}
