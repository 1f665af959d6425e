/*
 * lib/config_keys.c - the standard keys of every liblust config and the checks of their values,
 * run by libconfuse as it parses each one, so a bad value is reported with its FILE:LINE.
 */
#include "config_internal.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <lust/config.h>
#include <lust/error.h>
#include <lust/sandbox.h>

static int parse_nonempty(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (!value || !*value) {
        cfg_error(cfg, "%s must not be empty", opt->name);
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

static int parse_path(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (!value || value[0] != '/') {
        cfg_error(cfg, "%s must be an absolute path, not \"%s\"", opt->name, value ? value : "");
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

/* An absolute path, or the word `none` turns the feature off; max 0 for no length limit. */
static int parse_path_or_none(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result,
                              const char *none, size_t max)
{
    if (value && strcmp(value, none) == 0) {
        *(const char **)result = value;
        return 0;
    }
    if (!value || value[0] != '/') {
        cfg_error(cfg, "%s must be an absolute path or \"%s\", not \"%s\"", opt->name, none,
                  value ? value : "");
        return -1;
    }
    if (max && strlen(value) > max) {
        cfg_error(cfg, "%s must be at most %zu bytes long (a unix socket's limit)", opt->name, max);
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

static int parse_jail(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return parse_path_or_none(cfg, opt, value, result, LUST_CONFIG_NO_JAIL, 0);
}

static int parse_control(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    return parse_path_or_none(cfg, opt, value, result, LUST_CONFIG_NO_CONTROL, CONTROL_PATH_MAX);
}

/* Stored by its canonical name, so the getters below need no second table. */
static int parse_log_level(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    int level = lust__level_parse(value);
    if (level >= 0) {
        *(const char **)result = lust__levels[level].name;
        return 0;
    }
    cfg_error(cfg, "%s must be " LUST__LEVEL_NAMES ", not \"%s\"", opt->name, value ? value : "");
    return -1;
}

const char lust__config_stamp_modes[LUST__STAMPS_MODES][8] = {"no", "yes", "auto"};

/* In any case, and with the other words libconfuse takes for a boolean. */
static int parse_log_timestamps(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    static const struct {
        const char *name;
        int mode;
    } names[] = {{"no", LUST__STAMPS_NO},    {"false", LUST__STAMPS_NO}, {"off", LUST__STAMPS_NO},
                 {"yes", LUST__STAMPS_YES},  {"true", LUST__STAMPS_YES}, {"on", LUST__STAMPS_YES},
                 {"auto", LUST__STAMPS_AUTO}};
    for (size_t i = 0; value && i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(value, names[i].name) == 0) {
            *(const char **)result = lust__config_stamp_modes[names[i].mode];
            return 0;
        }
    cfg_error(cfg, "%s must be auto, yes (true, on) or no (false, off), not \"%s\"", opt->name,
              value ? value : "");
    return -1;
}

/* Octal digits whatever they look like, as the shell's umask reads them: 27 means 027. */
static int parse_umask(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    long mode = 0;
    const char *p = value ? value : "";
    if (!*p)
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '7')
            goto bad;
        mode = mode * 8 + (*p - '0');
        if (mode > 0777) {
            cfg_error(cfg, "%s must be at most 0777, not \"%s\"", opt->name, value);
            return -1;
        }
    }
    *(long *)result = mode;
    return 0;
bad:
    cfg_error(cfg, "%s must be octal digits such as 027, not \"%s\"", opt->name,
              value ? value : "");
    return -1;
}

static int parse_timeout(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    long secs = 0;
    const char *p = value ? value : "";
    if (*p == '-') {
        cfg_error(cfg, "%s must not be negative, not \"%s\"", opt->name, value);
        return -1;
    }
    if (!*p)
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        secs = secs * 10 + (*p - '0');
        if (secs > LUST_CONFIG_TIMEOUT_MAX) {
            cfg_error(cfg, "%s must be at most %d seconds, not \"%s\"", opt->name,
                      LUST_CONFIG_TIMEOUT_MAX, value);
            return -1;
        }
    }
    *(long *)result = secs;
    return 0;
bad:
    cfg_error(cfg, "%s must be a whole number of seconds, not \"%s\"", opt->name,
              value ? value : "");
    return -1;
}

/*
 * The sandbox keys are checked by the sandbox module's own rules (lust/sandbox.h), so a word
 * it would refuse at start is a FILE:LINE error here already.
 */
static int parse_sandbox(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    if (lust_sandbox_mode_from_name(value) < 0) {
        cfg_error(cfg, "%s must be require, best, log or off, not \"%s\"", opt->name,
                  value ? value : "");
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

/* One entry of promises ("inet", or several words: "stdio inet") or of unveil ("/data:rwc"). */
static int parse_sandbox_entry(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    struct lust_sandbox *sb;
    int r = lust_sandbox_new(&sb);
    if (r == 0)
        r = strcmp(opt->name, "promises") == 0 ? lust_sandbox_promise(sb, value ? value : "")
                                               : lust__sandbox_unveil_entry(sb, value);
    lust_sandbox_free(sb);
    if (r < 0) {
        cfg_error(cfg, "%s", lust_error()); /* "unknown promise ...", "unveil /x: ..." */
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

const cfg_opt_t lust__config_std_opts[STD_COUNT] = {
    [STD_USER] = CFG_STR_CB("user", "nobody", CFGF_NONE, parse_nonempty),
    [STD_GROUP] = CFG_STR_CB("group", "nogroup", CFGF_NONE, parse_nonempty),
    [STD_JAIL] = CFG_STR_CB("jail", NULL, CFGF_NONE, parse_jail),
    [STD_PIDFILE] = CFG_STR_CB("pidfile", NULL, CFGF_NONE, parse_path),
    [STD_LOGFILE] = CFG_STR_CB("logfile", NULL, CFGF_NONE, parse_path),
    [STD_CONTROL] = CFG_STR_CB("control_socket", NULL, CFGF_NONE, parse_control),
    CFG_STR_CB("log_level", "info", CFGF_NONE, parse_log_level),
    CFG_STR_CB("log_timestamps", "auto", CFGF_NONE, parse_log_timestamps),
    CFG_INT_CB("umask", 027, CFGF_NONE, parse_umask),
    CFG_BOOL("foreground", cfg_false, CFGF_NONE),
    CFG_INT_CB("start_timeout", 10, CFGF_NONE, parse_timeout),
    CFG_INT_CB("stop_timeout", 10, CFGF_NONE, parse_timeout),
    /* No defaults: where the file sets none, the daemon's own apply (lust/server.h). */
    CFG_STR_CB("sandbox", NULL, CFGF_NONE, parse_sandbox),
    CFG_STR_LIST_CB("promises", NULL, CFGF_NONE, parse_sandbox_entry),
    CFG_STR_LIST_CB("unveil", NULL, CFGF_NONE, parse_sandbox_entry),
};
