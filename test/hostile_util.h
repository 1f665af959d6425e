/*
 * test/hostile_util.h - running the example daemons as root the way a hostile environment
 * would: closed stdio, inherited descriptors, a low descriptor limit, strange paths.
 *
 * A directory per test under a root-owned /run directory, and the example daemons run in it
 * through the shared helpers of lust_test.h (struct how has the knobs: closed stdio, descriptors
 * 3 and 4, a descriptor limit).
 */
#ifndef LUST_HOSTILE_UTIL_H
#define LUST_HOSTILE_UTIL_H

#include <sys/types.h>

#include "lust_test.h"

extern char top[64];   /* the suite's directory, made in the runner */
extern char dir[128];  /* this test's directory */
extern char jail[160]; /* dir/jail, root's, 0755 */
extern const char *const simple_server, *const thread_server;

void make_top(void);
void remove_top(void);
void make_dir(void);
void remove_dir(void);

/* dir/NAME.EXT, in one of a few rotating buffers. */
const char *at(const char *name, const char *ext);

/* dir/NAME.conf: jail, pidfile, logfile, control_socket in dir, then the caller's lines. */
void write_conf(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* PROG -c dir/NAME.conf ARGS... (NULL-terminated); returns the exit status. */
int run(struct result *r, const struct how *how, const char *prog, const char *name, ...);

pid_t pid_in(const char *text);
pid_t holder(const char *name);
pid_t start(const char *prog, const char *name);
void stop(const char *prog, const char *name, pid_t pid);
/* The thread_server config on a fresh port, plus extra lines; returns the port. */
int thread_conf(const char *extra);

#endif
