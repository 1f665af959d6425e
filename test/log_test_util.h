/*
 * test/log_test_util.h - file and process helpers shared by the log module's test runners.
 */
#ifndef LUST_LOG_TEST_UTIL_H
#define LUST_LOG_TEST_UTIL_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A line as the log writes it: "2026-11-26T18:31:35.123+00:00 INFO message". */
#define LOG_LINE_RE                                                                            \
    "^(<[0-7]>)?[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}[+-][0-9]{2}:" \
    "[0-9]{2} (DEBUG|INFO|NOTICE|WARNING|ERROR) "

static inline int log_line_ok(const char *line)
{
    static regex_t re;
    static int compiled;
    if (!compiled) {
        ck_assert_int_eq(regcomp(&re, LOG_LINE_RE, REG_EXTENDED | REG_NOSUB), 0);
        compiled = 1;
    }
    return regexec(&re, line, 0, NULL, 0) == 0;
}

/* The prefix is fixed-width up to the level: skip it to reach "LEVEL message". */
static inline const char *after_stamp(const char *line)
{
    const char *p = strchr(line, ' ');
    return p ? p + 1 : line;
}

static inline char *temp_dir(void)
{
    char *d = strdup("/tmp/lust-log-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void rm_tree(char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static inline char *path_in(const char *dir, const char *name)
{
    char *p;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* The whole file as a string (NUL-terminated; *len gets the size, NULs included). */
static inline char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap)
            buf = realloc(buf, (cap *= 2) + 1);
        ssize_t r = read(fd, buf + n, cap - n);
        ck_assert_int_ge(r, 0);
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* Point stderr (where the log writes before setup) at a fresh file. */
static inline void stderr_to(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
}

/* Run fn in a child and return its exit status (128 + signal if killed). */
static inline int in_child(int (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fn(arg));
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
