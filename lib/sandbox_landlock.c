/*
 * lib/sandbox_landlock.c - unveil rules and TCP ports, enforced by Landlock.
 *
 * No library: three system calls. The constants and structures are this file's own, with the
 * kernel's values, so a build against old kernel headers still knows every ABI; which of them
 * the running kernel accepts is asked at prepare time (LANDLOCK_CREATE_RULESET_VERSION), and
 * only that much is handled: a ruleset naming a right the kernel does not know is refused.
 */
#include "sandbox_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lust/sandbox.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule       445
#define SYS_landlock_restrict_self  446
#endif

#define LL_CREATE_RULESET_VERSION 1u
#define LL_RULE_PATH_BENEATH      1
#define LL_RULE_NET_PORT          2
#define LL_RESTRICT_SELF_TSYNC    (1u << 3) /* ABI 8 */

#define LL_FS_EXECUTE     (1ull << 0)
#define LL_FS_WRITE_FILE  (1ull << 1)
#define LL_FS_READ_FILE   (1ull << 2)
#define LL_FS_READ_DIR    (1ull << 3)
#define LL_FS_REMOVE_DIR  (1ull << 4)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_CHAR   (1ull << 6)
#define LL_FS_MAKE_DIR    (1ull << 7)
#define LL_FS_MAKE_REG    (1ull << 8)
#define LL_FS_MAKE_SOCK   (1ull << 9)
#define LL_FS_MAKE_FIFO   (1ull << 10)
#define LL_FS_MAKE_BLOCK  (1ull << 11)
#define LL_FS_MAKE_SYM    (1ull << 12)
#define LL_FS_REFER       (1ull << 13) /* ABI 2 */
#define LL_FS_TRUNCATE    (1ull << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV   (1ull << 15) /* ABI 5 */

#define LL_NET_BIND_TCP    (1ull << 0) /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)

#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL               (1ull << 1)

/* The rights a rule on a file (not a directory) may carry. */
#define LL_FS_FILE \
    (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};

struct ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port {
    uint64_t allowed_access;
    uint64_t port;
};

static int fake_abi = -1;

void lust__sandbox_fake_landlock_abi(int abi)
{
    fake_abi = abi;
}

static uint64_t fs_handled(int abi)
{
    uint64_t m = abi >= 1 ? (LL_FS_MAKE_SYM << 1) - 1 : 0;
    if (abi >= 2)
        m |= LL_FS_REFER;
    if (abi >= 3)
        m |= LL_FS_TRUNCATE;
    if (abi >= 5)
        m |= LL_FS_IOCTL_DEV;
    return m;
}

static uint64_t fs_rights(unsigned rights)
{
    uint64_t m = 0;
    if (rights & LUST__UNVEIL_R)
        m |= LL_FS_READ_FILE | LL_FS_READ_DIR;
    if (rights & LUST__UNVEIL_W)
        m |= LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
    if (rights & LUST__UNVEIL_C)
        m |= LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_DIR | LL_FS_MAKE_REG |
             LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO | LL_FS_MAKE_SYM | LL_FS_REFER;
    if (rights & LUST__UNVEIL_X)
        m |= LL_FS_EXECUTE;
    return m;
}

static bool net_wanted(const struct lust_sandbox *sb)
{
    return lust__promised(sb, LUST__P_INET) || sb->bind.n || sb->connect.n;
}

/*
 * Something that Landlock would add to this sandbox, from which ABI. A refinement of the file
 * rules goes unsaid when there is no Landlock at all.
 */
struct feature {
    int abi;
    bool relevant, explicit_ask, refinement;
    const char *what, *since;
};

static int probe(struct lust_sandbox *sb)
{
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    int abi = v < 0 ? 0 : (int)v;
    if (v < 0)
        snprintf(sb->landlock_why, sizeof sb->landlock_why, "%s",
                 errno == EOPNOTSUPP ? "Landlock is disabled (see the lsm= boot parameter)"
                                     : "the kernel has no Landlock (Linux 5.13 or later)");
    if (fake_abi >= 0 && fake_abi < abi) {
        abi = fake_abi;
        if (abi == 0)
            snprintf(sb->landlock_why, sizeof sb->landlock_why, "the kernel has no Landlock");
    }
    return abi;
}

