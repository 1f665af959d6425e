/*
 * test/server_harness.h - the example daemons and the test daemons (test/marker_server.c,
 * test/old_ops_server.c) run for real, as root, for the server framework's runners:
 * check_server_*.c and check_hostile_*.c. Defined in test/server_harness.c.
 *
 * Each test gets its own directory `dir` under jail_top, a root-owned 0755 directory in /run (a
 * jail must not have /tmp's 1777 above it): dir/jail (0755), dir/jail/m (the markers, owned by
 * nobody), dir/NAME.conf, NAME.pid, NAME.log, NAME.ctl. Every command names its config by that
 * path, so the processes a test started are found by their command line: the checked teardown
 * kills them, unmounts what a test mounted below (procfs in a jail) and removes the directory;
 * the unchecked teardown, in the runner, does the same for
 * the whole test case, which also covers a test that failed half-way (Check's fork mode skips the
 * checked teardown of a failed test). Sockets are on 127.0.0.1 only, on ports the kernel picked.
 */
#ifndef LUST_SERVER_HARNESS_H
#define LUST_SERVER_HARNESS_H

#include <stdarg.h>

#include "lust_test.h"

/* The example daemons, and the test daemons test/marker_server.c and test/old_ops_server.c. */
extern const char *const simple_server, *const thread_server, *const skeleton;
extern const char *const marker_server, *const old_ops_server;

extern char *dir;     /* this test's directory */
extern char *jail;    /* dir/jail */
extern char *markers; /* dir/jail/m, writable by nobody */

/* A test case whose tests each get a fresh dir (under a jail_top of its own), timeout in s. */
TCase *server_tcase(const char *name, int timeout);

/* dir/NAME.EXT, in one of a few rotating buffers: use it at once, copy it to keep it. */
const char *at(const char *name, const char *ext);

/* Writes dir/NAME.conf in place (the same file, truncated): the jail, dir/NAME.{pid,log,ctl}
 * and the timeouts on lines 1-6, then the caller's lines. */
void write_conf(const char *name, const char *fmt, ...) TEST_PRINTF(2, 3);
/* The same text in a new file renamed over dir/NAME.conf, as editors and sed -i do. */
void rename_conf(const char *name, const char *fmt, ...) TEST_PRINTF(2, 3);
/* A thread_server config on a fresh port, with that greeting; returns the port. */
int thread_conf(const char *greeting);
/* A thread_server config on a fresh port, then lines (no greeting key: the server's "HI!"). */
int thread_conf_lines(const char *lines);
/* A marker_server config writing its markers into dir/jail/m. */
void marker_conf(void);

/* Runs PROG -c dir/NAME.conf ARGS... (NULL-terminated) and returns its exit status. */
int run_how(struct result *r, const struct how *how, const char *prog, const char *name, ...);
#define RUN(r, prog, name, ...) run_how((r), NULL, (prog), (name), __VA_ARGS__, (char *)NULL)
/* Runs old_ops_server CMD with LUST_TEST_OPS=mode (see test/old_ops_server.c). */
int run_ops(struct result *r, const char *mode, const char *cmd);

/* The pid in "NAME started (pid N)" / "already running (pid N)", or 0. */
pid_t pid_in(const char *text);
/* The holder of dir/NAME.pid's lock, or 0 when none. */
pid_t holder(const char *name);
/* Starts PROG as NAME, checks the verdict, returns the server's pid. */
pid_t start(const char *prog, const char *name);
/* Stops it and checks that pid is gone. */
void stop(const char *prog, const char *name, pid_t pid);

/* Connects to dir/NAME.ctl as root (the test), like the reload command does. */
int dial_control(const char *name);

/* A datagram socket bound at dir/notify.sock (path gets it), with a 10 s receive timeout. */
int notify_socket(char *path, size_t size);
/* Receives datagrams until the line want and also (unless NULL) were seen; fails on timeout. */
void expect_notify2(int fd, const char *want, const char *also);
void expect_notify(int fd, const char *want);

/* A thread_server started with -f under a notify socket (as systemd runs a Type=notify unit). */
struct fg {
    int notify; /* our end of $NOTIFY_SOCKET */
    pid_t pid;
    int out, err;
};

/* Starts thread_server -f with dir/thread_server.conf, $NOTIFY_SOCKET and extra_env (or NULL)
 * in its environment, and waits for READY=1. */
void fg_start(struct fg *fg, const char *extra_env);
/* Collects the foreground server after something asked it to stop; checks it exited 0. */
void fg_end(struct fg *fg, struct result *r);
/* Sends it SIGTERM, then fg_end. */
void fg_term(struct fg *fg, struct result *r);

#endif
