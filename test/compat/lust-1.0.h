/*
 * test/compat/lust-1.0.h - the declarations a daemon written for liblust 1.0 compiled against,
 * as lust/server.h and lust/log.h of 1.0.0 had them (they were unchanged in 1.1.0). Frozen:
 * never edit this file. test/compat/server_1_0.c includes it instead of today's headers, so
 * its binary carries what a 1.0 binary carries (the 1.0 struct size, the 1.0 entry point
 * lust_server_main_sized@LUST_1.0, log levels 0 to 4) and proves the library still serves it.
 */
#ifndef LUST_COMPAT_1_0_H
#define LUST_COMPAT_1_0_H

#include <stdarg.h>
#include <stddef.h>

#include <confuse.h>

#define LUST_LOG_DEBUG   0
#define LUST_LOG_INFO    1
#define LUST_LOG_NOTICE  2
#define LUST_LOG_WARNING 3
#define LUST_LOG_ERROR   4

void lust_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct cfg_t;
struct cfg_opt_t;
struct lust_server;

struct lust_server_ops {
    struct cfg_opt_t *options;
    int (*before_daemonize)(struct lust_server *srv, void *user_data);
    int (*before_jail)(struct lust_server *srv, void *user_data);
    int (*before_drop_privs)(struct lust_server *srv, void *user_data);
    int (*run)(struct lust_server *srv, void *user_data);
    void (*shutdown)(struct lust_server *srv, void *user_data);
    int (*reload)(struct lust_server *srv, void *user_data);
};

int lust_server_main_sized(const char *name, const struct lust_server_ops *ops, size_t ops_size,
                           void *user_data, int argc, char **argv);

#define lust_server_main(name, ops, user_data, argc, argv) \
    lust_server_main_sized((name), (ops), sizeof(*(ops)), (user_data), (argc), (argv))

struct cfg_t *lust_server_config(struct lust_server *srv);
int lust_server_stop_fd(const struct lust_server *srv);
int lust_server_stopping(const struct lust_server *srv);
int lust_server_fail(struct lust_server *srv, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
