/*
 * lib/sandbox_trap.c - the SIGSYS handler that names a refused call, and the filter's loading.
 *
 * A refused call meets SECCOMP_RET_TRAP: the kernel skips it and sends SIGSYS with the call's
 * number. The handler writes one log line with write(2) (everything it uses is
 * async-signal-safe: tables filled before the filter, no allocation, no stdio), then ends the
 * process by making a call the filter traps again: SIGSYS is blocked inside its own handler, so
 * the kernel resets it to the default action and the process dies of SIGSYS.
 *
 * Log mode on x86-64 re-issues the refused call from the handler instead, through one syscall
 * instruction whose address the filter lets through unconditionally (the first instructions of
 * the program compare seccomp_data.instruction_pointer with it). Anyone can jump there, so this
 * is no sandbox at all: it is what log mode is for, seeing every call that the promises would
 * refuse while the daemon keeps working.
 */
#include "sandbox_private.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <lust/sandbox.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

#define MAX_FATAL 48

#if defined(__x86_64__)
#define CAN_RERUN 1
/* lust__sandbox_syscall(nr, a1..a6): the one syscall instruction log mode lets through. */
__asm__(".text\n"
        ".globl lust__sandbox_syscall\n"
        ".hidden lust__sandbox_syscall\n"
        ".type lust__sandbox_syscall, @function\n"
        "lust__sandbox_syscall:\n"
        "\tendbr64\n"
        "\tmovq %rdi, %rax\n"
        "\tmovq %rsi, %rdi\n"
        "\tmovq %rdx, %rsi\n"
        "\tmovq %rcx, %rdx\n"
        "\tmovq %r8, %r10\n"
        "\tmovq %r9, %r8\n"
        "\tmovq 8(%rsp), %r9\n"
        "\tsyscall\n"
        ".globl lust__sandbox_syscall_ip\n"
        ".hidden lust__sandbox_syscall_ip\n"
        "lust__sandbox_syscall_ip:\n"
        "\tret\n"
        ".size lust__sandbox_syscall, .-lust__sandbox_syscall\n");
LUST__HIDDEN long lust__sandbox_syscall(long nr, long a1, long a2, long a3, long a4, long a5,
                                        long a6);
/* The address the kernel reports for that instruction: the one after it. */
LUST__HIDDEN extern const char lust__sandbox_syscall_ip[];
#else
#define CAN_RERUN 0
#endif

/* Everything the handler reads; written before the handler is installed, then never again. */
static struct {
    int fatal[MAX_FATAL];
    unsigned nfatal;
    uint32_t arch;
    long utc_offset;
    bool rerun;
} trap;

struct line {
    char buf[256];
    size_t n;
};

static void put(struct line *l, const char *s)
{
    while (*s && l->n < sizeof l->buf - 1)
        l->buf[l->n++] = *s++;
}

static void put_num(struct line *l, unsigned long v, int width, int base)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % (unsigned)base];
        v /= (unsigned)base;
    } while (v || n < width);
    while (n > 0 && l->n < sizeof l->buf - 1)
        l->buf[l->n++] = digits[--n];
}

/* The log module's stamp, "2026-11-26T18:31:35.123+01:00", from the days since 1970. */
static void put_stamp(struct line *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long t = ts.tv_sec + trap.utc_offset, secs = t % 86400, days = t / 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    days += 719468; /* from 0000-03-01, so a leap day ends a year */
    long era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    long year = (long)yoe + era * 400 + (month <= 2);
    long off = trap.utc_offset < 0 ? -trap.utc_offset : trap.utc_offset;
    put_num(l, (unsigned long)year, 4, 10);
    put(l, "-");
    put_num(l, month, 2, 10);
    put(l, "-");
    put_num(l, day, 2, 10);
    put(l, "T");
    put_num(l, (unsigned long)secs / 3600, 2, 10);
    put(l, ":");
    put_num(l, (unsigned long)secs / 60 % 60, 2, 10);
    put(l, ":");
    put_num(l, (unsigned long)secs % 60, 2, 10);
    put(l, ".");
    put_num(l, (unsigned long)ts.tv_nsec / 1000000, 3, 10);
    put(l, trap.utc_offset < 0 ? "-" : "+");
    put_num(l, (unsigned long)off / 3600, 2, 10);
    put(l, ":");
    put_num(l, (unsigned long)off / 60 % 60, 2, 10);
}

static bool is_fatal(int nr)
{
    for (unsigned i = 0; i < trap.nfatal; i++)
        if (trap.fatal[i] == nr)
            return true;
    return false;
}

static void say(int nr, uint32_t arch, bool foreign, bool never, bool fatal)
{
    struct line l = {.n = 0};
    put_stamp(&l);
    put(&l, fatal ? " ERROR sandbox: system call " : " WARNING sandbox: system call ");
    const char *name = foreign ? NULL : lust__call_name(nr);
    if (name) {
        put(&l, name);
        put(&l, " (");
        put_num(&l, (unsigned long)nr, 1, 10);
        put(&l, ")");
    } else {
        put_num(&l, (unsigned)nr, 1, 10);
    }
    if (foreign) {
        put(&l, " of another ABI (audit arch 0x");
        put_num(&l, arch, 8, 16);
        put(&l, ")");
    }
    put(&l, never || foreign ? " is never allowed" : " not promised");
    put(&l, fatal ? "; process killed\n" : "; allowed (log mode)\n");
    ssize_t w = write(STDERR_FILENO, l.buf, l.n);
    (void)w;
}

