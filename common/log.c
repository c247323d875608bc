/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - one small logging API, after the OpenBSD daemons.
 *
 * Runs in every thread of both daemons.  The only state is set once at
 * start-up, before threads exist; a line is written with one write(2) so
 * lines from different threads never interleave.
 */
#include "log.h"

#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static const char *log_ident = "hotline";
static int log_foreground = 1;
static enum log_level log_level = LOG_LEVEL_INFO;

static const char *const level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

static const int level_priorities[] = {
    [LOG_LEVEL_ERROR] = LOG_CRIT,
    [LOG_LEVEL_WARN] = LOG_WARNING,
    [LOG_LEVEL_INFO] = LOG_INFO,
    [LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

void log_init(const char *ident, int foreground, enum log_level level)
{
    log_ident = ident;
    log_foreground = foreground;
    log_level = level;
    if (!foreground)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
    log_level = level;
}

enum log_level log_get_level(void)
{
    return log_level;
}

int log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

static void log_vwrite(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
    char text[1024];
    int saved = errno;

    if (level > log_level)
        return;
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    if (n < 0)
        return;
    if (with_errno && (size_t)n < sizeof(text))
        snprintf(text + n, sizeof(text) - (size_t)n, ": %s", strerror(saved));

    if (!log_foreground) {
        syslog(level_priorities[level], "%s", text);
        return;
    }
    char stamp[CLOCK_RFC3339_LEN];
    char line[1200];
    clock_format(clock_now_us(), stamp);
    /* Milliseconds are enough for a log: drop the last three digits. */
    memmove(stamp + 23, stamp + 26, sizeof("+08:00"));
    n = snprintf(line, sizeof(line), "%s %-5s %s\n", stamp, level_names[level], text);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
}

#define LOG_BODY(level, with_errno)                                                                \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_vwrite(level, with_errno, fmt, ap);                                                    \
        va_end(ap);                                                                                \
    } while (0)

void log_warn(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_WARN, 1);
}

void log_warnx(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_WARN, 0);
}

void log_info(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void fatal(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_ERROR, 1);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    LOG_BODY(LOG_LEVEL_ERROR, 0);
    exit(1);
}
