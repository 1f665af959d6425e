/*
 * test/lust_test.h - what every Check runner shares: main(), and the helpers the suites have in
 * common (directories, files, text, a report pipe, child processes, processes found by their
 * command line, loopback sockets). Defined once, in test/lust_test.c, linked into every runner.
 *
 * Each test/check_NAME.c defines its suite and ends with LUST_TEST_MAIN(suite_fn). Check's fork
 * mode runs each test in its own process, so chroot, setuid or a daemonized child cannot leak
 * from one test into the next. Runners whose tests need root call LUST_TEST_MAIN_ROOT: they exit
 * 77 with a sentence when the kernel does not see root (not_root), which CTest reports as skipped.
 *
 * A helper that "fails the test" does so with ck_assert, and so belongs in a test's own process.
 * The others say what went wrong by their return value and assert nothing: they may run in an
 * unchecked fixture (the runner itself), in a forked child or in a daemon.
 */
#ifndef LUST_TEST_H
#define LUST_TEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define TEST_PRINTF(f, a) __attribute__((format(printf, f, a)))

#define NOBODY  ((uid_t)65534)
#define NOGROUP ((gid_t)65534)

/* Runs the suite in fork mode; EXIT_SUCCESS when no test failed. */
int lust_test_run(Suite *suite);

#define LUST_TEST_MAIN(suite_fn)          \
    int main(void)                        \
    {                                     \
        return lust_test_run(suite_fn()); \
    }

/*
 * Why this process is not root as the kernel sees it, or NULL when it is: its effective uid is 0
 * and it holds CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT and CAP_NET_BIND_SERVICE. Both are asked
 * of the kernel (raw geteuid and capget system calls), never of libc: fakeroot's LD_PRELOAD makes
 * geteuid() say 0 to a process that may chroot nothing, as under `fakeroot debian/rules binary`.
 */
const char *not_root(void);

