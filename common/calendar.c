/* SPDX-License-Identifier: Apache-2.0 */
/*
 * calendar.c - which days are working days, and when a period of N working
 * days ends (REGULATION.md, "Decision - counting working days").
 *
 * Pure code: no I/O, no clock, no locks.  The calendar of a running node is
 * the table calendar_days; calstore.c gives every HTTP worker its own copy
 * built with calendar_set(), and the unit tests build theirs from the
 * national calendar the binaries carry (common/sql/cn-calendar.tsv).
 *
 * The listed days are kept in one array sorted by day, next to a bitmap of
 * the covered years.  A deadline walks the days after receipt with a cursor
 * into that array: one binary search, then one step per day, which is a few
 * dozen steps for the periods of the regulation (2 to 15 working days, at
 * most three times that with extensions).
 *
 * Dates are proleptic Gregorian, converted with H. Hinnant's
 * days_from_civil / civil_from_days, which need no table and no time zone.
 */
#include "calendar.h"

#include "clock.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_YEAR  1970
#define LAST_YEAR   9999
#define NYEARS      (LAST_YEAR - FIRST_YEAR + 1)
#define DAY_US      (86400 * (int64_t)1000000)
#define OFFSET_US   (CLOCK_OFFSET_SECONDS * (int64_t)1000000)
#define TSV_MAX_LEN (16 * 1024 * 1024)

struct listing {
    int32_t day;
    enum day_kind kind;
    char name[CALENDAR_MAX_NAME + 1]; /* "" for none */
};

struct calendar {
    struct listing *days; /* sorted by day, each day once */
    size_t n, cap;
    unsigned char covered[(NYEARS + 7) / 8];
};

/* --- dates ---------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int year_of(int32_t day)
{
    int y, m, d;

    civil_from_days(day, &y, &m, &d);
    return y;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days[m - 1] + (m == 2 && leap);
}

/* Reads exactly 'n' decimal digits.  Returns the value, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int calendar_day_parse(const char *s, int32_t *day)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < FIRST_YEAR || y > LAST_YEAR || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *day = days_from_civil(y, m, d);
    return 0;
}

void calendar_day_format(int32_t day, char out[CALENDAR_DATE_LEN])
{
    int y, m, d;

    civil_from_days(day, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = m = d = 0;
    snprintf(out, CALENDAR_DATE_LEN, "%04u-%02u-%02u", (unsigned)y % 10000, (unsigned)m % 100,
             (unsigned)d % 100);
}

int32_t calendar_day_of(int64_t us)
{
    return (int32_t)floor_div(us + OFFSET_US, DAY_US);
}

int64_t calendar_day_start(int32_t day)
{
    return (int64_t)day * DAY_US - OFFSET_US;
}

int calendar_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday. */
    return (int)((day % 7 + 7 + 3) % 7) + 1;
}

/* --- the calendar ----------------------------------------------------------- */

static const char *const kind_names[] = {
    [DAY_WORK] = "work",
    [DAY_OFF] = "off",
};

#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *calendar_kind_name(enum day_kind kind)
{
    return (size_t)kind < NKINDS ? kind_names[kind] : "unknown";
}

int calendar_kind_parse(const char *s, enum day_kind *kind)
{
    for (size_t k = 0; k < NKINDS; k++) {
        if (strcmp(s, kind_names[k]) == 0) {
            *kind = (enum day_kind)k;
            return 0;
        }
    }
    return -1;
}

struct calendar *calendar_new(void)
{
    return calloc(1, sizeof(struct calendar));
}

void calendar_free(struct calendar *cal)
{
    if (cal == NULL)
        return;
    free(cal->days);
    free(cal);
}

