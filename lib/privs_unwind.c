/*
 * lib/privs_unwind.c - libgcc_s, loaded before the jail when something loaded can need it.
 *
 * glibc unwinds a thread's stack with libgcc_s.so.1, which it dlopens the first time a thread
 * calls pthread_exit or thrd_exit, is cancelled (pthread_cancel loads it in the canceller), or
 * the process asks for a backtrace. Inside an empty jail that dlopen fails and glibc aborts.
 * Loading it costs a start a tenth of its instructions, and most daemons never unwind: the
 * framework loads it only when an object of the process imports one of those functions, which
 * is the only way to reach them short of dlsym(). Each loaded object's imports are read from
 * its dynamic symbol table: a few thousand instructions.
 */
#include "internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <lust/privs.h>

/*
 * A pointer from a dynamic section. glibc rebases those of a loaded object in place, but not
 * the vDSO's (read-only), and other loaders never do: an address below the object's base is
 * still an offset.
 */
static const void *dyn_ptr(const struct dl_phdr_info *info, ElfW(Addr) p)
{
    return (const void *)(p < info->dlpi_addr ? info->dlpi_addr + p : p);
}

struct wanted {
    const char *const *names;
    uint64_t first[4]; /* the first bytes of the names, as a set: most imports are out at once */
};

static int is_wanted(const struct wanted *w, const char *name)
{
    unsigned char c = (unsigned char)name[0];
    if (!(w->first[c >> 6] >> (c & 63) & 1))
        return 0;
    for (const char *const *n = w->names; *n; n++)
        if (name[1] == (*n)[1] && strcmp(name, *n) == 0)
            return 1;
    return 0;
}

static int object_imports(struct dl_phdr_info *info, size_t size, void *arg)
{
    const struct wanted *w = arg;
    const ElfW(Dyn) *dyn = NULL;
    (void)size;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum && !dyn; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn)
        return 0;
    const ElfW(Sym) *syms = NULL;
    const char *strs = NULL;
    const uint32_t *gnu = NULL, *sysv = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_SYMTAB)
            syms = dyn_ptr(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_STRTAB)
            strs = dyn_ptr(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_GNU_HASH)
            gnu = dyn_ptr(info, dyn->d_un.d_ptr);
        else if (dyn->d_tag == DT_HASH)
            sysv = dyn_ptr(info, dyn->d_un.d_ptr);
    }
    if (!syms || !strs)
        return 0;
    /* A GNU hash table holds the defined symbols only, all at the end of the symbol table from
     * its symoffset on: the undefined ones, the imports, come before. An old-style hash table
     * counts every symbol. */
    size_t n = gnu ? gnu[1] : sysv ? sysv[1] : 0;
    for (size_t i = 1; i < n; i++) {
        if (syms[i].st_shndx != SHN_UNDEF || syms[i].st_name == 0)
            continue;
        if (is_wanted(w, strs + syms[i].st_name))
            return 1;
    }
    return 0;
}

int lust__privs_imports(const char *const *names)
{
    struct wanted w = {.names = names};
    for (const char *const *n = names; *n; n++) {
        unsigned char c = (unsigned char)(*n)[0];
        w.first[c >> 6] |= (uint64_t)1 << (c & 63);
    }
    return dl_iterate_phdr(object_imports, &w) != 0;
}

int lust__privs_prepare(int always)
{
    /* The functions that make glibc load libgcc_s (a local array: no relocated table). */
    const char *const unwinding[] = {"pthread_exit", "pthread_cancel", "thrd_exit", "backtrace",
                                     NULL};
    tzset();
    if (!always && !lust__privs_imports(unwinding))
        return 0;
    /* Loaded now and never unloaded, glibc's later dlopen finds it by name without the disk. */
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE);
    if (!h) {
        const char *why = dlerror();
        return lust__fail_plain(ENOENT, "%s", why ? why : "libgcc_s.so.1: cannot load");
    }
    dlclose(h);
    return 0;
}

int lust_privs_prepare(void)
{
    return lust__privs_prepare(1);
}
