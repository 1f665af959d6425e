/*
 * test/check_sandbox.c - promises (seccomp) and unveil rules (Landlock), as any user.
 *
 * Linked with the static copy of the library: the hidden hooks simulate a kernel without
 * Landlock (or with an older ABI) and a build for an architecture liblust has no filter for. Each
 * test that applies a sandbox does it in a child (sandbox_test_util.h) and looks at how the child
 * ended and what it wrote on stderr. Tests that need a newer kernel than this one say so and pass.
 */
#include "lust_test.h"
#include "sandbox_private.h"
#include "sandbox_test_util.h"

#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

/*
 * Each test works in a fresh directory inside tmp_top, the test case's unchecked fixture (made
 * and removed by the runner itself), so a failed test leaves nothing behind.
 */
static char *tmp;

static void make_tmp(void)
{
    tmp = new_dir(tmp_top, "t", 0700);
    ck_assert_ptr_nonnull(tmp);
    lust__sandbox_fake_landlock_abi(-1);
    lust__sandbox_fake_no_arch(false);
}

START_TEST(sandbox_unknown_promise_is_refused_by_name)
{
    struct lust_sandbox *sb = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_promise(sb, "stdio, inett rpath"), -EINVAL);
    ck_assert_str_eq(lust_error(), "unknown promise \"inett\"");
    ck_assert_int_eq(lust_sandbox_promise(sb, "averyveryverylongname"), -EINVAL);
    ck_assert_str_eq(lust_error(), "unknown promise \"averyveryverylo...\"");
    ck_assert_int_eq(lust_sandbox_promise(sb, "stdio,rpath\tinet"), 0);
    lust_sandbox_free(sb);
}
END_TEST

START_TEST(sandbox_unveil_wants_an_absolute_path_and_known_rights)
{
    struct lust_sandbox *sb = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_unveil(sb, "data", "r"), -EINVAL);
    ck_assert_str_eq(lust_error(), "unveil data: not an absolute path");
    ck_assert_int_eq(lust_sandbox_unveil(sb, "/data", "rq"), -EINVAL);
    ck_assert_str_eq(lust_error(), "unveil /data: rights \"rq\": not one of r, w, c, x");
    ck_assert_int_eq(lust_sandbox_unveil(sb, "/data", ""), -EINVAL);
    ck_assert_int_eq(lust_sandbox_unveil(sb, "/data", "r"), 0);
    ck_assert_int_eq(lust_sandbox_unveil(sb, "/data", "wc"), 0);
    ck_assert_uint_eq(sb->nunveil, 1);
    ck_assert_uint_eq(sb->unveil[0].rights, LUST__UNVEIL_R | LUST__UNVEIL_W | LUST__UNVEIL_C);
    ck_assert_int_eq(lust_sandbox_allow_bind(sb, 65536), -EINVAL);
    ck_assert_str_eq(lust_error(), "sandbox allow_bind: port 65536 is above 65535");
    ck_assert_int_eq(lust_sandbox_allow_connect(sb, 443), 0);
    lust_sandbox_free(sb);
}
END_TEST

