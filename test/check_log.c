/* test/check_log.c - the log module: format, levels, whole lines, reopen, failures, setup. */
#include "lust_test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <stdio_ext.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include <lust.h>

#define THREADS 4

struct fixture {
    char *dir;
    char *path;
};

static struct fixture fx;

static void fx_setup(void)
{
    fx.dir = new_dir("/tmp", "lust-log", 0700);
    ck_assert_ptr_nonnull(fx.dir);
    fx.path = path_in(fx.dir, "test.log");
}

static void fx_teardown(void)
{
    free(fx.path);
    remove_tree(fx.dir);
    free(fx.dir);
}

/* Point stderr (where the log writes before setup) at a fresh file. */
static void stderr_to(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    close(fd);
}

/* Send the log to fx.path through the public API, without closing anything. */
static void log_to_file(void)
{
    int fd = lust_log_open(fx.path);
    ck_assert_int_ge(fd, 3);
    ck_assert_int_eq(lust_log_reopen_fd(fd), 0);
}

START_TEST(lines_before_setup_go_to_stderr_in_the_documented_format)
{
    stderr_to(fx.path);
    lust_log(LUST_LOG_INFO, "listening on %s:%d", "127.0.0.1", 8080);
    char *text = slurp(fx.path, NULL);
    ck_assert_msg(log_line_ok(text), "bad line: %s", text);
    ck_assert_str_eq(after_stamp(text), "INFO listening on 127.0.0.1:8080\n");
    ck_assert_int_eq(count_in(text, "\n"), 1);
    free(text);
}
END_TEST

/* The expected "YYYY-MM-DDTHH:MM" for now + offset seconds, computed without the tz code. */
static void expected_minute(char *out, size_t len, time_t t, long offset)
{
    t += offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M", &tm);
}

START_TEST(timestamp_is_local_time_in_a_zone_set_before_setup)
{
    /* A process that already used the zone (as UTC) keeps it unless tzset() runs again. */
    unsetenv("TZ");
    time_t t0 = time(NULL);
    struct tm tm;
    localtime_r(&t0, &tm);
    ck_assert_int_eq(setenv("TZ", "XYZ-05:30", 1), 0);
    stderr_to(fx.path);
    ck_assert_int_eq(lust_log_setup(NULL, NULL, 0), 0);

    char before[32], after[32];
    expected_minute(before, sizeof before, time(NULL), 5 * 3600 + 1800);
    lust_log(LUST_LOG_INFO, "zoned");
    expected_minute(after, sizeof after, time(NULL), 5 * 3600 + 1800);

    char *text = slurp(fx.path, NULL);
    ck_assert_msg(strncmp(text, before, 16) == 0 || strncmp(text, after, 16) == 0,
                  "want %s or %s in %s", before, after, text);
    ck_assert_msg(strstr(text, "+05:30 INFO zoned\n") != NULL, "no +05:30 offset: %s", text);
    free(text);
}
END_TEST

START_TEST(timestamp_carries_a_negative_offset_for_new_york)
{
    ck_assert_int_eq(setenv("TZ", "America/New_York", 1), 0);
    stderr_to(fx.path);
    ck_assert_int_eq(lust_log_setup(NULL, NULL, 0), 0);
    lust_log(LUST_LOG_NOTICE, "east");
    char *text = slurp(fx.path, NULL);
    ck_assert_msg(strstr(text, "-05:00 NOTICE east\n") || strstr(text, "-04:00 NOTICE east\n"),
                  "not New York time: %s", text);
    free(text);
}
END_TEST

START_TEST(debug_is_off_by_default_and_the_threshold_changes_at_run_time)
{
    stderr_to(fx.path);
    ck_assert_int_eq(lust_log_get_level(), LUST_LOG_INFO);
    lust_log(LUST_LOG_DEBUG, "hidden debug");
    lust_log(LUST_LOG_INFO, "shown info");
    ck_assert_int_eq(lust_log_set_level(LUST_LOG_DEBUG), 0);
    lust_log(LUST_LOG_DEBUG, "shown debug");
    ck_assert_int_eq(lust_log_set_level(LUST_LOG_ERROR), 0);
    lust_log(LUST_LOG_WARNING, "hidden warning");
    lust_log(LUST_LOG_ERROR, "shown error");
    ck_assert_int_eq(lust_log_set_level(7), -EINVAL);
    ck_assert_int_eq(lust_log_get_level(), LUST_LOG_ERROR);

    char *text = slurp(fx.path, NULL);
    ck_assert_ptr_null(strstr(text, "hidden"));
    ck_assert_ptr_nonnull(strstr(text, " INFO shown info\n"));
    ck_assert_ptr_nonnull(strstr(text, " DEBUG shown debug\n"));
    ck_assert_ptr_nonnull(strstr(text, " ERROR shown error\n"));
    ck_assert_int_eq(count_in(text, "\n"), 3);
    free(text);
}
END_TEST

