/*
 * lib/sandbox_bpf.c - the seccomp rules compiled into the classic BPF program the kernel runs.
 *
 * libseccomp's compiler (seccomp_rule_add, seccomp_export_bpf) took about 1.3 ms of every start
 * for ~250 rules; this one takes microseconds, because the rules are few and simple: an allow
 * list by call number, and for some calls one or two comparisons of an argument (EQ, NE,
 * MASKED_EQ on all 64 bits, as libseccomp makes them).
 *
 * The program:
 *   the architecture check (another ABI meets TRAP; on x86-64 so do x32 numbers);
 *   the calls whose rule has no comparison, grouped by action: `jeq nr` lines jumping to one
 *   `ret` per group of at most 255, so most calls cost one comparison each on their way;
 *   each call with comparisons: its rules in the order they were added, each its comparisons
 *   then its `ret`, then `ret default` when none matched;
 *   `ret default`.
 * A call with a rule without comparison takes that rule's action; any other rule of that call
 * must have the same action (the promises only ever add an unconditional ALLOW to a
 * conditional one), and a program where one differs is refused.
 */
#include "sandbox_private.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>

/* The most `jeq` lines that can jump over each other to one shared `ret` (8-bit offsets). */
#define CHUNK 255

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LO_WORD 0
#define HI_WORD 4
#else
#define LO_WORD 4
#define HI_WORD 0
#endif

struct program {
    struct sock_filter *insn;
    size_t len, cap;
    int err;
};

static size_t emit(struct program *p, struct sock_filter f)
{
    if (p->err)
        return 0;
    if (p->len == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        struct sock_filter *grown = realloc(p->insn, cap * sizeof *grown);
        if (!grown) {
            p->err = -ENOMEM;
            return 0;
        }
        p->insn = grown;
        p->cap = cap;
    }
    p->insn[p->len] = f;
    return p->len++;
}

static void stmt(struct program *p, uint16_t code, uint32_t k)
{
    emit(p, (struct sock_filter)BPF_STMT(code, k));
}

static void load(struct program *p, uint32_t offset)
{
    stmt(p, BPF_LD | BPF_W | BPF_ABS, offset);
}

static uint32_t arg_word(unsigned arg, unsigned word)
{
    return (uint32_t)(offsetof(struct seccomp_data, args) + 8 * arg + word);
}

/* A test whose failing branch goes past the rule's `ret`, patched by rule_end(). */
struct fail {
    size_t at;
    bool if_equal; /* the rule fails when the words are equal (NE), else when they differ */
};

static void test(struct program *p, uint32_t k, bool fail_if_equal, struct fail *f)
{
    f->at = emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0));
    f->if_equal = fail_if_equal;
}

/* One comparison of a rule, on both words of the argument; returns how many tests can fail. */
static size_t compare(struct program *p, const struct lust__arg_cmp *c, struct fail *fails)
{
    uint64_t value = c->op == LUST__CMP_MASKED_EQ ? c->b : c->a;
    uint64_t mask = c->op == LUST__CMP_MASKED_EQ ? c->a : ~0ull;
    size_t n = 0;

    if (c->op == LUST__CMP_NE) {
        /* Either word differs: a different high word jumps over the low word's test. */
        load(p, arg_word(c->arg, HI_WORD));
        emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(value >> 32), 0,
                                             2));
        load(p, arg_word(c->arg, LO_WORD));
        test(p, (uint32_t)value, true, &fails[n++]);
        return n;
    }
    /* A mask that leaves the high word out, with a value that does too, needs no test of it. */
    if ((mask >> 32) || (value >> 32)) {
        load(p, arg_word(c->arg, HI_WORD));
        if (mask >> 32 != 0xffffffffu)
            stmt(p, BPF_ALU | BPF_AND | BPF_K, (uint32_t)(mask >> 32));
        test(p, (uint32_t)(value >> 32), false, &fails[n++]);
    }
    load(p, arg_word(c->arg, LO_WORD));
    if ((uint32_t)mask != 0xffffffffu)
        stmt(p, BPF_ALU | BPF_AND | BPF_K, (uint32_t)mask);
    test(p, (uint32_t)value, false, &fails[n++]);
    return n;
}

/* Points the failing tests of a rule at the instruction after its `ret`. */
static void rule_end(struct program *p, const struct fail *fails, size_t n)
{
    for (size_t i = 0; i < n && !p->err; i++) {
        size_t skip = p->len - (fails[i].at + 1);
        if (skip > 255) {
            p->err = -E2BIG;
            return;
        }
        if (fails[i].if_equal)
            p->insn[fails[i].at].jt = (uint8_t)skip;
        else
            p->insn[fails[i].at].jf = (uint8_t)skip;
    }
}