START_TEST(sandbox_mode_names_and_null_arguments)
{
    ck_assert_int_eq(lust_sandbox_mode_from_name("require"), LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_mode_from_name("best"), LUST_SANDBOX_BEST);
    ck_assert_int_eq(lust_sandbox_mode_from_name("log"), LUST_SANDBOX_LOG);
    ck_assert_int_eq(lust_sandbox_mode_from_name("off"), LUST_SANDBOX_OFF);
    ck_assert_int_eq(lust_sandbox_mode_from_name("strict"), -EINVAL);
    ck_assert_str_eq(lust_error(), "unknown sandbox mode \"strict\" (require, best, log or off)");
    ck_assert_int_eq(lust_sandbox_mode_from_name(NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_new(NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_promise(NULL, "stdio"), -EINVAL);
    ck_assert_int_eq(lust_sandbox_unveil(NULL, "/", "r"), -EINVAL);
    ck_assert_int_eq(lust_sandbox_allow_bind(NULL, 1), -EINVAL);
    ck_assert_int_eq(lust_sandbox_set_mode(NULL, LUST_SANDBOX_BEST), -EINVAL);
    ck_assert_int_eq(lust_sandbox_prepare(NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_lock_privs(NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_apply(NULL), -EINVAL);
    ck_assert_str_eq(lust_sandbox_report(NULL), "");
    lust_sandbox_free(NULL);
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_set_mode(sb, 4), -EINVAL);
    ck_assert_int_eq(lust_sandbox_promise(sb, NULL), -EINVAL);
    ck_assert_int_eq(lust_sandbox_apply(sb), -EINVAL);
    ck_assert_str_eq(lust_error(), "sandbox apply: call lust_sandbox_prepare first");
    lust_sandbox_free(sb);
}
END_TEST

START_TEST(sandbox_is_frozen_once_prepared)
{
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_BEST);
    ck_assert_int_eq(lust_sandbox_prepare(sb), 0);
    ck_assert_int_eq(lust_sandbox_promise(sb, "inet"), -EINVAL);
    ck_assert_str_eq(lust_error(), "sandbox promise: the sandbox is already prepared");
    ck_assert_int_eq(lust_sandbox_unveil(sb, "/", "r"), -EINVAL);
    ck_assert_int_eq(lust_sandbox_set_mode(sb, LUST_SANDBOX_OFF), -EINVAL);
    ck_assert_int_eq(lust_sandbox_prepare(sb), -EINVAL);
    lust_sandbox_free(sb);
}
END_TEST

static int body_status_unchanged(void)
{
    char text[4096] = "";
    read_text("/proc/self/status", text, sizeof text);
    fprintf(stderr, "%s", strstr(text, "NoNewPrivs:"));
    return 0;
}

START_TEST(sandbox_off_does_nothing_and_loads_nothing)
{
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_OFF);
    ck_assert_int_eq(lust_sandbox_unveil(sb, "/nonexistent", "r"), 0);
    struct run r;
    run_sandboxed(sb, body_status_unchanged, &r);
    assert_exit_ok(&r);
    ck_assert_ptr_nonnull(strstr(r.err, "NoNewPrivs:\t0\nSeccomp:\t0\n"));
    ck_assert_int_eq(lust_sandbox_prepare(sb), 0);
    ck_assert(!sb->seccomp_ok);
    ck_assert_int_eq(lust_sandbox_lock_privs(sb), 0);
    ck_assert_str_eq(lust_sandbox_report(sb), "");
    lust_sandbox_free(sb);
}
END_TEST

/* The program for each promise alone, built and checked without loading it (valgrind too). */
/*
 * The compiler alone (sandbox_bpf.c), its programs run here by a small interpreter of the
 * instructions it emits, on made-up calls: what the kernel would answer for each.
 */
static uint32_t run_bpf(const struct sock_filter *prog, size_t len, const struct seccomp_data *d)
{
    uint32_t a = 0;
    for (size_t pc = 0; pc < len; pc++) {
        const struct sock_filter *f = &prog[pc];
        switch (f->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            ck_assert_uint_le(f->k + 4, sizeof *d);
            memcpy(&a, (const char *)d + f->k, 4);
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            a &= f->k;
            break;
        case BPF_JMP | BPF_JA:
            pc += f->k;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += a == f->k ? f->jt : f->jf;
            break;
        case BPF_JMP | BPF_JGE | BPF_K:
            pc += a >= f->k ? f->jt : f->jf;
            break;
        case BPF_RET | BPF_K:
            return f->k;
        default:
            ck_abort_msg("instruction %zu: code %#x", pc, f->code);
        }
    }
    ck_abort_msg("the program ran off its end");
    return 0;
}

static uint32_t verdict(const struct sock_filter *prog, size_t len, uint32_t arch, int nr,
                        uint64_t a0, uint64_t a1)
{
    struct seccomp_data d = {.nr = nr, .arch = arch, .args = {a0, a1}};
    return run_bpf(prog, len, &d);
}

#define ALLOW  SECCOMP_RET_ALLOW
#define TRAP   SECCOMP_RET_TRAP
#define EPERM_ (SECCOMP_RET_ERRNO | EPERM)
#define ARCH   AUDIT_ARCH_X86_64

START_TEST(sandbox_compiled_rules_answer_as_written)
{
    struct lust__bpf_rule r[320];
    size_t n = 0;
    /* 300 calls allowed outright: more than one shared `ret` can be reached from. */
    for (int nr = 1000; nr < 1300; nr++)
        r[n++] = (struct lust__bpf_rule){.nr = nr, .action = ALLOW};
    /* 7: allowed when arg0 is 0x1234567800000005 (both words count). */
    r[n++] = (struct lust__bpf_rule){
        .nr = 7, .action = ALLOW, .ncmp = 1, .cmp = {{0, LUST__CMP_EQ, 0x1234567800000005ull, 0}}};
    /* 8: allowed when arg0 is not 31, refused (EPERM) when arg1 & 0xf0 is 0x20 and arg0 is. */
    r[n++] = (struct lust__bpf_rule){
        .nr = 8, .action = ALLOW, .ncmp = 1, .cmp = {{0, LUST__CMP_NE, 31, 0}}};
    r[n++] = (struct lust__bpf_rule){
        .nr = 8,
        .action = EPERM_,
        .ncmp = 2,
        .cmp = {{0, LUST__CMP_EQ, 31, 0}, {1, LUST__CMP_MASKED_EQ, 0xf0, 0x20}}};
    /* 9: a conditional rule and an unconditional one: the unconditional one decides. */
    r[n++] = (struct lust__bpf_rule){
        .nr = 9, .action = ALLOW, .ncmp = 1, .cmp = {{0, LUST__CMP_EQ, 1, 0}}};
    r[n++] = (struct lust__bpf_rule){.nr = 9, .action = ALLOW};
    /* 10: refused outright with EPERM; 11: a mask that reaches the high word. */
    r[n++] = (struct lust__bpf_rule){.nr = 10, .action = EPERM_};
    r[n++] =
        (struct lust__bpf_rule){.nr = 11,
                                .action = ALLOW,
                                .ncmp = 1,
                                .cmp = {{1, LUST__CMP_MASKED_EQ, 0xff00000000ull, 0x100000000ull}}};
    /* 12: arg1 fits in 32 bits (the mask is the high word alone); 13: arg0 is 5, not 2^32+5. */
    r[n++] = (struct lust__bpf_rule){.nr = 12,
                                     .action = ALLOW,
                                     .ncmp = 1,
                                     .cmp = {{1, LUST__CMP_MASKED_EQ, 0xffffffff00000000ull, 0}}};
    r[n++] = (struct lust__bpf_rule){
        .nr = 13, .action = ALLOW, .ncmp = 1, .cmp = {{0, LUST__CMP_EQ, 5, 0}}};
    for (size_t i = 0; i < n; i++)
        r[i].order = (unsigned)i;
    struct sock_filter *prog = NULL;
    size_t len = 0;
    ck_assert_int_eq(lust__bpf_compile(r, n, ARCH, TRAP, &prog, &len), 0);

    for (int nr = 1000; nr < 1300; nr++)
        ck_assert_uint_eq(verdict(prog, len, ARCH, nr, 0, 0), ALLOW);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 999, 0, 0), TRAP);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 1300, 0, 0), TRAP);
    ck_assert_uint_eq(verdict(prog, len, AUDIT_ARCH_I386, 1000, 0, 0), TRAP);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 1000 | 0x40000000, 0, 0), TRAP);

    ck_assert_uint_eq(verdict(prog, len, ARCH, 7, 0x1234567800000005ull, 0), ALLOW);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 7, 5, 0), TRAP);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 7, 0x1234567800000006ull, 0), TRAP);

    ck_assert_uint_eq(verdict(prog, len, ARCH, 8, 30, 0), ALLOW);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 8, 31 | (1ull << 32), 0), ALLOW);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 8, 31, 0x25), EPERM_);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 8, 31, 0x125), EPERM_);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 8, 31, 0x35), TRAP);

    ck_assert_uint_eq(verdict(prog, len, ARCH, 9, 2, 0), ALLOW);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 10, 0, 0), EPERM_);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 11, 0, 0x1ffffffffull), ALLOW);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 11, 0, 0x200000000ull), TRAP);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 11, 0, 0xffffffffull), TRAP);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 12, 0, 0xffffffffull), ALLOW);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 12, 0, 0x100000000ull), TRAP);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 13, 5, 0), ALLOW);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 13, 0x100000005ull, 0), TRAP);
    free(prog);

    /* Log mode's default, and no x32 test on another architecture. */
    ck_assert_int_eq(lust__bpf_compile(r, n, AUDIT_ARCH_AARCH64, SECCOMP_RET_LOG, &prog, &len), 0);
    ck_assert_uint_eq(verdict(prog, len, AUDIT_ARCH_AARCH64, 999, 0, 0), SECCOMP_RET_LOG);
    ck_assert_uint_eq(verdict(prog, len, AUDIT_ARCH_AARCH64, 1000 | 0x40000000, 0, 0),
                      SECCOMP_RET_LOG);
    ck_assert_uint_eq(verdict(prog, len, ARCH, 1000, 0, 0), TRAP);
    free(prog);

    /* An unconditional ALLOW beside a conditional TRAP of the same call would open the hole
     * the TRAP closes: refused, not compiled. */
    struct lust__bpf_rule clash[] = {
        {.nr = 20, .order = 0, .action = TRAP, .ncmp = 1, .cmp = {{0, LUST__CMP_NE, 1, 0}}},
        {.nr = 20, .order = 1, .action = ALLOW},
    };
    ck_assert_int_eq(lust__bpf_compile(clash, 2, ARCH, TRAP, &prog, &len), -EINVAL);
    ck_assert_str_eq(lust_error(), "sandbox: call 20 has an unconditional rule and another with "
                                   "a different action");
}
END_TEST

