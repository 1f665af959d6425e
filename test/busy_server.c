/*
 * test/busy_server.c - a daemon that reads its config from every thread while it is reloaded.
 *
 * Its own keys are `value` (a number), `text` (the same number as a string) and `words` (a list
 * of three strings, each the same number): a config written by a test always has them equal,
 * so a reader that ever sees them differ has read two configs at once, or a freed one. run()
 * and LUST_TEST_READERS more threads (0 by default) read them in a loop until the stop: run()
 * and every other reader through lust_server_config(), the rest through a snapshot they hold
 * for ten reads with lust_server_config_hold(). The reload() hook checks the offered config
 * both ways. When run() returns it logs
 * "busy_server: R reads, L reloads, M mismatches" and exits 3 if M is not 0.
 *
 * run() shows life (lust_server_alive()) at every round, and tells the manager
 * "STATUS=serving, alive every N ms" (N from lust_server_alive_interval()) when it starts.
 *
 * Environment (all optional):
 *   LUST_TEST_NAME     the program name given to the framework (default busy_server), so a
 *                      test can have default paths (/run/NAME.ctl) of its own;
 *   LUST_TEST_READERS  how many threads read the config besides run();
 *   LUST_TEST_HANG_MS  after this many milliseconds run() stops showing life, as if hung:
 *                      it says "STATUS=stuck" and only waits for the stop (0: from the start);
 *   LUST_TEST_FAIL     before_drop_privs fails with "bind 127.0.0.1:1: Address already in
 *                      use" (EADDRINUSE), as a daemon whose port is taken;
 *   LUST_TEST_RELOAD_MS  each reload() takes this many milliseconds more.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lust.h>

#define READERS_MAX 16

static cfg_opt_t options[] = {
    CFG_INT("value", 0, CFGF_NONE),
    CFG_STR("text", "0", CFGF_NONE),
    CFG_STR_LIST("words", "{\"0\", \"0\", \"0\"}", CFGF_NONE),
    CFG_END(),
};

static atomic_long reads, reloads, mismatches;

/* Whether the config's three keys agree; logs the first few that do not. */
static int consistent(cfg_t *cfg, const char *who)
{
    long value = cfg_getint(cfg, "value");
    const char *text = cfg_getstr(cfg, "text");
    int ok = text && strtol(text, NULL, 10) == value && cfg_size(cfg, "words") == 3;
    for (unsigned i = 0; ok && i < 3; i++) {
        const char *w = cfg_getnstr(cfg, "words", i);
        ok = w && strtol(w, NULL, 10) == value;
    }
    if (!ok && atomic_fetch_add(&mismatches, 1) < 5)
        lust_log(LUST_LOG_ERROR, "%s: MISMATCH value %ld, text \"%s\"", who, value,
                 text ? text : "(null)");
    return ok;
}

/* One read of the config as lust_server_config() gives it to this thread. */
static void read_config(struct lust_server *srv, const char *who)
{
    consistent(lust_server_config(srv), who);
    atomic_fetch_add(&reads, 1);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_us(long us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        continue;
}

static void *reader(void *arg)
{
    struct lust_server *srv = arg;
    while (!lust_server_stopping(srv)) {
        read_config(srv, "reader");
        pause_us(50);
    }
    return NULL;
}

/* Reads one held snapshot ten times, reloads or not, then lets it go. */
static void *holder(void *arg)
{
    struct lust_server *srv = arg;
    while (!lust_server_stopping(srv)) {
        struct lust_config *c = lust_server_config_hold(srv);
        for (int i = 0; i < 10; i++) {
            consistent(lust_config_cfg(c), "holder");
            atomic_fetch_add(&reads, 1);
            pause_us(50);
        }
        lust_config_release(c);
    }
    return NULL;
}

static int run(struct lust_server *srv, void *data)
{
    (void)data;
    const char *env = getenv("LUST_TEST_READERS");
    int n = env ? atoi(env) : 0;
    pthread_t threads[READERS_MAX];
    int started = 0;

    for (; started < n && started < READERS_MAX; started++)
        if (pthread_create(&threads[started], NULL, started % 2 ? holder : reader, srv) != 0)
            break;
    const char *hang = getenv("LUST_TEST_HANG_MS");
    long long hang_at = hang ? now_ms() + atoll(hang) : LLONG_MAX;
    int stuck = 0;
    lust_server_status(srv, "serving, alive every %d ms", lust_server_alive_interval(srv));
    struct pollfd p = {.fd = lust_server_stop_fd(srv), .events = POLLIN};
    while (!lust_server_stopping(srv)) {
        if (!stuck && now_ms() >= hang_at) {
            stuck = 1;
            lust_server_status(srv, "stuck");
        }
        if (!stuck) {
            read_config(srv, "run");
            lust_server_alive(srv);
        }
        if (poll(&p, 1, stuck ? -1 : started ? 0 : 10) < 0 && errno != EINTR)
            break;
        if (started)
            pause_us(50);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    lust_log(LUST_LOG_NOTICE, "busy_server: %ld reads, %ld reloads, %ld mismatches",
             atomic_load(&reads), atomic_load(&reloads), atomic_load(&mismatches));
    return atomic_load(&mismatches) ? 3 : 0;
}

static int before_drop_privs(struct lust_server *srv, void *data)
{
    (void)data;
    if (getenv("LUST_TEST_FAIL"))
        return lust_server_fail(srv, EADDRINUSE, "bind 127.0.0.1:1");
    return 0;
}

static int reload(struct lust_server *srv, void *data)
{
    (void)data;
    atomic_fetch_add(&reloads, 1);
    const char *slow = getenv("LUST_TEST_RELOAD_MS");
    if (slow)
        pause_us(atoi(slow) * 1000L);
    struct lust_config *offered = lust_server_config_hold(srv);
    int ok = lust_config_cfg(offered) == lust_server_config(srv) &&
             consistent(lust_config_cfg(offered), "reload");
    lust_config_release(offered);
    return ok ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
    static const struct lust_server_ops ops = {
        .options = options,
        .before_drop_privs = before_drop_privs,
        .run = run,
        .reload = reload,
    };
    const char *name = getenv("LUST_TEST_NAME");
    return lust_server_main(name && *name ? name : "busy_server", &ops, NULL, argc, argv);
}
