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
#include <stdint.h>

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

/*
 * Lines a peer can cause at will, one per message it sends, are held back:
 * a line of one kind is written at most once per LOG_LIMIT_WINDOW_MS, and
 * the next one after that says how many were held back meanwhile.  A
 * struct log_limit belongs to one thread (it is not locked); zero it to
 * start.  Kinds beyond LOG_LIMIT_SLOTS live at once share one more slot.
 */
#define LOG_LIMIT_SLOTS     32
#define LOG_LIMIT_WINDOW_MS (60 * 1000)

struct log_limit {
    struct {
        uint64_t kind; /* hash of the kind; 0 for a free slot */
        int64_t since_ms;
        unsigned long held;
    } slot[LOG_LIMIT_SLOTS + 1];
};

/*
 * Whether a line of 'kind' may be written at 'now_ms' (a monotonic clock).
 * Returns 1 and stores in '*held' how many lines of that kind were held
 * back since the last one written, or 0 if this one is held back too (and
 * counted).  A kind is a reason, then '|' and whose it is (a peer's code or
 * address) if it is someone's: digits of the reason are ignored, so that
 * its numbers ("version 7", "version 9") make one kind; whose counts whole.
 */
int log_limit_pass(struct log_limit *l, const char *kind, int64_t now_ms, unsigned long *held);

/*
 * Writes the line at 'level' if log_limit_pass() lets a line of 'kind'
 * through now, with the count held back before it appended.
 */
void log_limited(struct log_limit *l, enum log_level level, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
