/*
 * lib/config.c - the config file: libconfuse plus the standard keys, errors as FILE:LINE.
 * The standard keys' checks are in config_keys.c, the scan of the text in config_scan.c.
 *
 * What libconfuse 3.3 (Debian 12) does not do by itself, and so what this file adds:
 * - It prints errors to stderr unless the cfg_t has an error function, and sections made at
 *   cfg_init() time carry no file name: on_error() takes both from the load in progress.
 * - Its line numbers run ahead after each comment (by 2 after a '#' or '//' comment, by 1 after
 *   a C comment), and it accepts a file that ends inside a comment, a string or an open
 *   section; a string left open that ends in a backslash even makes its scanner ECHO the
 *   backslash to stdout. lust__config_prescan() (config_scan.c) blanks the comments (keeping
 *   the newlines) and finds those endings before libconfuse sees the text.
 * - Its scanner is one global flex instance. Every call that can run it (cfg_init, which
 *   parses list defaults; cfg_parse_fp; cfg_free of a root, which resets it) holds parse_lock.
 * - Its integer parser tests errno for ERANGE without clearing it first: errno is cleared
 *   before each parse so a stale value cannot fail a good number.
 */
#include "config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lust/config.h>
#include <lust/error.h>

#if !defined(LUST_SYSCONFDIR) || !defined(LUST_RUNSTATEDIR) || !defined(LUST_LOCALSTATEDIR)
#error "LUST_SYSCONFDIR, LUST_RUNSTATEDIR and LUST_LOCALSTATEDIR come from CMakeLists.txt"
#endif

/* A config file is a few kilobytes; the cap stops `-c /dev/zero` from eating memory. */
#define CONFIG_MAX (1024 * 1024)

/* Sections nest this deep at most in a daemon's option list (guards against a cycle). */
#define OPTS_DEPTH_MAX 32

/*
 * Immutable once loaded, so threads may read one at the same time; refs counts its holders
 * (lust_config_load gives the first reference), and the last release frees it.
 */
struct lust_config {
    atomic_uint refs;
    cfg_t *cfg;
    char *name;
    char *path;
    char *notice;
    cfg_opt_t **guarded; /* section option arrays copied to guard include(); see guard_includes */
    size_t nguarded;
};

static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

/* The load running on this thread, for on_error(); NULL outside a load. */
struct load {
    const char *path;
    char error[768]; /* libconfuse's last message, as FILE:LINE: what */
    int error_line;
    char *warnings; /* messages of a load that succeeded (deprecated options), or NULL */
};

static _Thread_local struct load *current;

static char *join(const char *a, const char *b)
{
    char *s;
    if (!a)
        return strdup(b);
    if (asprintf(&s, "%s\n%s", a, b) < 0)
        return NULL;
    return s;
}

LUST__PRINTF(2, 0) static void on_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    char what[512];
    vsnprintf(what, sizeof what, fmt, ap);

    struct load *ld = current;
    if (!ld) {
        /* A getter asked for an undeclared key after the load: a bug in the daemon. */
        lust__fail_plain(EINVAL, "%s: %s", cfg && cfg->filename ? cfg->filename : "config", what);
        return;
    }
    /* Sections made by cfg_init() have no file name; the root and sections parsed from the
     * file have the name we gave the root. */
    const char *file = cfg && cfg->filename ? cfg->filename : ld->path;
    int line = cfg ? cfg->line : 0;
    if (line > 0)
        snprintf(ld->error, sizeof ld->error, "%s:%d: %s", file, line, what);
    else
        snprintf(ld->error, sizeof ld->error, "%s: %s", file, what);
    ld->error_line = line;

    char *w = join(ld->warnings, ld->error);
    if (w) {
        free(ld->warnings);
        ld->warnings = w;
    }
}

static bool same_name(const cfg_opt_t *a, const cfg_opt_t *b)
{
    /* libconfuse's own rule for duplicates: case-blind when either option is. */
    if ((a->flags | b->flags) & CFGF_NOCASE)
        return strcasecmp(a->name, b->name) == 0;
    return strcmp(a->name, b->name) == 0;
}

