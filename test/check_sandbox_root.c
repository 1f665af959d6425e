/*
 * test/check_sandbox_root.c - the sandbox in the daemon's order, as root (skipped otherwise).
 *
 * Linked with liblust.so, as a daemon is: prepare with the real /, jail, lock_privs as root,
 * drop to nobody, apply inside the jail; the parent then reads the child's /proc entries.
 * Jails live under jail_top, the test case's root-owned 0755 directory in /run (the jail check
 * refuses /tmp), made and removed by the runner, so a failed test leaves nothing behind.
 */
#include "lust_test.h"
#include "sandbox_test_util.h"

#include <linux/securebits.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <lust/privs.h>

static char *jail;
static int ctl[2]; /* the test closes its end when it has looked at the daemon */

/* jail/data belongs to nobody, jail/secret to root; the daemon reports on the report pipe. */
static void make_jail(void)
{
    jail = new_dir(jail_top, "jail", 0755);
    ck_assert_ptr_nonnull(jail);
    char path[160];
    snprintf(path, sizeof path, "%s/data", jail);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(chown(path, NOBODY, NOGROUP), 0);
    snprintf(path, sizeof path, "%s/secret", jail);
    write_text(path, "");
    report_open();
    ck_assert_int_eq(pipe2(ctl, O_CLOEXEC), 0);
}

static int step_failed(const char *step)
{
    report("failed=%s: %s\n", step, lust_error());
    return 1;
}

static int opens(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

/* The daemon's side: every step where the framework will take it, then wait to be looked at. */
static int jailed_daemon(void)
{
    struct lust_creds *creds;
    struct lust_sandbox *sb;
    int jfd;
    if (lust_privs_lookup("nobody", NULL, 0, &creds) < 0 || lust_privs_prepare() < 0)
        return step_failed("lookup");
    if (lust_sandbox_new(&sb) < 0 || lust_sandbox_promise(sb, "stdio rpath wpath cpath") < 0 ||
        lust_sandbox_unveil(sb, "/data", "rwc") < 0 || lust_sandbox_prepare(sb) < 0)
        return step_failed("prepare");
    if (lust_privs_jail_open(jail, &jfd) < 0 || lust_privs_jail_enter(jfd) < 0)
        return step_failed("jail");
    if (lust_sandbox_lock_privs(sb) < 0)
        return step_failed("lock_privs");
    if (lust_privs_drop(creds, 0) < 0)
        return step_failed("drop");
    if (lust_sandbox_apply(sb) < 0)
        return step_failed("apply");
    report("report=%s\n", lust_sandbox_report(sb));
    report("data=%d\n", opens("/data/new", O_CREAT | O_WRONLY));
    report("secret=%d\n", opens("/secret", O_RDONLY));
    report("root=%d\n", opens("/", O_RDONLY | O_DIRECTORY));
    report("securebits=%#x\n", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
    report("ready=1\n");
    report_end(); /* the test reads the report to its end while this process waits */
    char c;
    while (read(ctl[0], &c, 1) < 0 && errno == EINTR)
        ;
    return 0;
}

/* The child's /proc/PID/FILE, read while it waits to be looked at. */
static void read_proc(pid_t pid, const char *file, char *text, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, file);
    ck_assert_msg(read_text(path, text, size), "%s: %s", path, strerror(errno));
}

START_TEST(sandbox_in_force_in_a_jail_as_nobody)
{
    SKIP_UNDER_VALGRIND();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ctl[1]);
        _exit(jailed_daemon());
    }
    close(ctl[0]);
    char status[4096], limits[4096], v[128];
    const char *said = report_read();
    ck_assert_msg(!strstr(said, "failed="), "%s", said);
    ck_assert_msg(has_line(said, "ready=1"), "the daemon said neither ready nor failed: %s", said);
    read_proc(pid, "status", status, sizeof status);
    read_proc(pid, "limits", limits, sizeof limits);
    close(ctl[1]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, said);
    ck_assert_str_eq(field_in(status, "Seccomp", v, sizeof v), "2");
    ck_assert_str_eq(field_in(status, "NoNewPrivs", v, sizeof v), "1");
    ck_assert_str_eq(field_in(status, "CapBnd", v, sizeof v), "0000000000000000");
    ck_assert_str_eq(field_in(status, "CapEff", v, sizeof v), "0000000000000000");
    ck_assert_str_eq(field_in(status, "CapInh", v, sizeof v), "0000000000000000");
    ck_assert_str_eq(field_in(status, "Uid", v, sizeof v), "65534\t65534\t65534\t65534");
    ck_assert_ptr_nonnull(strstr(limits, "Max core file size        0                    0"));
    ck_assert_ptr_nonnull(strstr(limits, "Max processes             0                    0"));
    ck_assert_str_eq(report_get(said, "data"), "0");
    ck_assert_str_eq(report_get(said, "secret"), "-13");
    ck_assert_str_eq(report_get(said, "root"), "-13");
    if (real_landlock_abi() >= 6)
        ck_assert_str_eq(report_get(said, "report"), "");
    char want[16];
    snprintf(want, sizeof want, "%#x",
             SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |
                 SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED);
    ck_assert_str_eq(report_get(said, "securebits"), want);
}
END_TEST

static int mapped(const char *name)
{
    char maps[65536] = "";
    read_text("/proc/self/maps", maps, sizeof maps);
    return strstr(maps, name) != NULL;
}

