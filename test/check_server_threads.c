/*
 * test/check_server_threads.c - the config as the daemon's threads read it while the
 * framework's thread replaces it: test/busy_server, as root, in the foreground.
 *
 * run() and four more threads read the config in a loop while 5000 SIGHUPs and 200 `reload`
 * commands arrive, each reload a new version of the file, written by rename so that every
 * read of the file finds a whole one. A reader that sees two versions at once, or a freed
 * one, counts a mismatch (exit 3); in the sanitizer builds the sanitizer stops the daemon at
 * the first bad access (ASan) or race (TSan, exit 66). The daemon has no jail, so the
 * sanitizers can read /proc for their reports, and drops to nobody as usual.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon_harness.h"

/* The config at version v: value, text and words all v; by rename unless it is the first. */
static void busy_conf(int v, int replace)
{
    char text[1024], conf[256], tmp[300];
    snprintf(text, sizeof text,
             "jail = none\ncontrol_socket = \"%s\"\nstart_timeout = 60\n"
             "value = %d\ntext = \"%d\"\nwords = {\"%d\", \"%d\", \"%d\"}\n",
             at("busy", "ctl"), v, v, v, v, v);
    snprintf(conf, sizeof conf, "%s", at("busy", "conf"));
    snprintf(tmp, sizeof tmp, "%s.new", conf);
    write_text(replace ? tmp : conf, text);
    if (replace)
        ck_assert_int_eq(rename(tmp, conf), 0);
}

struct reloads {
    int done;  /* reload commands run */
    int fails; /* ... that did not exit 0 */
    char last[512];
};

static void *reload_loop(void *arg)
{
    struct reloads *rl = arg;
    char conf[256];
    snprintf(conf, sizeof conf, "%s", at("busy", "conf"));
    char *argv[] = {(char *)busy_server, "-c", conf, "reload", NULL};
    static struct result r; /* too large for a thread's stack in the sanitizer builds */
    for (int v = 1; v <= 200; v++) {
        busy_conf(v, 1);
        run_argv(&r, NULL, argv);
        if (r.code != 0) {
            rl->fails++;
            snprintf(rl->last, sizeof rl->last, "%.250s%.250s", r.out, r.err);
        }
        rl->done++;
    }
    return NULL;
}

/* The number after word in the daemon's summary line, or -1. */
static long summary_field(const char *out, const char *word)
{
    const char *line = strstr(out, "busy_server: ");
    if (!line)
        return -1;
    const char *p = strstr(line, word);
    if (!p)
        return -1;
    while (p > line && p[-1] == ' ')
        p--;
    while (p > line && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return strtol(p, NULL, 10);
}

START_TEST(config_read_by_run_and_four_threads_through_5000_sighups_and_200_reloads)
{
    int ready[2], unused;
    char c, out[256], conf[256];
    snprintf(out, sizeof out, "%s", at("busy", "out"));
    snprintf(conf, sizeof conf, "%s", at("busy", "conf"));
    char *argv[] = {(char *)busy_server, "-c", conf, "-f", "--ready-fd", "3", "start", NULL};

    busy_conf(0, 0);
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    struct how how = {.env = {"LUST_TEST_READERS=4"}, .fd3 = ready[1], .out_file = out};
    pid_t pid = spawn(argv, &how, &unused, &unused);
    close(ready[1]);
    ck_assert_msg(read(ready[0], &c, 1) == 1, "not ready: %s", shown(out));
    close(ready[0]);

    struct reloads rl = {0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, reload_loop, &rl), 0);
    struct timespec gap = {.tv_nsec = 1000000};
    for (int i = 0; i < 5000; i++) {
        if (kill(pid, SIGHUP) != 0)
            ck_abort_msg("daemon gone after %d SIGHUPs: %s", i, shown(out));
        nanosleep(&gap, NULL);
    }
    pthread_join(t, NULL);
    kill(pid, SIGTERM);
    int code = wait_exit(pid, 60000);
    char *text = slurp(out, NULL);
    ck_assert_msg(code == 0, "exit %d:\n%s", code, worth_showing(text));
    ck_assert_msg(rl.fails == 0, "%d of 200 reload commands failed; the last said: %s", rl.fails,
                  rl.last);
    ck_assert_msg(!strstr(text, "Sanitizer"), "%s", worth_showing(text));
    long reads = summary_field(text, "reads"), reloads = summary_field(text, "reloads");
    ck_assert_msg(reads > 1000 && reloads >= 200, "%ld reads, %ld reloads:\n%s", reads, reloads,
                  worth_showing(text));
    ck_assert_int_eq(summary_field(text, "mismatches"), 0);
    const char *summary = strstr(text, "busy_server: ");
    printf("%.*s\n", (int)strcspn(summary, "\n"), summary);
    free(text);
}
END_TEST

struct storm {
    pid_t pid;
    atomic_int stop;
    atomic_int over; /* the storm ended by itself, after 10 s */
};

static void *sighup_storm(void *arg)
{
    struct storm *st = arg;
    struct timespec gap = {.tv_nsec = 2000000};
    for (int i = 0; i < 5000 && !atomic_load(&st->stop); i++) {
        kill(st->pid, SIGHUP);
        nanosleep(&gap, NULL);
    }
    atomic_store(&st->over, !atomic_load(&st->stop));
    return NULL;
}

START_TEST(a_reload_command_is_answered_while_sighups_keep_coming)
{
    int ready[2], unused;
    char c, out[256], conf[256];
    struct result r;
    snprintf(out, sizeof out, "%s", at("busy", "out"));
    snprintf(conf, sizeof conf, "%s", at("busy", "conf"));
    char *argv[] = {(char *)busy_server, "-c", conf, "-f", "--ready-fd", "3", "start", NULL};
    char *reload[] = {(char *)busy_server, "-c", conf, "reload", NULL};

    busy_conf(0, 0);
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    /* Each reload takes 20 ms, and a SIGHUP comes every 2 ms: one is always waiting. */
    struct how how = {.env = {"LUST_TEST_RELOAD_MS=20"}, .fd3 = ready[1], .out_file = out};
    pid_t pid = spawn(argv, &how, &unused, &unused);
    close(ready[1]);
    ck_assert_msg(read(ready[0], &c, 1) == 1, "not ready: %s", shown(out));
    close(ready[0]);

    struct storm st = {.pid = pid};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, sighup_storm, &st), 0);
    busy_conf(1, 1);
    run_argv(&r, NULL, reload);
    int answered_in_the_storm = !atomic_load(&st.over);
    atomic_store(&st.stop, 1);
    pthread_join(t, NULL);
    ck_assert_msg(r.code == 0, "reload: %d: %s%s", r.code, r.out, r.err);
    ck_assert_msg(answered_in_the_storm, "the reload was answered only once the SIGHUPs stopped");
    kill(pid, SIGTERM);
    ck_assert_msg(wait_exit(pid, 60000) == 0, "%s", shown(out));
}
END_TEST

static Suite *server_threads_suite(void)
{
    Suite *s = suite_create("server_threads");
    TCase *tc = busy_tcase("config", 400);
    tcase_add_test(tc, config_read_by_run_and_four_threads_through_5000_sighups_and_200_reloads);
    tcase_add_test(tc, a_reload_command_is_answered_while_sighups_keep_coming);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN_ROOT(server_threads_suite)
