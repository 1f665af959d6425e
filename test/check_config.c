/* test/check_config.c - the config module: defaults, standard keys, the daemon's keys, errors. */
#include "lust_test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include <lust.h>

static char *dir;
static char paths[16][512];
static int npaths;

static void setup(void)
{
    dir = new_dir("/tmp", "lust-config", 0700);
    ck_assert_ptr_nonnull(dir);
}

/* The whole directory, whatever a test left in it. */
static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

/* Write TEXT (LEN bytes, or strlen) to DIR/FILE and return its path. */
static const char *write_len(const char *file, const char *text, size_t len)
{
    ck_assert_int_lt(npaths, 16);
    char *path = paths[npaths++];
    snprintf(path, sizeof paths[0], "%s/%s", dir, file);
    write_file(path, text, len, 0600);
    return path;
}

static const char *write_conf(const char *file, const char *text)
{
    return write_len(file, text, strlen(text));
}

/* The daemon's own options used by several tests: a list, an int, a titled section. */
static cfg_opt_t backend_opts[] = {
    CFG_STR("path", "/srv", CFGF_NONE),
    CFG_INT("weight", 1, CFGF_NONE),
    CFG_END(),
};
static cfg_opt_t limits_opts[] = {
    CFG_INT("clients", 100, CFGF_NONE),
    CFG_END(),
};
static cfg_opt_t daemon_opts[] = {
    CFG_STR_LIST("listen", "{\"127.0.0.1:8080\"}", CFGF_NONE),
    CFG_INT("port", 8080, CFGF_NONE),
    CFG_SEC("limits", limits_opts, CFGF_NONE),
    CFG_SEC("backend", backend_opts, CFGF_MULTI | CFGF_TITLE),
    CFG_END(),
};

/* Load TEXT with the daemon options and expect it to fail with exactly SENTENCE. */
static void expect_error(const char *text, const char *sentence)
{
    const char *path = write_conf("bad.conf", text);
    struct lust_config *conf = (struct lust_config *)&conf; /* must stay untouched */
    struct lust_config *before = conf;
    char want[1024];
    snprintf(want, sizeof want, "%s:%s", path, sentence);
    ck_assert_int_eq(lust_config_load("web", path, daemon_opts, &conf), -EINVAL);
    ck_assert_ptr_eq(conf, before);
    ck_assert_str_eq(lust_error(), want);
}

/* Run stdout and stderr into a file, to prove the library printed nothing. */
static int saved_out = -1, saved_err = -1;
static char capture_path[600];

