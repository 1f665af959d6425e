/*
 * lib/log.c - the log: whole lines on descriptor 2, one write(2) each, no lock on the way.
 *
 * The hot path (lust_log_v) touches only the caller's stack, a thread-local time cache and a
 * few relaxed atomics; it takes no lock. The file under descriptor 2 is log_file.c's job.
 */
#include "log_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lust/log.h>

/*
 * A line is built in a buffer of this size on the caller's stack; one that does not fit (but
 * may be longer, up to LINE_BUF) is built again in one allocated for it. With the whole
 * LINE_BUF on the stack every call touched 9 KiB of it, and -fstack-clash-protection probes
 * each page of a frame that large.
 */
#define SHORT_LINE 1024

/* The public levels are the internal table's index; 1.0 binaries carry these numbers. */
_Static_assert(LUST_LOG_DEBUG == LUST__DEBUG && LUST_LOG_DEBUG == 0, "LUST_LOG_DEBUG is 0");
_Static_assert(LUST_LOG_INFO == LUST__INFO && LUST_LOG_INFO == 1, "LUST_LOG_INFO is 1");
_Static_assert(LUST_LOG_NOTICE == LUST__NOTICE && LUST_LOG_NOTICE == 2, "LUST_LOG_NOTICE is 2");
_Static_assert(LUST_LOG_WARNING == LUST__WARNING && LUST_LOG_WARNING == 3, "LUST_LOG_WARNING is 3");
_Static_assert(LUST_LOG_ERROR == LUST__ERROR && LUST_LOG_ERROR == 4, "LUST_LOG_ERROR is 4");
_Static_assert(LUST__LEVELS == LUST_LOG_ERROR + 1, "one table entry per level");
_Static_assert(LUST_LOG_TIMESTAMPS_NO == LUST__STAMPS_NO &&
                   LUST_LOG_TIMESTAMPS_YES == LUST__STAMPS_YES &&
                   LUST_LOG_TIMESTAMPS_AUTO == LUST__STAMPS_AUTO,
               "the config's log_timestamps speaks the log's modes");

static atomic_int threshold = LUST_LOG_INFO;
/* Bytes one write may carry: 0 until fd 2 was looked at, then LINE_BUF - 1 or PIPE_BUF. */
static atomic_int line_cap;
/*
 * How a line starts, in one word so the hot path loads it once: STYLE_JOURNAL for journald's
 * "<N>" prefix (fd 2 is its stream), STYLE_STAMP for the time, and above them the mode asked of
 * lust_log_set_timestamps(), from which (with STYLE_JOURNAL) STYLE_STAMP is derived. Changed
 * only by lust__log_restyle(), whose compare-and-swap keeps the three consistent.
 */
#define STYLE_JOURNAL    1
#define STYLE_STAMP      2
#define STYLE_MODE_SHIFT 2
static atomic_int style = STYLE_STAMP | LUST__STAMPS_YES << STYLE_MODE_SHIFT;
static atomic_uint_fast64_t dropped;
/* Dropped lines not yet reported in the log; taken (exchanged to 0) by the reporting line. */
static atomic_uint_fast64_t unreported;
static atomic_int last_error;
/* A write stopped half-way: the next line must start with a newline. */
static atomic_bool torn;
/* Bumped by tzset() calls here, so the per-thread time caches notice a new zone. */
static atomic_uint zone_generation = 1;

struct stamp {
    unsigned generation; /* 0: empty */
    time_t sec;
    char date[32]; /* "YYYY-MM-DDTHH:MM:SS", longer for years past 9999 */
    size_t date_len;
    char offset[8]; /* "+HH:MM" */
};

/* initial-exec: read at every line, where the default model for a shared library costs a
 * __tls_get_addr() call each time. 64 bytes of the static TLS glibc keeps in reserve for
 * libraries loaded with dlopen, should a program load liblust that way. */
static _Thread_local struct stamp stamp_cache __attribute__((tls_model("initial-exec")));

void lust__log_load_zone(void)
{
    tzset();
    atomic_fetch_add(&zone_generation, 1);
}

