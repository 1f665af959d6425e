/*
 * lib/sandbox.c - the sandbox specification: promises, unveil rules, ports, mode, report.
 *
 * Everything here only records what was asked; sandbox_steps.c turns it into kernel state.
 * A specification is frozen once prepared, so what prepare checked is what apply enforces.
 */
#include "sandbox_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lust/sandbox.h>

static const char *const promise_names[LUST__P_COUNT] = {
    [LUST__P_STDIO] = "stdio",   [LUST__P_THREAD] = "thread",   [LUST__P_PROC] = "proc",
    [LUST__P_EXEC] = "exec",     [LUST__P_ID] = "id",           [LUST__P_INET] = "inet",
    [LUST__P_UNIX] = "unix",     [LUST__P_CONNECT] = "connect", [LUST__P_RPATH] = "rpath",
    [LUST__P_WPATH] = "wpath",   [LUST__P_CPATH] = "cpath",     [LUST__P_FATTR] = "fattr",
    [LUST__P_SENDFD] = "sendfd", [LUST__P_RECVFD] = "recvfd",
};

static const char *const mode_names[] = {
    [LUST_SANDBOX_OFF] = "off",
    [LUST_SANDBOX_REQUIRE] = "require",
    [LUST_SANDBOX_BEST] = "best",
    [LUST_SANDBOX_LOG] = "log",
};

int lust_sandbox_new(struct lust_sandbox **out)
{
    if (!out)
        return lust__fail_plain(EINVAL, "sandbox: no place for the handle");
    struct lust_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return lust__fail(ENOMEM, "sandbox");
    sb->mode = LUST_SANDBOX_REQUIRE;
    sb->promises = 1u << LUST__P_STDIO;
    *out = sb;
    return 0;
}

void lust_sandbox_free(struct lust_sandbox *sb)
{
    if (!sb)
        return;
    for (size_t i = 0; i < sb->nunveil; i++)
        free(sb->unveil[i].path);
    free(sb->unveil);
    free(sb->bind.port);
    free(sb->connect.port);
    free(sb->report);
    free(sb);
}

static int frozen(const struct lust_sandbox *sb, const char *what)
{
    if (!sb)
        return lust__fail_plain(EINVAL, "sandbox %s: no sandbox", what);
    if (sb->prepared)
        return lust__fail_plain(EINVAL, "sandbox %s: the sandbox is already prepared", what);
    return 0;
}

int lust__sandbox_word(const char **s, char *word, size_t n)
{
    const char *p = *s;
    while (*p == ' ' || *p == ',' || *p == '\t')
        p++;
    size_t len = strcspn(p, " ,\t");
    if (len == 0)
        return 0;
    size_t keep = len < n ? len : n - 1;
    memcpy(word, p, keep);
    word[keep] = '\0';
    *s = p + len;
    return len < n ? 1 : -1;
}

int lust_sandbox_promise(struct lust_sandbox *sb, const char *promises)
{
    int r = frozen(sb, "promise");
    if (r < 0)
        return r;
    if (!promises)
        return lust__fail_plain(EINVAL, "sandbox promise: no promises");
    unsigned add = 0;
    char word[16];
    const char *p = promises;
    while ((r = lust__sandbox_word(&p, word, sizeof word)) != 0) {
        int found = -1;
        for (int i = 0; r > 0 && i < LUST__P_COUNT; i++)
            if (strcmp(word, promise_names[i]) == 0)
                found = i;
        if (found < 0)
            return lust__fail_plain(EINVAL, "unknown promise \"%s%s\"", word, r < 0 ? "..." : "");
        add |= 1u << found;
    }
    sb->promises |= add;
    sb->promised = true;
    return 0;
}

static int parse_rights(const char *path, const char *rights, unsigned *out)
{
    unsigned bits = 0;
    for (const char *c = rights; *c; c++) {
        const char *at = strchr("rwcx", *c);
        if (!at)
            return lust__fail_plain(EINVAL, "unveil %s: rights \"%s\": not one of r, w, c, x", path,
                                    rights);
        bits |= 1u << (at - "rwcx");
    }
    if (!bits)
        return lust__fail_plain(EINVAL, "unveil %s: no rights (give some of r, w, c, x)", path);
    *out = bits;
    return 0;
}

int lust_sandbox_unveil(struct lust_sandbox *sb, const char *path, const char *rights)
{
    int r = frozen(sb, "unveil");
    if (r < 0)
        return r;
    if (!path || !rights || path[0] != '/')
        return lust__fail_plain(EINVAL, "unveil %s: not an absolute path", path ? path : "(null)");
    unsigned bits = 0;
    if ((r = parse_rights(path, rights, &bits)) < 0)
        return r;
    for (size_t i = 0; i < sb->nunveil; i++)
        if (strcmp(sb->unveil[i].path, path) == 0) {
            sb->unveil[i].rights |= bits;
            return 0;
        }
    struct lust__unveil *grown = realloc(sb->unveil, (sb->nunveil + 1) * sizeof *grown);
    if (!grown)
        return lust__fail(ENOMEM, "unveil %s", path);
    sb->unveil = grown;
    if (!(grown[sb->nunveil].path = strdup(path)))
        return lust__fail(ENOMEM, "unveil %s", path);
    grown[sb->nunveil++].rights = bits;
    return 0;
}