START_TEST(level_names_parse_in_any_case_and_unknown_ones_are_refused)
{
    ck_assert_int_eq(lust_log_level_from_name("debug"), LUST_LOG_DEBUG);
    ck_assert_int_eq(lust_log_level_from_name("INFO"), LUST_LOG_INFO);
    ck_assert_int_eq(lust_log_level_from_name("Notice"), LUST_LOG_NOTICE);
    ck_assert_int_eq(lust_log_level_from_name("warning"), LUST_LOG_WARNING);
    ck_assert_int_eq(lust_log_level_from_name("warn"), LUST_LOG_WARNING);
    ck_assert_int_eq(lust_log_level_from_name("error"), LUST_LOG_ERROR);
    ck_assert_int_eq(lust_log_level_from_name("err"), LUST_LOG_ERROR);
    ck_assert_int_eq(lust_log_level_from_name("verbose"), -EINVAL);
    ck_assert_str_eq(lust_error(), "log level \"verbose\" unknown (debug, info, notice, warning "
                                   "(warn) or error (err))");
    ck_assert_int_eq(lust_log_level_from_name(NULL), -EINVAL);
    ck_assert_str_eq(lust_log_level_name(LUST_LOG_WARNING), "WARNING");
    ck_assert_ptr_null(lust_log_level_name(9));
}
END_TEST

/* 1.0 binaries carry these numbers; syslog's run the other way and convert only by name. */
START_TEST(levels_stay_0_to_4_and_convert_both_ways_with_syslog_priorities)
{
    ck_assert_int_eq(LUST_LOG_DEBUG, 0);
    ck_assert_int_eq(LUST_LOG_INFO, 1);
    ck_assert_int_eq(LUST_LOG_NOTICE, 2);
    ck_assert_int_eq(LUST_LOG_WARNING, 3);
    ck_assert_int_eq(LUST_LOG_ERROR, 4);
    static const struct {
        int level, priority;
    } pairs[] = {{LUST_LOG_DEBUG, LOG_DEBUG},
                 {LUST_LOG_INFO, LOG_INFO},
                 {LUST_LOG_NOTICE, LOG_NOTICE},
                 {LUST_LOG_WARNING, LOG_WARNING},
                 {LUST_LOG_ERROR, LOG_ERR}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        ck_assert_int_eq(lust_log_level_to_syslog(pairs[i].level), pairs[i].priority);
        ck_assert_int_eq(lust_log_level_from_syslog(pairs[i].priority), pairs[i].level);
    }
    ck_assert_int_eq(lust_log_level_from_syslog(LOG_CRIT), LUST_LOG_ERROR);
    ck_assert_int_eq(lust_log_level_from_syslog(LOG_EMERG), LUST_LOG_ERROR);
    ck_assert_int_eq(lust_log_level_from_syslog(8), -EINVAL);
    ck_assert_str_eq(lust_error(), "syslog priority 8 unknown (0 to 7)");
    ck_assert_int_eq(lust_log_level_from_syslog(-1), -EINVAL);
    ck_assert_int_eq(lust_log_level_to_syslog(5), -EINVAL);
    ck_assert_int_eq(lust_log_level_to_syslog(-1), -EINVAL);
}
END_TEST

/* A syslog priority given to the log by mistake: LOG_INFO is above LUST_LOG_ERROR. */
START_TEST(a_syslog_priority_converted_at_the_edge_logs_at_its_own_level)
{
    stderr_to(fx.path);
    lust_log(lust_log_level_from_syslog(LOG_INFO), "converted");
    lust_log(LOG_INFO, "raw");
    char *text = slurp(fx.path, NULL);
    ck_assert_ptr_nonnull(strstr(text, " INFO converted\n"));
    ck_assert_ptr_nonnull(strstr(text, " ERROR raw\n"));
    free(text);
}
END_TEST

START_TEST(newlines_inside_a_message_stay_one_escaped_line)
{
    stderr_to(fx.path);
    lust_log(LUST_LOG_INFO, "first\nsecond\r\nthird\n");
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(after_stamp(text), "INFO first\\nsecond\\r\\nthird\n");
    free(text);
}
END_TEST

START_TEST(control_bytes_and_broken_utf8_are_escaped_and_utf8_kept)
{
    stderr_to(fx.path);
    lust_log(LUST_LOG_INFO, "a\tb\x1b[2Jc\x07"
                            "d\x7f"
                            "e\xc2\x9b"
                            "f\xff"
                            "g caf\xc3\xa9 \xe2\x82\xac");
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(after_stamp(text), "INFO a\\tb\\x1b[2Jc\\x07d\\x7fe\\xc2\\x9bf\\xffg "
                                        "caf\xc3\xa9 \xe2\x82\xac\n");
    free(text);
}
END_TEST

START_TEST(an_escape_is_never_cut_in_half)
{
    stderr_to(fx.path);
    char *msg = malloc(LUST_LOG_MESSAGE_MAX + 1);
    memset(msg, '\x01', LUST_LOG_MESSAGE_MAX);
    msg[LUST_LOG_MESSAGE_MAX] = '\0';
    lust_log(LUST_LOG_INFO, "%s", msg);
    char *text = slurp(fx.path, NULL);
    char *end = strstr(text, LUST_LOG_CUT_MARKER "\n");
    ck_assert_ptr_nonnull(end);
    const char *body = after_stamp(text) + strlen("INFO ");
    ck_assert_int_eq((end - body) % 4, 0);
    for (const char *p = body; p < end; p += 4)
        ck_assert_int_eq(memcmp(p, "\\x01", 4), 0);
    free(msg);
    free(text);
}
END_TEST

