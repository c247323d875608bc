/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - one small logging API, after the OpenBSD daemons.
 *
 * Runs in every thread of both daemons.  The only state is set once at
 * start-up, before threads exist; a line is written with one write(2) so
 * lines from different threads never interleave.  Lines a peer may repeat
 * at will pass a struct log_limit of the thread that writes them.
 */
#include "log.h"

#include "clock.h"

#include <ctype.h>
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

static void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void log_write(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(level, 0, fmt, ap);
    va_end(ap);
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

/* FNV-1a of 'kind' without the digits of its reason (what comes before
 * the first '|'); never 0, the mark of a free slot. */
static uint64_t kind_hash(const char *kind)
{
    uint64_t h = 14695981039346656037ULL;
    int whose = 0;

    for (const unsigned char *c = (const unsigned char *)kind; *c != '\0'; c++) {
        whose |= *c == '|';
        if (!whose && isdigit(*c))
            continue;
        h ^= *c;
        h *= 1099511628211ULL;
    }
    return h != 0 ? h : 1;
}

int log_limit_pass(struct log_limit *l, const char *kind, int64_t now_ms, unsigned long *held)
{
    uint64_t h = kind_hash(kind);
    size_t i, spare = LOG_LIMIT_SLOTS;

    for (i = 0; i < LOG_LIMIT_SLOTS; i++) {
        if (l->slot[i].kind == h)
            break;
        if (spare == LOG_LIMIT_SLOTS &&
            (l->slot[i].kind == 0 || now_ms - l->slot[i].since_ms >= LOG_LIMIT_WINDOW_MS))
            spare = i;
    }
    if (i == LOG_LIMIT_SLOTS) {
        /* A new kind: a free or expired slot, else the one shared by all. */
        i = spare;
        if (i < LOG_LIMIT_SLOTS || l->slot[i].kind == 0)
            l->slot[i].since_ms = now_ms - LOG_LIMIT_WINDOW_MS;
        if (i < LOG_LIMIT_SLOTS) {
            l->slot[i].held = 0;
            l->slot[i].kind = h;
        } else {
            l->slot[i].kind = 1;
        }
    }
    if (now_ms - l->slot[i].since_ms < LOG_LIMIT_WINDOW_MS) {
        l->slot[i].held++;
        return 0;
    }
    *held = l->slot[i].held;
    l->slot[i].held = 0;
    l->slot[i].since_ms = now_ms;
    return 1;
}

void log_limited(struct log_limit *l, enum log_level level, const char *kind, const char *fmt, ...)
{
    char text[1024];
    unsigned long held;
    va_list ap;

    if (level > log_level || !log_limit_pass(l, kind, clock_mono_ms(), &held))
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (held > 0)
        log_write(level, "%s (%lu more like it held back)", text, held);
    else
        log_write(level, "%s", text);
}