static void capture_begin(void)
{
    snprintf(capture_path, sizeof capture_path, "%s/captured", dir);
    int fd = open(capture_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(1);
    saved_err = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static off_t capture_end(void)
{
    struct stat st;
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    ck_assert_int_eq(stat(capture_path, &st), 0);
    unlink(capture_path);
    return st.st_size;
}

START_TEST(defaults_follow_the_program_name_and_install_dirs)
{
    const char *path = write_conf("empty.conf", "");
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", path, NULL, &conf), 0);
    ck_assert_str_eq(lust_config_name(conf), "web");
    ck_assert_str_eq(lust_config_path(conf), path);
    ck_assert_str_eq(lust_config_user(conf), "nobody");
    ck_assert_str_eq(lust_config_group(conf), "nogroup");
    ck_assert_str_eq(lust_config_jail(conf), LUST_RUNSTATEDIR "/web");
    ck_assert_str_eq(lust_config_pidfile(conf), LUST_RUNSTATEDIR "/web.pid");
    ck_assert_str_eq(lust_config_logfile(conf), LUST_LOCALSTATEDIR "/log/web.log");
    ck_assert_str_eq(lust_config_control(conf), LUST_RUNSTATEDIR "/web.ctl");
    ck_assert_int_eq(lust_config_log_level(conf), LOG_INFO);
    ck_assert_int_eq(lust_config_umask(conf), 027);
    ck_assert(!lust_config_foreground(conf));
    ck_assert_int_eq(lust_config_start_timeout(conf), 10);
    ck_assert_int_eq(lust_config_stop_timeout(conf), 10);
    ck_assert_int_eq(lust_config_log_timestamps(conf), LUST_LOG_TIMESTAMPS_AUTO);
    ck_assert_ptr_null(lust_config_notice(conf));
    lust_config_free(conf);
}
END_TEST

START_TEST(the_install_dirs_are_the_daemon_ones)
{
    const char *prefix = LUST_INSTALL_PREFIX;
    /* Wherever they are, they are absolute, and never under the /var/run symlink. */
    ck_assert_int_eq(LUST_SYSCONFDIR[0], '/');
    ck_assert_int_eq(LUST_LOCALSTATEDIR[0], '/');
    ck_assert_int_eq(LUST_RUNSTATEDIR[0], '/');
    ck_assert_msg(strncmp(LUST_RUNSTATEDIR "/", "/var/run/", 9) != 0, "%s", LUST_RUNSTATEDIR);
    if (!LUST_DIRS_ARE_DEFAULTS)
        return; /* set by hand at configure time: nothing more to expect */
    if (strcmp(prefix, "/usr") == 0 || strcmp(prefix, "/usr/local") == 0) {
        /* Debian (prefix /usr, dh passes /run) and a default /usr/local build agree. */
        ck_assert_str_eq(LUST_SYSCONFDIR, "/etc");
        ck_assert_str_eq(LUST_RUNSTATEDIR, "/run");
        ck_assert_str_eq(LUST_LOCALSTATEDIR, "/var");
    } else if (strncmp(prefix, "/opt/", 5) == 0) {
        /* GNUInstallDirs' /opt rule: /etc/opt/X, /var/opt/X, and /var/run/opt/X read as /run. */
        char want[PATH_MAX];
        snprintf(want, sizeof want, "/etc%s", prefix);
        ck_assert_str_eq(LUST_SYSCONFDIR, want);
        snprintf(want, sizeof want, "/var%s", prefix);
        ck_assert_str_eq(LUST_LOCALSTATEDIR, want);
        snprintf(want, sizeof want, "/run%s", prefix);
        ck_assert_str_eq(LUST_RUNSTATEDIR, want);
    }
}
END_TEST

static cfg_opt_t site_opts[] = {
    CFG_STR("root", "/", CFGF_NONE),
    CFG_FUNC("include", cfg_include),
    CFG_END(),
};
static cfg_opt_t include_opts[] = {
    CFG_STR("greeting", "hi", CFGF_NONE),
    CFG_FUNC("include", cfg_include),
    CFG_SEC("site", site_opts, CFGF_NONE),
    CFG_END(),
};

START_TEST(an_included_file_is_trusted_like_the_config_itself)
{
    const char *inc = write_conf("inc.conf", "greeting = \"included\"\n");
    char text[1200];
    snprintf(text, sizeof text, "include(\"%s\")\n", inc);
    struct lust_config *conf;
    ck_assert_msg(lust_config_load("web", write_conf("top.conf", text), include_opts, &conf) == 0,
                  "%s", lust_error());
    ck_assert_str_eq(cfg_getstr(lust_config_cfg(conf), "greeting"), "included");
    lust_config_free(conf);

    /* Writable by others, at the top or inside a section: refused, naming the included file. */
    ck_assert_int_eq(chmod(inc, 0666), 0);
    ck_assert_int_eq(lust_config_load("web", write_conf("top.conf", text), include_opts, &conf),
                     -EINVAL);
    ck_assert_msg(strstr(lust_error(), "writable by group or others") && strstr(lust_error(), inc),
                  "%s", lust_error());
    snprintf(text, sizeof text, "site {\n include(\"%s\")\n}\n", inc);
    ck_assert_int_eq(lust_config_load("web", write_conf("top.conf", text), include_opts, &conf),
                     -EINVAL);
    ck_assert_msg(strstr(lust_error(), "writable by group or others"), "%s", lust_error());
}
END_TEST

START_TEST(each_standard_key_can_be_set_in_the_file)
{
    const char *path = write_conf("web.conf", "user = www-data\n"
                                              "group = \"www-data\"\n"
                                              "jail = /srv/jail\n"
                                              "pidfile = /srv/web.pid\n"
                                              "logfile = /srv/log/web.log\n"
                                              "control_socket = /srv/web.ctl\n"
                                              "log_level = warning\n"
                                              "log_timestamps = no\n"
                                              "umask = 077\n"
                                              "foreground = true\n"
                                              "start_timeout = 0\n"
                                              "stop_timeout = 2147483\n");
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", path, NULL, &conf), 0);
    ck_assert_str_eq(lust_config_user(conf), "www-data");
    ck_assert_str_eq(lust_config_group(conf), "www-data");
    ck_assert_str_eq(lust_config_jail(conf), "/srv/jail");
    ck_assert_str_eq(lust_config_pidfile(conf), "/srv/web.pid");
    ck_assert_str_eq(lust_config_logfile(conf), "/srv/log/web.log");
    ck_assert_str_eq(lust_config_control(conf), "/srv/web.ctl");
    ck_assert_int_eq(lust_config_log_level(conf), LOG_WARNING);
    ck_assert_int_eq(lust_config_log_timestamps(conf), LUST_LOG_TIMESTAMPS_NO);
    ck_assert_int_eq(lust_config_umask(conf), 077);
    ck_assert(lust_config_foreground(conf));
    ck_assert_int_eq(lust_config_start_timeout(conf), 0);
    ck_assert_int_eq(lust_config_stop_timeout(conf), LUST_CONFIG_TIMEOUT_MAX);
    /* The libconfuse tree holds the same values. */
    ck_assert_str_eq(cfg_getstr(lust_config_cfg(conf), "user"), "www-data");
    ck_assert_int_eq(cfg_getint(lust_config_cfg(conf), "umask"), 077);
    lust_config_free(conf);
}
END_TEST

START_TEST(jail_none_disables_the_jail)
{
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", write_conf("w.conf", "jail = none\n"), NULL, &conf),
                     0);
    ck_assert_ptr_null(lust_config_jail(conf));
    lust_config_free(conf);
}
END_TEST

START_TEST(every_log_level_maps_to_its_syslog_priority)
{
    static const struct {
        const char *text;
        int priority;
    } cases[] = {{"debug", LOG_DEBUG},
                 {"info", LOG_INFO},
                 {"notice", LOG_NOTICE},
                 {"WARNING", LOG_WARNING},
                 {"error", LOG_ERR}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[64];
        struct lust_config *conf;
        snprintf(text, sizeof text, "log_level = %s\n", cases[i].text);
        ck_assert_int_eq(lust_config_load("web", write_conf("l.conf", text), NULL, &conf), 0);
        ck_assert_int_eq(lust_config_log_level(conf), cases[i].priority);
        lust_config_free(conf);
        npaths--;
    }
}
END_TEST

/*
 * The config's log_level accepts exactly the names the log accepts, aliases included, and its
 * threshold goes straight into lust_log_set_level(); the syslog getter is the same level on the
 * other scale.
 */
START_TEST(log_level_names_match_the_logs_and_the_threshold_feeds_set_level)
{
    static const char *names[] = {"debug", "INFO",  "Notice", "warning", "warn",
                                  "WARN",  "error", "err",    "Err"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char text[64];
        struct lust_config *conf;
        snprintf(text, sizeof text, "log_level = %s\n", names[i]);
        ck_assert_msg(lust_config_load("web", write_conf("l.conf", text), NULL, &conf) == 0,
                      "%s: %s", names[i], lust_error());
        int level = lust_config_log_threshold(conf);
        ck_assert_int_eq(level, lust_log_level_from_name(names[i]));
        ck_assert_int_eq(lust_log_set_level(level), 0);
        ck_assert_int_eq(lust_log_get_level(), level);
        ck_assert_int_eq(lust_config_log_level(conf), lust_log_level_to_syslog(level));
        ck_assert_int_eq(lust_log_level_from_syslog(lust_config_log_level(conf)), level);
        lust_config_free(conf);
        npaths--;
    }
}
END_TEST

/*
 * log_timestamps takes auto, yes and no in any case (and libconfuse's other words for a
 * boolean), each the log's mode of the same name.
 */
START_TEST(log_timestamps_names_the_logs_modes)
{
    static const struct {
        const char *text;
        int mode;
    } cases[] = {
        {"log_timestamps = no", LUST_LOG_TIMESTAMPS_NO},
        {"log_timestamps = YES", LUST_LOG_TIMESTAMPS_YES},
        {"log_timestamps = \"Auto\"", LUST_LOG_TIMESTAMPS_AUTO},
        {"log_timestamps = off # svlogd -t stamps the lines", LUST_LOG_TIMESTAMPS_NO},
        {"log_timestamps = true", LUST_LOG_TIMESTAMPS_YES},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lust_config *conf;
        ck_assert_msg(lust_config_load("web", write_conf("t.conf", cases[i].text), NULL, &conf) ==
                          0,
                      "%s: %s", cases[i].text, lust_error());
        ck_assert_int_eq(lust_config_log_timestamps(conf), cases[i].mode);
        ck_assert_int_eq(lust_log_set_timestamps(lust_config_log_timestamps(conf)), 0);
        lust_config_free(conf);
        npaths--;
    }
}
END_TEST

START_TEST(an_unknown_log_timestamps_mode_is_refused)
{
    expect_error("\nlog_timestamps = sometimes\n",
                 "2: log_timestamps must be auto, yes (true, on) or no (false, off), not "
                 "\"sometimes\"");
}
END_TEST

START_TEST(umask_is_octal_however_it_is_written)
{
    const char *texts[] = {"umask = 027", "umask = 27", "umask = \"0027\"", "umask = '027'"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct lust_config *conf;
        ck_assert_int_eq(lust_config_load("web", write_conf("u.conf", texts[i]), NULL, &conf), 0);
        ck_assert_int_eq(lust_config_umask(conf), 027);
        lust_config_free(conf);
        npaths--;
    }
}
END_TEST

START_TEST(the_daemon_reads_its_own_keys_and_sections)
{
    const char *path = write_conf("web.conf", "# the daemon's keys\n"
                                              "listen = {\"127.0.0.1:80\", \"[::1]:80\"}\n"
                                              "port = 0x50\n"
                                              "limits { clients = 5 }\n"
                                              "backend images { path = /srv/images }\n"
                                              "backend \"api\" {\n"
                                              "    path = /srv/api\n"
                                              "    weight = 3\n"
                                              "}\n"
                                              "user = www-data\n");
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", path, daemon_opts, &conf), 0);
    cfg_t *cfg = lust_config_cfg(conf);
    ck_assert_uint_eq(cfg_size(cfg, "listen"), 2);
    ck_assert_str_eq(cfg_getnstr(cfg, "listen", 0), "127.0.0.1:80");
    ck_assert_str_eq(cfg_getnstr(cfg, "listen", 1), "[::1]:80");
    ck_assert_int_eq(cfg_getint(cfg, "port"), 80);
    ck_assert_int_eq(cfg_getint(cfg_getsec(cfg, "limits"), "clients"), 5);
    ck_assert_uint_eq(cfg_size(cfg, "backend"), 2);
    cfg_t *api = cfg_gettsec(cfg, "backend", "api");
    ck_assert_ptr_nonnull(api);
    ck_assert_str_eq(cfg_getstr(api, "path"), "/srv/api");
    ck_assert_int_eq(cfg_getint(api, "weight"), 3);
    ck_assert_int_eq(cfg_getint(cfg_gettsec(cfg, "backend", "images"), "weight"), 1);
    ck_assert_str_eq(lust_config_user(conf), "www-data");
    lust_config_free(conf);
}
END_TEST

START_TEST(the_daemon_defaults_apply_without_a_file)
{
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", write_conf("e.conf", ""), daemon_opts, &conf), 0);
    cfg_t *cfg = lust_config_cfg(conf);
    ck_assert_str_eq(cfg_getnstr(cfg, "listen", 0), "127.0.0.1:8080");
    ck_assert_int_eq(cfg_getint(cfg_getsec(cfg, "limits"), "clients"), 100);
    ck_assert_uint_eq(cfg_size(cfg, "backend"), 0);
    lust_config_free(conf);
}
END_TEST

START_TEST(syntax_error_names_file_and_line)
{
    expect_error("user = a\n\nuser nobody\n", "3: missing equal sign after option 'user'");
}
END_TEST

START_TEST(unknown_key_names_file_and_line)
{
    expect_error("# comment\n// comment\n/* comment\n */\nlisen = x\n",
                 "5: no such option 'lisen'");
}
END_TEST

START_TEST(unknown_key_in_a_section_names_file_and_line)
{
    expect_error("limits {\n  clients = 5\n  client = 6\n}\n", "3: no such option 'client'");
    expect_error("backend x {\n  weight = 5\n  wieght = 6\n}\n", "3: no such option 'wieght'");
}
END_TEST

START_TEST(wrong_type_names_file_and_line)
{
    expect_error("port = 80\nport = http\n", "2: invalid integer value for option 'port'");
    expect_error("\nforeground = maybe\n", "2: invalid boolean value for option 'foreground'");
    expect_error("limits {\n\n  clients = many }\n",
                 "3: invalid integer value for option 'clients'");
    expect_error("user = {a, b}\n", "1: unexpected token '{'");
}
END_TEST

START_TEST(umask_out_of_range_is_refused)
{
    expect_error("# x\numask = 1000\n", "2: umask must be at most 0777, not \"1000\"");
    expect_error("umask = 0778\n", "1: umask must be octal digits such as 027, not \"0778\"");
    expect_error("umask = \"\"\n", "1: umask must be octal digits such as 027, not \"\"");
}
END_TEST

START_TEST(negative_or_huge_timeouts_are_refused)
{
    expect_error("stop_timeout = -1\n", "1: stop_timeout must not be negative, not \"-1\"");
    expect_error("\n\nstart_timeout = -5\n", "3: start_timeout must not be negative, not \"-5\"");
    expect_error("stop_timeout = 2147484\n",
                 "1: stop_timeout must be at most 2147483 seconds, not \"2147484\"");
    expect_error("stop_timeout = 1.5\n",
                 "1: stop_timeout must be a whole number of seconds, not \"1.5\"");
}
END_TEST

START_TEST(unknown_log_level_is_refused)
{
    expect_error("log_level = verbose\n",
                 "1: log_level must be debug, info, notice, warning (warn) or error (err), not "
                 "\"verbose\"");
}
END_TEST

START_TEST(empty_user_or_group_is_refused)
{
    expect_error("user = \"\"\n", "1: user must not be empty");
    expect_error("/* x */ group = ''\n", "1: group must not be empty");
}
END_TEST

START_TEST(relative_paths_are_refused)
{
    expect_error("jail = run/web\n",
                 "1: jail must be an absolute path or \"none\", not \"run/web\"");
    expect_error("pidfile = web.pid\n", "1: pidfile must be an absolute path, not \"web.pid\"");
    expect_error("logfile = \"\"\n", "1: logfile must be an absolute path, not \"\"");
    expect_error("control_socket = web.ctl\n",
                 "1: control_socket must be an absolute path or \"none\", not \"web.ctl\"");
}
END_TEST

START_TEST(the_sandbox_keys_take_modes_promises_and_unveil_entries)
{
    const char *path = write_conf("web.conf", "sandbox = best\n"
                                              "promises = {\"stdio inet\", \"rpath,wpath\"}\n"
                                              "unveil = {\"/srv/data:rwc\", \"/a:b:r\"}\n");
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", path, NULL, &conf), 0);
    cfg_t *cfg = lust_config_cfg(conf);
    ck_assert_str_eq(cfg_getstr(cfg, "sandbox"), "best");
    ck_assert_uint_eq(cfg_size(cfg, "promises"), 2);
    ck_assert_str_eq(cfg_getnstr(cfg, "promises", 1), "rpath,wpath");
    ck_assert_uint_eq(cfg_size(cfg, "unveil"), 2);
    ck_assert_str_eq(cfg_getnstr(cfg, "unveil", 1), "/a:b:r");
    lust_config_free(conf);
    /* Unset, they are the daemon's to default (lust/server.h): nothing here. */
    ck_assert_int_eq(lust_config_load("web", write_conf("w.conf", ""), NULL, &conf), 0);
    ck_assert_ptr_null(cfg_getstr(lust_config_cfg(conf), "sandbox"));
    ck_assert_uint_eq(cfg_size(lust_config_cfg(conf), "promises"), 0);
    ck_assert_uint_eq(cfg_size(lust_config_cfg(conf), "unveil"), 0);
    lust_config_free(conf);
}
END_TEST

START_TEST(bad_sandbox_keys_are_refused_by_line)
{
    expect_error("sandbox = strict\n",
                 "1: sandbox must be require, best, log or off, not \"strict\"");
    expect_error("\npromises = {\"stdio\", \"inett\"}\n", "2: unknown promise \"inett\"");
    expect_error("unveil = {\"/data\"}\n",
                 "1: unveil \"/data\": not PATH:RIGHTS, e.g. \"/data:rwc\"");
    expect_error("unveil = {\"/data:rq\"}\n",
                 "1: unveil /data: rights \"rq\": not one of r, w, c, x");
    expect_error("unveil = {\"data:r\"}\n", "1: unveil data: not an absolute path");
    expect_error("unveil = {\"/data:\"}\n", "1: unveil /data: no rights (give some of r, w, c, x)");
}
END_TEST

START_TEST(control_socket_none_disables_it_and_a_path_too_long_for_a_socket_is_refused)
{
    struct lust_config *conf;
    const char *path = write_conf("web.conf", "control_socket = none\n");
    ck_assert_int_eq(lust_config_load("web", path, NULL, &conf), 0);
    ck_assert_ptr_null(lust_config_control(conf));
    lust_config_free(conf);

    char text[200], want[100];
    char longest[97];
    memset(longest, 'a', sizeof longest);
    longest[0] = '/';
    longest[96] = '\0'; /* 96 bytes: room left in sun_path for the temporary ".PID" name */
    snprintf(text, sizeof text, "control_socket = \"%s\"\n", longest);
    ck_assert_int_eq(lust_config_load("web", write_conf("web.conf", text), NULL, &conf), 0);
    ck_assert_str_eq(lust_config_control(conf), longest);
    lust_config_free(conf);
    snprintf(text, sizeof text, "control_socket = \"%sa\"\n", longest);
    snprintf(want, sizeof want,
             "1: control_socket must be at most 96 bytes long (a unix socket's limit)");
    expect_error(text, want);

    /* A program name so long that the default socket would not fit gets none, not an error. */
    char name[120];
    memset(name, 'n', 110);
    name[110] = '\0';
    ck_assert_int_eq(lust_config_load(name, write_conf("web.conf", ""), NULL, &conf), 0);
    ck_assert_ptr_null(lust_config_control(conf));
    lust_config_free(conf);
}
END_TEST

START_TEST(unclosed_string_comment_or_section_is_an_error)
{
    expect_error("user = a\ngroup = \"b\nc\n", "2: string is not closed (no closing quote)");
    expect_error("user = a\n/* forgot\n", "2: comment is not closed (no */)");
    expect_error("limits {\n  clients = 5\n\n", "1: '{' is never closed (no matching })");
    expect_error("listen = {a,\n", "1: '{' is never closed (no matching })");
}
END_TEST

START_TEST(an_earlier_error_wins_over_an_unclosed_string)
{
    expect_error("port = x\nuser = \"b\n", "1: invalid integer value for option 'port'");
}
END_TEST

START_TEST(a_backslash_ending_an_open_string_prints_nothing)
{
    /* libconfuse's scanner ECHOes an unmatched backslash to stdout. */
    const char *path = write_conf("b.conf", "user = \"abc\\");
    struct lust_config *conf;
    capture_begin();
    int r = lust_config_load("web", path, NULL, &conf);
    ck_assert_int_eq(capture_end(), 0);
    ck_assert_int_eq(r, -EINVAL);
}
END_TEST

START_TEST(a_bad_file_does_not_spoil_the_next_load)
{
    /* libconfuse's scanner state is global: a file ending inside a comment used to leave it
     * in comment mode for the next parse. */
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", write_conf("a.conf", "user = a /* open"), NULL, &conf),
                     -EINVAL);
    ck_assert_int_eq(lust_config_load("web", write_conf("b.conf", "user = b\n"), NULL, &conf), 0);
    ck_assert_str_eq(lust_config_user(conf), "b");
    lust_config_free(conf);
}
END_TEST

START_TEST(comments_do_not_shift_line_numbers)
{
    expect_error("# one\n# two\n// three\n/* four\nfive */ user = a # six\n"
                 "port = 1 // seven\nport = x\n",
                 "7: invalid integer value for option 'port'");
    expect_error("\"#\" = 1\n", "1: no such option '#'");
}
END_TEST

