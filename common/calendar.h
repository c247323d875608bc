/* SPDX-License-Identifier: Apache-2.0 */
/*
 * calendar.h - working days and deadlines, pure: no I/O, no clock.
 *
 * A day is a local date in China Standard Time (UTC+8), numbered in days
 * since 1970-01-01.  Monday to Friday are working days and weekends are not,
 * except the dates the calendar lists: holiday days ("off") and make-up
 * working days ("work", 调休上班).  A year is covered when the calendar holds
 * dates of it; past the covered years only weekends count and every result
 * that depends on such a day is flagged provisional (REGULATION.md,
 * "counting working days").
 *
 * A struct calendar is not locked: threads may read one together only while
 * nobody changes it.  The daemons give each thread its own (calstore.h).
 */
#ifndef HOTLINE_CALENDAR_H
#define HOTLINE_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#define CALENDAR_DATE_LEN 11 /* "2024-10-23" and a NUL */
#define CALENDAR_MAX_NAME 64

enum day_kind {
    DAY_WORK,
    DAY_OFF,
};

struct calendar;

/* "work" or "off". */
const char *calendar_kind_name(enum day_kind kind);

/* Parses "work" or "off".  Returns 0, or -1 for anything else. */
int calendar_kind_parse(const char *s, enum day_kind *kind);

/* Returns an empty calendar (weekends only, no year covered), or NULL. */
struct calendar *calendar_new(void);

/* Frees 'cal'; calendar_free(NULL) does nothing. */
void calendar_free(struct calendar *cal);

/*
 * Whether 'day' may be listed as 'kind' with 'name': a day of the years
 * 1970-9999; "work" only on a Saturday or Sunday (a make-up working day),
 * "off" on any day (a holiday period spans weekends too); 'name' NULL or ""
 * for none, else UTF-8 without control characters, at most CALENDAR_MAX_NAME
 * bytes.  Returns NULL if it may, else the reason, a constant string that
 * reads after the date: "'2027-03-02' " + "is not a Saturday or Sunday...".
 */
const char *calendar_check(int32_t day, enum day_kind kind, const char *name);

/*
 * Lists 'day' as 'kind' with an optional holiday 'name' (see calendar_check),
 * replacing an earlier listing of the same day, and marks its year covered.
 * Returns 0, or -1 with 'cal' unchanged if calendar_check refuses the
 * listing or memory runs out.
 */
int calendar_set(struct calendar *cal, int32_t day, enum day_kind kind, const char *name);

/*
 * Adds the dates of a calendar file (common/sql/cn-calendar.tsv): lines
 * "YYYY-MM-DD<TAB>off|work<TAB>name" (the name may be left out with its
 * tab), '#' comment lines and blank lines; a line may end in CR LF.  Each
 * listing must pass calendar_check, and a date may appear only once in a
 * file.  Dates already in 'cal' are replaced.  All or nothing: on error
 * returns -1 with the line number and the reason in 'err' and leaves 'cal'
 * unchanged.  Returns the number of dates read.
 */
int calendar_load_tsv(struct calendar *cal, const char *text, size_t len, char *err, size_t errlen);

/* Returns 1 if 'day' is a working day, else 0. */
int calendar_is_working_day(const struct calendar *cal, int32_t day);

/* Returns 1 if the calendar covers the year of 'day', else 0. */
int calendar_covers(const struct calendar *cal, int32_t day);

/*
 * The listing of 'day': returns 1 and writes its kind and name (NULL if none;
 * valid until 'cal' changes) if listed, else returns 0.  Either out-pointer
 * may be NULL.
 */
int calendar_listed(const struct calendar *cal, int32_t day, enum day_kind *kind,
                    const char **name);

/*
 * The deadline of a period of 'working_days' received at 'from_us'
 * (microseconds since the epoch): 23:59:59 +08:00 of the working_days-th
 * working day after the day of receipt, which is not counted.  Writes 1 into
 * '*provisional' (unless NULL) if any day walked after the day of receipt
 * lies in a year the calendar does not cover, else 0.  Returns the deadline
 * in microseconds since the epoch.  The cost is one step per day walked, so
 * callers bound 'working_days' (the API: 1..365); below 1 it counts as 0 and
 * the deadline is the end of the day of receipt.
 */
int64_t calendar_deadline(const struct calendar *cal, int64_t from_us, int working_days,
                          int *provisional);

/* The local day of an instant (microseconds since the epoch). */
int32_t calendar_day_of(int64_t us);

/* The instant 00:00:00 +08:00 of 'day', in microseconds since the epoch. */
int64_t calendar_day_start(int32_t day);

/* Day of the week of 'day': 1 = Monday ... 7 = Sunday. */
int calendar_weekday(int32_t day);

/* Parses "YYYY-MM-DD" (a real date, years 1970-9999).  Returns 0 or -1. */
int calendar_day_parse(const char *s, int32_t *day);

/* Writes 'day' as "YYYY-MM-DD"; a day outside the years 0-9999 as "0000-00-00". */
void calendar_day_format(int32_t day, char out[CALENDAR_DATE_LEN]);

#endif