static char *filled(size_t n, char c)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(a_message_of_8_KiB_reaches_a_file_whole)
{
    stderr_to(fx.path);
    char *msg = filled(LUST_LOG_MESSAGE_MAX, 'm');
    lust_log(LUST_LOG_INFO, "%s", msg);
    char *text = slurp(fx.path, NULL);
    ck_assert_int_eq(count_in(text, "\n"), 1);
    const char *body = after_stamp(text) + strlen("INFO ");
    ck_assert_uint_eq(strlen(body), LUST_LOG_MESSAGE_MAX + 1);
    ck_assert_int_eq(strncmp(body, msg, LUST_LOG_MESSAGE_MAX), 0);
    free(msg);
    free(text);
}
END_TEST

START_TEST(a_longer_message_is_cut_with_a_visible_marker)
{
    stderr_to(fx.path);
    char *msg = filled(3 * LUST_LOG_MESSAGE_MAX, 'm');
    lust_log(LUST_LOG_INFO, "%s", msg);
    lust_log(LUST_LOG_INFO, "next");
    char *text = slurp(fx.path, NULL);
    ck_assert_int_eq(count_in(text, "\n"), 2);
    char *nl = strchr(text, '\n');
    size_t mlen = strlen(LUST_LOG_CUT_MARKER);
    ck_assert_int_eq(memcmp(nl - mlen, LUST_LOG_CUT_MARKER, mlen), 0);
    ck_assert_uint_ge((size_t)(nl - text), LUST_LOG_MESSAGE_MAX);
    ck_assert_uint_lt((size_t)(nl - text), 2 * LUST_LOG_MESSAGE_MAX);
    ck_assert_str_eq(after_stamp(nl + 1), "INFO next\n");
    free(msg);
    free(text);
}
END_TEST

START_TEST(a_long_constant_message_is_cut_like_a_formatted_one)
{
    stderr_to(fx.path);
    char *msg = filled(3 * LUST_LOG_MESSAGE_MAX, 'c');
    lust_log(LUST_LOG_INFO, "%s", msg);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
    lust_log(LUST_LOG_INFO, msg); /* no '%': the constant-message path */
#pragma GCC diagnostic pop
    char *text = slurp(fx.path, NULL);
    ck_assert_int_eq(count_in(text, "\n"), 2);
    char *second = strchr(text, '\n') + 1;
    second[-1] = '\0';
    *strchr(second, '\n') = '\0';
    ck_assert(strstr(text, LUST_LOG_CUT_MARKER) != NULL);
    ck_assert_int_eq(strcmp(after_stamp(second), after_stamp(text)), 0);
    free(msg);
    free(text);
}
END_TEST

START_TEST(escaping_that_overflows_is_cut_without_a_half_escape)
{
    stderr_to(fx.path);
    char *msg = filled(LUST_LOG_MESSAGE_MAX + 600, '\n');
    lust_log(LUST_LOG_INFO, "x%s", msg);
    char *text = slurp(fx.path, NULL);
    ck_assert_int_eq(count_in(text, "\n"), 1);
    char *end = strstr(text, LUST_LOG_CUT_MARKER "\n");
    ck_assert_ptr_nonnull(end);
    /* Only whole "\n" pairs before the marker. */
    const char *body = after_stamp(text) + strlen("INFO x");
    ck_assert_int_eq((end - body) % 2, 0);
    for (const char *p = body; p < end; p += 2)
        ck_assert(p[0] == '\\' && p[1] == 'n');
    free(msg);
    free(text);
}
END_TEST

START_TEST(lines_to_a_pipe_are_capped_at_PIPE_BUF)
{
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
    close(p[1]);
    ck_assert_int_eq(lust_log_setup(NULL, NULL, 0), 0);
    char *msg = filled(2 * PIPE_BUF, 'p');
    lust_log(LUST_LOG_INFO, "%s", msg);
    close(STDERR_FILENO);
    char buf[4 * PIPE_BUF];
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], buf + n, sizeof buf - n)) > 0)
        n += (size_t)r;
    ck_assert_uint_le(n, PIPE_BUF);
    ck_assert_uint_gt(n, PIPE_BUF - 64);
    buf[n] = '\0';
    ck_assert_ptr_nonnull(strstr(buf, LUST_LOG_CUT_MARKER "\n"));
    ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
    free(msg);
}
END_TEST

START_TEST(logging_never_changes_errno)
{
    stderr_to(fx.path);
    errno = ENOENT;
    lust_log(LUST_LOG_INFO, "open failed: %m");
    ck_assert_int_eq(errno, ENOENT);
    errno = EXDEV;
    lust_log(LUST_LOG_DEBUG, "filtered");
    ck_assert_int_eq(errno, EXDEV);
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(full, 0);
    ck_assert_int_eq(lust_log_reopen_fd(full), 0);
    errno = EXDEV;
    lust_log(LUST_LOG_ERROR, "dropped");
    ck_assert_int_eq(errno, EXDEV);
    errno = EXDEV;
    ck_assert_int_eq(lust_log_setup(NULL, NULL, 0), 0);
    ck_assert_int_eq(errno, EXDEV);
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(after_stamp(text), "INFO open failed: No such file or directory\n");
    free(text);
}
END_TEST

