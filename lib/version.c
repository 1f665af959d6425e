/*
 * lib/version.c - lust_version(): which liblust is loaded.
 *
 * The string comes from the generated header at the library's build time, so a program can
 * compare it with the LUST_VERSION_STRING it was compiled against.
 */
#include <lust/version.h>

const char *lust_version(void)
{
    return LUST_VERSION_STRING;
}
