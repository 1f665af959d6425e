/* test/check_log_root.c - the log module where it needs root: the time zone after chroot. */
#include "lust_test.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lust.h>

static char *dir, *jail, *log_path;

static void fx_setup(void)
{
    dir = new_dir("/tmp", "lust-log", 0700);
    ck_assert_ptr_nonnull(dir);
    jail = path_in(dir, "jail");
    log_path = path_in(dir, "daemon.log");
    ck_assert_int_eq(mkdir(jail, 0755), 0);
}

static void fx_teardown(void)
{
    free(log_path);
    free(jail);
    remove_tree(dir);
    free(dir);
}

/* What a daemon does: set up the log, chroot into an empty jail, log. */
static int jailed_daemon(void *zone)
{
    if (setenv("TZ", zone, 1) != 0)
        return 1;
    if (lust_log_setup(log_path, NULL, 0) != 0)
        return 2;
    if (chroot(jail) != 0 || chdir("/") != 0)
        return 3;
    if (access("/usr/share/zoneinfo", F_OK) == 0)
        return 4;
    lust_log(LUST_LOG_INFO, "in the jail");
    return 0;
}

/* The "HH:MM" and offset New York has at t, from the zone file, outside any jail. */
static void new_york_time(time_t t, char *hhmm, char *offset, size_t offset_size)
{
    setenv("TZ", "America/New_York", 1);
    tzset();
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(hhmm, 6, "%H:%M", &tm);
    long off = tm.tm_gmtoff;
    snprintf(offset, offset_size, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
             labs(off) % 3600 / 60);
    unsetenv("TZ");
    tzset();
}

START_TEST(timestamps_keep_the_zone_after_chroot)
{
    /* The test process already knows a zone (UTC): only setup's tzset() can load New York. */
    time_t t0 = time(NULL);
    struct tm tm;
    localtime_r(&t0, &tm);

    char hhmm_before[6], hhmm_after[6], offset[32];
    new_york_time(time(NULL), hhmm_before, offset, sizeof offset);
    ck_assert_int_eq(exit_code(in_child(jailed_daemon, "America/New_York")), 0);
    new_york_time(time(NULL), hhmm_after, offset, sizeof offset);

    char *text = slurp(log_path, NULL);
    ck_assert_msg(log_line_ok(text), "%s", text);
    ck_assert_msg(strncmp(text + 11, hhmm_before, 5) == 0 || strncmp(text + 11, hhmm_after, 5) == 0,
                  "want New York time %s: %s", hhmm_before, text);
    ck_assert_msg(strncmp(text + 23, offset, 6) == 0, "want offset %s: %s", offset, text);
    ck_assert_str_eq(after_stamp(text), "INFO in the jail\n");
    free(text);
}
END_TEST

START_TEST(a_fixed_zone_string_survives_chroot_too)
{
    ck_assert_int_eq(exit_code(in_child(jailed_daemon, "XYZ-05:30")), 0);
    char *text = slurp(log_path, NULL);
    ck_assert_msg(strstr(text, "+05:30 INFO in the jail\n") != NULL, "%s", text);
    free(text);
}
END_TEST

static Suite *log_root_suite(void)
{
    Suite *s = suite_create("log_root");
    TCase *tc = tcase_create("jail");
    tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
    tcase_add_test(tc, timestamps_keep_the_zone_after_chroot);
    tcase_add_test(tc, a_fixed_zone_string_survives_chroot_too);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(log_root_suite)
