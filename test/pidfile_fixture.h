/*
 * test/pidfile_fixture.h - what the pid file runners (check_pidfile.c, check_pidfile_root.c)
 * share, defined in test/pidfile_fixture.c: a fresh directory per test, and lock-holding
 * children.
 *
 * A holder child takes its lock, reports one status byte, then blocks reading a pipe until the
 * test closes it (or dies): no child outlives its test, and no sleep is used to synchronise.
 */
#ifndef LUST_PIDFILE_FIXTURE_H
#define LUST_PIDFILE_FIXTURE_H

#include <sys/types.h>

/* The checked fixture: tmpdir is a fresh /tmp/lust-pidfile-XXXXXX, pidpath is tmpdir/test.pid. */
extern char *tmpdir, *pidpath;
void tmp_setup(void);
void tmp_teardown(void);

enum holder_kind {
    HOLD_PIDFILE,     /* lust_pidfile_open, then exit without release (like a crash) */
    HOLD_READ_LOCK,   /* a plain fcntl read lock, as any user who can open the file */
    HOLD_OFD_LOCK,    /* an open-file-description write lock: F_GETLK says l_pid = -1 */
    HOLD_AND_RELEASE, /* lust_pidfile_open, then lust_pidfile_release when told to go */
    HOLD_DEAF,        /* lust_pidfile_open with SIGTERM ignored: only SIGKILL ends it */
};

struct holder {
    pid_t pid;
    int go; /* write end: close it to let the child finish */
};

/* Forks a child holding path as kind; returns once the lock is taken. */
struct holder spawn_holder(const char *path, enum holder_kind kind);
/* Lets the child finish and reaps it; returns its raw wait status. */
int finish_holder(struct holder h);
/* Kills the child with SIGKILL (a crash: no release) and reaps it. */
void kill_holder(struct holder h);

#endif