START_TEST(a_comment_may_stand_where_a_blank_may)
{
    const char *path = write_conf("c.conf", "user = /* who */ www # end\n"
                                            "group = a//b\n"
                                            "listen = { \"x\", # first\n \"y#z\" }\n");
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", path, daemon_opts, &conf), 0);
    ck_assert_str_eq(lust_config_user(conf), "www");
    ck_assert_str_eq(lust_config_group(conf), "a//b");
    ck_assert_str_eq(cfg_getnstr(lust_config_cfg(conf), "listen", 1), "y#z");
    lust_config_free(conf);
}
END_TEST

START_TEST(a_nul_byte_is_refused_with_its_line)
{
    expect_error("x", "1: no such option 'x'");
    const char *path = write_len("n.conf", "user = a\nus\0er = b\n", 19);
    struct lust_config *conf;
    char want[600];
    ck_assert_int_eq(lust_config_load("web", path, NULL, &conf), -EINVAL);
    snprintf(want, sizeof want, "%s:2: NUL byte in a text file", path);
    ck_assert_str_eq(lust_error(), want);
}
END_TEST

START_TEST(errors_print_nothing)
{
    struct lust_config *conf;
    capture_begin();
    int r1 =
        lust_config_load("web", write_conf("p.conf", "limits { bad = 1 }\n"), daemon_opts, &conf);
    int r2 = lust_config_load("web", write_conf("q.conf", "foreground = 7\n"), NULL, &conf);
    ck_assert_int_eq(capture_end(), 0);
    ck_assert_int_eq(r1, -EINVAL);
    ck_assert_int_eq(r2, -EINVAL);
}
END_TEST