int lust__landlock_prepare(struct lust_sandbox *sb)
{
    int abi = sb->landlock_abi = probe(sb);
    bool fs = sb->nunveil > 0, ports = sb->bind.n || sb->connect.n;
    const struct feature features[] = {
        {1, fs, fs, false, "unveil rules", "Linux 5.13"},
        {3, fs, false, true, "truncation of unveiled files", "Linux 6.2"},
        {4, net_wanted(sb), ports, false, "TCP port rules", "Linux 6.7"},
        {5, fs, false, true, "device ioctls under unveiled paths", "Linux 6.10"},
        {6, sb->promised || fs, false, false, "signal and abstract unix socket scoping",
         "Linux 6.12"},
    };
    char missing[256] = "";
    bool asked = false;
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
        const struct feature *f = &features[i];
        if (!f->relevant || abi >= f->abi)
            continue;
        if (abi == 0 && f->refinement)
            continue;
        if (abi == 0) {
            size_t n = strlen(missing);
            snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "", f->what);
            asked |= f->explicit_ask;
            continue;
        }
        int r = lust__sandbox_lack(sb, f->explicit_ask, EOPNOTSUPP,
                                   "%s not enforced: they need Landlock ABI %d (%s), this kernel "
                                   "has ABI %d",
                                   f->what, f->abi, f->since, abi);
        if (r < 0)
            return r;
    }
    if (missing[0])
        return lust__sandbox_lack(sb, asked, EOPNOTSUPP, "%s not enforced: %s", missing,
                                  sb->landlock_why);
    return 0;
}

/* One rule per unveiled path, each opened here: relative to the root the process has now. */
static int add_paths(struct lust_sandbox *sb, int ruleset, uint64_t handled)
{
    for (size_t i = 0; i < sb->nunveil; i++) {
        const struct lust__unveil *u = &sb->unveil[i];
        int fd = open(u->path, O_PATH | O_CLOEXEC);
        if (fd < 0)
            return lust__fail(errno, "unveil %s", u->path);
        struct stat st;
        struct ll_path_beneath rule = {.allowed_access = fs_rights(u->rights) & handled,
                                       .parent_fd = fd};
        int r = fstat(fd, &st) < 0 ? -errno : 0;
        if (r == 0 && !S_ISDIR(st.st_mode))
            rule.allowed_access &= LL_FS_FILE;
        if (r == 0 && rule.allowed_access == 0)
            r = lust__fail_plain(EINVAL, "unveil %s: \"c\" alone means nothing for a file",
                                 u->path);
        else if (r == 0 &&
                 syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0) < 0)
            r = lust__fail(errno, "unveil %s: Landlock rule", u->path);
        else if (r < 0)
            r = lust__fail(-r, "unveil %s", u->path);
        close(fd);
        if (r < 0)
            return r;
    }
    return 0;
}

static int add_ports(const struct lust__ports *ports, int ruleset, uint64_t access)
{
    for (size_t i = 0; i < ports->n; i++) {
        struct ll_net_port rule = {.allowed_access = access, .port = ports->port[i]};
        if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_NET_PORT, &rule, 0) < 0)
            return lust__fail(errno, "sandbox: Landlock rule for TCP port %u", ports->port[i]);
    }
    return 0;
}

static int other_threads(struct lust_sandbox *sb)
{
    int n = lust__sandbox_threads();
    if (n <= 1 || sb->landlock_abi >= 8)
        return 0;
    if (sb->mode == LUST_SANDBOX_REQUIRE)
        return lust__fail_plain(EBUSY,
                                "sandbox: %d threads run, and Landlock restricts only the "
                                "calling one: apply the sandbox before starting threads",
                                n);
    lust__sandbox_note(sb, "Landlock rules not enforced in the %d other threads already running",
                       n - 1);
    return 0;
}

int lust__landlock_apply(struct lust_sandbox *sb)
{
    int abi = sb->landlock_abi;
    struct ll_ruleset_attr attr = {0};
    if (sb->nunveil)
        attr.handled_access_fs = fs_handled(abi);
    if (abi >= 4 && net_wanted(sb))
        attr.handled_access_net =
            LL_NET_BIND_TCP | (lust__promised(sb, LUST__P_CONNECT) ? 0 : LL_NET_CONNECT_TCP);
    if (abi >= 6 && (sb->promised || sb->nunveil))
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
    if (!attr.handled_access_fs && !attr.handled_access_net && !attr.scoped)
        return 0;
    int r = other_threads(sb);
    if (r < 0)
        return r;
    /* The size tells the kernel which members this caller knows; older ones refuse more. */
    size_t size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0)
        return lust__fail(errno, "sandbox: Landlock ruleset");
    r = add_paths(sb, ruleset, attr.handled_access_fs);
    if (r == 0 && (attr.handled_access_net & LL_NET_BIND_TCP))
        r = add_ports(&sb->bind, ruleset, LL_NET_BIND_TCP);
    if (r == 0 && (attr.handled_access_net & LL_NET_CONNECT_TCP))
        r = add_ports(&sb->connect, ruleset, LL_NET_CONNECT_TCP);
    unsigned flags = abi >= 8 ? LL_RESTRICT_SELF_TSYNC : 0;
    if (r == 0 && syscall(SYS_landlock_restrict_self, ruleset, flags) < 0)
        r = lust__fail(errno, "sandbox: enforcing the Landlock rules");
    close(ruleset);
    return r;
}