START_TEST(sandbox_filter_program_builds_for_every_promise)
{
    SKIP_UNDER_VALGRIND();
    const char *each[] = {
        "stdio",  "thread",  "proc",
        "exec",   "id",      "inet",
        "unix",   "connect", "rpath",
        "wpath",  "cpath",   "fattr",
        "sendfd", "recvfd",  "stdio thread proc exec id inet unix rpath wpath cpath fattr"};
    for (int mode = LUST_SANDBOX_REQUIRE; mode <= LUST_SANDBOX_LOG; mode++)
        for (size_t i = 0; i < sizeof each / sizeof each[0]; i++) {
            struct lust_sandbox *sb = sandbox_with(each[i], mode);
            ck_assert_int_eq(lust_sandbox_prepare(sb), 0);
            struct sock_filter *prog = NULL;
            size_t len = 0;
            ck_assert_msg(lust__seccomp_build(sb, &prog, &len) == 0, "%s: %s", each[i],
                          lust_error());
            ck_assert_uint_gt(len, 20);
            ck_assert_uint_le(len, BPF_MAXINSNS);
            ck_assert_uint_eq(prog[0].code, BPF_LD | BPF_W | BPF_ABS);
            free(prog);
            lust_sandbox_free(sb);
        }
}
END_TEST

