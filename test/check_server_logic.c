/*
 * test/check_server_logic.c - the framework's pure logic, without root and without a daemon:
 * the command line, the callback struct's copy, the keys a reload cannot apply, the control
 * socket's answer and the filter every operator message passes. Linked against the static copy
 * of the library, which reaches these hidden lust__server_* functions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>

#include "lust_test.h"
#include "server_internal.h"

/* The usage text the parser prints is not what these tests look at. */
static void quiet(void)
{
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(null, 0);
    ck_assert_int_eq(dup2(null, STDOUT_FILENO), STDOUT_FILENO);
    ck_assert_int_eq(dup2(null, STDERR_FILENO), STDERR_FILENO);
    close(null);
}

static int parse(struct lust_server *srv, int *fg, const char *a0, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    memset(srv, 0, sizeof *srv);
    srv->name = "t";
    srv->ready_fd = -1;
    *fg = 0;
    return lust__server_parse_argv(srv, argc, argv, fg);
}

START_TEST(argv_command_and_options_are_parsed)
{
    struct lust_server srv;
    int fg;
    ck_assert_int_eq(parse(&srv, &fg, "t", "-c", "/x.conf", "-f", "--ready-fd", "5", "start", NULL),
                     CMD_START);
    ck_assert_str_eq(srv.config_path, "/x.conf");
    ck_assert_int_eq(fg, 1);
    ck_assert_int_eq(srv.ready_fd, 5);
    ck_assert_int_eq(parse(&srv, &fg, "t", "force-reload", NULL), CMD_FORCE_RELOAD);
    ck_assert_int_eq(fg, 0);
    ck_assert_ptr_null(srv.config_path);
    ck_assert_int_eq(parse(&srv, &fg, "t", "--config=/y", "reopen", NULL), CMD_REOPEN);
    ck_assert_str_eq(srv.config_path, "/y");
}
END_TEST

START_TEST(argv_mistakes_are_usage_errors)
{
    struct lust_server srv;
    int fg;
    ck_assert_int_eq(parse(&srv, &fg, "t", NULL), -EXIT_USAGE);
    ck_assert_int_eq(parse(&srv, &fg, "t", "launch", NULL), -EXIT_USAGE);
    ck_assert_int_eq(parse(&srv, &fg, "t", "start", "stop", NULL), -EXIT_USAGE);
    ck_assert_int_eq(parse(&srv, &fg, "t", "-x", "start", NULL), -EXIT_USAGE);
    ck_assert_int_eq(parse(&srv, &fg, "t", "--ready-fd", "x", "start", NULL), -EXIT_USAGE);
    ck_assert_int_eq(parse(&srv, &fg, "t", "--ready-fd", "-1", "start", NULL), -EXIT_USAGE);
    /* Options after the command are the command's words, not options. */
    ck_assert_int_eq(parse(&srv, &fg, "t", "start", "-f", NULL), -EXIT_USAGE);
}
END_TEST

START_TEST(argv_help_and_version_end_with_success)
{
    struct lust_server srv;
    int fg;
    ck_assert_int_eq(parse(&srv, &fg, "t", "-h", NULL), -1);
    ck_assert_int_eq(parse(&srv, &fg, "t", "--version", NULL), -1);
}
END_TEST

static int run_stub(struct lust_server *srv, void *data)
{
    (void)srv;
    (void)data;
    return 0;
}

START_TEST(ops_shorter_struct_is_zero_extended)
{
    struct lust_server srv;
    struct lust_server_ops ops;
    memset(&srv, 0xa5, sizeof srv);
    memset(&ops, 0, sizeof ops);
    ops.run = run_stub;
    ops.reload = (int (*)(struct lust_server *, void *))run_stub;
    size_t v1_run = offsetof(struct lust_server_ops, run) + sizeof ops.run;
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, v1_run), 0);
    ck_assert_ptr_eq(srv.ops.run, run_stub);
    ck_assert_ptr_null(srv.ops.reload); /* past the caller's size: never read */
    ck_assert_ptr_null(srv.ops.shutdown);
}
END_TEST

START_TEST(ops_longer_struct_with_unknown_members_set_is_refused)
{
    struct lust_server srv;
    struct {
        struct lust_server_ops ops;
        void (*newer)(void);
    } big;
    memset(&big, 0, sizeof big);
    big.ops.run = run_stub;
    ck_assert_int_eq(lust__server_copy_ops(&srv, &big.ops, sizeof big), 0);
    big.newer = (void (*)(void))run_stub;
    ck_assert_int_eq(lust__server_copy_ops(&srv, &big.ops, sizeof big), -E2BIG);
    ck_assert_ptr_nonnull(strstr(lust_error(), "needs a newer liblust"));
}
END_TEST

