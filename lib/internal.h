/*
 * lib/internal.h - helpers shared by liblust's modules; never installed.
 *
 * Everything here is hidden: the library is compiled with -fvisibility=hidden and these names
 * use the lust__ prefix, which no entry of lib/liblust.map can match, so even a mistake in the
 * map could not export them.
 */
#ifndef LUST_INTERNAL_H
#define LUST_INTERNAL_H

#include <stdarg.h>

#define LUST__HIDDEN       __attribute__((visibility("hidden")))
#define LUST__PRINTF(f, a) __attribute__((format(printf, f, a)))

/*
 * Record the sentence for lust_error() and return -err, so a failure reads
 *     return lust__fail(errno, "pid file %s", path);
 * When err is non-zero, ": strerror(err)" is appended. errno is left as it was.
 */
LUST__HIDDEN int lust__fail(int err, const char *fmt, ...) LUST__PRINTF(2, 3);

/* The same, without the ": strerror(err)" suffix, for sentences that say it all. */
LUST__HIDDEN int lust__fail_plain(int err, const char *fmt, ...) LUST__PRINTF(2, 3);

/* lust__fail() with a va_list; with_strerror chooses between the two forms above. */
LUST__HIDDEN int lust__vfail(int err, int with_strerror, const char *fmt, va_list ap)
    LUST__PRINTF(3, 0);

/* Forget the calling thread's sentence, so a caller can tell whether a callee set one. */
LUST__HIDDEN void lust__error_clear(void);

#endif