static int body_socket_inet(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fprintf(stderr, "socket(AF_INET): %s\n", strerror(errno));
    return fd < 0;
}

static int body_socket_netlink(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW, 0);
    fprintf(stderr, "socket(AF_NETLINK) returned %d\n", fd);
    return 0;
}

START_TEST(sandbox_stdio_alone_kills_socket_and_names_it)
{
    SKIP_UNDER_VALGRIND();
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_socket_inet, &r);
    assert_killed_naming(&r, "socket");
    ck_assert_ptr_nonnull(strstr(r.err, " ERROR sandbox: system call socket ("));
    /* The log's stamp, local time with its offset: it must name this very moment. */
    struct tm tm = {0};
    int ms, oh, om;
    char sign;
    ck_assert_int_eq(sscanf(r.err, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%2d:%2d ", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &sign, &oh, &om),
                     10);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    long offset = (sign == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
    long stamp = (long)timegm(&tm) - offset;
    ck_assert_msg(labs(stamp - (long)time(NULL)) < 60, "stamp %s is not now", r.err);
    ck_assert_int_eq(r.err[23], sign);
    lust_sandbox_free(sb);
}
END_TEST

START_TEST(sandbox_inet_allows_inet_sockets_but_never_netlink)
{
    SKIP_UNDER_VALGRIND();
    struct lust_sandbox *sb = sandbox_with("stdio inet", LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_socket_inet, &r);
    assert_exit_ok(&r);
    run_sandboxed(sb, body_socket_netlink, &r);
    assert_killed_naming(&r, "socket");
    lust_sandbox_free(sb);
}
END_TEST

static int body_exec_true(void)
{
    char *argv[] = {"true", NULL};
    execv("/bin/true", argv);
    fprintf(stderr, "execv /bin/true: %s\n", strerror(errno));
    return 1;
}

START_TEST(sandbox_execve_needs_the_exec_promise)
{
    SKIP_UNDER_VALGRIND();
    struct lust_sandbox *sb = sandbox_with("stdio rpath", LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_exec_true, &r);
    assert_killed_naming(&r, "execve");
    lust_sandbox_free(sb);
    /* The program it runs inherits the filter; its loader needs rpath and exec's extras. */
    sb = sandbox_with("stdio rpath exec", LUST_SANDBOX_REQUIRE);
    run_sandboxed(sb, body_exec_true, &r);
    assert_exit_ok(&r);
    lust_sandbox_free(sb);
}
END_TEST

static int body_ptrace(void)
{
    long r = syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
    fprintf(stderr, "ptrace returned %ld\n", r);
    return 0;
}

START_TEST(sandbox_ptrace_is_never_allowed)
{
    SKIP_UNDER_VALGRIND();
    const char *all = "stdio thread proc exec id inet unix connect rpath wpath cpath fattr "
                      "sendfd recvfd";
    struct lust_sandbox *sb = sandbox_with(all, LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_ptrace, &r);
    assert_killed_naming(&r, "ptrace");
    ck_assert_ptr_nonnull(strstr(r.err, "is never allowed"));
    lust_sandbox_free(sb);
    sb = sandbox_with(all, LUST_SANDBOX_LOG);
    run_sandboxed(sb, body_ptrace, &r);
    assert_killed_naming(&r, "ptrace");
    lust_sandbox_free(sb);
}
END_TEST

static int body_outside_promises(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int f = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    int status = 0;
    waitpid(child, &status, 0);
    fprintf(stderr, "results: %d %d %d\n", s >= 0, f >= 0, WEXITSTATUS(status));
    return s < 0 || f < 0 || child < 0 || WEXITSTATUS(status) != 7;
}

START_TEST(sandbox_log_mode_lets_calls_through_and_names_them)
{
    SKIP_UNDER_VALGRIND();
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_LOG);
    struct run r;
    run_sandboxed(sb, body_outside_promises, &r);
    assert_exit_ok(&r);
    ck_assert_ptr_nonnull(strstr(r.err, "WARNING sandbox: system call socket ("));
    ck_assert_ptr_nonnull(strstr(r.err, "system call openat ("));
    ck_assert_ptr_nonnull(strstr(r.err, "not promised; allowed (log mode)\n"));
    ck_assert_ptr_nonnull(strstr(r.err, "results: 1 1 7\n"));
    lust_sandbox_free(sb);
}
END_TEST

static int body_x32_getpid(void)
{
    long r = syscall(0x40000000L | 39);
    fprintf(stderr, "x32 getpid returned %ld\n", r);
    return 0;
}

START_TEST(sandbox_x32_calls_are_never_allowed)
{
    SKIP_UNDER_VALGRIND();
#if defined(__x86_64__)
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_LOG);
    struct run r;
    run_sandboxed(sb, body_x32_getpid, &r);
    ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSYS, "status 0x%x: %s",
                  (unsigned)r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.err, "system call 1073741863 of another ABI"));
    lust_sandbox_free(sb);
#else
    printf("SKIP %s: x32 is an x86-64 ABI\n", __func__);
#endif
}
END_TEST

