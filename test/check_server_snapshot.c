/*
 * test/check_server_snapshot.c - the rules of the config snapshots (lib/server_config.c), on a
 * handle made here, without a daemon and without root: who holds which config, and when the
 * last holder lets it go. check_server_threads runs the same rules in a real daemon under load.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>

#include "lust_test.h"
#include "server_internal.h"

static struct lust_config *config_from(const char *user)
{
    char text[64];
    int n = snprintf(text, sizeof text, "user = \"%s\"\n", user);
    int fd = memfd_create("conf", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, (size_t)n), n);
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    struct lust_config *c = NULL;
    ck_assert_msg(lust_config_load_fd("t", fd, "/t.conf", NULL, &c) == 0, "%s", lust_error());
    close(fd);
    return c;
}

static struct lust_server srv;

/* srv with the config "a" in force. */
static struct lust_config *make_server(void)
{
    struct lust_config *a = config_from("a");
    memset(&srv, 0, sizeof srv);
    pthread_mutex_init(&srv.config_lock, NULL);
    ck_assert_int_eq(lust__server_config_init(&srv, a), 0);
    return a;
}

/* Puts fresh in force as a reload does, dropping the reference the old one had. */
static void reload_to(struct lust_config *fresh)
{
    lust_config_release(lust__server_config_swap(&srv, fresh));
}

static const char *user_in(struct cfg_t *cfg)
{
    return cfg_getstr(cfg, "user");
}

START_TEST(a_thread_keeps_its_snapshot_until_it_asks_again)
{
    struct lust_config *a = make_server();
    struct lust_config *watch = lust_server_config_hold(&srv); /* to see a's count */
    ck_assert_ptr_eq(watch, a);

    struct cfg_t *first = lust_server_config(&srv);
    ck_assert_ptr_eq(first, lust_config_cfg(a));
    ck_assert_uint_eq(lust__config_refs(a), 3);        /* in force, watch, this thread */
    ck_assert_ptr_eq(lust_server_config(&srv), first); /* no new hold while nothing changed */
    ck_assert_uint_eq(lust__config_refs(a), 3);

    reload_to(config_from("b"));
    ck_assert_uint_eq(lust__config_refs(a), 2);
    ck_assert_str_eq(user_in(first), "a"); /* still this thread's until it asks again */
    struct cfg_t *second = lust_server_config(&srv);
    ck_assert_str_eq(user_in(second), "b");
    ck_assert_uint_eq(lust__config_refs(a), 1); /* only watch now */
    lust_config_release(watch);
    lust__server_config_fini(&srv);
}
END_TEST

START_TEST(a_hold_outlives_reloads_until_released)
{
    struct lust_config *a = make_server();
    struct lust_config *held = lust_server_config_hold(&srv);
    ck_assert_ptr_eq(held, a);
    reload_to(config_from("b"));
    reload_to(config_from("c"));
    ck_assert_uint_eq(lust__config_refs(a), 1);
    ck_assert_str_eq(lust_config_user(held), "a");
    ck_assert_str_eq(user_in(lust_server_config(&srv)), "c");
    lust_config_release(held);
    lust__server_config_fini(&srv);
}
END_TEST

static void *read_in_thread(void *arg)
{
    return (void *)user_in(lust_server_config(arg));
}

START_TEST(a_thread_that_ends_lets_its_snapshot_go)
{
    struct lust_config *a = make_server();
    pthread_t t;
    void *user;
    ck_assert_int_eq(pthread_create(&t, NULL, read_in_thread, &srv), 0);
    ck_assert_int_eq(pthread_join(t, &user), 0);
    ck_assert_str_eq(user, "a");
    ck_assert_uint_eq(lust__config_refs(a), 1);
    lust__server_config_fini(&srv);
}
END_TEST

START_TEST(only_the_thread_running_reload_sees_the_offered_config)
{
    struct lust_config *a = make_server();
    struct lust_config *b = config_from("b");
    pthread_t t;
    void *user;

    lust__server_config_trial(b);
    ck_assert_str_eq(user_in(lust_server_config(&srv)), "b");
    struct lust_config *held = lust_server_config_hold(&srv);
    ck_assert_ptr_eq(held, b);
    ck_assert_int_eq(pthread_create(&t, NULL, read_in_thread, &srv), 0);
    ck_assert_int_eq(pthread_join(t, &user), 0);
    ck_assert_str_eq(user, "a");
    lust__server_config_trial(NULL);
    ck_assert_str_eq(user_in(lust_server_config(&srv)), "a");

    /* Refused: the hook's own hold keeps it alive, nobody else ever had it. */
    lust_config_release(b);
    ck_assert_uint_eq(lust__config_refs(held), 1);
    ck_assert_str_eq(lust_config_user(held), "b");
    lust_config_release(held);
    ck_assert_uint_eq(lust__config_refs(a), 2);
    lust__server_config_fini(&srv);
}
END_TEST

START_TEST(the_end_lets_go_of_the_config_in_force_and_this_threads_snapshot)
{
    struct lust_config *a = make_server();
    struct lust_config *watch = lust_server_config_hold(&srv);
    lust_server_config(&srv);
    ck_assert_uint_eq(lust__config_refs(a), 3);
    lust__server_config_fini(&srv);
    ck_assert_uint_eq(lust__config_refs(a), 1);
    lust_config_release(watch);
}
END_TEST

START_TEST(a_null_handle_gives_null_and_says_so)
{
    ck_assert_ptr_null(lust_server_config(NULL));
    ck_assert_ptr_nonnull(strstr(lust_error(), "lust_server_config"));
    ck_assert_ptr_null(lust_server_config_hold(NULL));
    ck_assert_ptr_nonnull(strstr(lust_error(), "lust_server_config_hold"));
    ck_assert_int_eq(lust_server_alive_interval(NULL), -EINVAL);
    ck_assert_int_eq(lust_server_status(NULL, "x"), -EINVAL);
    lust_server_alive(NULL);
    lust_config_release(NULL);
}
END_TEST

static Suite *server_snapshot_suite(void)
{
    Suite *s = suite_create("server_snapshot");
    TCase *tc = tcase_create("holds");
    tcase_add_test(tc, a_thread_keeps_its_snapshot_until_it_asks_again);
    tcase_add_test(tc, a_hold_outlives_reloads_until_released);
    tcase_add_test(tc, a_thread_that_ends_lets_its_snapshot_go);
    tcase_add_test(tc, only_the_thread_running_reload_sees_the_offered_config);
    tcase_add_test(tc, the_end_lets_go_of_the_config_in_force_and_this_threads_snapshot);
    tcase_add_test(tc, a_null_handle_gives_null_and_says_so);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(server_snapshot_suite)
