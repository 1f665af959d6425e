/*
 * lib/server.c - the framework's entry point: argv -> command.
 *
 * The only module that composes the others; its other files are listed in server_internal.h.
 * This file parses the command line, copies the caller's callback struct (whatever its
 * version), loads the config and runs the command. It prints the usage text and the
 * failures that come before any command runs.
 */
#include "server_internal.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>
#include <lust/notify.h>
#include <lust/privs.h>
#include <lust/version.h>

/* The exit status for a failed start, from the errno that stopped it. */
int lust__server_exit_for(int r)
{
    switch (-r) {
    case EPERM:
    case EACCES:
        return EXIT_PRIVILEGE;
    case LUST__SERVER_CONFIG_VERDICT:
        return EXIT_CONFIG;
    default:
        return EXIT_GENERIC;
    }
}

/*
 * Every operator message that may carry text from a config file, a path or the daemon goes
 * out here, through the one filter (lust__server_printable): no terminal control byte from a
 * config value reaches root's terminal. One line; the newline is added.
 */
void lust__server_print(FILE *to, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    lust__server_printable(line);
    fprintf(to, "%s\n", line);
}

/* The same for a failed hook, which may have blamed the daemon's own config. */
int lust__server_exit_for_hook(const struct lust_server *srv, int r)
{
    return srv->config_failed ? EXIT_CONFIG : lust__server_exit_for(r);
}

void lust__server_say(const struct lust_server *srv, const char *what)
{
    lust__server_print(stderr, "%s: %s%s%s", srv->name, what ? what : "", what ? ": " : "",
                       lust_error());
}

static void usage(const struct lust_server *srv, FILE *to)
{
    char *conf = NULL;
    if (lust__config_default_path(srv->name, &conf) < 0)
        conf = NULL;
    fprintf(to,
            "Usage: %s [-c FILE] [-f] [--ready-fd N] COMMAND\n"
            "Commands: start, stop, restart, reload, force-reload, status, and reopen (the log\n"
            "file, after logrotate moved it)\n"
            "  -c, --config FILE   read FILE instead of %s\n"
            "  -f, --foreground    stay in the foreground (systemd, runit, containers)\n"
            "      --ready-fd N    write a newline to descriptor N once ready (s6 style)\n"
            "  -V, --version       print the version of %s and of liblust\n"
            "  -h, --help          print this help\n",
            srv->name, conf ? conf : "the default config file", srv->name);
    if (srv->ops.usage)
        fprintf(to, "\n%s\n", srv->ops.usage);
    free(conf);
}

static void version(const struct lust_server *srv)
{
    if (srv->ops.version)
        printf("%s %s (liblust %s)\n", srv->name, srv->ops.version, lust_version());
    else
        printf("%s (liblust %s)\n", srv->name, lust_version());
}

static enum lust__server_command parse_command(const char *word)
{
    static const struct {
        char word[16]; /* not a pointer: no relocation, no dirty page */
        enum lust__server_command cmd;
    } table[] = {{"start", CMD_START},
                 {"stop", CMD_STOP},
                 {"restart", CMD_RESTART},
                 {"reload", CMD_RELOAD},
                 {"force-reload", CMD_FORCE_RELOAD},
                 {"status", CMD_STATUS},
                 {"reopen", CMD_REOPEN}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(word, table[i].word) == 0)
            return table[i].cmd;
    return CMD_NONE;
}

/* Returns a command, or a negative exit status to return at once (-1 for 0). */
int lust__server_parse_argv(struct lust_server *srv, int argc, char **argv, int *force_fg)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"foreground", no_argument, NULL, 'f'},
        {"ready-fd", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0}};
    int c;
    char *end;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:fhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            srv->config_path = optarg;
            break;
        case 'f':
            *force_fg = 1;
            break;
        case 'r':
            errno = 0;
            long fd = strtol(optarg, &end, 10);
            if (errno || *end || fd < 0 || fd > 65535) {
                fprintf(stderr, "%s: --ready-fd needs a descriptor number\n", srv->name);
                return -EXIT_USAGE;
            }
            srv->ready_fd = (int)fd;
            break;
        case 'h':
            usage(srv, stdout);
            return -1;
        case 'V':
            version(srv);
            return -1;
        default:
            lust__server_print(stderr, "%s: unknown option %s", srv->name, argv[optind - 1]);
            usage(srv, stderr);
            return -EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(srv, stderr);
        return -EXIT_USAGE;
    }
    enum lust__server_command cmd = parse_command(argv[optind]);
    if (cmd == CMD_NONE) {
        lust__server_print(stderr, "%s: unknown command \"%s\"", srv->name, argv[optind]);
        usage(srv, stderr);
        return -EXIT_USAGE;
    }
    return (int)cmd;
}

