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

/* The standard keys a running daemon cannot honour. Arrays, not pointers: a table of pointers
 * is relocated at load into a page every daemon keeps dirty. */
static const char standard[][16] = {
    "foreground", "user",           "group",   "jail",     "pidfile",
    "logfile",    "control_socket", "sandbox", "promises", "unveil",
};

#define NSTANDARD (sizeof standard / sizeof standard[0])

static const char *key_at(const struct lust_server *srv, size_t i)
{
    return i < NSTANDARD ? standard[i] : srv->ops.restart_keys[i - NSTANDARD];
}

/*
 * Every restart-only key of c as libconfuse prints it ("listen = {...}"), each followed by a
 * NUL, in one new block (*text); offs[i] is where key i's value starts. One memory stream for
 * all: each open_memstream() zeroes a fresh BUFSIZ buffer, which cost more than the printing.
 * Returns 0 or -ENOMEM.
 */
static int values_of(const struct lust_server *srv, const struct lust_config *c, char **text,
                     size_t *offs)
{
    cfg_t *cfg = lust_config_cfg(c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -ENOMEM;
    int bad = 0;
    for (size_t i = 0; i < srv->nrestart && !bad; i++) {
        bad = fflush(f) != 0; /* len is where the stream stands */
        offs[i] = len;
        cfg_opt_t *opt = cfg_getopt(cfg, key_at(srv, i));
        if (opt)
            cfg_opt_print(opt, f);
        bad = bad || fwrite("", 1, 1, f) != 1; /* the NUL of "" */
    }
    if (fclose(f) != 0 || bad) {
        free(buf);
        return -ENOMEM;
    }
    *text = buf;
    return 0;
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
    srv->nrestart = n;
    return 0;
}

/*
 * The values at start, printed at the first reload rather than at start: most daemons never
 * reload, and until a reload is applied the config in force is the one they started with.
 */
static int note_values(struct lust_server *srv)
{
    if (srv->restart_text)
        return 0;
    size_t *offs = calloc(srv->nrestart ? srv->nrestart : 1, sizeof *offs);
    if (!offs || values_of(srv, srv->config, &srv->restart_text, offs) < 0) {
        free(offs);
        return -ENOMEM;
    }
    srv->restart_offs = offs;
    return 0;
}

void lust__server_restart_keys(struct lust_server *srv, const struct lust_config *fresh, char *out,
                               size_t size)
{
    size_t len = 0;
    char *now = NULL;
    size_t *offs = calloc(srv->nrestart ? srv->nrestart : 1, sizeof *offs);
    /* Without memory every key counts as changed: a reload names too many, never too few. */
    if (note_values(srv) < 0 || !offs || values_of(srv, fresh, &now, offs) < 0)
        now = NULL;
    out[0] = '\0';
    for (size_t i = 0; i < srv->nrestart && len < size; i++) {
        if (now && strcmp(now + offs[i], srv->restart_text + srv->restart_offs[i]) == 0)
            continue;
        int k = snprintf(out + len, size - len, "%s%s", len ? ", " : "", key_at(srv, i));
        if (k < 0 || (size_t)k >= size - len) {
            out[len] = '\0';
            break;
        }
        len += (size_t)k;
    }
    free(now);
    free(offs);
}

void lust__server_restart_free(struct lust_server *srv)
{
    free(srv->restart_text);
    free(srv->restart_offs);
    srv->restart_text = NULL;
    srv->restart_offs = NULL;
    srv->nrestart = 0;
}
