/*
 * test/check_server_logic.c - the framework's pure logic, without root and without a daemon:
 * the command line, the callback struct's copy, the keys a reload cannot apply, the control
 * socket's answer, the filter every operator message passes, and whether the daemon needs
 * libgcc_s before its jail. Linked against the static copy
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
#include <lust/version.h>

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

/* What one parse prints on stdout, with the program's own ops.version and ops.usage. */
static const char *printed(const char *version, const char *usage, const char *option)
{
    static char out[4096];
    char *argv[] = {"t", (char *)option, NULL};
    struct lust_server srv = {.name = "t", .ready_fd = -1};
    int fg = 0;
    srv.ops.version = version;
    srv.ops.usage = usage;
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    ck_assert_int_eq(dup2(fileno(f), STDOUT_FILENO), STDOUT_FILENO);
    ck_assert_int_eq(lust__server_parse_argv(&srv, 2, argv, &fg), -1);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    return out;
}

START_TEST(version_names_the_program_and_then_liblust)
{
    char want[128];
    snprintf(want, sizeof want, "t 2.4.1 (liblust %s)\n", lust_version());
    ck_assert_str_eq(printed("2.4.1", NULL, "-V"), want);
    snprintf(want, sizeof want, "t (liblust %s)\n", lust_version());
    ck_assert_str_eq(printed(NULL, NULL, "--version"), want);
}
END_TEST

START_TEST(help_names_the_default_config_file_and_ends_with_the_programs_text)
{
    const char *text = printed(NULL, "Keys of its own: listen, greeting.", "-h");
    ck_assert_ptr_nonnull(strstr(text, "read FILE instead of " LUST_SYSCONFDIR "/t.conf\n"));
    const char *own = strstr(text, "\nKeys of its own: listen, greeting.\n");
    ck_assert_ptr_nonnull(own);
    ck_assert_str_eq(own + 1, "Keys of its own: listen, greeting.\n");
    ck_assert_ptr_null(strstr(printed(NULL, NULL, "--help"), "Keys of its own"));
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
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, v1_run, sizeof ops), 0);
    ck_assert_ptr_eq(srv.ops.run, run_stub);
    ck_assert_ptr_null(srv.ops.reload); /* past the caller's size: never read */
    ck_assert_ptr_null(srv.ops.shutdown);
}
END_TEST

START_TEST(ops_longer_struct_with_unknown_members_set_is_refused)
{
    struct lust_server srv = {.header_version = LUST_VERSION_HEX + 0x100};
    struct {
        struct lust_server_ops ops;
        void (*newer)(void);
    } big;
    memset(&big, 0, sizeof big);
    big.ops.run = run_stub;
    ck_assert_int_eq(lust__server_copy_ops(&srv, &big.ops, sizeof big, sizeof big.ops), 0);
    big.newer = (void (*)(void))run_stub;
    ck_assert_int_eq(lust__server_copy_ops(&srv, &big.ops, sizeof big, sizeof big.ops), -E2BIG);
    ck_assert_ptr_nonnull(strstr(lust_error(), "needs a newer liblust"));
    char headers[64];
    snprintf(headers, sizeof headers, "built against the headers of %d.%d,", LUST_VERSION_MAJOR,
             LUST_VERSION_MINOR + 1);
    ck_assert_msg(strstr(lust_error(), headers), "%s", lust_error());
}
END_TEST

/*
 * lust_server_main_sized(), the 1.0 entry point, reads the 1.0 members only: a 1.2 struct that
 * sets a later one is refused there (its binary must call the 1.2 entry point, and depend on
 * liblust 1.2), one that leaves them zero works.
 */
