/*
 * examples/thread_server.c - a greeting server, one thread per client.
 *
 *     thread_server -c thread_server.conf start     # as root
 *     printf '' | nc 127.0.0.1 8080                 # -> HI!
 *     thread_server -c thread_server.conf stop
 *
 * Its own config keys: `listen`, a list of HOST:PORT ("[::1]:8080" for IPv6), and `greeting`.
 * Every address is bound in before_drop_privs, while still root, so a port below 1024 works;
 * the threads that serve start only in run(), after the drop. `reload` (SIGHUP) takes a new
 * greeting; the listening addresses need a restart, so `listen` is one of its restart_keys and
 * every reload names a changed one until then. A `listen` that is no address, or an empty
 * greeting, is a config mistake: start exits 6. Under a watchdog, run()'s loop shows life with
 * lust_server_alive(), so a hung loop stops the pings.
 *
 * Built alone, from an installed liblust (or with examples/CMakeLists.txt):
 *     cc -o thread_server thread_server.c $(pkg-config --cflags --libs lust) -pthread
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lust.h>

#define THREAD_SERVER_VERSION "1.0"
#define MAX_LISTEN            16
#define MAX_CLIENTS           256

struct client {
    pthread_t thread;
    int fd;
    int done;
    char peer[64];
    struct app *app;
};

struct app {
    int listen_fd[MAX_LISTEN];
    size_t nlisten;
    pthread_mutex_t lock; /* guards greeting and clients */
    char greeting[256];
    struct client *clients[MAX_CLIENTS];
};

static cfg_opt_t options[] = {
    CFG_STR_LIST("listen", "{\"127.0.0.1:8080\"}", CFGF_NONE),
    CFG_STR("greeting", "HI!", CFGF_NONE),
    CFG_END(),
};

/* Takes the config's greeting; refuses an empty one (a client would get a bare newline). */
static int take_greeting(struct lust_server *srv, struct app *app)
{
    const char *greeting = cfg_getstr(lust_server_config(srv), "greeting");
    if (!*greeting)
        return lust_server_fail_config(srv, "greeting must not be empty");
    pthread_mutex_lock(&app->lock);
    snprintf(app->greeting, sizeof app->greeting, "%s", greeting);
    pthread_mutex_unlock(&app->lock);
    return 0;
}

/* "HOST:PORT" or "[V6HOST]:PORT" into a bound, listening socket. */
static int listen_on(struct lust_server *srv, const char *spec)
{
    char host[256];
    const char *port = strrchr(spec, ':');
    if (!port || port == spec || (size_t)(port - spec) >= sizeof host)
        return lust_server_fail_config(srv, "listen \"%s\": not HOST:PORT", spec);
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
    if (e != 0)
        return lust_server_fail_config(srv, "listen \"%s\": %s", spec, gai_strerror(e));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return lust_server_fail(srv, err, "listen %s", spec);
    }
    freeaddrinfo(ai);
    return fd;
}

static int bind_all(struct lust_server *srv, void *data)
{
    struct app *app = data;
    cfg_t *cfg = lust_server_config(srv);
    unsigned n = cfg_size(cfg, "listen");

    if (n == 0 || n > MAX_LISTEN)
        return lust_server_fail_config(srv, "listen: between 1 and %d addresses", MAX_LISTEN);
    for (unsigned i = 0; i < n; i++) {
        int fd = listen_on(srv, cfg_getnstr(cfg, "listen", i));
        if (fd < 0)
            return fd;
        app->listen_fd[app->nlisten++] = fd;
        lust_log(LUST_LOG_INFO, "listening on %s", cfg_getnstr(cfg, "listen", i));
    }
    return take_greeting(srv, app);
}