START_TEST(ops_without_run_or_too_small_are_refused)
{
    struct lust_server srv;
    struct lust_server_ops ops;
    memset(&ops, 0, sizeof ops);
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, sizeof ops), -EINVAL);
    ck_assert_ptr_nonnull(strstr(lust_error(), "run callback is required"));
    ops.run = run_stub;
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, sizeof(void *)), -EINVAL);
    ck_assert_int_eq(lust__server_copy_ops(&srv, NULL, sizeof ops), -EINVAL);
}
END_TEST

static struct lust_config *config_from(const char *text)
{
    int fd = memfd_create("conf", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    struct lust_config *c = NULL;
    ck_assert_msg(lust_config_load_fd("t", fd, "/t.conf", NULL, &c) == 0, "%s", lust_error());
    close(fd);
    return c;
}

START_TEST(restart_keys_name_each_changed_key_once)
{
    struct lust_config *a = config_from("user = \"a\"\nlog_level = debug\n");
    struct lust_config *b = config_from("user = \"b\"\njail = none\nforeground = true\n"
                                        "control_socket = \"/run/x.ctl\"\nlog_level = error\n");
    char out[128];
    lust__server_restart_keys(a, b, out, sizeof out);
    ck_assert_str_eq(out, "foreground, user, jail, control_socket");
    lust__server_restart_keys(a, a, out, sizeof out);
    ck_assert_str_eq(out, ""); /* log_level is applied by a reload: not listed */
    lust_config_free(a);
    lust_config_free(b);
}
END_TEST

START_TEST(restart_keys_never_overrun_a_small_buffer)
{
    struct lust_config *a = config_from("");
    struct lust_config *b = config_from("user = \"b\"\ngroup = \"g\"\njail = none\n");
    char out[12];
    memset(out, 'x', sizeof out);
    lust__server_restart_keys(a, b, out, sizeof out);
    ck_assert_ptr_nonnull(memchr(out, '\0', sizeof out));
    ck_assert_str_eq(out, "user, group");
    lust_config_free(a);
    lust_config_free(b);
}
END_TEST

START_TEST(reply_errno_and_sentence_are_split)
{
    char ok[] = "0\nreloaded /etc/t.conf";
    ck_assert_int_eq(lust__server_parse_reply(ok), 0);
    ck_assert_str_eq(ok, "reloaded /etc/t.conf");
    char refused[] = "22\nbad value";
    ck_assert_int_eq(lust__server_parse_reply(refused), EINVAL);
    ck_assert_str_eq(refused, "bad value");
}
END_TEST

START_TEST(reply_without_the_form_is_a_protocol_error)
{
    const char *bad[] = {"", "\nx", "x\ny", "-1\nx", "4096\nx", "12 \nx", "7", "99999999999999\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", bad[i]);
        ck_assert_msg(lust__server_parse_reply(buf) == -EPROTO, "\"%s\" accepted", bad[i]);
    }
}
END_TEST

START_TEST(printable_replaces_controls_and_broken_utf8)
{
    char s[] = "a\x1b[2Jb\x07\x7f\r\n\xc2\x9b"
               "c\x9b"
               "d\xc0\xaf"
               "e\xe0\x80\xaf"
               "f\xed";
    lust__server_printable(s);
    ck_assert_str_eq(s, "a?[2Jb??????c?d??e???f?");
}
END_TEST

START_TEST(printable_keeps_valid_utf8)
{
    char s[] = "/srv/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80 \xc2\xa0ok";
    char want[sizeof s];
    memcpy(want, s, sizeof s);
    lust__server_printable(s);
    ck_assert_str_eq(s, want);
}
END_TEST

static Suite *server_logic_suite(void)
{
    Suite *s = suite_create("server_logic");
    TCase *tc = tcase_create("argv");
    tcase_add_checked_fixture(tc, quiet, NULL);
    tcase_add_test(tc, argv_command_and_options_are_parsed);
    tcase_add_test(tc, argv_mistakes_are_usage_errors);
    tcase_add_test(tc, argv_help_and_version_end_with_success);
    suite_add_tcase(s, tc);
    tc = tcase_create("ops");
    tcase_add_test(tc, ops_shorter_struct_is_zero_extended);
    tcase_add_test(tc, ops_longer_struct_with_unknown_members_set_is_refused);
    tcase_add_test(tc, ops_without_run_or_too_small_are_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("reload");
    tcase_add_test(tc, restart_keys_name_each_changed_key_once);
    tcase_add_test(tc, restart_keys_never_overrun_a_small_buffer);
    suite_add_tcase(s, tc);
    tc = tcase_create("control");
    tcase_add_test(tc, reply_errno_and_sentence_are_split);
    tcase_add_test(tc, reply_without_the_form_is_a_protocol_error);
    tcase_add_test(tc, printable_replaces_controls_and_broken_utf8);
    tcase_add_test(tc, printable_keeps_valid_utf8);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(server_logic_suite)