/* Index of the first listing on or after 'day'. */
static size_t lower_bound(const struct calendar *cal, int32_t day)
{
    size_t lo = 0, hi = cal->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->days[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct listing *find(const struct calendar *cal, int32_t day)
{
    size_t i = lower_bound(cal, day);

    return i < cal->n && cal->days[i].day == day ? &cal->days[i] : NULL;
}

/* Makes room for 'more' listings, so that what follows cannot fail. */
static int reserve(struct calendar *cal, size_t more)
{
    if (cal->cap - cal->n >= more)
        return 0;
    size_t cap = cal->cap > 0 ? cal->cap : 64;
    while (cap - cal->n < more)
        cap *= 2;
    struct listing *grown = realloc(cal->days, cap * sizeof(*grown));
    if (grown == NULL)
        return -1;
    cal->days = grown;
    cal->cap = cap;
    return 0;
}

/* Lists a checked day; room must have been reserved. */
static void put(struct calendar *cal, int32_t day, enum day_kind kind, const char *name)
{
    size_t i = lower_bound(cal, day);
    int year = year_of(day) - FIRST_YEAR;

    if (i == cal->n || cal->days[i].day != day) {
        memmove(&cal->days[i + 1], &cal->days[i], (cal->n - i) * sizeof(cal->days[0]));
        cal->n++;
    }
    cal->days[i].day = day;
    cal->days[i].kind = kind;
    snprintf(cal->days[i].name, sizeof(cal->days[i].name), "%s", name != NULL ? name : "");
    cal->covered[year / 8] |= (unsigned char)(1u << (year % 8));
}

const char *calendar_check(int32_t day, enum day_kind kind, const char *name)
{
    if (day < days_from_civil(FIRST_YEAR, 1, 1) || day > days_from_civil(LAST_YEAR, 12, 31))
        return "is outside the years 1970-9999";
    if ((size_t)kind >= NKINDS)
        return "has a kind that is neither work nor off";
    if (kind == DAY_WORK && calendar_weekday(day) <= 5)
        return "is not a Saturday or Sunday: only a weekend day can be a make-up working day";
    if (name == NULL)
        return NULL;
    size_t len = strlen(name);
    if (len > CALENDAR_MAX_NAME)
        return "has a name longer than 64 bytes";
    if (!utf8_valid(name, len))
        return "has a name that is not UTF-8 text";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return "has a name with a control character";
    return NULL;
}

int calendar_set(struct calendar *cal, int32_t day, enum day_kind kind, const char *name)
{
    if (calendar_check(day, kind, name) != NULL || reserve(cal, 1) < 0)
        return -1;
    put(cal, day, kind, name);
    return 0;
}

int calendar_is_working_day(const struct calendar *cal, int32_t day)
{
    const struct listing *l = find(cal, day);

    if (l != NULL)
        return l->kind == DAY_WORK;
    return calendar_weekday(day) <= 5;
}

int calendar_covers(const struct calendar *cal, int32_t day)
{
    int year = year_of(day) - FIRST_YEAR;

    if (year < 0 || year >= NYEARS)
        return 0;
    return (cal->covered[year / 8] >> (year % 8)) & 1;
}

int calendar_listed(const struct calendar *cal, int32_t day, enum day_kind *kind, const char **name)
{
    const struct listing *l = find(cal, day);

    if (l == NULL)
        return 0;
    if (kind != NULL)
        *kind = l->kind;
    if (name != NULL)
        *name = l->name[0] != '\0' ? l->name : NULL;
    return 1;
}

int64_t calendar_deadline(const struct calendar *cal, int64_t from_us, int working_days,
                          int *provisional)
{
    int32_t day = calendar_day_of(from_us);
    size_t i = lower_bound(cal, day + 1);
    int counted = 0, guessed = 0;

    while (counted < working_days) {
        day++;
        while (i < cal->n && cal->days[i].day < day)
            i++;
        int working = i < cal->n && cal->days[i].day == day ? cal->days[i].kind == DAY_WORK
                                                            : calendar_weekday(day) <= 5;
        if (!calendar_covers(cal, day))
            guessed = 1;
        counted += working;
    }
    if (provisional != NULL)
        *provisional = guessed;
    return calendar_day_start(day + 1) - 1000000;
}

/* --- the calendar file -------------------------------------------------------- */

/* Parses one data line (NUL-terminated, no line end) into 'out'.  Returns
 * NULL, or the reason it is refused. */
static const char *tsv_line(char *line, struct listing *out)
{
    char *kind = strchr(line, '\t');

    if (kind == NULL)
        return "expected 'date<TAB>kind<TAB>name'";
    *kind++ = '\0';
    char *name = strchr(kind, '\t');
    if (name != NULL) {
        *name++ = '\0';
        if (strchr(name, '\t') != NULL)
            return "more than three fields";
    }
    if (calendar_day_parse(line, &out->day) < 0)
        return "the date is not a real date YYYY-MM-DD";
    if (calendar_kind_parse(kind, &out->kind) < 0)
        return "the kind is neither 'off' nor 'work'";
    const char *why = calendar_check(out->day, out->kind, name);
    if (why != NULL)
        return why;
    snprintf(out->name, sizeof(out->name), "%s", name != NULL ? name : "");
    return NULL;
}

/* A listing read from a file, with its line for messages. */
struct tsv_entry {
    struct listing listing;
    int line;
};

static int by_day(const void *a, const void *b)
{
    const struct tsv_entry *x = a, *y = b;

    return (x->listing.day > y->listing.day) - (x->listing.day < y->listing.day);
}

/* The checked listings of 'text' in a new array '*out'.  Returns their
 * number, or -1 with the reason in 'err'. */
static int tsv_parse(const char *text, size_t len, struct tsv_entry **out, char *err, size_t errlen)
{
    struct tsv_entry *list = NULL;
    int n = 0, cap = 0, lineno = 0;
    char line[256];
    size_t pos = 0;

    if (len > TSV_MAX_LEN || (len > 0 && memchr(text, '\0', len) != NULL)) {
        snprintf(err, errlen, "the calendar is not a text file");
        goto fail;
    }
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - text) : len, llen = end - pos;
        lineno++;
        if (llen > 0 && text[end - 1] == '\r')
            llen--;
        if (llen >= sizeof(line)) {
            snprintf(err, errlen, "line %d: too long", lineno);
            goto fail;
        }
        memcpy(line, text + pos, llen);
        line[llen] = '\0';
        pos = end + 1;
        if (line[0] == '#' || strspn(line, " \t") == llen)
            continue;
        if (n == cap) {
            cap = cap > 0 ? cap * 2 : 256;
            struct tsv_entry *grown = realloc(list, (size_t)cap * sizeof(*list));
            if (grown == NULL) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            list = grown;
        }
        const char *why = tsv_line(line, &list[n].listing);
        if (why != NULL) {
            snprintf(err, errlen, "line %d: %s", lineno, why);
            goto fail;
        }
        list[n++].line = lineno;
    }
    *out = list;
    return n;

fail:
    free(list);
    return -1;
}

int calendar_load_tsv(struct calendar *cal, const char *text, size_t len, char *err, size_t errlen)
{
    struct tsv_entry *list = NULL;
    int n = tsv_parse(text, len, &list, err, errlen);

    if (n <= 0)
        return n;
    /* Sorting puts a repeated date next to its first listing, and makes the
     * insertions below appends for a calendar filled in date order. */
    qsort(list, (size_t)n, sizeof(*list), by_day);
    for (int i = 1; i < n; i++) {
        if (list[i].listing.day == list[i - 1].listing.day) {
            const struct tsv_entry *a = &list[i - 1], *b = &list[i];
            char date[CALENDAR_DATE_LEN];
            calendar_day_format(a->listing.day, date);
            snprintf(err, errlen, "line %d: '%s' is listed on line %d too",
                     a->line > b->line ? a->line : b->line, date,
                     a->line > b->line ? b->line : a->line);
            goto fail;
        }
    }
    if (reserve(cal, (size_t)n) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++)
        put(cal, list[i].listing.day, list[i].listing.kind, list[i].listing.name);
    free(list);
    return n;

fail:
    free(list);
    return -1;
}