/*
 * Copies the caller's ops into this library's layout: the first `known` bytes (what the entry
 * point called reads), zero beyond. A larger struct is accepted only if the members past
 * `known` are all zero (the kernel's copy_struct_from_user rule), so a callback or setting is
 * never silently dropped.
 */
int lust__server_copy_ops(struct lust_server *srv, const struct lust_server_ops *ops, size_t size,
                          size_t known)
{
    if (!ops || size < offsetof(struct lust_server_ops, run) + sizeof ops->run)
        return lust__fail_plain(EINVAL, "lust_server_main: callback struct too small");
    if (size > known) {
        const unsigned char *tail = (const unsigned char *)ops + known;
        for (size_t i = 0; i < size - known; i++) {
            if (!tail[i])
                continue;
            if (known < sizeof srv->ops)
                return lust__fail_plain(E2BIG, "lust_server_main_sized: sets members after reload, "
                                               "which only lust_server_main() of a liblust 1.2 "
                                               "header reads");
            return lust__fail_plain(E2BIG,
                                    "lust_server_main: this program needs a newer liblust: "
                                    "built against the headers of %u.%u, it sets members this "
                                    "%s does not know",
                                    srv->header_version >> 16, (srv->header_version >> 8) & 0xff,
                                    lust_version());
        }
    }
    memset(&srv->ops, 0, sizeof srv->ops);
    memcpy(&srv->ops, ops, size < known ? size : known);
    if (!srv->ops.run)
        return lust__fail_plain(EINVAL, "lust_server_main: the run callback is required");
    return 0;
}

static int run_command(struct lust_server *srv, enum lust__server_command cmd)
{
    int r;
    switch (cmd) {
    case CMD_START:
        return lust__server_cmd_start(srv);
    case CMD_STOP:
        return lust__server_cmd_stop(srv);
    case CMD_STATUS:
        return lust__server_cmd_status(srv);
    case CMD_RELOAD:
        return lust__server_cmd_reload(srv);
    case CMD_REOPEN:
        return lust__server_cmd_reopen(srv);
    case CMD_FORCE_RELOAD:
        /* LSB: force-reload restarts a daemon that cannot reload. */
        if (srv->ops.reload)
            return lust__server_cmd_reload(srv);
        __attribute__((fallthrough));
    case CMD_RESTART:
        r = lust__server_cmd_stop(srv);
        return r == EXIT_OK ? lust__server_cmd_start(srv) : r;
    default:
        return EXIT_USAGE;
    }
}

/*
 * The config of the last command that returned, not freed: freeing it took a status or a stop
 * 2% of its instructions, just before the process exits anyway. Reachable from here (no
 * leak checker counts it), and freed when lust_server_main() runs again in the process.
 */
static struct lust_config *kept_config;

/* Everything the handle holds, released; in the process that returns from the command. */
static void server_free(struct lust_server *srv)
{
    int *fds[] = {&srv->jail_fd, &srv->config_fd, &srv->ctl_fd,    &srv->log_fd,
                  &srv->stop_fd, &srv->quit_fd,   &srv->signal_fd, &srv->watchdog_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    lust_notify_close(srv->notify);
    srv->notify = NULL;
    lust_creds_free(srv->creds);
    srv->creds = NULL;
    lust_config_release(kept_config);
    kept_config = lust__server_config_keep(srv);
    lust__server_restart_free(srv);
    lust__server_sandbox_free(srv);
}

/*
 * --ready-fd N must name a pipe, FIFO or socket open at exec, above stdio: a number that is not
 * open would be taken by the next file opened (the config, kept for SIGHUP) and closed at
 * readiness; 0 to 2 would lose stdio. Refused (usage, exit 2) before anything is opened.
 */
static int check_ready_fd(struct lust_server *srv)
{
    struct stat st;
    int fd = srv->ready_fd;
    if (fd < 0)
        return 0;
    if (fd <= 2) {
        fprintf(stderr, "%s: --ready-fd %d: descriptors 0 to 2 are stdin, stdout and stderr\n",
                srv->name, fd);
        return -EINVAL;
    }
    if (fstat(fd, &st) < 0) {
        fprintf(stderr, "%s: --ready-fd %d: %s (the supervisor must pass it open)\n", srv->name, fd,
                strerror(errno));
        return -EBADF;
    }
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "%s: --ready-fd %d: neither a pipe, a FIFO nor a socket\n", srv->name, fd);
        return -ENOTSOCK;
    }
    return 0;
}