static int by_number(const void *a, const void *b)
{
    const struct lust__bpf_rule *x = a, *y = b;
    if (x->nr != y->nr)
        return x->nr < y->nr ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The unconditional rule of the call starting at rules[i], or NULL. */
static const struct lust__bpf_rule *unconditional(const struct lust__bpf_rule *r, size_t n,
                                                  size_t i, size_t *end)
{
    const struct lust__bpf_rule *u = NULL;
    size_t j;
    for (j = i; j < n && r[j].nr == r[i].nr; j++)
        if (r[j].ncmp == 0 && !u)
            u = &r[j];
    *end = j;
    return u;
}

/*
 * A call with an unconditional rule is compiled to that rule's action alone, so every other
 * rule of the call must have the same action: an ALLOW beside a conditional TRAP would
 * silently open what the TRAP closes. The number of the first call that breaks it, or -1.
 */
static int conflicting_call(const struct lust__bpf_rule *r, size_t n)
{
    for (size_t i = 0, end; i < n; i = end) {
        const struct lust__bpf_rule *u = unconditional(r, n, i, &end);
        for (size_t j = i; u && j < end; j++)
            if (r[j].action != u->action)
                return r[i].nr;
    }
    return -1;
}

/* `jeq` lines for these numbers, each jumping to one shared `ret action` after them. */
static void jump_table(struct program *p, const uint32_t *nrs, size_t k, uint32_t action)
{
    for (size_t j = 0; j < k; j++)
        emit(p,
             (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[j], (uint8_t)(k - j), 0));
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0));
    stmt(p, BPF_RET | BPF_K, action);
}

/* Every call whose unconditional rule has this action, CHUNK calls to a `ret`. */
static void simple_calls(struct program *p, const struct lust__bpf_rule *r, size_t n,
                         uint32_t action, bool *done)
{
    uint32_t nrs[CHUNK];
    size_t k = 0;
    for (size_t i = 0, end; i < n; i = end) {
        const struct lust__bpf_rule *u = unconditional(r, n, i, &end);
        if (!u || u->action != action || done[i])
            continue;
        done[i] = true;
        nrs[k++] = (uint32_t)r[i].nr;
        if (k == CHUNK) {
            jump_table(p, nrs, k, action);
            k = 0;
        }
    }
    if (k)
        jump_table(p, nrs, k, action);
}

/*
 * A call whose rules all compare: `jeq nr` or a jump past it all, then its rules, then the
 * default. Every path through it returns, so the number is still in A past it.
 */
static void compared_call(struct program *p, const struct lust__bpf_rule *r, size_t i, size_t end,
                          uint32_t default_action)
{
    emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r[i].nr, 1, 0));
    size_t skip = emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0));
    for (size_t j = i; j < end; j++) {
        struct fail fails[2 * LUST__BPF_CMP_MAX];
        size_t nf = 0;
        for (unsigned c = 0; c < r[j].ncmp; c++)
            nf += compare(p, &r[j].cmp[c], fails + nf);
        stmt(p, BPF_RET | BPF_K, r[j].action);
        rule_end(p, fails, nf);
    }
    stmt(p, BPF_RET | BPF_K, default_action);
    if (!p->err)
        p->insn[skip].k = (uint32_t)(p->len - (skip + 1));
}

int lust__bpf_compile(struct lust__bpf_rule *rules, size_t n, uint32_t arch,
                      uint32_t default_action, struct sock_filter **prog, size_t *len)
{
    struct program p = {0};
    bool *done = calloc(n + 1, sizeof *done);
    if (!done)
        return lust__fail(ENOMEM, "sandbox: seccomp filter");
    qsort(rules, n, sizeof *rules, by_number);
    int conflict = conflicting_call(rules, n);
    if (conflict >= 0) {
        free(done);
        return lust__fail_plain(EINVAL,
                                "sandbox: call %d has an unconditional rule and another "
                                "with a different action",
                                conflict);
    }

    load(&p, offsetof(struct seccomp_data, arch));
    emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0));
    stmt(&p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    load(&p, offsetof(struct seccomp_data, nr));
    if (arch == AUDIT_ARCH_X86_64) {
        /* x32's calls are x86-64's numbers with this bit: another ABI. */
        emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
        stmt(&p, BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    }
    /* ALLOW first: the calls a daemon makes all the time meet the fewest comparisons. */
    simple_calls(&p, rules, n, SECCOMP_RET_ALLOW, done);
    for (size_t i = 0, end; i < n; i = end) {
        const struct lust__bpf_rule *u = unconditional(rules, n, i, &end);
        if (!u)
            compared_call(&p, rules, i, end, default_action);
    }
    for (size_t i = 0, end; i < n; i = end) {
        const struct lust__bpf_rule *u = unconditional(rules, n, i, &end);
        if (u && !done[i])
            simple_calls(&p, rules, n, u->action, done);
    }
    stmt(&p, BPF_RET | BPF_K, default_action);
    free(done);
    if (p.err) {
        free(p.insn);
        return p.err == -ENOMEM ? lust__fail(ENOMEM, "sandbox: seccomp filter")
                                : lust__fail_plain(E2BIG, "sandbox: a seccomp rule is too long");
    }
    *prog = p.insn;
    *len = p.len;
    return 0;
}