static const struct stamp *stamp_for(time_t sec)
{
    struct stamp *s = &stamp_cache;
    unsigned gen = atomic_load_explicit(&zone_generation, memory_order_relaxed);
    if (s->generation == gen && s->sec == sec)
        return s;
    struct tm tm;
    if (localtime_r(&sec, &tm) == NULL) {
        memset(&tm, 0, sizeof tm);
        tm.tm_mday = 1;
    }
    int n = snprintf(s->date, sizeof s->date, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    s->date_len = n < 0 ? 0 : (size_t)n < sizeof s->date ? (size_t)n : sizeof s->date - 1;
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    snprintf(s->offset, sizeof s->offset, "%c%02ld:%02ld", sign, (off / 3600) % 100,
             off % 3600 / 60);
    s->sec = sec;
    s->generation = gen;
    return s;
}

/* A new journal bit (0 or 1, or -1: keep it), a new mode (or -1: keep it), STYLE_STAMP to match. */
void lust__log_restyle(int journal, int mode)
{
    int old = atomic_load_explicit(&style, memory_order_relaxed), fresh;
    do {
        bool j = journal < 0 ? (old & STYLE_JOURNAL) != 0 : journal != 0;
        int m = mode < 0 ? old >> STYLE_MODE_SHIFT : mode;
        bool stamp = m == LUST__STAMPS_YES || (m == LUST__STAMPS_AUTO && !j);
        fresh = (j ? STYLE_JOURNAL : 0) | (stamp ? STYLE_STAMP : 0) | m << STYLE_MODE_SHIFT;
    } while (!atomic_compare_exchange_weak_explicit(&style, &old, fresh, memory_order_relaxed,
                                                    memory_order_relaxed));
}

int lust__log_cap_for(const struct stat *st)
{
    return S_ISREG(st->st_mode) ? LINE_BUF - 1 : PIPE_BUF;
}

static size_t current_cap(void)
{
    int cap = atomic_load_explicit(&line_cap, memory_order_relaxed);
    if (cap == 0) {
        /* Before any setup: look at the stderr we were given, once. */
        struct stat st;
        cap = fstat(LOG_FD, &st) == 0 ? lust__log_cap_for(&st) : PIPE_BUF;
        atomic_store_explicit(&line_cap, cap, memory_order_relaxed);
    }
    return (size_t)cap;
}

/*
 * "<N>date.mmm+HH:MM LEVEL " by hand (snprintf of the prefix alone costs a tenth of a line): the
 * "<N>" as the style st has it, the time when s is not NULL (and only then is now read).
 */
static size_t put_prefix(char *p, int st, const struct stamp *s, const struct timespec *now,
                         int level)
{
    size_t n = 0;
    if (st & STYLE_JOURNAL) {
        p[n++] = '<';
        p[n++] = (char)('0' + lust__levels[level].syslog);
        p[n++] = '>';
    }
    if (s != NULL) {
        memcpy(p + n, s->date, s->date_len);
        n += s->date_len;
        unsigned ms = (unsigned)(now->tv_nsec / 1000000);
        p[n++] = '.';
        p[n++] = (char)('0' + ms / 100);
        p[n++] = (char)('0' + ms / 10 % 10);
        p[n++] = (char)('0' + ms % 10);
        memcpy(p + n, s->offset, 6);
        n += 6;
        p[n++] = ' ';
    }
    memcpy(p + n, lust__levels[level].upper, lust__levels[level].upper_len);
    n += lust__levels[level].upper_len;
    p[n++] = ' ';
    return n;
}

/*
 * 1 when msg[0..len) is printable ASCII throughout, so it goes to the log as it is: the usual
 * case, checked eight bytes at a time. A byte below 0x20 sets its top bit in x - 0x20 (and a
 * borrow can only add false alarms above it), DEL sets it in x + 1, and 0x80 and up have it.
 */
static bool plain_ascii(const char *msg, size_t len)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t x;
        memcpy(&x, msg + i, 8);
        if ((((x - ones * 0x20) & ~x) | x | (x + ones)) & highs)
            return false;
    }
    for (; i < len; i++)
        if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
            return false;
    return true;
}

/*
 * Rewrite msg[0..len) within room bytes so that no control byte (C0, DEL, C1) and no byte of
 * broken UTF-8 reaches the file: newline, carriage return and tab as "\n", "\r", "\t", any
 * other as "\xHH"; well-formed UTF-8 stays. Returns the new length; sets *cut when the tail did
 * not fit (an escape is never written in part). Off the hot path: only lines that need it.
 */
