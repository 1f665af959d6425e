/*
 * lib/level.c - the one table of log levels, shared by the log and the config.
 *
 * Two scales meet here. The log's levels (LUST_LOG_DEBUG 0 ... LUST_LOG_ERROR 4) were frozen by
 * liblust 1.0: binaries carry those numbers. syslog priorities run the other way (LOG_DEBUG 7
 * ... LOG_ERR 3) and are what lust_config_log_level() and journald's "<N>" prefix speak. Every
 * name, alias and conversion between the two is in this table and nowhere else; lib/log.c pins
 * its index (LUST__DEBUG ... LUST__ERROR) to the public values with _Static_assert.
 */
#include "internal.h"

#include <strings.h>
#include <syslog.h>

_Static_assert(LOG_EMERG == 0 && LOG_ERR == 3 && LOG_WARNING == 4 && LOG_DEBUG == 7,
               "syslog priorities as <syslog.h> and journald number them");

const struct lust__level lust__levels[LUST__LEVELS] = {
    [LUST__DEBUG] = {"debug", "DEBUG", 5, LOG_DEBUG},
    [LUST__INFO] = {"info", "INFO", 4, LOG_INFO},
    [LUST__NOTICE] = {"notice", "NOTICE", 6, LOG_NOTICE},
    [LUST__WARNING] = {"warning", "WARNING", 7, LOG_WARNING},
    [LUST__ERROR] = {"error", "ERROR", 5, LOG_ERR},
};

/* Other spellings, as syslog.conf and many daemons write them. */
static const struct {
    char name[8];
    int level;
} aliases[] = {{"warn", LUST__WARNING}, {"err", LUST__ERROR}};

int lust__level_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < LUST__LEVELS; i++)
        if (strcasecmp(name, lust__levels[i].name) == 0)
            return i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].name) == 0)
            return aliases[i].level;
    return -1;
}

int lust__level_from_syslog(int priority)
{
    /* The log has nothing above error: crit, alert and emerg are errors too. */
    if (priority >= LOG_EMERG && priority < LOG_ERR)
        return LUST__ERROR;
    for (int i = 0; i < LUST__LEVELS; i++)
        if (lust__levels[i].syslog == priority)
            return i;
    return -1;
}