START_TEST(ops_the_1_0_entry_point_refuses_members_it_does_not_read)
{
    struct lust_server srv;
    struct lust_server_ops ops;
    memset(&srv, 0, sizeof srv);
    memset(&ops, 0, sizeof ops);
    ops.run = run_stub;
    ops.reload = (int (*)(struct lust_server *, void *))run_stub;
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, sizeof ops, LUST__SERVER_OPS_V1_SIZE), 0);
    ck_assert_ptr_eq(srv.ops.reload, (void *)run_stub);
    ops.version = "2.0";
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, sizeof ops, LUST__SERVER_OPS_V1_SIZE),
                     -E2BIG);
    ck_assert_ptr_nonnull(strstr(lust_error(), "lust_server_main() of a liblust 1.2 header"));
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, sizeof ops, sizeof ops), 0);
    ck_assert_str_eq(srv.ops.version, "2.0");
}
END_TEST

START_TEST(ops_without_run_or_too_small_are_refused)
{
    struct lust_server srv;
    struct lust_server_ops ops;
    memset(&ops, 0, sizeof ops);
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, sizeof ops, sizeof ops), -EINVAL);
    ck_assert_ptr_nonnull(strstr(lust_error(), "run callback is required"));
    ops.run = run_stub;
    ck_assert_int_eq(lust__server_copy_ops(&srv, &ops, sizeof(void *), sizeof ops), -EINVAL);
    ck_assert_int_eq(lust__server_copy_ops(&srv, NULL, sizeof ops, sizeof ops), -EINVAL);
}
END_TEST

static cfg_opt_t own_opts[] = {
    CFG_STR_LIST("listen", "{\"127.0.0.1:8080\"}", CFGF_NONE),
    CFG_STR("greeting", "HI!", CFGF_NONE),
    CFG_END(),
};