int lust__sandbox_unveil_entry(struct lust_sandbox *sb, const char *entry)
{
    const char *colon = entry ? strrchr(entry, ':') : NULL;
    if (!colon)
        return lust__fail_plain(EINVAL, "unveil \"%s\": not PATH:RIGHTS, e.g. \"/data:rwc\"",
                                entry ? entry : "(null)");
    char *path = strndup(entry, (size_t)(colon - entry));
    if (!path)
        return lust__fail(ENOMEM, "unveil %s", entry);
    int r = lust_sandbox_unveil(sb, path, colon + 1);
    free(path);
    return r;
}

bool lust__sandbox_allows(const struct lust_sandbox *sb, const char *promises)
{
    if (!sb || sb->mode == LUST_SANDBOX_OFF || sb->mode == LUST_SANDBOX_LOG || !sb->promised)
        return true;
    if (sb->prepared && !sb->seccomp_ok)
        return true; /* BEST on a kernel or system without seccomp filters */
    char word[16];
    int r;
    while ((r = lust__sandbox_word(&promises, word, sizeof word)) > 0)
        for (int i = 0; i < LUST__P_COUNT; i++)
            if (strcmp(word, promise_names[i]) == 0 && !lust__promised(sb, (enum lust__promise)i))
                return false;
    return true;
}

static int add_port(struct lust_sandbox *sb, struct lust__ports *ports, unsigned port,
                    const char *what)
{
    int r = frozen(sb, what);
    if (r < 0)
        return r;
    if (port > 65535)
        return lust__fail_plain(EINVAL, "sandbox %s: port %u is above 65535", what, port);
    for (size_t i = 0; i < ports->n; i++)
        if (ports->port[i] == port)
            return 0;
    if (ports->n == ports->cap) {
        size_t cap = ports->cap ? ports->cap * 2 : 8;
        uint16_t *grown = realloc(ports->port, cap * sizeof *grown);
        if (!grown)
            return lust__fail(ENOMEM, "sandbox %s", what);
        ports->port = grown;
        ports->cap = cap;
    }
    ports->port[ports->n++] = (uint16_t)port;
    return 0;
}

int lust_sandbox_allow_bind(struct lust_sandbox *sb, unsigned port)
{
    return add_port(sb, sb ? &sb->bind : NULL, port, "allow_bind");
}

int lust_sandbox_allow_connect(struct lust_sandbox *sb, unsigned port)
{
    return add_port(sb, sb ? &sb->connect : NULL, port, "allow_connect");
}

int lust_sandbox_set_mode(struct lust_sandbox *sb, int mode)
{
    int r = frozen(sb, "mode");
    if (r < 0)
        return r;
    if (mode < LUST_SANDBOX_OFF || mode > LUST_SANDBOX_LOG)
        return lust__fail_plain(EINVAL, "sandbox mode %d: not a LUST_SANDBOX_ mode", mode);
    sb->mode = mode;
    return 0;
}

int lust_sandbox_mode_from_name(const char *name)
{
    for (int m = LUST_SANDBOX_OFF; name && m <= LUST_SANDBOX_LOG; m++)
        if (strcmp(name, mode_names[m]) == 0)
            return m;
    return lust__fail_plain(EINVAL, "unknown sandbox mode \"%s\" (require, best, log or off)",
                            name ? name : "(null)");
}

const char *lust_sandbox_report(const struct lust_sandbox *sb)
{
    return sb && sb->report ? sb->report : "";
}

void lust__sandbox_note(struct lust_sandbox *sb, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = strlen(line), sep = sb->report_len ? 2 : 0;
    char *grown = realloc(sb->report, sb->report_len + sep + len + 1);
    if (!grown)
        return;
    memcpy(grown + sb->report_len, "; ", sep);
    memcpy(grown + sb->report_len + sep, line, len + 1);
    sb->report = grown;
    sb->report_len += sep + len;
}

int lust__sandbox_lack(struct lust_sandbox *sb, bool explicit_ask, int err, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (explicit_ask && sb->mode == LUST_SANDBOX_REQUIRE)
        return lust__fail_plain(err, "%s", line);
    lust__sandbox_note(sb, "%s", line);
    return 0;
}

int lust__sandbox_threads(void)
{
    int n = lust__count_threads(); /* the program's threads, not a sanitizer's */
    return n < 0 ? 0 : n;
}
