/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - the one logging API of every process.
 *
 * Lines go to stderr in the foreground (-d) and to syslog otherwise.  Text is
 * lower case, variable parts in single quotes, and never carries personal
 * data: callers log ids, codes and counts, not names or phone numbers.
 */
#ifndef HOTLINE_LOG_H
#define HOTLINE_LOG_H

#include <stdarg.h>

enum log_level {
    LOG_LEVEL_ERROR, /* fatal only */
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

/*
 * Starts logging as 'ident'.  With 'foreground' set, lines go to stderr with
 * a timestamp; otherwise to syslog (facility daemon).  May be called again to
 * switch after the configuration has been read.
 */
void log_init(const char *ident, int foreground, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warn", "info" or "debug".  Returns 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);

/* log_warn appends the text of errno; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log and exit(1).  fatal appends the text of errno; fatalx does not. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
