/*
 * test/daemon_harness.h - what the root tests that run test/busy_server share: a directory per
 * test under /run, processes found and killed by their command line, programs run with their
 * output in a file, and a fake $NOTIFY_SOCKET.
 *
 * The process and directory helpers are small copies of check_server_root.c's; each test file
 * that uses this harness gets its fixtures with harness_fixtures().
 */
#ifndef DAEMON_HARNESS_H
#define DAEMON_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>

#define HARNESS_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* This test's directory (mode 0755, root's), under the suite's own directory in /run. */
extern char harness_dir[128];

/* Adds the fixtures that make and remove the directories and kill what a test left. */
void harness_fixtures(TCase *tc);

/* A program name of this test's own ("lust-test-XXXXXX-t-YYYYYY"), for a daemon that uses its
 * default paths in /run (RUNSTATEDIR/NAME.ctl, NAME.pid): the suite's teardown removes them. */
const char *harness_name(void);

/* harness_dir/NAME.EXT, in one of a few rotating buffers: use it at once or copy it. */
const char *at(const char *name, const char *ext);

/* Writes text to path, mode 0644 (the daemons re-read their config as nobody). */
void write_file(const char *path, const char *text);

/* Writes the text to path by rename of a new file, as editors do: a reader sees the old file
 * or the new one, never half of it. */
void replace_file(const char *path, const char *text);

/* The whole file, malloc'ed and NUL-terminated ("" when it is missing). */
char *slurp(const char *path);

/* What to show of a daemon's output when a test fails: the first sanitizer report in it, or
 * else its end; at most 3000 bytes (Check's messages are short). */
const char *worth_showing(const char *text);

/* worth_showing() of the file at path. Check evaluates a message's arguments even when the
 * assertion holds: this one allocates nothing that outlives it. */
const char *shown(const char *path);

/* fork+exec argv with stdin from /dev/null and stdout and stderr appended to out_path. The
 * environment is the test's, without what a supervisor may have set for the test itself, with
 * LeakSanitizer off (a daemon after the drop cannot run it) and env (NULL-terminated, or NULL)
 * added. fd3, when >= 0, is passed as descriptor 3. */
pid_t spawn_to(char *const argv[], const char *const env[], const char *out_path, int fd3);

/* The same, in a mount namespace of its own where /run is read-only. */
pid_t spawn_run_read_only(char *const argv[], const char *const env[], const char *out_path,
                          int fd3);

/* Waits at most ms for pid to exit and reaps it: its exit status (128 + signal when killed),
 * or -1 when it is still running. */
int wait_exit(pid_t pid, int ms);

/* Runs argv to its end (at most 60 s) and returns its exit status; what it printed is in out. */
int run_cmd(char *const argv[], const char *const env[], char *out, size_t size);

/* A datagram socket bound at harness_dir/notify.sock (a new one each time); its path in path. */
int notify_socket(char *path, size_t size);

/* Receives one datagram within ms into buf (NUL-terminated): its length, or -1 at the timeout. */
int notify_recv(int fd, char *buf, size_t size, int ms);

/* Whether the datagram text has the line want ("READY=1") among its lines. */
int has_line(const char *text, const char *want);

/* Receives datagrams until one has the line want; fails the test after 10 s. The datagram is
 * left in buf. */
void expect_notify(int fd, const char *want, char *buf, size_t size);

/* Microseconds on CLOCK_MONOTONIC. */
long long now_us(void);

#endif