START_TEST(an_undeclared_key_asked_later_is_reported_not_printed)
{
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", write_conf("w.conf", ""), NULL, &conf), 0);
    capture_begin();
    char *s = cfg_getstr(lust_config_cfg(conf), "nosuchkey");
    ck_assert_int_eq(capture_end(), 0);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(lust_error(), "no such option 'nosuchkey'"));
    lust_config_free(conf);
}
END_TEST

START_TEST(an_explicit_missing_file_is_an_error)
{
    char path[600];
    snprintf(path, sizeof path, "%s/missing.conf", dir);
    struct lust_config *conf = NULL;
    ck_assert_int_eq(lust_config_load("web", path, NULL, &conf), -ENOENT);
    ck_assert_ptr_null(conf);
    char want[700];
    snprintf(want, sizeof want, "config %s: No such file or directory", path);
    ck_assert_str_eq(lust_error(), want);
}
END_TEST

START_TEST(a_missing_default_file_gives_defaults_and_a_notice)
{
    char name[64], want[128];
    snprintf(name, sizeof name, "lust-check-config-%d", (int)getpid());
    snprintf(want, sizeof want, LUST_SYSCONFDIR "/%s.conf", name);
    ck_assert_int_ne(access(want, F_OK), 0);

    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load(name, NULL, daemon_opts, &conf), 0);
    ck_assert_str_eq(lust_config_path(conf), want);
    ck_assert_str_eq(lust_config_user(conf), "nobody");
    ck_assert_int_eq(cfg_getint(lust_config_cfg(conf), "port"), 8080);
    strncat(want, " not found; using the defaults", sizeof want - strlen(want) - 1);
    ck_assert_str_eq(lust_config_notice(conf), want);
    lust_config_free(conf);
}
END_TEST