__attribute__((noinline)) static size_t escape_controls(char *msg, size_t len, size_t room,
                                                        bool *cut)
{
    static const char hex[] = "0123456789abcdef";
    char small[SHORT_LINE];
    char *raw = len <= sizeof small ? small : malloc(len);
    if (!raw) { /* no memory for a copy: what the stack's holds, cut */
        raw = small;
        len = sizeof small;
        *cut = true;
    }
    memcpy(raw, msg, len);
    const unsigned char *in = (const unsigned char *)raw;
    size_t out = 0, i = 0;
    while (i < len) {
        size_t n = lust__text_char(in + i, len - i);
        if (n > 0) {
            if (out + n > room)
                break;
            memcpy(msg + out, in + i, n);
            out += n;
            i += n;
            continue;
        }
        /* A C1 control is two bytes of valid UTF-8: escape both, not only the first. */
        size_t bytes =
            in[i] == 0xc2 && i + 1 < len && in[i + 1] >= 0x80 && in[i + 1] < 0xa0 ? 2 : 1;
        char esc = in[i] == '\n' ? 'n' : in[i] == '\r' ? 'r' : in[i] == '\t' ? 't' : 0;
        if (out + (esc ? 2 : 4 * bytes) > room)
            break;
        if (esc) {
            msg[out++] = '\\';
            msg[out++] = esc;
            i++;
            continue;
        }
        for (size_t k = 0; k < bytes; k++, i++) {
            msg[out++] = '\\';
            msg[out++] = 'x';
            msg[out++] = hex[in[i] >> 4];
            msg[out++] = hex[in[i] & 15];
        }
    }
    if (i < len)
        *cut = true;
    if (raw != small)
        free(raw);
    return out;
}

static size_t mark_cut(char *msg, size_t len, size_t room)
{
    size_t mlen = sizeof LUST_LOG_CUT_MARKER - 1;
    if (len + mlen > room)
        len = room > mlen ? room - mlen : 0;
    /* Never end on half a UTF-8 character or half an escape ("\n", "\x1b"). */
    while (len > 0 && ((unsigned char)msg[len] & 0xC0) == 0x80)
        len--;
    if (len > 0 && msg[len - 1] == '\\')
        len--;
    else if (len > 1 && msg[len - 2] == '\\' && msg[len - 1] == 'x')
        len -= 2;
    else if (len > 2 && msg[len - 3] == '\\' && msg[len - 2] == 'x')
        len -= 3;
    memcpy(msg + len, LUST_LOG_CUT_MARKER, mlen);
    return len + mlen;
}

/*
 * Format the caller's message at dst, within room bytes; dst[room] may receive the NUL. *cut
 * tells whether it was cut to fit (the cut marker is then at its end).
 */
static size_t put_message(char *dst, size_t room, const char *fmt, va_list ap, bool *cut_out)
{
    size_t len;
    if (strchr(fmt, '%') == NULL) {
        /* A constant message: vsnprintf would only copy it, at several times the cost. */
        len = strlen(fmt);
        memcpy(dst, fmt, len < room ? len : room);
    } else {
        int r = vsnprintf(dst, room + 1, fmt, ap);
        if (r < 0) {
            static const char bad[] = "(unprintable log message)";
            r = (int)(sizeof bad - 1 < room ? sizeof bad - 1 : room);
            memcpy(dst, bad, (size_t)r);
        }
        len = (size_t)r;
    }
    bool cut = len > room;
    if (cut)
        len = room;
    else if (len > 0 && dst[len - 1] == '\n')
        len--;
    if (!plain_ascii(dst, len))
        len = escape_controls(dst, len, room, &cut);
    if (cut)
        len = mark_cut(dst, len, room);
    *cut_out = cut;
    return len;
}

static size_t put_report(char *p, size_t room, int st, const struct stamp *s,
                         const struct timespec *now, uint64_t count)
{
    size_t n = put_prefix(p, st, s, now, LUST_LOG_WARNING);
    char buf[128];
    int err = atomic_load_explicit(&last_error, memory_order_relaxed);
    int m = snprintf(p + n, room - n, "log: %llu line%s dropped (%s)\n", (unsigned long long)count,
                     count == 1 ? "" : "s", strerror_r(err, buf, sizeof buf));
    return m < 0 || (size_t)m >= room - n ? 0 : n + (size_t)m;
}

enum outcome { WRITTEN, FAILED, PARTIAL };

static enum outcome write_line(const char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(LOG_FD, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            atomic_store_explicit(&last_error, w < 0 ? errno : EIO, memory_order_relaxed);
            return done == 0 ? FAILED : PARTIAL;
        }
        done += (size_t)w;
    }
    return WRITTEN;
}