/*
 * libconfuse reports a duplicate option from inside cfg_init(), before an error function can
 * be installed, that is on stderr; and it dereferences a section's NULL option list. Refuse
 * both here, for the daemon's options at every level.
 */
static int check_opts(const char *name, const cfg_opt_t *opts, bool top, int depth, size_t *n)
{
    if (depth > OPTS_DEPTH_MAX)
        return lust__fail_plain(EINVAL, "%s: config options nest deeper than %d sections", name,
                                OPTS_DEPTH_MAX);
    size_t i;
    for (i = 0; opts[i].name; i++) {
        const cfg_opt_t *o = &opts[i];
        if (!o->name[0])
            return lust__fail_plain(EINVAL, "%s: a config option has an empty name", name);
        for (size_t j = 0; j < i; j++)
            if (same_name(o, &opts[j]))
                return lust__fail_plain(EINVAL, "%s: config option \"%s\" is declared twice", name,
                                        o->name);
        for (size_t j = 0; top && j < STD_COUNT; j++)
            if (same_name(o, &lust__config_std_opts[j]))
                return lust__fail_plain(
                    EINVAL, "%s: config option \"%s\" is a standard key of liblust", name, o->name);
        if (o->type == CFGT_SEC) {
            size_t sub;
            if (!o->subopts)
                return lust__fail_plain(EINVAL, "%s: config section \"%s\" has no options", name,
                                        o->name);
            int r = check_opts(name, o->subopts, false, depth + 1, &sub);
            if (r < 0)
                return r;
        }
    }
    *n = i;
    return 0;
}

/* Read FD to its end, at most CONFIG_MAX bytes; *text is NUL-terminated. */
static int read_all(int fd, const char *path, char **text, size_t *len)
{
    int r = lust__read_all(fd, CONFIG_MAX, text, len);
    if (r == -EFBIG)
        return lust__fail_plain(EFBIG, "config %s: larger than %d bytes", path, CONFIG_MAX);
    return r < 0 ? lust__fail(-r, "config %s", path) : 0;
}

int lust__config_trusted_stat(const struct stat *st, const char *path)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return lust__fail_plain(EPERM,
                                "config %s is owned by uid %u, neither root nor the user running "
                                "this (uid %u): refusing to trust it, as sudo and logrotate do",
                                path, (unsigned)st->st_uid, (unsigned)geteuid());
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return lust__fail_plain(EPERM,
                                "config %s is writable by group or others (mode %04o): refusing "
                                "to trust it, as sudo and logrotate do",
                                path, (unsigned)(st->st_mode & 07777));
    return 0;
}

int lust__config_trusted(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lust__fail(errno, "config %s", path);
    return lust__config_trusted_stat(&st, path);
}

/*
 * libconfuse's include(), behind the same trust check as the file that includes it: an
 * included file that others can write would let them set the daemon's user, jail or paths.
 * libconfuse opens the file again by its path after the check; both opens see the same file
 * unless its directory is writable by someone else, which the administrator owns.
 */
static int trusted_include(cfg_t *cfg, cfg_opt_t *opt, int argc, const char **argv)
{
    if (argc == 1) {
        char *path = cfg_tilde_expand(argv[0]);
        int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
        int r = fd >= 0 ? lust__config_trusted(fd, path) : 0;
        if (fd >= 0)
            close(fd);
        free(path);
        if (r < 0) {
            cfg_error(cfg, "include: %s", lust_error());
            return 1;
        }
    }
    return cfg_include(cfg, opt, argc, argv);
}

static bool declares_include(const cfg_opt_t *o)
{
    for (; o && o->name; o++)
        if ((o->type == CFGT_FUNC && o->func == cfg_include) ||
            (o->type == CFGT_SEC && declares_include(o->subopts)))
            return true;
    return false;
}

/*
 * Every include() the daemon declared, at the top or in a section, goes through the check.
 * opts is ours to change; a section's options are the daemon's, so a section that declares an
 * include() anywhere below gets a copy, kept in c while the config lives (libconfuse points
 * into it). Returns 0 or -ENOMEM.
 */