#if defined(__x86_64__)
static int body_int80_getpid(void)
{
    long r;
    /* In 64-bit mode int 0x80 zeroes r8-r11 on its way back. */
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
    fprintf(stderr, "i386 getpid returned %ld\n", r);
    return 0;
}
#endif

START_TEST(sandbox_i386_calls_are_never_allowed)
{
    SKIP_UNDER_VALGRIND();
    SKIP_UNDER_TSAN();
#if defined(__x86_64__)
    struct lust_sandbox *off = sandbox_with("stdio", LUST_SANDBOX_OFF);
    struct run r;
    run_sandboxed(off, body_int80_getpid, &r);
    lust_sandbox_free(off);
    /* Without IA32 emulation int 0x80 faults: a SIGSEGV, or under ASan its report and exit 1. */
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0 ||
        !strstr(r.err, "i386 getpid returned")) {
        printf("SKIP %s: this kernel runs no i386 calls at all (IA32 emulation off)\n", __func__);
        return;
    }
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_REQUIRE);
    run_sandboxed(sb, body_int80_getpid, &r);
    ck_assert_msg(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSYS, "status 0x%x: %s",
                  (unsigned)r.status, r.err);
    ck_assert_msg(strstr(r.err, "of another ABI (audit arch 0x40000003)"), "%s", r.err);
    lust_sandbox_free(sb);
#else
    printf("SKIP %s: int 0x80 is an x86-64 matter\n", __func__);
#endif
}
END_TEST

static int body_fork(void)
{
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    fprintf(stderr, "fork: %s\n", child < 0 ? strerror(errno) : "started");
    return child < 0 || waitpid(child, NULL, 0) != child;
}

static void *idle(void *arg)
{
    return arg;
}

static int body_thread(void)
{
    pthread_t t;
    int e = pthread_create(&t, NULL, idle, NULL);
    fprintf(stderr, "pthread_create: %s\n", e ? strerror(e) : "started");
    return e || pthread_join(t, NULL) != 0;
}

static int body_unshare(void)
{
    long r = syscall(SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);
    if (r == 0)
        _exit(0);
    fprintf(stderr, "clone(CLONE_NEWUSER) returned %ld\n", r);
    return 0;
}

/*
 * pthread_create and posix_spawn block every signal around clone, where a trap would kill
 * without the handler's line: outside the promises clone fails with EPERM instead.
 */
START_TEST(sandbox_threads_and_processes_need_their_promises)
{
    SKIP_UNDER_VALGRIND();
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_fork, &r);
    ck_assert_msg(WIFEXITED(r.status) && strstr(r.err, "fork: Operation not permitted\n"),
                  "status 0x%x: %s", (unsigned)r.status, r.err);
    run_sandboxed(sb, body_thread, &r);
    ck_assert_msg(strstr(r.err, "pthread_create: Operation not permitted\n"), "%s", r.err);
    lust_sandbox_free(sb);
    sb = sandbox_with("stdio thread", LUST_SANDBOX_REQUIRE);
    run_sandboxed(sb, body_thread, &r);
    assert_exit_ok(&r);
    run_sandboxed(sb, body_fork, &r);
    ck_assert_msg(strstr(r.err, "fork: Operation not permitted\n"), "%s", r.err);
    lust_sandbox_free(sb);
    sb = sandbox_with("stdio proc thread", LUST_SANDBOX_REQUIRE);
    run_sandboxed(sb, body_fork, &r);
    assert_exit_ok(&r);
    run_sandboxed(sb, body_unshare, &r);
    assert_killed_naming(&r, "clone");
    ck_assert_ptr_nonnull(strstr(r.err, "is never allowed"));
    lust_sandbox_free(sb);
}
END_TEST

static int body_limits(void)
{
    struct rlimit core, nproc;
    getrlimit(RLIMIT_CORE, &core);
    getrlimit(RLIMIT_NPROC, &nproc);
    fprintf(stderr, "core %llu nproc %llu\n", (unsigned long long)core.rlim_max,
            (unsigned long long)nproc.rlim_max);
    return 0;
}

START_TEST(sandbox_limits_follow_the_promises)
{
    SKIP_UNDER_VALGRIND();
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_limits, &r);
    assert_exit_ok(&r);
    ck_assert_ptr_nonnull(strstr(r.err, "core 0 nproc 0\n"));
    lust_sandbox_free(sb);
    sb = sandbox_with("stdio thread", LUST_SANDBOX_REQUIRE);
    run_sandboxed(sb, body_limits, &r);
    ck_assert_ptr_nonnull(strstr(r.err, "core 0 nproc "));
    ck_assert_ptr_null(strstr(r.err, "nproc 0\n"));
    lust_sandbox_free(sb);
}
END_TEST

static char file_in[128];

