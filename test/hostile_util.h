/*
 * test/hostile_util.h - running the example daemons as root the way a hostile environment
 * would: closed stdio, inherited descriptors, a low descriptor limit, strange paths.
 *
 * Copies, in a smaller form, of the helpers at the top of check_server_root.c (processes found
 * by command line, a directory per test under a root-owned /run directory, fork+exec with
 * stdout and stderr captured), with the knobs these tests need added to struct how.
 */
#ifndef LUST_HOSTILE_UTIL_H
#define LUST_HOSTILE_UTIL_H

#include <sys/types.h>

#include "lust_test.h"

#define NOBODY 65534

extern char top[64];   /* the suite's directory, made in the runner */
extern char dir[128];  /* this test's directory */
extern char jail[160]; /* dir/jail, root's, 0755 */
extern const char *const simple_server, *const thread_server;

struct result {
    int code; /* exit status, or 128 + signal */
    char out[8192];
    char err[8192];
};

/* How a child is started. Zero-initialised means: as the test itself is. */
struct how {
    const char *env[4]; /* extra "NAME=VALUE", NULL-terminated */
    int fd3;            /* passed as descriptor 3 when > 0 */
    int fd4;            /* passed as descriptor 4 when > 0 */
    int close_stdio;    /* start it with descriptors 0, 1 and 2 closed */
    int nofile;         /* RLIMIT_NOFILE when > 0 */
    int as_nobody;
};

void make_top(void);
void remove_top(void);
void make_dir(void);
void remove_dir(void);

/* dir/NAME.EXT, in one of a few rotating buffers. */
const char *at(const char *name, const char *ext);
void write_file(const char *path, const char *text);
char *read_text(const char *path, char *buf, size_t size);

/* dir/NAME.conf: jail, pidfile, logfile, control_socket in dir, then the caller's lines. */
void write_conf(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fork+exec argv with stdout/stderr into pipes (the caller collects). */
pid_t spawn(char *const argv[], const struct how *how, int *out, int *err);
void collect(pid_t pid, int out, int err, struct result *r);
/* PROG -c dir/NAME.conf ARGS... (NULL-terminated); returns the exit status. */
int run(struct result *r, const struct how *how, const char *prog, const char *name, ...);

pid_t pid_in(const char *text);
pid_t holder(const char *name);
pid_t start(const char *prog, const char *name);
void stop(const char *prog, const char *name, pid_t pid);
int wait_gone(pid_t pid, int ms);
int count_left(const char *needle);
int free_port(void);
/* The thread_server config on a fresh port, plus extra lines; returns the port. */
int thread_conf(const char *extra);
/* Connects to 127.0.0.1:port and returns what the server says before closing ("" if none). */
const char *greet(int port, char *buf, size_t size);
/* Waits (at most 10 s) until the file at path contains needle. */
void wait_in_file(const char *path, const char *needle);

#endif