START_TEST(lines_lost_on_dev_full_are_counted_and_reported_by_the_next_line)
{
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(full, 0);
    ck_assert_int_eq(lust_log_reopen_fd(full), 0);
    ck_assert_uint_eq(lust_log_dropped(), 0);
    for (int i = 0; i < 3; i++)
        lust_log(LUST_LOG_ERROR, "lost %d", i);
    ck_assert_uint_eq(lust_log_dropped(), 3);

    log_to_file();
    lust_log(LUST_LOG_INFO, "back");
    lust_log(LUST_LOG_INFO, "again");
    ck_assert_uint_eq(lust_log_dropped(), 3);
    char *text = slurp(fx.path, NULL);
    ck_assert_int_eq(count_in(text, "\n"), 3);
    ck_assert_msg(log_line_ok(text), "%s", text);
    ck_assert_int_eq(
        strncmp(after_stamp(text), "WARNING log: 3 lines dropped (No space left on device)\n", 55),
        0);
    char *second = strchr(text, '\n') + 1;
    ck_assert_int_eq(strncmp(after_stamp(second), "INFO back\n", 10), 0);
    free(text);
}
END_TEST

START_TEST(a_partly_written_line_never_glues_onto_the_next)
{
    log_to_file();
    struct rlimit old, small;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 100;
    signal(SIGXFSZ, SIG_IGN);
    char *msg = filled(300, 'f');
    /* No ck_assert until the limit is back: Check records each one in a file of its own. */
    int lowered = setrlimit(RLIMIT_FSIZE, &small);
    lust_log(LUST_LOG_INFO, "%s", msg);
    int restored = setrlimit(RLIMIT_FSIZE, &old);
    ck_assert_int_eq(lowered, 0);
    ck_assert_int_eq(restored, 0);
    ck_assert_uint_eq(lust_log_dropped(), 1);
    lust_log(LUST_LOG_INFO, "whole");

    size_t len;
    char *text = slurp(fx.path, &len);
    ck_assert_uint_gt(len, 100);
    ck_assert_int_eq(text[100], '\n');
    char *next = text + 101;
    ck_assert_msg(log_line_ok(next), "%s", next);
    ck_assert_ptr_nonnull(strstr(next, " WARNING log: 1 line dropped (File too large)\n"));
    ck_assert_str_eq(after_stamp(strchr(next, '\n') + 1), "INFO whole\n");
    free(msg);
    free(text);
}
END_TEST

static void *log_many(void *arg)
{
    long t = (long)arg;
    for (int i = 0; i < 50000; i++)
        lust_log(LUST_LOG_INFO, "t=%ld i=%d padding-to-make-the-line-about-eighty-bytes", t, i);
    return NULL;
}

/* Every line whole and every (thread, index) exactly once across the given files. */
static void check_all_lines(char **paths, int npaths, int per_thread)
{
    char *seen = calloc((size_t)THREADS * (size_t)per_thread, 1);
    size_t total = 0;
    for (int f = 0; f < npaths; f++) {
        size_t len;
        char *text = slurp(paths[f], &len), *end = text + len;
        /* memchr, not strchr: ASan's strict_string_checks makes strchr read to the NUL. */
        for (char *line = text, *nl; (nl = memchr(line, '\n', (size_t)(end - line))) != NULL;
             line = nl + 1) {
            *nl = '\0';
            ck_assert_msg(log_line_ok(line), "torn line: %s", line);
            long t;
            int i, used = 0;
            ck_assert_msg(sscanf(after_stamp(line), "INFO t=%ld i=%d %*s%n", &t, &i, &used) == 2 &&
                              after_stamp(line)[used] == '\0',
                          "glued line: %s", line);
            ck_assert(t >= 0 && t < THREADS && i >= 0 && i < per_thread);
            ck_assert_msg(!seen[t * per_thread + i], "duplicate t=%ld i=%d", t, i);
            seen[t * per_thread + i] = 1;
            total++;
        }
        free(text);
    }
    ck_assert_uint_eq(total, (size_t)THREADS * (size_t)per_thread);
    free(seen);
}

START_TEST(four_threads_write_200000_whole_lines)
{
    log_to_file();
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, log_many, (void *)t), 0);
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    ck_assert_uint_eq(lust_log_dropped(), 0);
    check_all_lines(&fx.path, 1, 50000);
}
END_TEST

START_TEST(reopen_after_rename_sends_the_next_line_to_a_new_file)
{
    log_to_file();
    lust_log(LUST_LOG_INFO, "before");
    char *old = path_in(fx.dir, "test.log.1");
    ck_assert_int_eq(rename(fx.path, old), 0);
    ck_assert_int_eq(lust_log_reopen(), 0);
    lust_log(LUST_LOG_INFO, "after");
    char *a = slurp(old, NULL), *b = slurp(fx.path, NULL);
    ck_assert_str_eq(after_stamp(a), "INFO before\n");
    ck_assert_str_eq(after_stamp(b), "INFO after\n");
    free(a);
    free(b);
    free(old);
}
END_TEST

START_TEST(reopen_failure_keeps_the_old_file)
{
    char *sub = path_in(fx.dir, "sub"), *moved = path_in(fx.dir, "moved");
    char *path = path_in(sub, "test.log"), *now = path_in(moved, "test.log");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    int fd = lust_log_open(path);
    ck_assert_int_ge(fd, 3);
    ck_assert_int_eq(lust_log_reopen_fd(fd), 0);
    ck_assert_int_eq(rename(sub, moved), 0);
    ck_assert_int_eq(lust_log_reopen(), -ENOENT);
    ck_assert_ptr_nonnull(strstr(lust_error(), path));
    lust_log(LUST_LOG_INFO, "still here");
    char *text = slurp(now, NULL);
    ck_assert_str_eq(after_stamp(text), "INFO still here\n");
    free(text);
    free(now);
    free(path);
    free(moved);
    free(sub);
}
END_TEST

