/*
 * test/daemon_harness.c - see daemon_harness.h.
 */
#include "daemon_harness.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

const char *const busy_server = BUSY_SERVER;

/* This test case's jail_top ("/run/lust-test-XXXXXX"), kept for its teardown. */
static char run_prefix[128];
/* The outermost directory of RUNSTATEDIR this test case made, or "". */
static char made[256];

static const char *base(const char *path)
{
    return strrchr(path, '/') + 1;
}

/* RUNSTATEDIR, made (root's, 0755) where it is missing, as a packager's prefix may leave it. */
static void make_rundir(void)
{
    char path[sizeof made];
    snprintf(path, sizeof path, "%s", LUST_RUNSTATEDIR);
    made[0] = '\0';
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) == 0 && !made[0])
            snprintf(made, sizeof made, "%s", path);
        else if (errno != EEXIST)
            ck_abort_msg("cannot make %s: %s", path, strerror(errno));
        *p = c;
        if (!c)
            break;
    }
}

static void note_prefix(void)
{
    snprintf(run_prefix, sizeof run_prefix, "%s", jail_top);
    make_rundir();
}

static void remove_default_paths(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -f '%s/%s'-t-*", LUST_RUNSTATEDIR, base(run_prefix));
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s/%s-t-*\n", LUST_RUNSTATEDIR, base(run_prefix));
    if (made[0] && remove_tree(made) < 0)
        fprintf(stderr, "cannot remove %s\n", made);
}

TCase *busy_tcase(const char *name, int timeout)
{
    TCase *tc = server_tcase(name, timeout);
    tcase_add_unchecked_fixture(tc, note_prefix, remove_default_paths);
    return tc;
}

const char *default_path(const char *ext)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s.%s", LUST_RUNSTATEDIR, harness_name(), ext);
    return path;
}

const char *harness_name(void)
{
    static char name[128];
    snprintf(name, sizeof name, "%s-%s", base(run_prefix), base(dir));
    return name;
}

int wait_exit(pid_t pid, int ms)
{
    int status;
    if (!wait_gone(pid, ms))
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    return exit_code(status);
}

int notify_recv(int fd, char *buf, size_t size, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    ck_assert_int_ge(r, 0);
    if (r == 0)
        return -1;
    ssize_t n = recv(fd, buf, size - 1, 0);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    return (int)n;
}

const char *worth_showing(const char *text)
{
    static char buf[3001];
    const char *report = strstr(text, "==================\nWARNING: ThreadSanitizer");
    if (!report)
        report = strstr(text, "ERROR: AddressSanitizer");
    if (!report)
        report = strstr(text, "runtime error:");
    size_t len = strlen(text);
    if (!report)
        report = len > sizeof buf - 1 ? text + len - (sizeof buf - 1) : text;
    snprintf(buf, sizeof buf, "%s", report);
    return buf;
}

const char *shown(const char *path)
{
    char *text = slurp(path, NULL);
    const char *s = worth_showing(text);
    free(text);
    return s;
}

long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