#define LUST_TEST_MAIN_ROOT(suite_fn)                                                           \
    int main(void)                                                                              \
    {                                                                                           \
        const char *why = not_root();                                                           \
        if (why) {                                                                              \
            printf("SKIP: %s needs root (chroot, setresuid, low ports), and %s; run as root\n", \
                   #suite_fn, why);                                                             \
            return 77;                                                                          \
        }                                                                                       \
        return lust_test_run(suite_fn());                                                       \
    }

/* Becomes nobody for good: no supplementary groups, every uid and gid 65534. 0 or -1. */
int become_nobody(void);
/* Whether the test runs under valgrind, which keeps descriptors of its own and knows neither
 * seccomp filters nor Landlock: a test that cannot mean anything there says so and passes. */
int under_valgrind(void);

/*
 * Directories. new_dir makes PARENT/PREFIX-XXXXXX with mkdtemp and gives it mode (0700 stays
 * private; a jail's parent wants 0755 under /run, since the jail check refuses /tmp's 1777).
 * Returns the malloc'ed path, or NULL with errno set. remove_tree removes path and everything
 * below it without following symbolic links: 0, or -1 when something could not be removed.
 */
char *new_dir(const char *parent, const char *prefix, mode_t mode);
int remove_tree(const char *path);
/*
 * The directory of a test case, as its unchecked fixture (run by the runner, where abort() is the
 * only way to fail), so that a failed test leaves nothing behind. jail_top_make makes jail_top,
 * a root-owned 0755 directory under /run, for tests that make jails (the jail check refuses
 * /tmp's 1777 above a jail); tmp_top_make makes tmp_top, a 0700 directory under /tmp, for
 * runners that need not be root. jail_top_remove and tmp_top_remove kill what still runs with
 * the directory in its command line, unmount what is mounted below it and remove it.
 */
extern char *jail_top, *tmp_top;
void jail_top_make(void);
void jail_top_remove(void);
void tmp_top_make(void);
void tmp_top_remove(void);
/*
 * Detaches (MNT_DETACH) every mount of this mount namespace at path or below it, as a jail with
 * procfs mounted inside would have: remove_tree alone would descend into it. Returns how many,
 * or -1 when /proc/self/mountinfo cannot be read. Asserts nothing.
 */
int unmount_below(const char *path);
/* DIR/NAME, malloc'ed. Fails the test when out of memory. */
char *path_in(const char *dir, const char *name);

/*
 * Files. read_fd reads fd to its end, or until buf (NUL-terminated) is full: the length, or -1.
 * read_text does so for the file at path: buf, or NULL when it cannot be opened or read.
 * read_file is read_text into a static buffer (for small files: pid files, markers).
 * slurp returns the whole file, malloc'ed and NUL-terminated, with its size (NULs included) in
 * *len unless len is NULL; it fails the test when the file cannot be read.
 */
ssize_t read_fd(int fd, char *buf, size_t size);
char *read_text(const char *path, char *buf, size_t size);
const char *read_file(const char *path);
char *slurp(const char *path, size_t *len);
/* Writes all len bytes to fd, retrying short writes and EINTR: 0, or -1 with errno set. */
int write_all(int fd, const void *data, size_t len);
/* Creates or empties path, gives it mode whatever the umask, writes data. Fails the test. */
void write_file(const char *path, const void *data, size_t len, mode_t mode);
/* write_file of a string, mode 0644. */
void write_text(const char *path, const char *text);
/* Waits (at most 10 s, by inotify, no sleep loop) until the file at path contains needle. */
void wait_in_file(const char *path, const char *needle);

/* Text. How many times needle occurs in text (non-overlapping). */
int count_in(const char *text, const char *needle);
/* The first line of text that starts with prefix (a pointer into text), or NULL. */
const char *find_line(const char *text, const char *prefix);
/* Whether text has line (without its newline) as one of its lines. */
int has_line(const char *text, const char *line);
/*
 * The value of a "Key:\tvalue" line (as in /proc/PID/status), blanks around it removed, copied
 * into out: field_in gives out, or NULL (out "") when text has no such line; status_field reads
 * the file at path (e.g. "/proc/self/status") and gives out, "" when the file or line is missing.
 */
const char *field_in(const char *text, const char *key, char *out, size_t size);
const char *status_field(const char *path, const char *key, char *out, size_t size);

/*
 * The report pipe: children and daemons write "key=value" lines with report(), the test reads
 * them all with report_read() once every writer has closed its end (report_end() in each
 * process that holds one). report_open fails the test; the others assert nothing.
 */
int report_open(void); /* a fresh pipe; returns its write end */
int report_fd(void);   /* the write end, -1 once closed in this process */
void report(const char *fmt, ...) TEST_PRINTF(1, 2);
void report_end(void);
char *report_read(void); /* closes this process's write end; a static buffer */
/* The value of "key=value" in a report, or "" when absent; a static buffer. */
const char *report_get(const char *text, const char *key);

/*
 * Child processes. in_child runs fn(arg) in a forked child that exits with fn's value, and
 * returns the raw wait status; exit_code turns a status into the exit code, or 128 + signal.
 */
int in_child(int (*fn)(void *), void *arg);
int exit_code(int status);

/* The exit code and output of a program that ran to its end. */
struct result {
    int code; /* exit status, or 128 + signal */
    char out[8192];
    char err[8192];
};

/*
 * How a program is started. Zero-initialised (or NULL) means: as the test itself is, with
 * stdin from /dev/null.
 */
struct how {
    const char *env[4]; /* "NAME=VALUE", NULL-terminated */
    int fd3;            /* passed as descriptor 3 when > 0 */
    int fd4;            /* passed as descriptor 4 when > 0 */
    int close_stdio;    /* started with descriptors 0, 1 and 2 closed */
    int nofile;         /* RLIMIT_NOFILE when > 0 */
    int as_nobody;
    const char *out_file; /* stdout and stderr appended to this file, not pipes (*out, *err -1):
                             for a daemon that writes more than a pipe holds while it runs */
    int run_read_only;    /* in a mount namespace of its own where /run is read-only */
};

/*
 * fork+exec argv[0] with stdin from /dev/null and stdout/stderr into pipes (*out, *err), or the
 * file how->out_file. The environment is the test's without anything a supervisor may have set
 * for it. how may be NULL.
 */
pid_t spawn(char *const argv[], const struct how *how, int *out, int *err);
/* Reads out and err to their end (at most 20 s), then reaps pid into r->code. */
void collect(pid_t pid, int out, int err, struct result *r);
/* spawn, then collect: runs argv (NULL-terminated) to its end. */
void run_argv(struct result *r, const struct how *how, char *const argv[]);

/*
 * Processes found by command line. find_procs puts into pids (at most max) the live processes
 * (zombies excepted) whose argv mentions needle, the test itself excepted, and returns how many.
 * wait_gone waits at most ms for pid to exit (a zombie counts: it returns 1), else returns 0.
 * count_left says how many such processes are still there once the exiting ones are gone;
 * kill_all sends them SIGKILL and waits for them.
 */
int find_procs(const char *needle, pid_t *pids, int max);
int wait_gone(pid_t pid, int ms);
int count_left(const char *needle);
void kill_all(const char *needle);

/*
 * The log's line format, "2026-11-26T18:31:35.123+00:00 INFO message" (after an optional "<N>"
 * priority prefix for journald): whether line has it, and the line past its time stamp.
 */
int log_line_ok(const char *line);
const char *after_stamp(const char *line);

/* Loopback. A TCP port on 127.0.0.1 that was free a moment ago. */
int free_port(void);
/* A TCP socket listening on 127.0.0.1:*port; *port 0 asks for a port the kernel picks, written
 * back. Fails the test. */
int tcp_listener(int *port);
/* Connects to 127.0.0.1:port and returns what the server says before closing (10 s at most);
 * "" when nothing listens there. */
const char *greet(int port, char *buf, size_t size);

#endif
