/*
 * test/old_ops_server.c - a daemon whose callback struct is not the one liblust was built with.
 *
 * check_server_root runs it to prove that struct lust_server_ops may grow at its end:
 *
 *   LUST_TEST_OPS=old       a struct with only the members up to `run`, as a binary built
 *                           against an older header has it, followed in memory by non-zero
 *                           bytes the library must not read (they would be called as
 *                           shutdown/reload, or make `reload` look implemented);
 *   LUST_TEST_OPS=big-set   a struct longer than the library's, with a member set in the tail
 *                           (a binary built against newer headers using a callback this
 *                           library does not know), through the entry point of today's
 *                           header: must be refused;
 *   LUST_TEST_OPS=big-zero  the same longer struct with a zero tail: must work;
 *   LUST_TEST_OPS=slow-reload  today's struct, with a reload hook that takes 3 s, longer than
 *                           the reload command waits when start_timeout is 1;
 *   LUST_TEST_OPS=unwind    today's struct; run() ends one thread with pthread_exit() and
 *                           cancels another, which glibc unwinds with libgcc_s (loaded on
 *                           first use, so inside the jail only if the framework loaded it
 *                           before), logs "threads unwound" and serves until stopped.
 *
 * The rest of argv is the usual `-c FILE COMMAND`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lust.h>

/* struct lust_server_ops as the first version of an older header might have ended. */
struct old_ops {
    struct cfg_opt_t *options;
    int (*before_daemonize)(struct lust_server *srv, void *user_data);
    int (*before_jail)(struct lust_server *srv, void *user_data);
    int (*before_drop_privs)(struct lust_server *srv, void *user_data);
    int (*run)(struct lust_server *srv, void *user_data);
};

/* The old struct followed by garbage, so a library that reads past sizeof(old) is caught. */
struct old_with_garbage {
    struct old_ops old;
    unsigned char garbage[8 * sizeof(void *)];
};

/* A struct from a "newer" header: today's members and one more. */
struct new_ops {
    struct lust_server_ops ops;
    int (*from_the_future)(struct lust_server *srv, void *user_data);
};

static int run(struct lust_server *srv, void *data)
{
    struct pollfd p = {.fd = lust_server_stop_fd(srv), .events = POLLIN};
    (void)data;
    lust_log(LUST_LOG_NOTICE, "old_ops_server running");
    while (!lust_server_stopping(srv))
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            return 1;
    return 0;
}

static void *exiting(void *arg)
{
    pthread_exit(arg);
}

static void *cancelled(void *arg)
{
    for (;;)
        poll(NULL, 0, 1000); /* a cancellation point */
    return arg;
}

static int unwind_run(struct lust_server *srv, void *data)
{
    pthread_t a, b;
    void *ret = NULL;
    if (pthread_create(&a, NULL, exiting, &ret) != 0 || pthread_join(a, &ret) != 0 || ret != &ret)
        return 1;
    if (pthread_create(&b, NULL, cancelled, NULL) != 0 || pthread_cancel(b) != 0 ||
        pthread_join(b, &ret) != 0 || ret != PTHREAD_CANCELED)
        return 1;
    lust_log(LUST_LOG_NOTICE, "threads unwound");
    return run(srv, data);
}

static int slow_reload(struct lust_server *srv, void *data)
{
    struct timespec ts = {.tv_sec = 3};
    (void)srv;
    (void)data;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        continue;
    lust_log(LUST_LOG_NOTICE, "slow reload done");
    return 0;
}

static int future(struct lust_server *srv, void *data)
{
    (void)srv;
    (void)data;
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = getenv("LUST_TEST_OPS");

    if (mode && strcmp(mode, "old") == 0) {
        static struct old_with_garbage s;
        memset(s.garbage, 0xa5, sizeof s.garbage);
        s.old.run = run;
        return lust_server_main_sized("old_ops_server", (const struct lust_server_ops *)&s.old,
                                      sizeof s.old, NULL, argc, argv);
    }
    if (mode && (strcmp(mode, "big-set") == 0 || strcmp(mode, "big-zero") == 0)) {
        static struct new_ops s;
        s.ops.run = run;
        s.from_the_future = strcmp(mode, "big-set") == 0 ? future : NULL;
        return lust_server_main_versioned("old_ops_server", (const struct lust_server_ops *)&s,
                                          sizeof s, LUST_VERSION_HEX + 0x100, NULL, argc, argv);
    }
    if (mode && strcmp(mode, "slow-reload") == 0) {
        static const struct lust_server_ops ops = {.run = run, .reload = slow_reload};
        return lust_server_main("old_ops_server", &ops, NULL, argc, argv);
    }
    if (mode && strcmp(mode, "unwind") == 0) {
        static const struct lust_server_ops ops = {.run = unwind_run};
        return lust_server_main("old_ops_server", &ops, NULL, argc, argv);
    }
    fprintf(stderr,
            "old_ops_server: set LUST_TEST_OPS to old, big-set, big-zero, slow-reload or unwind\n");
    return 2;
}