static void die(void)
{
    syscall(SYS_kexec_load, 0, 0, 0, 0); /* in the never list: the filter always traps it */
    _exit(128 + SIGSYS);
}

static void on_sigsys(int sig, siginfo_t *si, void *context)
{
    (void)sig;
    (void)context;
    int saved = errno;
    if (si->si_code != SYS_SECCOMP)
        die();
    int nr = si->si_syscall;
    uint32_t arch = si->si_arch;
    bool foreign = arch != trap.arch || (arch == AUDIT_ARCH_X86_64 && (nr & 0x40000000));
    bool never = !foreign && is_fatal(nr);
    bool fatal = !trap.rerun || foreign || never;
    say(nr, arch, foreign, never, fatal);
    if (fatal)
        die();
#if CAN_RERUN
    greg_t *g = ((ucontext_t *)context)->uc_mcontext.gregs;
    g[REG_RAX] = lust__sandbox_syscall(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10],
                                       g[REG_R8], g[REG_R9]);
#endif
    errno = saved;
}

/*
 * The calls that stay fatal in log mode: those never allowed, and a clone that reaches the trap
 * (its allowed and its merely unpromised forms have rules of their own: only namespace flags
 * are left), which no handler could re-issue anyway.
 */
static void fatal_calls(void)
{
    char name[32];
    const char *names = lust__sandbox_never;
    trap.nfatal = 0;
    while (lust__sandbox_word(&names, name, sizeof name) > 0 && trap.nfatal < MAX_FATAL - 4) {
        int nr = lust__call_number(name);
        if (nr >= 0)
            trap.fatal[trap.nfatal++] = nr;
    }
    names = "clone clone3 fork vfork";
    while (lust__sandbox_word(&names, name, sizeof name) > 0) {
        int nr = lust__call_number(name);
        if (nr >= 0)
            trap.fatal[trap.nfatal++] = nr;
    }
}

#if CAN_RERUN
/* Let the one syscall instruction of lust__sandbox_syscall through, before the rules. */
static int add_rerun_gate(struct sock_filter **prog, size_t *len)
{
    uint64_t ip = (uint64_t)(uintptr_t)lust__sandbox_syscall_ip;
    const size_t ipo = offsetof(struct seccomp_data, instruction_pointer);
    const struct sock_filter gate[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, trap.arch, 0, 5),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ipo),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ipo + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    const size_t n = sizeof gate / sizeof gate[0];
    struct sock_filter *grown = realloc(*prog, (*len + n) * sizeof *grown);
    if (!grown)
        return lust__fail(ENOMEM, "sandbox: seccomp filter");
    memmove(grown + n, grown, *len * sizeof *grown);
    memcpy(grown, gate, sizeof gate);
    *prog = grown;
    *len += n;
    return 0;
}
#endif

static int load(const struct sock_filter *prog, size_t len)
{
    if (len > BPF_MAXINSNS)
        return lust__fail_plain(E2BIG,
                                "sandbox: the seccomp filter has %zu instructions, the "
                                "kernel takes %d",
                                len, BPF_MAXINSNS);
    struct sock_fprog fp = {.len = (unsigned short)len, .filter = (struct sock_filter *)prog};
    long t = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fp);
    if (t > 0)
        return lust__fail_plain(EBUSY,
                                "sandbox: thread %ld cannot take the seccomp filter "
                                "(it has another filter of its own)",
                                t);
    return t < 0 ? lust__fail(errno, "sandbox: installing the seccomp filter") : 0;
}

int lust__seccomp_build(struct lust_sandbox *sb, struct sock_filter **prog, size_t *len)
{
    bool log = sb->mode == LUST_SANDBOX_LOG;
    trap.rerun = log && CAN_RERUN;
    trap.arch = lust__call_arch();
    fatal_calls();
    /* The time zone is read now, while its file may still be opened. */
    time_t now = time(NULL);
    struct tm tm;
    trap.utc_offset = localtime_r(&now, &tm) ? tm.tm_gmtoff : 0;
    int r =
        lust__filter_build(sb, log && !trap.rerun ? SECCOMP_RET_LOG : SECCOMP_RET_TRAP, prog, len);
#if CAN_RERUN
    if (r == 0 && trap.rerun && (r = add_rerun_gate(prog, len)) < 0) {
        free(*prog);
        *prog = NULL;
    }
#endif
    return r;
}

int lust__seccomp_load(const struct sock_filter *prog, size_t len)
{
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO}, old;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, &old) < 0)
        return lust__fail(errno, "sandbox: SIGSYS handler");
    int r = load(prog, len);
    if (r < 0)
        sigaction(SIGSYS, &old, NULL);
    return r;
}