static struct lust_config *config_from(const char *text)
{
    int fd = memfd_create("conf", MFD_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    struct lust_config *c = NULL;
    ck_assert_msg(lust_config_load_fd("t", fd, "/t.conf", own_opts, &c) == 0, "%s", lust_error());
    close(fd);
    return c;
}

/* A server as `start` leaves it: started with the config text, its restart keys noted. */
static void started_with(struct lust_server *srv, const char *text, const char *const *own)
{
    memset(srv, 0, sizeof *srv);
    srv->name = "t";
    srv->ops.restart_keys = own;
    srv->config = config_from(text);
    ck_assert_msg(lust__server_restart_note(srv) == 0, "%s", lust_error());
}

static void stopped(struct lust_server *srv)
{
    lust__server_restart_free(srv);
    lust_config_free(srv->config);
}

START_TEST(restart_keys_name_each_changed_key_once)
{
    struct lust_server srv;
    started_with(&srv, "user = \"a\"\nlog_level = debug\n", NULL);
    struct lust_config *b = config_from("user = \"b\"\njail = none\nforeground = true\n"
                                        "control_socket = \"/run/x.ctl\"\nlog_level = error\n");
    char out[128];
    lust__server_restart_keys(&srv, b, out, sizeof out);
    ck_assert_str_eq(out, "foreground, user, jail, control_socket");
    lust__server_restart_keys(&srv, srv.config, out, sizeof out);
    ck_assert_str_eq(out, ""); /* log_level is applied by a reload: not listed */
    lust_config_free(b);
    stopped(&srv);
}
END_TEST

/*
 * The comparison is with the config the daemon started with: a change a first reload named
 * and could not apply is named again by the next reload (a force-reload, say) of the same file,
 * and no more once the file says the started value again.
 */
START_TEST(restart_keys_stay_named_until_a_restart_or_undone)
{
    static const char *const own[] = {"listen", NULL};
    struct lust_server srv;
    started_with(&srv, "listen = {\"127.0.0.1:1\"}\n", own);
    struct lust_config *moved = config_from("listen = {\"127.0.0.1:2\"}\ngreeting = \"A\"\n");
    struct lust_config *again = config_from("listen = {\"127.0.0.1:2\"}\ngreeting = \"B\"\n");
    struct lust_config *back = config_from("listen = {\"127.0.0.1:1\"}\ngreeting = \"B\"\n");
    char out[128];
    lust__server_restart_keys(&srv, moved, out, sizeof out);
    ck_assert_str_eq(out, "listen");
    lust_config_free(srv.config); /* that reload was applied: the running config is now moved */
    srv.config = moved;
    lust__server_restart_keys(&srv, again, out, sizeof out);
    ck_assert_str_eq(out, "listen");
    lust__server_restart_keys(&srv, back, out, sizeof out);
    ck_assert_str_eq(out, "");
    lust_config_free(again);
    lust_config_free(back);
    stopped(&srv);
}
END_TEST

START_TEST(restart_keys_must_be_keys_of_the_daemon)
{
    static const char *const own[] = {"listen", "lisen", NULL};
    struct lust_server srv;
    memset(&srv, 0, sizeof srv);
    srv.ops.restart_keys = own;
    srv.config = config_from("");
    ck_assert_int_eq(lust__server_restart_note(&srv), -EINVAL);
    ck_assert_str_eq(lust_error(),
                     "restart_keys names \"lisen\", which is not a key of this daemon's config");
    stopped(&srv);
}
END_TEST

START_TEST(restart_keys_never_overrun_a_small_buffer)
{
    struct lust_server srv;
    started_with(&srv, "", NULL);
    struct lust_config *b = config_from("user = \"b\"\ngroup = \"g\"\njail = none\n");
    char out[12];
    memset(out, 'x', sizeof out);
    lust__server_restart_keys(&srv, b, out, sizeof out);
    ck_assert_ptr_nonnull(memchr(out, '\0', sizeof out));
    ck_assert_str_eq(out, "user, group");
    lust_config_free(b);
    stopped(&srv);
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

/*
 * Whether the daemon needs libgcc_s before its jail is read from the imports of every loaded
 * object: this runner imports pthread_create and (through the static liblust) cfg_init; glibc
 * defines argz_create_sep but nothing here calls it; no library has the last name.
 */
START_TEST(imports_are_found_in_every_loaded_object_and_only_imports)
{
    static const char *const create[] = {"pthread_create", NULL};
    static const char *const second[] = {"no_such_function_anywhere", "cfg_init", NULL};
    static const char *const defined[] = {"argz_create_sep", NULL};
    static const char *const none[] = {"no_such_function_anywhere", NULL};
    ck_assert_int_eq(lust__privs_imports(create), 1);
    ck_assert_int_eq(lust__privs_imports(second), 1);
    ck_assert_int_eq(lust__privs_imports(defined), 0);
    ck_assert_int_eq(lust__privs_imports(none), 0);
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
    tc = tcase_create("output");
    tcase_add_test(tc, version_names_the_program_and_then_liblust);
    tcase_add_test(tc, help_names_the_default_config_file_and_ends_with_the_programs_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("ops");
    tcase_add_test(tc, ops_shorter_struct_is_zero_extended);
    tcase_add_test(tc, ops_longer_struct_with_unknown_members_set_is_refused);
    tcase_add_test(tc, ops_the_1_0_entry_point_refuses_members_it_does_not_read);
    tcase_add_test(tc, ops_without_run_or_too_small_are_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("reload");
    tcase_add_test(tc, restart_keys_name_each_changed_key_once);
    tcase_add_test(tc, restart_keys_stay_named_until_a_restart_or_undone);
    tcase_add_test(tc, restart_keys_must_be_keys_of_the_daemon);
    tcase_add_test(tc, restart_keys_never_overrun_a_small_buffer);
    suite_add_tcase(s, tc);
    tc = tcase_create("control");
    tcase_add_test(tc, reply_errno_and_sentence_are_split);
    tcase_add_test(tc, reply_without_the_form_is_a_protocol_error);
    tcase_add_test(tc, printable_replaces_controls_and_broken_utf8);
    tcase_add_test(tc, printable_keeps_valid_utf8);
    suite_add_tcase(s, tc);
    tc = tcase_create("unwinder");
    tcase_add_test(tc, imports_are_found_in_every_loaded_object_and_only_imports);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(server_logic_suite)
