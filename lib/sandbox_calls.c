/*
 * lib/sandbox_calls.c - the system calls of this build's architecture: name to number for the
 * rules, number to name for the SIGSYS handler's line, and the audit architecture the kernel
 * reports for them.
 *
 * The table comes from the C library's <sys/syscall.h> at build time (cmake/LustSyscalls.cmake),
 * so no library is loaded at run time for it: libseccomp's dlopen and its number-to-name scans
 * took about 0.5 ms of every start with a sandbox.
 */
#include "sandbox_private.h"

#include <linux/audit.h>
#include <string.h>
#include <sys/syscall.h>

struct call {
    char name[28];
    int nr;
};

static const struct call calls[] = {
#include "lust_syscalls.h"
};

#define NCALLS (sizeof calls / sizeof calls[0])

/*
 * The audit architecture of the calls this build makes (seccomp_data.arch). 0 where liblust
 * knows none: the filter is then unavailable, as on a kernel without seccomp.
 */
#if defined(__x86_64__) && defined(__ILP32__)
#define ARCH 0 /* x32: its calls are x86-64's with a bit set; not supported */
#elif defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__) && !defined(__AARCH64EB__)
#define ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARM_EABI__) && !defined(__ARMEB__)
#define ARCH AUDIT_ARCH_ARM
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARCH AUDIT_ARCH_PPC64LE
#elif defined(__powerpc64__)
#define ARCH AUDIT_ARCH_PPC64
#elif defined(__s390x__)
#define ARCH AUDIT_ARCH_S390X
#elif defined(__riscv) && __riscv_xlen == 64
#define ARCH AUDIT_ARCH_RISCV64
#elif defined(__loongarch64) && defined(AUDIT_ARCH_LOONGARCH64)
#define ARCH AUDIT_ARCH_LOONGARCH64
#else
#define ARCH 0
#endif

uint32_t lust__call_arch(void)
{
    return ARCH;
}

int lust__call_number(const char *name)
{
    size_t lo = 0, hi = NCALLS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, calls[mid].name);
        if (c == 0)
            return calls[mid].nr;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

const char *lust__call_name(int nr)
{
    /* A linear search: async-signal-safe, and run only for a call the filter refused. */
    for (size_t i = 0; i < NCALLS; i++)
        if (calls[i].nr == nr)
            return calls[i].name;
    return NULL;
}
