/*
 * lib/log_internal.h - what the log's files share; never installed.
 *   log.c       the line: level, time stamp, message, one write(2); the log's state
 *   log_file.c  the file: open by path, setup onto stdout and stderr, reopen for logrotate
 */
#ifndef LUST_LOG_INTERNAL_H
#define LUST_LOG_INTERNAL_H

#include "internal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <lust/log.h>

#define LOG_FD STDERR_FILENO

/*
 * The longest prefix before the message: a newline closing a torn line, "<N>", the dropped-lines
 * report (itself a prefix and ~80 bytes), the line's own prefix. 512 covers it with room to
 * spare, so a regular file always gets LUST_LOG_MESSAGE_MAX bytes of message.
 */
#define LINE_BUF (LUST_LOG_MESSAGE_MAX + 512)

/* log.c: tzset(), and a new zone generation so every thread's time-stamp cache notices. */
LUST__HIDDEN void lust__log_load_zone(void);

/* log.c: a new journal bit (0 or 1, or -1: keep it), a new timestamp mode (or -1: keep it). */
LUST__HIDDEN void lust__log_restyle(int journal, int mode);

/* log.c: the bytes one write(2) may carry to a file like st: a whole line, or PIPE_BUF. */
LUST__HIDDEN int lust__log_cap_for(const struct stat *st);

/* log.c: that cap for descriptor 2 from now on. */
LUST__HIDDEN void lust__log_set_cap(int cap);

#endif