START_TEST(an_unreadable_file_is_an_error)
{
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", dir, NULL, &conf), -EISDIR);
}
END_TEST

START_TEST(an_oversized_file_is_refused)
{
    const char *path = write_conf("big.conf", "");
    ck_assert_int_eq(truncate(path, 1024 * 1024 + 1), 0);
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load("web", path, NULL, &conf), -EFBIG);
}
END_TEST

START_TEST(a_bad_program_name_is_refused)
{
    struct lust_config *conf;
    const char *names[] = {"", "a/b", ".", "..", NULL};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_int_eq(lust_config_load(names[i], "/nonexistent", NULL, &conf), -EINVAL);
    ck_assert_int_eq(lust_config_load("web", NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(daemon_options_may_not_shadow_or_repeat_keys)
{
    static cfg_opt_t shadow[] = {CFG_STR("User", "x", CFGF_NOCASE), CFG_END()};
    static cfg_opt_t sub[] = {CFG_INT("a", 1, CFGF_NONE), CFG_INT("a", 2, CFGF_NONE), CFG_END()};
    static cfg_opt_t twice[] = {CFG_SEC("s", sub, CFGF_NONE), CFG_END()};
    struct lust_config *conf;
    const char *path = write_conf("e.conf", "");
    capture_begin();
    int r1 = lust_config_load("web", path, shadow, &conf);
    int r2 = lust_config_load("web", path, twice, &conf);
    ck_assert_int_eq(capture_end(), 0);
    ck_assert_int_eq(r1, -EINVAL);
    ck_assert_int_eq(r2, -EINVAL);
    ck_assert_str_eq(lust_error(), "web: config option \"a\" is declared twice");
}
END_TEST

START_TEST(deprecated_options_become_a_notice)
{
    static cfg_opt_t old[] = {CFG_STR("old", "x", CFGF_DEPRECATED), CFG_END()};
    struct lust_config *conf;
    const char *path = write_conf("d.conf", "old = y\nuser = z\n");
    ck_assert_int_eq(lust_config_load("web", path, old, &conf), 0);
    ck_assert_ptr_nonnull(lust_config_notice(conf));
    ck_assert_ptr_nonnull(strstr(lust_config_notice(conf), "deprecated option 'old'"));
    lust_config_free(conf);
}
END_TEST

START_TEST(load_fd_reads_from_the_current_offset_of_a_pipe)
{
    int p[2];
    const char *text = "user = piped\nport = x\n";
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(write(p[1], "user = piped\n", 13), 13);
    close(p[1]);
    struct lust_config *conf;
    ck_assert_int_eq(lust_config_load_fd("web", p[0], "/etc/web.conf", NULL, &conf), 0);
    ck_assert_str_eq(lust_config_user(conf), "piped");
    ck_assert_str_eq(lust_config_path(conf), "/etc/web.conf");
    lust_config_free(conf);
    close(p[0]);

    int fd = open(write_conf("f.conf", text), O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(lust_config_load_fd("web", fd, NULL, daemon_opts, &conf), -EINVAL);
    ck_assert_str_eq(lust_error(), LUST_SYSCONFDIR "/web.conf:2: invalid integer value for option "
                                                   "'port'");
    ck_assert_int_eq(fcntl(fd, F_GETFD), FD_CLOEXEC); /* still open, still ours */
    close(fd);
}
END_TEST

static cfg_opt_t thread_server_opts[] = {
    CFG_STR_LIST("listen", "{\"127.0.0.1:8080\"}", CFGF_NONE),
    CFG_STR("greeting", "hello", CFGF_NONE),
    CFG_END(),
};

START_TEST(the_example_config_files_load)
{
    struct lust_config *conf;
    ck_assert_int_eq(
        lust_config_load("simple_server", LUST_EXAMPLES_DIR "/simple_server.conf", NULL, &conf), 0);
    ck_assert_str_eq(lust_config_jail(conf), "/run/simple_server");
    ck_assert_str_eq(lust_config_control(conf), "/run/simple_server.ctl");
    ck_assert_int_eq(lust_config_umask(conf), 027);
    ck_assert_str_eq(cfg_getstr(lust_config_cfg(conf), "sandbox"), "best");
    ck_assert_uint_eq(cfg_size(lust_config_cfg(conf), "promises"), 1);
    ck_assert_str_eq(cfg_getnstr(lust_config_cfg(conf), "promises", 0), "stdio");
    lust_config_free(conf);

    ck_assert_int_eq(lust_config_load("thread_server", LUST_EXAMPLES_DIR "/thread_server.conf",
                                      thread_server_opts, &conf),
                     0);
    cfg_t *cfg = lust_config_cfg(conf);
    ck_assert_uint_eq(cfg_size(cfg, "listen"), 1);
    ck_assert_str_eq(cfg_getnstr(cfg, "listen", 0), "127.0.0.1:8080");
    ck_assert_str_eq(cfg_getstr(cfg, "greeting"), "HI!");
    ck_assert_int_eq(lust_config_log_level(conf), LOG_NOTICE);
    ck_assert_int_eq(lust_config_stop_timeout(conf), 5);
    ck_assert_str_eq(cfg_getstr(cfg, "sandbox"), "require");
    ck_assert_uint_eq(cfg_size(cfg, "promises"), 3);
    ck_assert_uint_eq(cfg_size(cfg, "unveil"), 0);
    lust_config_free(conf);
}
END_TEST

struct job {
    const char *path;
    int id;
    int failures;
};

static void *load_many(void *arg)
{
    struct job *job = arg;
    char want[64];
    snprintf(want, sizeof want, "user%d", job->id);
    for (int i = 0; i < 50; i++) {
        struct lust_config *conf;
        if (lust_config_load("web", job->path, daemon_opts, &conf) < 0) {
            /* The odd jobs load a bad file: their sentence must be their own. */
            if (job->id % 2 == 0 || !strstr(lust_error(), job->path))
                job->failures++;
            continue;
        }
        if (job->id % 2 == 1 || strcmp(lust_config_user(conf), want) != 0 ||
            cfg_getint(lust_config_cfg(conf), "port") != job->id)
            job->failures++;
        lust_config_free(conf);
    }
    return NULL;
}

START_TEST(threads_load_at_the_same_time)
{
    pthread_t t[4];
    struct job jobs[4];
    static char text[4][64 * 1024];
    for (int i = 0; i < 4; i++) {
        /* Long files, so that the parses overlap in time: one global scanner would mix them. */
        char file[32];
        size_t n = 0;
        snprintf(file, sizeof file, "t%d.conf", i);
        for (int line = 0; line < 1000; line++)
            n +=
                (size_t)snprintf(text[i] + n, sizeof text[i] - n, "user = user%d # job %d\n", i, i);
        if (i % 2 == 0)
            snprintf(text[i] + n, sizeof text[i] - n, "port = %d\n", i);
        else
            snprintf(text[i] + n, sizeof text[i] - n, "port = \"%d\n", i);
        jobs[i] = (struct job){write_conf(file, text[i]), i, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, load_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(jobs[i].failures, 0);
    }
}
END_TEST

/* A parse that stops in the middle, inside a daemon's parse callback, until released. */
static pthread_mutex_t gate_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_inside, gate_open;

static int gate_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    (void)cfg;
    (void)opt;
    pthread_mutex_lock(&gate_mutex);
    gate_inside = 1;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_mutex);
    pthread_mutex_unlock(&gate_mutex);
    *(const char **)result = value;
    return 0;
}

static cfg_opt_t gate_opts[] = {
    CFG_STR_CB("gate", "", CFGF_NONE, gate_cb),
    CFG_INT("port", 0, CFGF_NONE),
    CFG_END(),
};

struct gated {
    const char *path;
    cfg_opt_t *opts;
    struct lust_config *conf;
    int r;
};

static void *load_gated(void *arg)
{
    struct gated *g = arg;
    g->r = lust_config_load("web", g->path, g->opts, &g->conf);
    return NULL;
}

START_TEST(a_load_waits_for_the_parse_in_another_thread)
{
    /* libconfuse has one scanner for the process: a second parse while the first is halfway
     * would read the first one's input, and its end would reset the first one's scanner. */
    struct gated a = {.path = write_conf("a.conf", "user = alpha\ngate = x\nport = 1\n"),
                      .opts = gate_opts},
                 b = {.path = write_conf("b.conf", "user = beta\nport = 2\n"), .opts = gate_opts};
    pthread_t ta, tb;
    ck_assert_int_eq(pthread_create(&ta, NULL, load_gated, &a), 0);
    pthread_mutex_lock(&gate_mutex);
    while (!gate_inside)
        pthread_cond_wait(&gate_cond, &gate_mutex);
    pthread_mutex_unlock(&gate_mutex);

    ck_assert_int_eq(pthread_create(&tb, NULL, load_gated, &b), 0);
    /* B must still be waiting for the lock. A bounded wait for something that must not
     * happen: it cannot fail wrongly, only miss a bug on a very slow machine. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 300 * 1000 * 1000;
    until.tv_sec += until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    int early = pthread_timedjoin_np(tb, NULL, &until);

    pthread_mutex_lock(&gate_mutex);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_mutex);
    ck_assert_int_eq(pthread_join(ta, NULL), 0);
    if (early != 0)
        ck_assert_int_eq(pthread_join(tb, NULL), 0);

    ck_assert_int_eq(early, ETIMEDOUT);
    ck_assert_int_eq(a.r, 0);
    ck_assert_int_eq(b.r, 0);
    ck_assert_str_eq(lust_config_user(a.conf), "alpha");
    ck_assert_int_eq(cfg_getint(lust_config_cfg(a.conf), "port"), 1);
    ck_assert_str_eq(lust_config_user(b.conf), "beta");
    ck_assert_int_eq(cfg_getint(lust_config_cfg(b.conf), "port"), 2);
    lust_config_free(a.conf);
    lust_config_free(b.conf);
}
END_TEST

START_TEST(free_accepts_null)
{
    lust_config_free(NULL);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, defaults_follow_the_program_name_and_install_dirs);
    tcase_add_test(tc, the_install_dirs_are_the_daemon_ones);
    tcase_add_test(tc, each_standard_key_can_be_set_in_the_file);
    tcase_add_test(tc, an_included_file_is_trusted_like_the_config_itself);
    tcase_add_test(tc, jail_none_disables_the_jail);
    tcase_add_test(tc, every_log_level_maps_to_its_syslog_priority);
    tcase_add_test(tc, log_level_names_match_the_logs_and_the_threshold_feeds_set_level);
    tcase_add_test(tc, log_timestamps_names_the_logs_modes);
    tcase_add_test(tc, an_unknown_log_timestamps_mode_is_refused);
    tcase_add_test(tc, umask_is_octal_however_it_is_written);
    tcase_add_test(tc, the_daemon_reads_its_own_keys_and_sections);
    tcase_add_test(tc, the_daemon_defaults_apply_without_a_file);
    tcase_add_test(tc, syntax_error_names_file_and_line);
    tcase_add_test(tc, unknown_key_names_file_and_line);
    tcase_add_test(tc, unknown_key_in_a_section_names_file_and_line);
    tcase_add_test(tc, wrong_type_names_file_and_line);
    tcase_add_test(tc, umask_out_of_range_is_refused);
    tcase_add_test(tc, negative_or_huge_timeouts_are_refused);
    tcase_add_test(tc, unknown_log_level_is_refused);
    tcase_add_test(tc, empty_user_or_group_is_refused);
    tcase_add_test(tc, relative_paths_are_refused);
    tcase_add_test(tc, the_sandbox_keys_take_modes_promises_and_unveil_entries);
    tcase_add_test(tc, bad_sandbox_keys_are_refused_by_line);
    tcase_add_test(tc, control_socket_none_disables_it_and_a_path_too_long_for_a_socket_is_refused);
    tcase_add_test(tc, unclosed_string_comment_or_section_is_an_error);
    tcase_add_test(tc, an_earlier_error_wins_over_an_unclosed_string);
    tcase_add_test(tc, a_backslash_ending_an_open_string_prints_nothing);
    tcase_add_test(tc, a_bad_file_does_not_spoil_the_next_load);
    tcase_add_test(tc, comments_do_not_shift_line_numbers);
    tcase_add_test(tc, a_comment_may_stand_where_a_blank_may);
    tcase_add_test(tc, a_nul_byte_is_refused_with_its_line);
    tcase_add_test(tc, errors_print_nothing);
    tcase_add_test(tc, an_undeclared_key_asked_later_is_reported_not_printed);
    tcase_add_test(tc, an_explicit_missing_file_is_an_error);
    tcase_add_test(tc, a_missing_default_file_gives_defaults_and_a_notice);
    tcase_add_test(tc, an_unreadable_file_is_an_error);
    tcase_add_test(tc, an_oversized_file_is_refused);
    tcase_add_test(tc, a_bad_program_name_is_refused);
    tcase_add_test(tc, daemon_options_may_not_shadow_or_repeat_keys);
    tcase_add_test(tc, deprecated_options_become_a_notice);
    tcase_add_test(tc, load_fd_reads_from_the_current_offset_of_a_pipe);
    tcase_add_test(tc, the_example_config_files_load);
    tcase_add_test(tc, threads_load_at_the_same_time);
    tcase_add_test(tc, a_load_waits_for_the_parse_in_another_thread);
    tcase_add_test(tc, free_accepts_null);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(config_suite)