static void *serve_client(void *arg)
{
    struct client *c = arg;
    char line[300];

    pthread_mutex_lock(&c->app->lock);
    int n = snprintf(line, sizeof line, "%s\n", c->app->greeting);
    pthread_mutex_unlock(&c->app->lock);
    if (send(c->fd, line, (size_t)n, MSG_NOSIGNAL) < 0)
        lust_log(LUST_LOG_WARNING, "client %s: send: %m", c->peer);
    else
        lust_log(LUST_LOG_INFO, "greeted %s", c->peer);
    close(c->fd);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void describe_peer(const struct sockaddr_storage *ss, char *out, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, size, "%s:%d", host, port);
    } else {
        const struct sockaddr_in6 *in6 = (const void *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, size, "[%s]:%d", host, port);
    }
}

/* Joins finished client threads; with all set, waits for every one. */
static void reap_clients(struct app *app, int all)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = app->clients[i];
        if (c && (all || __atomic_load_n(&c->done, __ATOMIC_ACQUIRE))) {
            pthread_join(c->thread, NULL);
            free(c);
            app->clients[i] = NULL;
        }
    }
}

static void accept_one(struct app *app, int lfd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    reap_clients(app, 0);
    int slot = 0;
    while (slot < MAX_CLIENTS && app->clients[slot])
        slot++;
    struct client *c = slot < MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        lust_log(LUST_LOG_WARNING, "too many clients; dropping one");
        close(fd);
        return;
    }
    c->fd = fd;
    c->app = app;
    describe_peer(&ss, c->peer, sizeof c->peer);
    if (pthread_create(&c->thread, NULL, serve_client, c) != 0) {
        close(fd);
        free(c);
        return;
    }
    app->clients[slot] = c;
}

static int run(struct lust_server *srv, void *data)
{
    struct app *app = data;
    struct pollfd pfd[MAX_LISTEN + 1];

    pfd[0] = (struct pollfd){.fd = lust_server_stop_fd(srv), .events = POLLIN};
    for (size_t i = 0; i < app->nlisten; i++)
        pfd[i + 1] = (struct pollfd){.fd = app->listen_fd[i], .events = POLLIN};
    while (!lust_server_stopping(srv)) {
        /* Under a watchdog (systemd's WatchdogSec=) the framework pings only while this loop
         * goes round: it shows life at least every lust_server_alive_interval() ms (-1, no
         * timeout, without a watchdog). */
        lust_server_alive(srv);
        if (poll(pfd, app->nlisten + 1, lust_server_alive_interval(srv)) < 0 && errno != EINTR) {
            lust_log(LUST_LOG_ERROR, "poll: %m");
            return 1;
        }
        for (size_t i = 0; i < app->nlisten; i++)
            if (pfd[i + 1].revents & POLLIN)
                accept_one(app, app->listen_fd[i]);
    }
    for (size_t i = 0; i < app->nlisten; i++)
        close(app->listen_fd[i]);
    reap_clients(app, 1);
    return 0;
}

/* Called on TERM from the framework's thread: run() sees the stop descriptor and returns. */
static void shutdown_server(struct lust_server *srv, void *data)
{
    (void)srv;
    (void)data;
    lust_log(LUST_LOG_INFO, "no longer accepting connections");
}

static int reload(struct lust_server *srv, void *data)
{
    int r = take_greeting(srv, data);
    if (r < 0)
        return r; /* the framework keeps the previous config and reports the sentence */
    lust_log(LUST_LOG_INFO, "greeting is now \"%s\"",
             cfg_getstr(lust_server_config(srv), "greeting"));
    return 0;
}

int main(int argc, char **argv)
{
    static struct app app = {.lock = PTHREAD_MUTEX_INITIALIZER};
    static const char *const restart_keys[] = {"listen", NULL};
    static const struct lust_server_ops ops = {
        .options = options,
        .before_drop_privs = bind_all,
        .run = run,
        .shutdown = shutdown_server,
        .reload = reload,
        .version = THREAD_SERVER_VERSION,
        .usage = "Greets each client on the `listen` addresses with `greeting` (both keys of the\n"
                 "config file); a reload takes a new greeting, new addresses need a restart.",
        .restart_keys = restart_keys,
    };
    return lust_server_main("thread_server", &ops, &app, argc, argv);
}