/* Both entry points: known is how much of the caller's struct the one called reads. */
static int server_main(const char *name, const struct lust_server_ops *ops, size_t ops_size,
                       size_t known, unsigned header_version, void *user_data, int argc,
                       char **argv)
{
    struct lust_server srv = {
        .name = name,
        .header_version = header_version,
        .user_data = user_data,
        .ready_fd = -1,
        .log_fd = -1,
        .jail_fd = -1,
        .config_fd = -1,
        .ctl_fd = -1,
        .stop_fd = -1,
        .quit_fd = -1,
        .signal_fd = -1,
        .watchdog_fd = -1,
        .config_lock = PTHREAD_MUTEX_INITIALIZER,
        .alive_interval_ms = -1,
    };
    struct lust_config *config;
    int force_fg = 0;

    if (!name || !*name || strchr(name, '/')) {
        fprintf(stderr, "lust_server_main: a program name without '/' is required\n");
        return EXIT_USAGE;
    }
    if (argc < 1 || !argv) {
        fprintf(stderr, "%s: lust_server_main needs argc and argv as main() got them\n", name);
        return EXIT_USAGE;
    }
    if (lust__server_copy_ops(&srv, ops, ops_size, known) < 0) {
        lust__server_print(stderr, "%s: %s", name, lust_error());
        return EXIT_GENERIC;
    }
    int cmd = lust__server_parse_argv(&srv, argc, argv, &force_fg);
    if (cmd < 0)
        return cmd == -1 ? EXIT_OK : -cmd;
    /* Before anything is opened, which could take the number of a descriptor not open. */
    if (check_ready_fd(&srv) < 0)
        return EXIT_USAGE;
    if (lust__fd_fill_stdio() < 0) {
        fprintf(stderr, "%s: cannot open /dev/null on the closed standard descriptors\n", name);
        return EXIT_GENERIC;
    }
    for (int i = 0; i < CTL_CONN_MAX; i++)
        srv.conns[i].fd = -1;
    /* A start of a daemon that reloads keeps the file open for SIGHUP (lust__server_prepare() in
     * server_prepare.c would open it again otherwise). */
    int keep = srv.ops.reload && (cmd == CMD_START || cmd == CMD_RESTART);
    int r = lust__config_load(name, srv.config_path, srv.ops.options, &config,
                              keep ? &srv.config_fd : NULL);
    if (r < 0) {
        /* A start tells a process manager too. A reload that finds the file broken fails (1)
         * and leaves the server alone; status cannot tell (LSB 4). */
        if (cmd == CMD_START || cmd == CMD_RESTART || (cmd == CMD_FORCE_RELOAD && !srv.ops.reload))
            lust__server_start_failed(&srv, NULL, r);
        else
            lust__server_say(&srv, NULL);
        if (cmd == CMD_STATUS)
            return EXIT_PRIVILEGE;
        return cmd == CMD_RELOAD || (cmd == CMD_FORCE_RELOAD && srv.ops.reload) ? EXIT_GENERIC
                                                                                : EXIT_CONFIG;
    }
    if (lust__server_config_init(&srv, config) < 0) {
        lust__server_say(&srv, NULL);
        lust_config_release(config);
        return EXIT_GENERIC;
    }
    srv.foreground = force_fg || lust_config_foreground(srv.config);
    srv.pidfile_wanted = !srv.foreground || lust__config_file_sets(srv.config, "pidfile");
    srv.control_implicit = !lust__config_file_sets(srv.config, "control_socket");

    int status = run_command(&srv, (enum lust__server_command)cmd);
    server_free(&srv);
    fflush(stdout);
    return status;
}

int lust_server_main_versioned(const char *name, const struct lust_server_ops *ops, size_t ops_size,
                               unsigned header_version, void *user_data, int argc, char **argv)
{
    return server_main(name, ops, ops_size, sizeof(struct lust_server_ops), header_version,
                       user_data, argc, argv);
}

int lust_server_main_sized(const char *name, const struct lust_server_ops *ops, size_t ops_size,
                           void *user_data, int argc, char **argv)
{
    /* Its callers were built against 1.0 or 1.1 headers, which have no such number. */
    return server_main(name, ops, ops_size, LUST__SERVER_OPS_V1_SIZE, 0x010000, user_data, argc,
                       argv);
}