static int body_open_modes(void)
{
    int fd = open(file_in, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 2;
    close(fd);
    fd = open(file_in, O_WRONLY | O_CLOEXEC);
    fprintf(stderr, "O_WRONLY %s\n", fd >= 0 ? "opened" : strerror(errno));
    return 0;
}

START_TEST(sandbox_rpath_opens_for_reading_only)
{
    SKIP_UNDER_VALGRIND();
    snprintf(file_in, sizeof file_in, "%s/f", tmp);
    int fd = open(file_in, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
    struct lust_sandbox *sb = sandbox_with("stdio rpath", LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_open_modes, &r);
    assert_killed_naming(&r, "openat");
    lust_sandbox_free(sb);
    sb = sandbox_with("stdio rpath wpath", LUST_SANDBOX_REQUIRE);
    run_sandboxed(sb, body_open_modes, &r);
    assert_exit_ok(&r);
    ck_assert_ptr_nonnull(strstr(r.err, "O_WRONLY opened\n"));
    lust_sandbox_free(sb);
}
END_TEST

static int body_ignore_sigsys(void)
{
    signal(SIGSYS, SIG_IGN);
    return socket(AF_INET, SOCK_STREAM, 0) >= 0;
}

START_TEST(sandbox_sigsys_handler_cannot_be_replaced)
{
    SKIP_UNDER_VALGRIND();
    SKIP_UNDER_TSAN();
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_ignore_sigsys, &r);
    assert_killed_naming(&r, "rt_sigaction");
    lust_sandbox_free(sb);
}
END_TEST

static int gate[2];
static struct lust_sandbox *current;

static void *socket_later(void *arg)
{
    char c;
    if (read(gate[0], &c, 1) == 1)
        socket(AF_INET, SOCK_STREAM, 0);
    return arg;
}

static int start_thread(void)
{
    pthread_t t;
    return pipe(gate) != 0 || pthread_create(&t, NULL, socket_later, NULL) != 0;
}

static int body_wake_thread(void)
{
    fprintf(stderr, "report: %s\n", lust_sandbox_report(current));
    if (write(gate[1], "x", 1) != 1)
        return 1;
    pause();
    return 0;
}

START_TEST(sandbox_filter_reaches_threads_already_running)
{
    SKIP_UNDER_VALGRIND();
    current = sandbox_with("stdio thread", LUST_SANDBOX_BEST);
    struct run r;
    run_sandboxed_after(current, start_thread, body_wake_thread, &r);
    assert_killed_naming(&r, "socket");
    if (real_landlock_abi() >= 6 && real_landlock_abi() < 8)
        ck_assert_ptr_nonnull(
            strstr(r.err, "Landlock rules not enforced in the 1 other threads already running"));
    lust_sandbox_free(current);
}
END_TEST

static char path_out[128], path_new[128];

static int expect(const char *what, int fd, int want_errno)
{
    int got = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    fprintf(stderr, "%s: %s\n", what, got ? strerror(got) : "ok");
    return got != want_errno;
}

static int body_unveiled(void)
{
    char via_proc[256];
    snprintf(via_proc, sizeof via_proc, "/proc/1/root%s", path_out);
    int bad = expect("inside", open(file_in, O_RDONLY | O_CLOEXEC), 0);
    bad |= expect("outside", open(path_out, O_RDONLY | O_CLOEXEC), EACCES);
    bad |= expect("via /proc/1/root", open(via_proc, O_RDONLY | O_CLOEXEC), EACCES);
    bad |= expect("/proc/self/status", open("/proc/self/status", O_RDONLY | O_CLOEXEC), EACCES);
    return bad;
}

static int body_create(void)
{
    return expect("create", open(path_new, O_CREAT | O_WRONLY | O_CLOEXEC, 0600), 0);
}

static void make_files(void)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/in", tmp);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(file_in, sizeof file_in, "%s/in/f", tmp);
    snprintf(path_out, sizeof path_out, "%s/out", tmp);
    snprintf(path_new, sizeof path_new, "%s/in/new", tmp);
    for (int i = 0; i < 2; i++) {
        int fd = open(i ? path_out : file_in, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        close(fd);
    }
}

#define SKIP_WITHOUT_LANDLOCK(abi)                                                          \
    do {                                                                                    \
        if (real_landlock_abi() < (abi)) {                                                  \
            printf("SKIP %s: needs Landlock ABI %d, this kernel has %d\n", __func__, (abi), \
                   real_landlock_abi());                                                    \
            return;                                                                         \
        }                                                                                   \
    } while (0)

START_TEST(sandbox_unveil_hides_everything_else)
{
    SKIP_UNDER_VALGRIND();
    SKIP_WITHOUT_LANDLOCK(1);
    make_files();
    char dir[128];
    snprintf(dir, sizeof dir, "%s/in", tmp);
    struct lust_sandbox *sb = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_unveil(sb, dir, "r"), 0);
    struct run r;
    run_sandboxed(sb, body_unveiled, &r);
    assert_exit_ok(&r);
    run_sandboxed(sb, body_create, &r);
    ck_assert_ptr_nonnull(strstr(r.err, "create: Permission denied\n"));
    lust_sandbox_free(sb);
    sb = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_unveil(sb, dir, "rwc"), 0);
    run_sandboxed(sb, body_create, &r);
    assert_exit_ok(&r);
    lust_sandbox_free(sb);
}
END_TEST