void lust_log_v(int level, const char *fmt, va_list ap)
{
    if (fmt == NULL)
        return; /* nothing to write, and a logging call never fails visibly */
    if (level < LUST_LOG_DEBUG)
        level = LUST_LOG_DEBUG;
    if (level > LUST_LOG_ERROR)
        level = LUST_LOG_ERROR;
    if (level < atomic_load_explicit(&threshold, memory_order_relaxed))
        return;
    int saved_errno = errno;
    size_t cap = current_cap();
    char small[SHORT_LINE];
    size_t room = cap < sizeof small ? cap : sizeof small;
    int st = atomic_load_explicit(&style, memory_order_relaxed);
    struct timespec now;
    const struct stamp *s = NULL;
    if (st & STYLE_STAMP) {
        clock_gettime(CLOCK_REALTIME, &now);
        s = stamp_for(now.tv_sec);
    }

    size_t n = 0;
    bool fresh_line = atomic_load_explicit(&torn, memory_order_relaxed) &&
                      atomic_exchange_explicit(&torn, false, memory_order_relaxed);
    if (fresh_line)
        small[n++] = '\n';
    uint64_t report = 0;
    if (atomic_load_explicit(&unreported, memory_order_relaxed) != 0) {
        report = atomic_exchange_explicit(&unreported, 0, memory_order_relaxed);
        if (report != 0)
            n += put_report(small + n, room - n, st, s, &now, report);
    }
    n += put_prefix(small + n, st, s, &now, level);
    va_list again;
    va_copy(again, ap);
    bool cut;
    size_t len = put_message(small + n, room - n - 1, fmt, ap, &cut);
    char *line = small, *big = NULL;
    if (cut && room < cap && (big = malloc(cap)) != NULL) {
        /* Longer than the stack's buffer but not than a line may be: built again, whole. */
        memcpy(big, small, n);
        len = put_message(big + n, cap - n - 1, fmt, again, &cut);
        line = big;
    }
    va_end(again);
    n += len;
    line[n++] = '\n';

    enum outcome o = write_line(line, n);
    free(big);
    if (o != WRITTEN) {
        atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&unreported, report + 1, memory_order_relaxed);
        if (o == PARTIAL || fresh_line)
            atomic_store_explicit(&torn, true, memory_order_relaxed);
    }
    errno = saved_errno;
}

void lust_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lust_log_v(level, fmt, ap);
    va_end(ap);
}

uint64_t lust_log_dropped(void)
{
    return atomic_load_explicit(&dropped, memory_order_relaxed);
}

int lust_log_set_level(int level)
{
    if (level < LUST_LOG_DEBUG || level > LUST_LOG_ERROR)
        return lust__fail_plain(EINVAL, "log level %d unknown", level);
    atomic_store_explicit(&threshold, level, memory_order_relaxed);
    return 0;
}

int lust_log_get_level(void)
{
    return atomic_load_explicit(&threshold, memory_order_relaxed);
}

int lust_log_set_timestamps(int mode)
{
    if (mode < 0 || mode >= LUST__STAMPS_MODES)
        return lust__fail_plain(EINVAL,
                                "log timestamps mode %d unknown (LUST_LOG_TIMESTAMPS_NO 0, _YES 1, "
                                "_AUTO 2)",
                                mode);
    lust__log_restyle(-1, mode);
    return 0;
}

const char *lust_log_level_name(int level)
{
    if (level < LUST_LOG_DEBUG || level > LUST_LOG_ERROR)
        return NULL;
    return lust__levels[level].upper;
}

int lust_log_level_from_name(const char *name)
{
    if (name == NULL)
        return lust__fail_plain(EINVAL, "log level missing");
    int level = lust__level_parse(name);
    if (level < 0)
        return lust__fail_plain(EINVAL, "log level \"%s\" unknown (" LUST__LEVEL_NAMES ")", name);
    return level;
}

int lust_log_level_from_syslog(int priority)
{
    int level = lust__level_from_syslog(priority);
    if (level < 0)
        return lust__fail_plain(EINVAL, "syslog priority %d unknown (0 to 7)", priority);
    return level;
}

int lust_log_level_to_syslog(int level)
{
    if (level < LUST_LOG_DEBUG || level > LUST_LOG_ERROR)
        return lust__fail_plain(
            EINVAL, "log level %d unknown (LUST_LOG_DEBUG 0 to LUST_LOG_ERROR 4)", level);
    return lust__levels[level].syslog;
}

void lust__log_set_cap(int cap)
{
    atomic_store_explicit(&line_cap, cap, memory_order_relaxed);
}
