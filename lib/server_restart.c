/*
 * lib/server_restart.c - the keys a reload cannot apply, compared with those the daemon started
 * with.
 *
 * Some keys shaped the dance that already happened (user, jail, the pid file, ...), and a
 * daemon may name its own (ops.restart_keys: an address bound as root). A reload applies the
 * rest and names these while they differ from their value at start, not from the previous
 * reload's: a change made in one reload and left in the file is still pending at the next.
 * Values are compared as libconfuse prints them, so a list or a section compares whole.
 */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lust/config.h>

/* The standard keys a running daemon cannot honour. */
static const char *const standard[] = {
    "foreground", "user",           "group",   "jail",     "pidfile",
    "logfile",    "control_socket", "sandbox", "promises", "unveil",
};

#define NSTANDARD (sizeof standard / sizeof standard[0])

static const char *key_at(const struct lust_server *srv, size_t i)
{
    return i < NSTANDARD ? standard[i] : srv->ops.restart_keys[i - NSTANDARD];
}

/* The key as libconfuse prints it ("listen = {...}"), in a new string; NULL without memory. */
static char *value_of(const struct lust_config *c, const char *key)
{
    cfg_opt_t *opt = cfg_getopt(lust_config_cfg(c), key);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    if (opt)
        cfg_opt_print(opt, f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

int lust__server_restart_note(struct lust_server *srv)
{
    size_t n = NSTANDARD;
    cfg_t *cfg = lust_config_cfg(srv->config);
    for (const char *const *k = srv->ops.restart_keys; k && *k; k++, n++) {
        if (!cfg_getopt(cfg, *k))
            return lust__fail_plain(EINVAL,
                                    "restart_keys names \"%s\", which is not a key of this "
                                    "daemon's config",
                                    *k);
    }
    srv->restart_values = calloc(n, sizeof *srv->restart_values);
    if (!srv->restart_values)
        return lust__fail(ENOMEM, "restart_keys");
    srv->nrestart = n;
    for (size_t i = 0; i < n; i++)
        if (!(srv->restart_values[i] = value_of(srv->config, key_at(srv, i))))
            return lust__fail(ENOMEM, "restart_keys");
    return 0;
}

void lust__server_restart_keys(const struct lust_server *srv, const struct lust_config *fresh,
                               char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < srv->nrestart && len < size; i++) {
        char *now = value_of(fresh, key_at(srv, i));
        int same = now && strcmp(now, srv->restart_values[i]) == 0;
        free(now);
        if (same)
            continue;
        int k = snprintf(out + len, size - len, "%s%s", len ? ", " : "", key_at(srv, i));
        if (k < 0 || (size_t)k >= size - len) {
            out[len] = '\0';
            break;
        }
        len += (size_t)k;
    }
}

void lust__server_restart_free(struct lust_server *srv)
{
    for (size_t i = 0; i < srv->nrestart; i++)
        free(srv->restart_values[i]);
    free(srv->restart_values);
    srv->restart_values = NULL;
    srv->nrestart = 0;
}