START_TEST(sandbox_unveil_of_a_missing_path_fails_apply)
{
    SKIP_UNDER_VALGRIND();
    SKIP_WITHOUT_LANDLOCK(1);
    char missing[128];
    snprintf(missing, sizeof missing, "%s/missing", tmp);
    struct lust_sandbox *sb = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_unveil(sb, missing, "r"), 0);
    struct run r;
    run_sandboxed(sb, body_unveiled, &r);
    ck_assert_int_eq(WEXITSTATUS(r.status), APPLY_FAILED);
    char want[256];
    snprintf(want, sizeof want, "apply failed: unveil %s: No such file or directory\n", missing);
    ck_assert_str_eq(r.err, want);
    lust_sandbox_free(sb);
}
END_TEST

static int port_listed, port_unlisted, port_listening;

static int tcp(int port, int connect_it)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int r = connect_it ? connect(fd, (struct sockaddr *)&a, sizeof a)
                       : bind(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static int body_ports(void)
{
    int bad = expect("bind listed", tcp(port_listed, 0), 0);
    bad |= expect("bind unlisted", tcp(port_unlisted, 0), EACCES);
    fprintf(stderr, "connect: %s\n", tcp(port_listening, 1) < 0 ? strerror(errno) : "ok");
    return bad;
}

START_TEST(sandbox_tcp_ports_are_listed_ones_only)
{
    SKIP_UNDER_VALGRIND();
    SKIP_WITHOUT_LANDLOCK(4);
    port_listed = free_port();
    port_unlisted = free_port();
    port_listening = 0;
    int listener = tcp_listener(&port_listening);
    const char *connect_ok[] = {NULL, "connect", NULL};
    for (int i = 0; i < 3; i++) {
        struct lust_sandbox *sb = sandbox_with("stdio inet", LUST_SANDBOX_REQUIRE);
        ck_assert_int_eq(lust_sandbox_allow_bind(sb, (unsigned)port_listed), 0);
        if (connect_ok[i])
            ck_assert_int_eq(lust_sandbox_promise(sb, connect_ok[i]), 0);
        if (i == 2)
            ck_assert_int_eq(lust_sandbox_allow_connect(sb, (unsigned)port_listening), 0);
        struct run r;
        run_sandboxed(sb, body_ports, &r);
        assert_exit_ok(&r);
        ck_assert_msg(strstr(r.err, i ? "connect: ok\n" : "connect: Permission denied\n"),
                      "round %d: %s", i, r.err);
        lust_sandbox_free(sb);
    }
    close(listener);
}
END_TEST

static int body_signal_parent(void)
{
    return expect("kill(parent, 0)", kill(getppid(), 0), EPERM);
}

START_TEST(sandbox_signals_stay_inside_the_sandbox)
{
    SKIP_UNDER_VALGRIND();
    SKIP_WITHOUT_LANDLOCK(6);
    struct lust_sandbox *sb = sandbox_with("stdio proc", LUST_SANDBOX_REQUIRE);
    struct run r;
    run_sandboxed(sb, body_signal_parent, &r);
    assert_exit_ok(&r);
    lust_sandbox_free(sb);
}
END_TEST

static int body_outside_opens(void)
{
    return expect("outside", open(path_out, O_RDONLY | O_CLOEXEC), 0);
}

START_TEST(sandbox_without_landlock_require_refuses_and_best_reports)
{
    make_files();
    lust__sandbox_fake_landlock_abi(0);
    const char *sentence = "unveil rules, signal and abstract unix socket scoping not "
                           "enforced: the kernel has no Landlock";
    struct lust_sandbox *sb = sandbox_with(NULL, LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_unveil(sb, tmp, "r"), 0);
    ck_assert_int_eq(lust_sandbox_prepare(sb), -EOPNOTSUPP);
    ck_assert_msg(!strncmp(lust_error(), sentence, strlen(sentence)), "%s", lust_error());
    lust_sandbox_free(sb);
    sb = sandbox_with(NULL, LUST_SANDBOX_BEST);
    ck_assert_int_eq(lust_sandbox_unveil(sb, file_in, "r"), 0);
    ck_assert_int_eq(lust_sandbox_prepare(sb), 0);
    ck_assert_msg(!strncmp(lust_sandbox_report(sb), sentence, strlen(sentence)), "%s",
                  lust_sandbox_report(sb));
    struct run r;
    run_sandboxed(sb, body_outside_opens, &r);
    assert_exit_ok(&r);
    lust_sandbox_free(sb);
}
END_TEST

START_TEST(sandbox_older_landlock_reports_what_it_lacks)
{
    SKIP_UNDER_VALGRIND();
    SKIP_WITHOUT_LANDLOCK(3);
    make_files();
    lust__sandbox_fake_landlock_abi(3);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/in", tmp);
    struct lust_sandbox *sb = sandbox_with("stdio inet rpath", LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_allow_bind(sb, 8080), 0);
    ck_assert_int_eq(lust_sandbox_prepare(sb), -EOPNOTSUPP);
    ck_assert_str_eq(lust_error(), "TCP port rules not enforced: they need Landlock ABI 4 (Linux "
                                   "6.7), this kernel has ABI 3");
    lust_sandbox_free(sb);
    sb = sandbox_with("stdio inet rpath", LUST_SANDBOX_BEST);
    ck_assert_int_eq(lust_sandbox_unveil(sb, dir, "r"), 0);
    ck_assert_int_eq(lust_sandbox_allow_bind(sb, 8080), 0);
    ck_assert_int_eq(lust_sandbox_prepare(sb), 0);
    ck_assert_str_eq(lust_sandbox_report(sb),
                     "TCP port rules not enforced: they need Landlock ABI 4 (Linux 6.7), this "
                     "kernel has ABI 3; device ioctls under unveiled paths not enforced: they "
                     "need Landlock ABI 5 (Linux 6.10), this kernel has ABI 3; signal and "
                     "abstract unix socket scoping not enforced: they need Landlock ABI 6 (Linux "
                     "6.12), this kernel has ABI 3");
    port_listed = free_port();
    port_unlisted = free_port();
    struct run r;
    run_sandboxed(sb, body_unveiled, &r);
    assert_exit_ok(&r);
    run_sandboxed(sb, body_ports, &r);
    ck_assert_ptr_nonnull(strstr(r.err, "bind unlisted: ok\n"));
    lust_sandbox_free(sb);
}
END_TEST

START_TEST(sandbox_without_a_known_architecture_require_refuses_and_best_reports)
{
    SKIP_UNDER_VALGRIND();
    lust__sandbox_fake_no_arch(true);
    struct lust_sandbox *sb = sandbox_with("stdio", LUST_SANDBOX_REQUIRE);
    ck_assert_int_eq(lust_sandbox_prepare(sb), -ENOSYS);
    ck_assert_str_eq(lust_error(), "seccomp filters unavailable: liblust knows no audit "
                                   "architecture for the calls of this build");
    lust_sandbox_free(sb);
    sb = sandbox_with("stdio", LUST_SANDBOX_BEST);
    ck_assert_int_eq(lust_sandbox_prepare(sb), 0);
    ck_assert_ptr_nonnull(strstr(lust_sandbox_report(sb), "seccomp filters unavailable: "));
    struct run r;
    run_sandboxed(sb, body_socket_inet, &r);
    assert_exit_ok(&r);
    lust_sandbox_free(sb);
}
END_TEST

static Suite *sandbox_suite(void)
{
    Suite *s = suite_create("sandbox");
    TCase *spec = tcase_create("specification");
    tcase_add_test(spec, sandbox_unknown_promise_is_refused_by_name);
    tcase_add_test(spec, sandbox_unveil_wants_an_absolute_path_and_known_rights);
    tcase_add_test(spec, sandbox_mode_names_and_null_arguments);
    tcase_add_test(spec, sandbox_is_frozen_once_prepared);
    tcase_add_test(spec, sandbox_off_does_nothing_and_loads_nothing);
    tcase_add_test(spec, sandbox_compiled_rules_answer_as_written);
    suite_add_tcase(s, spec);
    TCase *p = tcase_create("promises");
    /* Each test forks: Check's 4 s default is short on a loaded machine. */
    tcase_set_timeout(p, 30);
    tcase_add_unchecked_fixture(p, tmp_top_make, tmp_top_remove);
    tcase_add_checked_fixture(p, make_tmp, NULL);
    tcase_add_test(p, sandbox_filter_program_builds_for_every_promise);
    tcase_add_test(p, sandbox_stdio_alone_kills_socket_and_names_it);
    tcase_add_test(p, sandbox_inet_allows_inet_sockets_but_never_netlink);
    tcase_add_test(p, sandbox_execve_needs_the_exec_promise);
    tcase_add_test(p, sandbox_ptrace_is_never_allowed);
    tcase_add_test(p, sandbox_log_mode_lets_calls_through_and_names_them);
    tcase_add_test(p, sandbox_x32_calls_are_never_allowed);
    tcase_add_test(p, sandbox_i386_calls_are_never_allowed);
    tcase_add_test(p, sandbox_threads_and_processes_need_their_promises);
    tcase_add_test(p, sandbox_limits_follow_the_promises);
    tcase_add_test(p, sandbox_rpath_opens_for_reading_only);
    tcase_add_test(p, sandbox_sigsys_handler_cannot_be_replaced);
    tcase_add_test(p, sandbox_filter_reaches_threads_already_running);
    suite_add_tcase(s, p);
    TCase *l = tcase_create("landlock");
    tcase_set_timeout(l, 30);
    tcase_add_unchecked_fixture(l, tmp_top_make, tmp_top_remove);
    tcase_add_checked_fixture(l, make_tmp, NULL);
    tcase_add_test(l, sandbox_unveil_hides_everything_else);
    tcase_add_test(l, sandbox_unveil_of_a_missing_path_fails_apply);
    tcase_add_test(l, sandbox_tcp_ports_are_listed_ones_only);
    tcase_add_test(l, sandbox_signals_stay_inside_the_sandbox);
    tcase_add_test(l, sandbox_without_landlock_require_refuses_and_best_reports);
    tcase_add_test(l, sandbox_older_landlock_reports_what_it_lacks);
    tcase_add_test(l, sandbox_without_a_known_architecture_require_refuses_and_best_reports);
    suite_add_tcase(s, l);
    return s;
}

LUST_TEST_MAIN(sandbox_suite)