static void *log_some(void *arg)
{
    long t = (long)arg;
    for (int i = 0; i < 20000; i++)
        lust_log(LUST_LOG_INFO, "t=%ld i=%d padding-to-make-the-line-about-eighty-bytes", t, i);
    return NULL;
}

START_TEST(reopen_in_a_loop_while_four_threads_log_loses_no_line)
{
    enum { ROTATIONS = 40 };
    log_to_file();
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, log_some, (void *)t), 0);
    char *paths[ROTATIONS + 1];
    for (int k = 0; k < ROTATIONS; k++) {
        char name[32];
        snprintf(name, sizeof name, "test.log.%d", k);
        paths[k] = path_in(fx.dir, name);
        ck_assert_int_eq(rename(fx.path, paths[k]), 0);
        ck_assert_int_eq(lust_log_reopen(), 0);
        sched_yield();
    }
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
    paths[ROTATIONS] = fx.path;
    check_all_lines(paths, ROTATIONS + 1, 20000);
    for (int k = 0; k < ROTATIONS; k++)
        free(paths[k]);
}
END_TEST

START_TEST(open_creates_the_file_0640_append_cloexec_and_redirects_nothing)
{
    umask(0);
    struct stat err_before, err_after;
    ck_assert_int_eq(fstat(STDERR_FILENO, &err_before), 0);
    int fd = lust_log_open(fx.path);
    ck_assert_int_ge(fd, 3);
    struct stat st;
    ck_assert_int_eq(stat(fx.path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    ck_assert(fcntl(fd, F_GETFL) & O_APPEND);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ck_assert_int_eq(fstat(STDERR_FILENO, &err_after), 0);
    ck_assert(err_before.st_ino == err_after.st_ino && err_before.st_dev == err_after.st_dev);
    close(fd);
}
END_TEST

START_TEST(a_truncated_log_gets_no_hole)
{
    log_to_file();
    for (int i = 0; i < 100; i++)
        lust_log(LUST_LOG_INFO, "filler line %d", i);
    ck_assert_int_eq(truncate(fx.path, 0), 0);
    lust_log(LUST_LOG_INFO, "after truncate");
    size_t len;
    char *text = slurp(fx.path, &len);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_str_eq(after_stamp(text), "INFO after truncate\n");
    free(text);
}
END_TEST

START_TEST(a_symlinked_log_path_is_refused_and_the_target_untouched)
{
    char *victim = path_in(fx.dir, "victim");
    int v = open(victim, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(v, 0);
    close(v);
    ck_assert_int_eq(symlink(victim, fx.path), 0);
    ck_assert_int_eq(lust_log_setup(fx.path, NULL, 0), -ELOOP);
    ck_assert_ptr_nonnull(strstr(lust_error(), fx.path));
    ck_assert_int_eq(lust_log_open(fx.path), -ELOOP);
    struct stat st;
    ck_assert_int_eq(stat(victim, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    free(victim);
}
END_TEST

START_TEST(a_hard_linked_log_file_is_refused)
{
    int fd = open(fx.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char *other = path_in(fx.dir, "other");
    ck_assert_int_eq(link(fx.path, other), 0);
    ck_assert_int_eq(lust_log_open(fx.path), -EMLINK);
    ck_assert_ptr_nonnull(strstr(lust_error(), fx.path));
    free(other);
}
END_TEST

START_TEST(a_fifo_in_place_of_the_log_is_refused_at_once_read_or_not)
{
    ck_assert_int_eq(mkfifo(fx.path, 0600), 0);
    /* Nobody reads it: an open that blocked would hang here until the test's timeout. */
    ck_assert_int_eq(lust_log_open(fx.path), -ENXIO);
    ck_assert_ptr_nonnull(strstr(lust_error(), fx.path));

    /* Held open by someone who need never read: every logging thread would block on it. */
    int reader = open(fx.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ck_assert_int_ge(reader, 0);
    ck_assert_int_eq(lust_log_open(fx.path), -EPERM);
    ck_assert_ptr_nonnull(strstr(lust_error(), "not a regular file"));
    close(reader);
}
END_TEST

static int same_file(int fd, const struct stat *want)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

START_TEST(setup_failure_closes_and_redirects_nothing)
{
    struct stat before[4];
    int extra = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(extra, 3);
    int fds[4] = {0, 1, 2, extra};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(fstat(fds[i], &before[i]), 0);
    char *bad = path_in(fx.dir, "missing/test.log");
    ck_assert_int_eq(lust_log_setup(bad, NULL, 0), -ENOENT);
    ck_assert_ptr_nonnull(strstr(lust_error(), bad));
    ck_assert_ptr_nonnull(strstr(lust_error(), "No such file or directory"));
    for (int i = 0; i < 4; i++)
        ck_assert_msg(same_file(fds[i], &before[i]), "fd %d changed", fds[i]);
    /* Nothing remembered either: reopen has no path to open. */
    ck_assert_int_eq(lust_log_reopen(), 0);
    ck_assert_int_eq(access(bad, F_OK), -1);
    free(bad);
}
END_TEST

/* Child bodies for setup, which closes descriptors Check itself uses. Exit code = failed step. */
static int setup_child(void *arg)
{
    (void)arg;
    int dropped = open("/dev/null", O_RDONLY); /* not CLOEXEC: setup must close it anyway */
    int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (dropped < 3 || keep < 3)
        return 10;
    if (lust_log_setup(fx.path, &keep, 1) != 0)
        return 11;
    if (fcntl(dropped, F_GETFD) != -1 || errno != EBADF)
        return 12;
    if (fcntl(keep, F_GETFD) < 0)
        return 13;
    struct stat log, null, st;
    if (stat(fx.path, &log) < 0 || stat("/dev/null", &null) < 0)
        return 14;
    if (!same_file(1, &log) || !same_file(2, &log))
        return 15;
    if (fstat(0, &st) < 0 || st.st_rdev != null.st_rdev || !S_ISCHR(st.st_mode))
        return 16;
    for (int fd = 3; fd < 64; fd++)
        if (fd != keep && fcntl(fd, F_GETFD) != -1)
            return 17;
    lust_log(LUST_LOG_INFO, "set up");
    fprintf(stderr, "from stderr\n");
    return 0;
}

/*
 * A pid file handle and a notify connection opened before a setup whose keep list forgets them:
 * both survive, so the lock is not dropped and the handles never touch a reused number.
 */
static int setup_keeps_handles_child(void *arg)
{
    (void)arg;
    char *pidpath = path_in(fx.dir, "d.pid"), *sock = path_in(fx.dir, "notify");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    int manager = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (manager < 0 || bind(manager, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        setenv("NOTIFY_SOCKET", sock, 1) < 0)
        return 10;
    struct lust_pidfile *pf;
    struct lust_notify *n;
    int opened = lust_pidfile_open(pidpath, &pf, NULL) == 0 && lust_notify_open(&n, 0) == 1;
    free(pidpath);
    free(sock);
    if (!opened)
        return 11;
    struct stat want;
    if (fstat(lust_pidfile_fd(pf), &want) < 0)
        return 12;
    int keep = manager;
    if (lust_log_setup(fx.path, &keep, 1) != 0)
        return 13;
    if (!same_file(lust_pidfile_fd(pf), &want))
        return 14;
    if (lust_notify_send(n, "STATUS=kept") <= 0)
        return 15;
    char got[64] = "";
    if (recv(manager, got, sizeof got - 1, MSG_DONTWAIT) < 0 || strcmp(got, "STATUS=kept") != 0)
        return 16;
    if (lust_pidfile_release(pf) != 0)
        return 17;
    lust_notify_close(n);
    return 0;
}

START_TEST(setup_keeps_the_descriptors_of_liblusts_own_handles)
{
    ck_assert_int_eq(in_child(setup_keeps_handles_child, NULL), 0);
}
END_TEST

START_TEST(setup_redirects_stdio_and_closes_all_but_the_kept_descriptors)
{
    ck_assert_int_eq(exit_code(in_child(setup_child, NULL)), 0);
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(after_stamp(text), "INFO set up\nfrom stderr\n");
    free(text);
}
END_TEST

static int printf_then_crash(void *arg)
{
    (void)arg;
    if (lust_log_setup(fx.path, NULL, 0) != 0)
        return 1;
    printf("printed before the crash\n");
    raise(SIGKILL);
    return 2;
}

START_TEST(printf_output_lands_in_the_log_even_if_the_daemon_is_killed)
{
    ck_assert_int_eq(exit_code(in_child(printf_then_crash, NULL)), 128 + SIGKILL);
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(text, "printed before the crash\n");
    free(text);
}
END_TEST

/* stdout was written (so it has a full buffer) before setup: setup still makes it line buffered. */
static int printf_after_earlier_use_then_crash(void *arg)
{
    (void)arg;
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
        return 1;
    close(null);
    printf("before setup\n");
    fflush(stdout);
    if (lust_log_setup(fx.path, NULL, 0) != 0)
        return 2;
    printf("printed after setup\n");
    raise(SIGKILL);
    return 3;
}

START_TEST(printf_lands_in_the_log_even_when_stdout_was_used_before_setup)
{
    ck_assert_int_eq(exit_code(in_child(printf_after_earlier_use_then_crash, NULL)), 128 + SIGKILL);
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(text, "printed after setup\n");
    free(text);
}
END_TEST

/* stdout has no buffer yet at setup (the usual daemon): it is line buffered all the same. */
static int printf_on_a_fresh_stdout_then_crash(void *arg)
{
    (void)arg;
    /* freopen drops the stream's buffer; glibc allocates the next one at the first write. */
    if (freopen("/dev/null", "w", stdout) == NULL || __fbufsize(stdout) != 0)
        return 1;
    if (lust_log_setup(fx.path, NULL, 0) != 0)
        return 2;
    printf("printed on a fresh stream\n");
    raise(SIGKILL);
    return 3;
}

START_TEST(printf_lands_in_the_log_when_stdout_had_no_buffer_at_setup)
{
    ck_assert_int_eq(exit_code(in_child(printf_on_a_fresh_stdout_then_crash, NULL)), 128 + SIGKILL);
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(text, "printed on a fresh stream\n");
    free(text);
}
END_TEST

static int setup_fd_child(void *arg)
{
    (void)arg;
    int fd = lust_log_open(fx.path);
    if (fd < 3)
        return 1;
    struct stat before;
    fstat(STDERR_FILENO, &before);
    if (!same_file(STDERR_FILENO, &before))
        return 2;
    if (lust_log_setup_fd(fd, NULL, 0) != 0)
        return 3;
    if (fcntl(fd, F_GETFD) != -1)
        return 4;
    lust_log(LUST_LOG_INFO, "installed later");
    char old[PATH_MAX];
    snprintf(old, sizeof old, "%s.1", fx.path);
    if (rename(fx.path, old) != 0 || lust_log_reopen() != 0)
        return 5;
    lust_log(LUST_LOG_INFO, "reopened");
    return 0;
}

START_TEST(setup_fd_installs_a_log_opened_earlier_and_reopen_knows_its_path)
{
    ck_assert_int_eq(exit_code(in_child(setup_fd_child, NULL)), 0);
    char *old = path_in(fx.dir, "test.log.1");
    char *a = slurp(old, NULL), *b = slurp(fx.path, NULL);
    ck_assert_str_eq(after_stamp(a), "INFO installed later\n");
    ck_assert_str_eq(after_stamp(b), "INFO reopened\n");
    free(a);
    free(b);
    free(old);
}
END_TEST

START_TEST(foreground_setup_keeps_every_descriptor_and_logs_to_stderr)
{
    int extra = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(extra, 3);
    stderr_to(fx.path);
    ck_assert_int_eq(lust_log_setup(NULL, NULL, 0), 0);
    ck_assert_int_ge(fcntl(extra, F_GETFD), 0);
    lust_log(LUST_LOG_WARNING, "foreground");
    ck_assert_int_eq(lust_log_reopen(), 0);
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(after_stamp(text), "WARNING foreground\n");
    free(text);
}
END_TEST

/* stderr into fx.path, named by JOURNAL_STREAM as journald names the stream it gave a service. */
static void stderr_to_fake_journal(void)
{
    stderr_to(fx.path);
    struct stat st;
    ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
    char js[64];
    snprintf(js, sizeof js, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
    ck_assert_int_eq(setenv("JOURNAL_STREAM", js, 1), 0);
}

START_TEST(under_journald_foreground_lines_carry_the_priority_prefix)
{
    stderr_to_fake_journal();
    ck_assert_int_eq(lust_log_setup(NULL, NULL, 0), 0);
    lust_log(LUST_LOG_INFO, "i");
    lust_log(LUST_LOG_ERROR, "e");
    char *text = slurp(fx.path, NULL);
    ck_assert_msg(strncmp(text, "<6>", 3) == 0 && log_line_ok(text), "%s", text);
    char *second = strchr(text, '\n') + 1;
    ck_assert_msg(strncmp(second, "<3>", 3) == 0, "%s", second);
    ck_assert_str_eq(after_stamp(second), "ERROR e\n");
    free(text);
}
END_TEST

/* Nor does it leave the time out under LUST_LOG_TIMESTAMPS_AUTO. */
START_TEST(a_foreign_journal_stream_adds_no_prefix)
{
    stderr_to(fx.path);
    ck_assert_int_eq(setenv("JOURNAL_STREAM", "1:1", 1), 0);
    ck_assert_int_eq(lust_log_setup(NULL, NULL, 0), 0);
    ck_assert_int_eq(lust_log_set_timestamps(LUST_LOG_TIMESTAMPS_AUTO), 0);
    lust_log(LUST_LOG_INFO, "plain");
    char *text = slurp(fx.path, NULL);
    ck_assert_msg(text[0] != '<' && log_line_ok(text), "%s", text);
    free(text);
}
END_TEST

START_TEST(without_timestamps_a_line_is_the_level_and_the_message)
{
    stderr_to(fx.path);
    ck_assert_int_eq(lust_log_set_timestamps(LUST_LOG_TIMESTAMPS_NO), 0);
    lust_log(LUST_LOG_INFO, "listening on %s", "127.0.0.1:8080");
    ck_assert_int_eq(lust_log_set_timestamps(LUST_LOG_TIMESTAMPS_YES), 0);
    lust_log(LUST_LOG_WARNING, "stamped");
    char *text = slurp(fx.path, NULL);
    ck_assert_msg(strncmp(text, "INFO listening on 127.0.0.1:8080\n", 33) == 0, "%s", text);
    char *second = text + 33;
    ck_assert_msg(log_line_ok(second), "%s", second);
    ck_assert_str_eq(after_stamp(second), "WARNING stamped\n");
    free(text);
    ck_assert_int_eq(lust_log_set_timestamps(3), -EINVAL);
    ck_assert_msg(strstr(lust_error(), "log timestamps mode 3 unknown"), "%s", lust_error());
    ck_assert_int_eq(lust_log_set_timestamps(-1), -EINVAL);
}
END_TEST

START_TEST(without_timestamps_the_dropped_lines_report_has_none_either)
{
    ck_assert_int_eq(lust_log_set_timestamps(LUST_LOG_TIMESTAMPS_NO), 0);
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(full, 0);
    ck_assert_int_eq(lust_log_reopen_fd(full), 0);
    lust_log(LUST_LOG_ERROR, "lost");
    log_to_file();
    lust_log(LUST_LOG_INFO, "back");
    char *text = slurp(fx.path, NULL);
    ck_assert_str_eq(text, "WARNING log: 1 line dropped (No space left on device)\nINFO back\n");
    free(text);
}
END_TEST

/* auto: journald stamps the lines it reads from its stream, so they carry only "<N>LEVEL". */
START_TEST(auto_leaves_the_time_to_journald_and_keeps_it_anywhere_else)
{
    stderr_to_fake_journal();
    ck_assert_int_eq(lust_log_setup(NULL, NULL, 0), 0);
    ck_assert_int_eq(lust_log_set_timestamps(LUST_LOG_TIMESTAMPS_AUTO), 0);
    lust_log(LUST_LOG_INFO, "to the journal");
    ck_assert_int_eq(lust_log_set_timestamps(LUST_LOG_TIMESTAMPS_YES), 0);
    lust_log(LUST_LOG_ERROR, "stamped twice");
    char *text = slurp(fx.path, NULL);
    ck_assert_msg(strncmp(text, "<6>INFO to the journal\n<3>", 26) == 0, "%s", text);
    ck_assert_msg(log_line_ok(text + 23), "%s", text + 23);
    free(text);

    /* The same mode with the log sent to a file: lines are stamped again. */
    ck_assert_int_eq(lust_log_set_timestamps(LUST_LOG_TIMESTAMPS_AUTO), 0);
    ck_assert_int_eq(unlink(fx.path), 0);
    log_to_file();
    lust_log(LUST_LOG_INFO, "to a file");
    text = slurp(fx.path, NULL);
    ck_assert_msg(log_line_ok(text), "%s", text);
    ck_assert_str_eq(after_stamp(text), "INFO to a file\n");
    free(text);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("format");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, lines_before_setup_go_to_stderr_in_the_documented_format);
    tcase_add_test(tc, timestamp_is_local_time_in_a_zone_set_before_setup);
    tcase_add_test(tc, timestamp_carries_a_negative_offset_for_new_york);
    tcase_add_test(tc, debug_is_off_by_default_and_the_threshold_changes_at_run_time);
    tcase_add_test(tc, level_names_parse_in_any_case_and_unknown_ones_are_refused);
    tcase_add_test(tc, levels_stay_0_to_4_and_convert_both_ways_with_syslog_priorities);
    tcase_add_test(tc, a_syslog_priority_converted_at_the_edge_logs_at_its_own_level);
    tcase_add_test(tc, newlines_inside_a_message_stay_one_escaped_line);
    tcase_add_test(tc, control_bytes_and_broken_utf8_are_escaped_and_utf8_kept);
    tcase_add_test(tc, an_escape_is_never_cut_in_half);
    tcase_add_test(tc, a_message_of_8_KiB_reaches_a_file_whole);
    tcase_add_test(tc, a_longer_message_is_cut_with_a_visible_marker);
    tcase_add_test(tc, a_long_constant_message_is_cut_like_a_formatted_one);
    tcase_add_test(tc, escaping_that_overflows_is_cut_without_a_half_escape);
    tcase_add_test(tc, lines_to_a_pipe_are_capped_at_PIPE_BUF);
    tcase_add_test(tc, logging_never_changes_errno);
    tcase_add_test(tc, under_journald_foreground_lines_carry_the_priority_prefix);
    tcase_add_test(tc, a_foreign_journal_stream_adds_no_prefix);
    tcase_add_test(tc, without_timestamps_a_line_is_the_level_and_the_message);
    tcase_add_test(tc, without_timestamps_the_dropped_lines_report_has_none_either);
    tcase_add_test(tc, auto_leaves_the_time_to_journald_and_keeps_it_anywhere_else);
    suite_add_tcase(s, tc);

    tc = tcase_create("failures");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, lines_lost_on_dev_full_are_counted_and_reported_by_the_next_line);
    tcase_add_test(tc, a_partly_written_line_never_glues_onto_the_next);
    tcase_add_test(tc, reopen_failure_keeps_the_old_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, four_threads_write_200000_whole_lines);
    tcase_add_test(tc, reopen_after_rename_sends_the_next_line_to_a_new_file);
    tcase_add_test(tc, reopen_in_a_loop_while_four_threads_log_loses_no_line);
    suite_add_tcase(s, tc);

    tc = tcase_create("setup");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, open_creates_the_file_0640_append_cloexec_and_redirects_nothing);
    tcase_add_test(tc, a_truncated_log_gets_no_hole);
    tcase_add_test(tc, a_symlinked_log_path_is_refused_and_the_target_untouched);
    tcase_add_test(tc, a_hard_linked_log_file_is_refused);
    tcase_add_test(tc, a_fifo_in_place_of_the_log_is_refused_at_once_read_or_not);
    tcase_add_test(tc, setup_failure_closes_and_redirects_nothing);
    tcase_add_test(tc, setup_redirects_stdio_and_closes_all_but_the_kept_descriptors);
    tcase_add_test(tc, setup_keeps_the_descriptors_of_liblusts_own_handles);
    tcase_add_test(tc, printf_output_lands_in_the_log_even_if_the_daemon_is_killed);
    tcase_add_test(tc, printf_lands_in_the_log_even_when_stdout_was_used_before_setup);
    tcase_add_test(tc, printf_lands_in_the_log_when_stdout_had_no_buffer_at_setup);
    tcase_add_test(tc, setup_fd_installs_a_log_opened_earlier_and_reopen_knows_its_path);
    tcase_add_test(tc, foreground_setup_keeps_every_descriptor_and_logs_to_stderr);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(log_suite)