static int guard_includes(cfg_opt_t *opts, struct lust_config *c)
{
    for (; opts->name; opts++) {
        if (opts->type == CFGT_FUNC && opts->func == cfg_include) {
            opts->func = trusted_include;
        } else if (opts->type == CFGT_SEC && declares_include(opts->subopts)) {
            size_t n = 0;
            while (opts->subopts[n].name)
                n++;
            cfg_opt_t *copy = calloc(n + 1, sizeof *copy);
            cfg_opt_t **list = copy ? realloc(c->guarded, (c->nguarded + 1) * sizeof *list) : NULL;
            if (!list) {
                free(copy);
                return -ENOMEM;
            }
            c->guarded = list;
            list[c->nguarded++] = copy;
            memcpy(copy, opts->subopts, n * sizeof *copy);
            opts->subopts = copy;
            if (guard_includes(copy, c) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static bool usable_name(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Writes DIR/NAME.EXT and its NUL at *p, moves *p past them; returns where it starts. */
static char *put_path(char **p, const char *dir, const char *name, const char *ext)
{
    char *start = *p;
    *p = stpcpy(stpcpy(stpcpy(stpcpy(*p, dir), "/"), name), ext) + 1;
    return start;
}

/*
 * The standard options with this program's defaults, then the daemon's, then CFG_END. The
 * four default paths are in one block, *defs (freed by the caller).
 */
static cfg_opt_t *merge_opts(const char *name, const cfg_opt_t *opts, size_t n, char **defs)
{
    static const char run[] = LUST_RUNSTATEDIR, logs[] = LUST_LOCALSTATEDIR "/log";
    cfg_opt_t *all = calloc(STD_COUNT + n + 1, sizeof *all);
    /* Four paths: each a directory, a slash, the name, at most 4 bytes of extension, a NUL. */
    char *p = all ? malloc(3 * sizeof run + sizeof logs + 4 * (strlen(name) + 6)) : NULL;
    if (!p) {
        free(all);
        return NULL;
    }
    *defs = p;
    memcpy(all, lust__config_std_opts, sizeof lust__config_std_opts);
    all[STD_JAIL].def.string = put_path(&p, run, name, "");
    all[STD_PIDFILE].def.string = put_path(&p, run, name, ".pid");
    all[STD_LOGFILE].def.string = put_path(&p, logs, name, ".log");
    char *ctl = put_path(&p, run, name, ".ctl");
    /* A name too long for a socket path gets no default socket rather than a config error. */
    all[STD_CONTROL].def.string =
        strlen(ctl) <= CONTROL_PATH_MAX ? ctl : (char *)LUST_CONFIG_NO_CONTROL;
    if (n)
        memcpy(all + STD_COUNT, opts, n * sizeof *opts);
    /* calloc left the last entry zero: CFG_END(). */
    return all;
}

/* Parse TEXT (modified: comments blanked) with libconfuse. Called with parse_lock held. */
static int parse_locked(cfg_t *cfg, struct load *ld, char *text, size_t len)
{
    struct lust__config_scan scan = lust__config_prescan(text, len);
    int r = CFG_SUCCESS;

    cfg_set_error_function(cfg, on_error);
    free(cfg->filename);
    cfg->filename = strdup(ld->path);
    if (!cfg->filename)
        return lust__fail(ENOMEM, "config %s", ld->path);
    if (scan.cut > 0) {
        text[scan.cut] = '\0';
        FILE *fp = fmemopen(text, scan.cut, "r");
        if (!fp)
            return lust__fail(errno, "config %s", ld->path);
        errno = 0;
        r = cfg_parse_fp(cfg, fp);
        fclose(fp);
    }
    if (r != CFG_SUCCESS && (!scan.line || (ld->error_line && ld->error_line < scan.line))) {
        if (!ld->error[0])
            return lust__fail_plain(EINVAL, "%s:%d: syntax error", ld->path, cfg->line);
        return lust__fail_plain(EINVAL, "%s", ld->error);
    }
    if (scan.line)
        return lust__fail_plain(EINVAL, "%s:%d: %s", ld->path, scan.line, scan.what);
    return 0;
}

static int load_text(const char *name, const char *path, char *text, size_t len,
                     const cfg_opt_t *opts, const char *notice, struct lust_config **out)
{
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return lust__fail_plain(EINVAL, "%s:%d: NUL byte in a text file", path,
                                1 + lust__config_count_lines(text, 0, (size_t)(nul - text)));

    size_t n = 0;
    int r = opts ? check_opts(name, opts, true, 0, &n) : 0;
    if (r < 0)
        return r;

    struct lust_config *c = calloc(1, sizeof *c);
    if (c)
        atomic_init(&c->refs, 1);
    char *defs = NULL;
    cfg_opt_t *all = c ? merge_opts(name, opts, n, &defs) : NULL;
    struct load ld = {.path = path};
    if (!c || !all || !(c->name = strdup(name)) || !(c->path = strdup(path)) ||
        (notice && !(c->notice = strdup(notice))) || guard_includes(all + STD_COUNT, c) < 0) {
        r = lust__fail(ENOMEM, "config %s", path);
        goto out;
    }

    pthread_mutex_lock(&parse_lock);
    current = &ld;
    /* cfg_init copies the options, names and default strings: ours may go right after. */
    c->cfg = cfg_init(all, CFGF_NONE);
    if (!c->cfg)
        r = lust__fail(ENOMEM, "config %s", path);
    else
        r = parse_locked(c->cfg, &ld, text, len);
    if (r < 0 && c->cfg) {
        cfg_free(c->cfg);
        c->cfg = NULL;
    }
    current = NULL;
    pthread_mutex_unlock(&parse_lock);

    if (r == 0 && ld.warnings) {
        char *joined = join(c->notice, ld.warnings);
        if (!joined) {
            r = lust__fail(ENOMEM, "config %s", path);
        } else {
            free(c->notice);
            c->notice = joined;
        }
    }
out:
    free(ld.warnings);
    free(all);
    free(defs);
    if (r < 0) {
        lust_config_free(c);
        return r;
    }
    *out = c;
    return 0;
}

int lust__config_default_path(const char *name, char **path)
{
    if (asprintf(path, "%s/%s.conf", LUST_SYSCONFDIR, name) < 0)
        return lust__fail(ENOMEM, "config for %s", name);
    return 0;
}

static int check_args(const char *name, struct lust_config **out)
{
    if (!out)
        return lust__fail_plain(EINVAL, "config: no place to store the result");
    if (!usable_name(name))
        return lust__fail_plain(EINVAL, "config: program name \"%s\" cannot name a file",
                                name ? name : "(null)");
    return 0;
}

int lust_config_load(const char *name, const char *path, const cfg_opt_t *opts,
                     struct lust_config **out)
{
    return lust__config_load(name, path, opts, out, NULL);
}

int lust__config_load(const char *name, const char *path, const cfg_opt_t *opts,
                      struct lust_config **out, int *keep)
{
    int r = check_args(name, out);
    if (r < 0)
        return r;
    char *def = NULL;
    if (!path) {
        if ((r = lust__config_default_path(name, &def)) < 0)
            return r;
        path = def;
    }

    char *text = NULL, *notice = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == ENOENT && def) {
        if (asprintf(&notice, "%s not found; using the defaults", path) < 0 ||
            !(text = strdup(""))) {
            r = lust__fail(ENOMEM, "config %s", path);
            goto out;
        }
    } else if (fd < 0) {
        r = lust__fail(errno, "config %s", path);
        goto out;
    } else {
        struct stat st;
        r = fstat(fd, &st) < 0 ? lust__fail(errno, "config %s", path)
                               : lust__config_trusted_stat(&st, path);
        if (r == 0)
            r = read_all(fd, path, &text, &len);
        if (r == 0 && keep && S_ISREG(st.st_mode))
            *keep = fd;
        else
            close(fd);
        if (r < 0)
            goto out;
    }
    r = load_text(name, path, text, len, opts, notice, out);
    if (r < 0 && keep && *keep >= 0) {
        close(*keep);
        *keep = -1;
    }
out:
    free(text);
    free(notice);
    free(def);
    return r;
}

int lust_config_load_fd(const char *name, int fd, const char *path, const cfg_opt_t *opts,
                        struct lust_config **out)
{
    int r = check_args(name, out);
    if (r < 0)
        return r;
    char *def = NULL;
    if (!path) {
        if ((r = lust__config_default_path(name, &def)) < 0)
            return r;
        path = def;
    }
    char *text = NULL;
    size_t len = 0;
    r = read_all(fd, path, &text, &len);
    if (r == 0)
        r = load_text(name, path, text, len, opts, NULL, out);
    free(text);
    free(def);
    return r;
}

void lust__config_hold(struct lust_config *config)
{
    atomic_fetch_add_explicit(&config->refs, 1, memory_order_relaxed);
}

unsigned lust__config_refs(const struct lust_config *config)
{
    return atomic_load(&config->refs);
}

void lust_config_release(struct lust_config *config)
{
    /* acq_rel: every holder's reads happen before the free by whoever drops the last one. */
    if (!config || atomic_fetch_sub_explicit(&config->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (config->cfg) {
        pthread_mutex_lock(&parse_lock);
        cfg_free(config->cfg);
        pthread_mutex_unlock(&parse_lock);
    }
    free(config->name);
    free(config->path);
    free(config->notice);
    for (size_t i = 0; i < config->nguarded; i++)
        free(config->guarded[i]);
    free(config->guarded);
    free(config);
}

void lust_config_free(struct lust_config *config)
{
    lust_config_release(config);
}

cfg_t *lust_config_cfg(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    return config->cfg;
}

const char *lust_config_name(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    return config->name;
}

const char *lust_config_path(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    return config->path;
}

const char *lust_config_notice(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    return config->notice;
}

const char *lust_config_user(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    return cfg_getstr(config->cfg, "user");
}

const char *lust_config_group(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    return cfg_getstr(config->cfg, "group");
}

const char *lust_config_jail(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    const char *jail = cfg_getstr(config->cfg, "jail");
    return strcmp(jail, LUST_CONFIG_NO_JAIL) == 0 ? NULL : jail;
}

const char *lust_config_pidfile(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    return cfg_getstr(config->cfg, "pidfile");
}

const char *lust_config_logfile(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    return cfg_getstr(config->cfg, "logfile");
}

const char *lust_config_control(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, NULL);
    const char *path = cfg_getstr(config->cfg, "control_socket");
    return strcmp(path, LUST_CONFIG_NO_CONTROL) == 0 ? NULL : path;
}

int lust_config_log_threshold(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, -EINVAL);
    int level = lust__level_parse(cfg_getstr(config->cfg, "log_level"));
    /* parse_log_level() admits only the table's names, so this is only for a NULL string. */
    return level < 0 ? LUST__INFO : level;
}

int lust_config_log_level(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, -EINVAL);
    return lust__levels[lust_config_log_threshold(config)].syslog;
}

int lust_config_log_timestamps(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, -EINVAL);
    const char *mode = cfg_getstr(config->cfg, "log_timestamps");
    for (int i = 0; i < LUST__STAMPS_MODES; i++)
        if (mode && strcmp(mode, lust__config_stamp_modes[i]) == 0)
            return i;
    /* parse_log_timestamps() admits only these names, so this is only for a NULL string. */
    return LUST__STAMPS_AUTO;
}

mode_t lust_config_umask(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, (mode_t)-1);
    return (mode_t)cfg_getint(config->cfg, "umask");
}

bool lust_config_foreground(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, false);
    return cfg_getbool(config->cfg, "foreground") == cfg_true;
}

int lust_config_start_timeout(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, -EINVAL);
    return (int)cfg_getint(config->cfg, "start_timeout");
}

int lust_config_stop_timeout(const struct lust_config *config)
{
    LUST__REQUIRE(config != NULL, -EINVAL);
    return (int)cfg_getint(config->cfg, "stop_timeout");
}

int lust__config_file_sets(const struct lust_config *config, const char *key)
{
    cfg_opt_t *opt = cfg_getopt(config->cfg, key);
    return opt && (opt->flags & CFGF_MODIFIED);
}
