/*
 * lib/server_handle.c - what a daemon's hooks and threads call on the handle they get: its
 * name, the stop descriptor, life for the watchdog, STATUS= for the manager, a failure's
 * sentence; and the one place a hook is called from.
 */
#include "server_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <lust/error.h>
#include <lust/notify.h>

const char *lust_server_name(const struct lust_server *srv)
{
    LUST__REQUIRE(srv != NULL, NULL);
    return srv->name;
}

int lust_server_stop_fd(const struct lust_server *srv)
{
    LUST__REQUIRE(srv != NULL, -EINVAL);
    return srv->stop_fd;
}

int lust_server_stopping(const struct lust_server *srv)
{
    if (srv == NULL)
        return -EINVAL; /* no sentence: async-signal-safe */
    return atomic_load(&srv->stopping);
}

int lust_server_foreground(const struct lust_server *srv)
{
    LUST__REQUIRE(srv != NULL, -EINVAL);
    return srv->foreground;
}

void lust_server_alive(struct lust_server *srv)
{
    if (srv)
        atomic_store_explicit(&srv->alive, 1, memory_order_relaxed);
}

int lust_server_alive_interval(const struct lust_server *srv)
{
    LUST__REQUIRE(srv != NULL, -EINVAL);
    return srv->alive_interval_ms;
}

int lust_server_status(struct lust_server *srv, const char *fmt, ...)
{
    char text[2048];
    va_list ap;
    LUST__REQUIRE(srv != NULL, -EINVAL);
    LUST__REQUIRE(fmt != NULL, -EINVAL);
    if (!srv->notify)
        return 0;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return lust_notify_status(srv->notify, text);
}

int lust_server_fail(struct lust_server *srv, int err, const char *fmt, ...)
{
    va_list ap;
    (void)srv;
    LUST__REQUIRE(fmt != NULL, -EINVAL);
    if (err == 0)
        err = EINVAL;
    va_start(ap, fmt);
    int r = lust__vfail(err, 1, fmt, ap);
    va_end(ap);
    return r;
}

int lust_server_fail_config(struct lust_server *srv, const char *fmt, ...)
{
    va_list ap;
    LUST__REQUIRE(srv != NULL, -EINVAL);
    LUST__REQUIRE(fmt != NULL, -EINVAL);
    va_start(ap, fmt);
    int r = lust__vfail(EINVAL, 0, fmt, ap);
    va_end(ap);
    srv->config_failed = 1;
    return r;
}

/*
 * Runs one hook. The sentence is cleared first, so a hook that fails without setting one gets
 * a generic sentence instead of an older, unrelated failure's.
 */
int lust__server_call_hook(struct lust_server *srv, int (*hook)(struct lust_server *, void *),
                           const char *stage)
{
    if (!hook)
        return 0;
    lust__error_clear();
    srv->config_failed = 0;
    int r = hook(srv, srv->user_data);
    if (r >= 0) {
        srv->config_failed = 0; /* a config failure the hook chose to ignore */
        return 0;
    }
    if (lust_error()[0] == '\0')
        lust__fail(-r, "%s failed", stage);
    return r;
}
