/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h - the node's time.
 *
 * All business time (receipt, deadlines, heartbeats, events) comes from
 * clock_now_us(), never from PostgreSQL's now(): the node can then run under
 * libfaketime in tests and every timestamp in the database is the node's.
 * Monotonic time is for timeouts only.
 */
#ifndef HOTLINE_CLOCK_H
#define HOTLINE_CLOCK_H

#include <stdint.h>

/* "2026-12-04T16:00:00.123456+08:00" plus the terminating NUL. */
#define CLOCK_RFC3339_LEN 33

/* China Standard Time: UTC+8, no daylight saving (REGULATION.md). */
#define CLOCK_OFFSET_SECONDS (8 * 3600)

/* Business time: microseconds since the Unix epoch. */
int64_t clock_now_us(void);

/* Monotonic milliseconds, for timeouts and intervals. */
int64_t clock_mono_ms(void);

/* Writes 'us' as RFC 3339 in +08:00 with microseconds into 'out'. */
void clock_format(int64_t us, char out[CLOCK_RFC3339_LEN]);

/* Writes 'us' as RFC 3339 in +08:00 without the fraction of the second,
 * which is dropped: "2024-10-23T23:59:59+08:00" (deadlines). */
void clock_format_seconds(int64_t us, char out[CLOCK_RFC3339_LEN]);

/*
 * Parses an RFC 3339 date-time, "2024-09-27T10:00:00+08:00": 'T' or 't'
 * between date and time, 1 to 6 digits of fraction or none, and an offset
 * 'Z', 'z' or +HH:MM / -HH:MM (hours 00-23).  Strict: exactly that grammar,
 * a real date of the years 1970-9999, hours 00-23, minutes and seconds 00-59
 * (no leap second), nothing after the offset.  Returns 0 and writes the
 * instant in microseconds since the epoch into '*us', or -1.
 */
int clock_parse(const char *s, int64_t *us);

#endif
