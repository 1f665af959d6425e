/*
 * lib/privs_internal.h - what the privs module's files share; never installed.
 */
#ifndef LUST_PRIVS_INTERNAL_H
#define LUST_PRIVS_INTERNAL_H

#include <sys/types.h>

#define NAME_MAX_SHOWN 64

struct lust_creds {
    uid_t uid;
    gid_t gid;
    char name[NAME_MAX_SHOWN + 1]; /* as the caller gave it, for sentences */
    int ngroups;
    gid_t groups[];
};

#endif
