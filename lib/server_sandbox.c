/*
 * lib/server_sandbox.c - the sandbox of a daemon the framework starts (lust/sandbox.h).
 *
 * The keys sandbox, promises and unveil come from the config file where it sets them, else from
 * the daemon's struct lust_server_ops. With promises, the framework adds what its own thread
 * does after the drop: "thread" (it is started after the sandbox, inside Landlock's domain) and,
 * with a control socket, "unix" (accept4, SO_PEERCRED). The rest of its work is "stdio": the
 * signalfd, timerfd and eventfds it reads, poll, the notify datagrams it sends on a socket
 * connected before the jail, descriptors received with recvmsg, a reload's memfd (read, lseek,
 * fstat), a log handed over and put in place with dup2.
 *
 * The steps follow the dance: prepared in step 3 with the real `/` (the kernel probed; a REQUIRE
 * the kernel cannot meet stops the start there, on the terminal, with exit 6: the config asks for
 * what this host cannot give), the bounding set and securebits locked as root before the chroot,
 * then applied after the drop and before the signal thread starts, so that a failure fails the
 * start. Only `start` comes here. The framework's thread asks lust__sandbox_allows() before it
 * opens a path.
 */
#include "server_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lust/config.h>
#include <lust/error.h>
#include <lust/log.h>
#include <lust/sandbox.h>

/* The sentence of a value the sandbox refused, naming the key and where the value came from. */
static int blame(const struct lust_server *srv, const char *key, int r)
{
    char why[512];
    snprintf(why, sizeof why, "%s", lust_error());
    return lust__fail_plain(-r, "%s in %s: %s", key,
                            lust__config_file_sets(srv->config, key) ? lust_config_path(srv->config)
                                                                     : "the program's default",
                            why);
}

/*
 * The mode: the file's, else the program's, else "require" when promises or unveil rules are
 * given at all (the two lines that ask for a sandbox get one, as lust_sandbox_new() would),
 * else "off".
 */
static int mode_wanted(struct lust_server *srv)
{
    const char *name = srv->ops.sandbox;
    if (lust__config_file_sets(srv->config, "sandbox"))
        name = cfg_getstr(lust_config_cfg(srv->config), "sandbox");
    else if (!name)
        name = srv->ops.promises || srv->ops.unveil ||
                       lust__config_file_sets(srv->config, "promises") ||
                       lust__config_file_sets(srv->config, "unveil")
                   ? "require"
                   : "off";
    int mode = lust_sandbox_mode_from_name(name);
    return mode < 0 ? blame(srv, "sandbox", mode) : mode;
}

/* Appends word to the summary of the promises (srv->sandbox_promises). */
static int note_promise(struct lust_server *srv, const char *word)
{
    char *old = srv->sandbox_promises, *grown;
    if (asprintf(&grown, "%s%s%s", old ? old : "", old ? " " : "", word) < 0)
        return lust__fail(ENOMEM, "sandbox");
    free(old);
    srv->sandbox_promises = grown;
    return 0;
}

static int promise(struct lust_server *srv, const char *words)
{
    int r = lust_sandbox_promise(srv->sandbox, words);
    if (r < 0)
        return blame(srv, "promises", r);
    return note_promise(srv, words);
}

/* The daemon's promises and, when it has any, the framework's (srv->sandbox_own). */
static int add_promises(struct lust_server *srv)
{
    cfg_t *cfg = lust_config_cfg(srv->config);
    int r = 0;
    if (lust__config_file_sets(srv->config, "promises")) {
        for (unsigned i = 0; r == 0 && i < cfg_size(cfg, "promises"); i++)
            r = promise(srv, cfg_getnstr(cfg, "promises", i));
    } else if (srv->ops.promises) {
        r = promise(srv, srv->ops.promises);
    }
    if (r < 0 || !srv->sandbox_promises)
        return r; /* none: no seccomp filter */
    srv->sandbox_own =
        lust_config_control(srv->config) && !srv->control_off ? "thread unix" : "thread";
    return lust_sandbox_promise(srv->sandbox, srv->sandbox_own);
}

static int unveil(struct lust_server *srv, const char *entry)
{
    int r = lust__sandbox_unveil_entry(srv->sandbox, entry);
    if (r < 0)
        return blame(srv, "unveil", r);
    srv->sandbox_unveiled++;
    return 0;
}

static int add_unveil(struct lust_server *srv)
{
    cfg_t *cfg = lust_config_cfg(srv->config);
    int r = 0;
    if (lust__config_file_sets(srv->config, "unveil")) {
        for (unsigned i = 0; r == 0 && i < cfg_size(cfg, "unveil"); i++)
            r = unveil(srv, cfg_getnstr(cfg, "unveil", i));
    } else {
        for (const char *const *u = srv->ops.unveil; r == 0 && u && *u; u++)
            r = unveil(srv, *u);
    }
    return r;
}

