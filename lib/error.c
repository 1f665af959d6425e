/*
 * lib/error.c - the per-thread failure sentence behind lust_error().
 *
 * Modules record a sentence at the point of failure through lust__fail(); lust_error() reads it
 * back. The buffer is thread-local, so concurrent failures in different threads never mix and no
 * lock is needed. It is a fixed array, not malloc'd, so recording a failure cannot itself fail
 * and nothing is left for a leak checker when a thread exits.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <lust/error.h>

/* Long enough for "FILE:LINE: message" with a PATH_MAX-sized file name in the common case. */
#define LUST__ERROR_MAX 1024

static _Thread_local char error_text[LUST__ERROR_MAX];

int lust__vfail(int err, int with_strerror, const char *fmt, va_list ap)
{
    int saved = errno;
    if (err < 0)
        err = -err;
    int n = vsnprintf(error_text, sizeof error_text, fmt, ap);

    if (n < 0)
        n = 0;
    if (with_strerror && err != 0 && (size_t)n < sizeof error_text) {
        char buf[128];
        /* GNU strerror_r: returns a pointer that may or may not be buf. */
        const char *msg = strerror_r(err, buf, sizeof buf);
        snprintf(error_text + n, sizeof error_text - (size_t)n, ": %s", msg);
    }
    errno = saved;
    return -err;
}

int lust__fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = lust__vfail(err, 1, fmt, ap);
    va_end(ap);
    return r;
}

int lust__fail_plain(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = lust__vfail(err, 0, fmt, ap);
    va_end(ap);
    return r;
}

void lust__error_clear(void)
{
    error_text[0] = '\0';
}

const char *lust_error(void)
{
    return error_text;
}
