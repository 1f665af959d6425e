/*
 * lib/config_internal.h - what the config module's files share; never installed.
 *   config.c       the load: libconfuse under one lock, errors as FILE:LINE, the getters
 *   config_keys.c  the standard keys and the checks of their values
 *   config_scan.c  the text read before libconfuse sees it: comments, unclosed endings
 */
#ifndef LUST_CONFIG_INTERNAL_H
#define LUST_CONFIG_INTERNAL_H

#include "internal.h"

#include <confuse.h>
#include <stddef.h>

/*
 * A unix socket path must fit sockaddr_un's sun_path with its NUL (107 bytes on Linux), and the
 * server binds it first under a temporary name, the path plus "." and its pid (up to 11 more).
 */
#define CONTROL_PATH_MAX 96

/* The standard keys whose defaults depend on the program's name, first in the table. */
enum { STD_USER, STD_GROUP, STD_JAIL, STD_PIDFILE, STD_LOGFILE, STD_CONTROL, STD_COUNT = 15 };

/* The standard keys, each checked as libconfuse parses it; the defaults that depend on the
 * program's name are NULL here and filled in by the load. */
LUST__HIDDEN extern const cfg_opt_t lust__config_std_opts[STD_COUNT];

/* log_timestamps' values as stored, by the log's numbers (LUST__STAMPS_*). */
LUST__HIDDEN extern const char lust__config_stamp_modes[LUST__STAMPS_MODES][8];

/* Where lust__config_prescan() found the text to end badly, if it did. */
struct lust__config_scan {
    size_t cut;       /* libconfuse parses the text before this offset */
    int line;         /* 0, or the line where the unfinished thing began */
    const char *what; /* what is unfinished */
};

/*
 * Walks the text as libconfuse's scanner does: blanks the comments in s, keeping their
 * newlines, so its line count stays true; reports a comment or string that is never closed
 * (the text is cut there) and a '{' never closed.
 */
LUST__HIDDEN struct lust__config_scan lust__config_prescan(char *s, size_t len);

/* How many newlines s[from..to) holds. */
LUST__HIDDEN int lust__config_count_lines(const char *s, size_t from, size_t to);

#endif