static const char *const mode_names[] = {
    [LUST_SANDBOX_OFF] = "off",
    [LUST_SANDBOX_REQUIRE] = "require",
    [LUST_SANDBOX_BEST] = "best",
    [LUST_SANDBOX_LOG] = "log",
};

/* The specification, from the config and the program's defaults. 0 or -errno. */
static int build(struct lust_server *srv)
{
    int r = lust_sandbox_new(&srv->sandbox);
    if (r == 0)
        r = lust_sandbox_set_mode(srv->sandbox, srv->sandbox_mode);
    if (r == 0)
        r = add_promises(srv);
    return r == 0 ? add_unveil(srv) : r;
}

/*
 * Step 3, in the process that was started, after the control socket's fate is known (it
 * decides "unix"). Returns EXIT_OK, or an exit status once the sentence is printed.
 */
int lust__server_sandbox_prepare(struct lust_server *srv)
{
    int r = srv->sandbox_mode = mode_wanted(srv);
    if (r == LUST_SANDBOX_OFF)
        return EXIT_OK;
    if (r > 0)
        r = build(srv);
    if (r < 0) {
        lust__server_start_failed(srv, NULL, r);
        return r == -ENOMEM ? EXIT_GENERIC : EXIT_CONFIG;
    }
    r = lust_sandbox_prepare(srv->sandbox);
    if (r == -ENOSYS || r == -EOPNOTSUPP) {
        /* The host lacks what the config asks for: a config to change, or a kernel. */
        char why[512];
        snprintf(why, sizeof why, "%s", lust_error());
        lust__fail_plain(-r, "sandbox: %s%s", why,
                         srv->sandbox_mode == LUST_SANDBOX_REQUIRE
                             ? " (sandbox = \"best\" starts without it)"
                             : "");
    }
    if (r < 0) {
        lust__server_start_failed(srv, NULL, r);
        return r == -ENOSYS || r == -EOPNOTSUPP ? EXIT_CONFIG : EXIT_GENERIC;
    }
    return EXIT_OK;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LUST__ASAN 1 /* clang's way to say -fsanitize=address; gcc defines __SANITIZE_ADDRESS__ */
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(LUST__ASAN)
/*
 * Only in -fsanitize=address builds, which are test builds. LeakSanitizer's check at exit stops
 * the threads with ptrace from a process it clones, which no seccomp filter lets through: the
 * daemon would die of SIGSYS as it exits. So the check runs before the jail (it reads
 * /proc/PID/task) and the filter, and not again at exit (LeakSanitizer runs it once per
 * process): a sandboxed daemon's leaks are looked for up to this point only.
 */
void __lsan_do_leak_check(void);

static void check_leaks_now(void)
{
    lust_log(LUST_LOG_NOTICE, "sandbox: LeakSanitizer checks for leaks now, before the jail and "
                              "the seccomp filter, and not at exit (its check needs ptrace)");
    __lsan_do_leak_check();
}
#else
static void check_leaks_now(void)
{
}
#endif

/*
 * Step 6, as root before the jail (where /proc/self/task still shows whether a hook left a
 * thread running, which would keep its capabilities), after before_jail(): the bounding set
 * and securebits. Capabilities in effect stay: the chroot and before_drop_privs() still work.
 */
int lust__server_sandbox_lock(struct lust_server *srv)
{
    if (!srv->sandbox)
        return 0;
    if (srv->sandbox_promises)
        check_leaks_now();
    return lust_sandbox_lock_privs(srv->sandbox);
}

/* After the drop, before the signal thread: the sandbox in force, and the log told so. */
int lust__server_sandbox_apply(struct lust_server *srv)
{
    if (!srv->sandbox)
        return 0;
    int r = lust_sandbox_apply(srv->sandbox);
    if (r < 0)
        return r;
    if (srv->sandbox_promises)
        lust_log(LUST_LOG_NOTICE,
                 "sandbox (%s): promises \"%s\", and \"%s\" for liblust; %u unveil rule%s",
                 mode_names[srv->sandbox_mode], srv->sandbox_promises, srv->sandbox_own,
                 srv->sandbox_unveiled, srv->sandbox_unveiled == 1 ? "" : "s");
    else
        lust_log(LUST_LOG_NOTICE, "sandbox (%s): no promises (no seccomp filter); %u unveil rule%s",
                 mode_names[srv->sandbox_mode], srv->sandbox_unveiled,
                 srv->sandbox_unveiled == 1 ? "" : "s");
    const char *report = lust_sandbox_report(srv->sandbox);
    if (report[0])
        lust_log(LUST_LOG_WARNING, "sandbox: %s", report);
    return 0;
}

void lust__server_sandbox_free(struct lust_server *srv)
{
    lust_sandbox_free(srv->sandbox);
    srv->sandbox = NULL;
    free(srv->sandbox_promises);
    srv->sandbox_promises = NULL;
}
