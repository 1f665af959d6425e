/*
 * test/daemon_harness.h - what the runners that start test/busy_server add to server_harness.h
 * (check_server_threads.c, check_server_supervised.c): a program name of the test's own, for a
 * daemon that uses its default paths in /run; waiting for a daemon's exit; a notify socket read
 * with a deadline; the part of a daemon's output worth showing when a test fails.
 */
#ifndef LUST_DAEMON_HARNESS_H
#define LUST_DAEMON_HARNESS_H

#include "server_harness.h"

extern const char *const busy_server;

/* server_tcase(), and what daemons named by harness_name() leave in /run removed at its end. */
TCase *busy_tcase(const char *name, int timeout);

/* A program name of this test's own ("lust-test-XXXXXX-t-YYYYYY", from jail_top and dir), for
 * a daemon that uses its default paths (RUNSTATEDIR/NAME.ctl): busy_tcase removes them. */
const char *harness_name(void);

/* RUNSTATEDIR/NAME.EXT for harness_name(): where that daemon's default file is. busy_tcase
 * makes RUNSTATEDIR when this build's is missing (an /opt prefix's /run/opt/X) and removes
 * what it made. A static buffer. */
const char *default_path(const char *ext);

/* Waits at most ms for pid to exit and reaps it: its exit code (128 + signal when killed), or
 * -1 when it is still running. */
int wait_exit(pid_t pid, int ms);

/* Receives one datagram within ms into buf (NUL-terminated): its length, or -1 at the timeout. */
int notify_recv(int fd, char *buf, size_t size, int ms);

/* What to show of a daemon's output when a test fails: its first sanitizer report, or else its
 * end; at most 3000 bytes (Check's messages are short), in a static buffer. shown() reads the
 * file at path and allocates nothing that outlives it: Check evaluates a message's arguments
 * even when the assertion holds. */
const char *worth_showing(const char *text);
const char *shown(const char *path);

/* Microseconds on CLOCK_MONOTONIC. */
long long now_us(void);

#endif
