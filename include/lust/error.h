/*
 * lust/error.h - the human sentence behind the last failure.
 *
 * Every fallible liblust function returns 0 (or a non-negative value) on success and -errno on
 * failure, as sd-daemon does. The number is for code; the sentence, with the path or user
 * named, is for the operator:
 *
 *     int r = lust_pidfile_open(path, &pf);
 *     if (r < 0)
 *         fprintf(stderr, "%s\n", lust_error());   // "pid file /run/web.pid: Permission denied"
 *
 * The sentence is kept per thread, so threads never see each other's failures and no lock is
 * taken. A successful call does not clear it: read it right after the failure it explains.
 *
 * Two rules hold at every public entry of liblust (since 1.2; where a 1.x function keeps an
 * older answer, its header says so):
 *
 * - Arguments are checked, never trusted: a NULL handle, path, format or out-pointer where one
 *   is needed makes the call fail with -EINVAL (NULL from a function that returns a pointer)
 *   and a sentence naming the function, "lust_pidfile_query: bad argument (expected path !=
 *   NULL)", never a crash. A NULL that a header gives a meaning keeps it: a NULL notify handle
 *   means "no manager", a NULL config path the default file.
 * - A descriptor passed in stays the caller's, unless the function's header says it takes it;
 *   a function that takes one takes it on success only, so on failure the caller still owns
 *   it and closes it. Descriptors liblust hands out (lust_log_open(), lust_privs_jail_open())
 *   are the caller's; those it lends (lust_pidfile_fd(), lust_notify_fd(),
 *   lust_daemon_report_fd(), lust_server_stop_fd()) are never closed by the caller.
 */
#ifndef LUST_ERROR_H
#define LUST_ERROR_H

#include <lust/common.h>

LUST_BEGIN_DECLS

/**
 * lust_error - the sentence describing the calling thread's last liblust failure.
 *
 * Returns a string owned by liblust, valid until the next liblust call on the same thread, and
 * "" when this thread has seen no failure yet. Never NULL, never fails, never changes errno.
 * Thread-safe (each thread has its own). A child made by fork() inherits the copy of the
 * thread that forked. Not for use in a signal handler.
 */
LUST_API const char *lust_error(void);

LUST_END_DECLS

#endif