/* How many lines of /proc/self/maps belong to a shared object: more once one is loaded. */
static int mapped_objects(void)
{
    char maps[65536] = "";
    read_text("/proc/self/maps", maps, sizeof maps);
    int n = 0;
    for (const char *p = maps; (p = strstr(p, ".so")); p += 3)
        n++;
    return n;
}

static int body_loads(void)
{
    struct lust_sandbox *off = sandbox_with("stdio", LUST_SANDBOX_OFF);
    struct lust_sandbox *unveil_only = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_REQUIRE);
    lust_sandbox_unveil(unveil_only, "/", "r");
    int before = mapped_objects();
    lust_sandbox_prepare(off);
    lust_sandbox_prepare(unveil_only);
    lust_sandbox_prepare(sb);
    int after = mapped_objects();
    fprintf(stderr, "shared-object lines in maps: %d before, %d after\n", before, after);
    return !(mapped("liblust.so") && before == after && !mapped("libseccomp"));
}

START_TEST(sandbox_prepare_loads_no_library)
{
    SKIP_UNDER_VALGRIND();
    struct lust_sandbox *none = sandbox_with(NULL, LUST_SANDBOX_OFF);
    struct run r;
    run_sandboxed(none, body_loads, &r);
    assert_exit_ok(&r);
    lust_sandbox_free(none);
}
END_TEST

static int body_lock_then_keep_a_capability(void)
{
    struct lust_creds *creds;
    struct lust_sandbox *sb = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    if (lust_privs_lookup("nobody", NULL, 0, &creds) < 0 || lust_sandbox_prepare(sb) < 0 ||
        lust_sandbox_lock_privs(sb) < 0) {
        fprintf(stderr, "lock: %s\n", lust_error());
        return 1;
    }
    int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    int fixup_off = prctl(PR_SET_SECUREBITS, bits | SECBIT_NO_SETUID_FIXUP, 0, 0, 0);
    fprintf(stderr, "NO_SETUID_FIXUP: %s\n", fixup_off < 0 ? strerror(errno) : "set");
    if (lust_privs_drop(creds, LUST_PRIVS_KEEP_NET_BIND_SERVICE) < 0) {
        fprintf(stderr, "drop: %s\n", lust_error());
        return 1;
    }
    lust_creds_free(creds);
    lust_sandbox_free(sb);
    return 0;
}

/* Locked securebits leave the drop to work as before, keeping a capability included. */
START_TEST(sandbox_lock_privs_leaves_the_drop_working)
{
    struct lust_sandbox *none = sandbox_with(NULL, LUST_SANDBOX_OFF);
    struct run r;
    run_sandboxed(none, body_lock_then_keep_a_capability, &r);
    assert_exit_ok(&r);
    ck_assert_ptr_nonnull(strstr(r.err, "NO_SETUID_FIXUP: Operation not permitted\n"));
    lust_sandbox_free(none);
}
END_TEST

static int body_lock_after_drop(void)
{
    struct lust_creds *creds;
    if (lust_privs_lookup("nobody", NULL, 0, &creds) < 0 || lust_privs_drop(creds, 0) < 0)
        return 1;
    struct lust_sandbox *req = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    struct lust_sandbox *best = sandbox_with(NULL, LUST_SANDBOX_BEST);
    lust_sandbox_prepare(req);
    lust_sandbox_prepare(best);
    int r = lust_sandbox_lock_privs(req);
    fprintf(stderr, "require: %d %s\n", r, lust_error());
    r = lust_sandbox_lock_privs(best);
    fprintf(stderr, "best: %d %s\n", r, lust_sandbox_report(best));
    lust_sandbox_free(best);
    lust_sandbox_free(req);
    lust_creds_free(creds);
    return 0;
}

START_TEST(sandbox_lock_privs_after_the_drop_is_too_late)
{
    struct lust_sandbox *none = sandbox_with(NULL, LUST_SANDBOX_OFF);
    struct run r;
    run_sandboxed(none, body_lock_after_drop, &r);
    assert_exit_ok(&r);
    const char *why = "capability bounding set not cleared, securebits not locked: Operation not "
                      "permitted (it takes CAP_SETPCAP: root, before the privilege drop)\n";
    char want[512];
    snprintf(want, sizeof want, "require: %d %s", -EPERM, why);
    ck_assert_msg(strstr(r.err, want), "%s", r.err);
    snprintf(want, sizeof want, "best: 0 %s", why);
    ck_assert_msg(strstr(r.err, want), "%s", r.err);
    lust_sandbox_free(none);
}
END_TEST

static Suite *sandbox_root_suite(void)
{
    Suite *s = suite_create("sandbox_root");
    TCase *t = tcase_create("daemon order");
    tcase_add_unchecked_fixture(t, jail_top_make, jail_top_remove);
    tcase_add_checked_fixture(t, make_jail, NULL);
    tcase_add_test(t, sandbox_in_force_in_a_jail_as_nobody);
    tcase_add_test(t, sandbox_prepare_loads_no_library);
    tcase_add_test(t, sandbox_lock_privs_leaves_the_drop_working);
    tcase_add_test(t, sandbox_lock_privs_after_the_drop_is_too_late);
    suite_add_tcase(s, t);
    return s;
}

LUST_TEST_MAIN_ROOT(sandbox_root_suite)
