/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c - the node's clock: one function for business time, one for
 * timeouts, and RFC 3339 text in and out.  CLOCK_REALTIME is what
 * libfaketime moves in tests.
 */
#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t clock_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes the local date and time of 'us' without fraction or offset;
 * returns its length and the microseconds left over. */
static size_t format_local(int64_t us, char out[CLOCK_RFC3339_LEN], int *micros)
{
    int64_t frac = us % 1000000;
    if (frac < 0)
        frac += 1000000;
    time_t local = (time_t)((us - frac) / 1000000) + CLOCK_OFFSET_SECONDS;
    struct tm tm;

    gmtime_r(&local, &tm);
    *micros = (int)frac;
    return strftime(out, CLOCK_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
}

void clock_format(int64_t us, char out[CLOCK_RFC3339_LEN])
{
    int micros;
    size_t n = format_local(us, out, &micros);

    snprintf(out + n, CLOCK_RFC3339_LEN - n, ".%06d+08:00", micros);
}

void clock_format_seconds(int64_t us, char out[CLOCK_RFC3339_LEN])
{
    int micros;
    size_t n = format_local(us, out, &micros);

    snprintf(out + n, CLOCK_RFC3339_LEN - n, "+08:00");
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

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return days[m - 1] + (m == 2 && leap);
}

int clock_parse(const char *s, int64_t *us)
{
    /* "YYYY-MM-DDTHH:MM:SS": fixed positions, checked before anything else. */
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 ||
        h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return -1;

    const char *p = s + 19;
    int64_t micros = 0;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 6)
                micros = micros * 10 + (*p - '0');
        if (n < 1 || n > 6)
            return -1;
        for (; n < 6; n++)
            micros *= 10;
    }

    int offset;
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        offset = 0;
    } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset = (p[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
        return -1;
    }

    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    *us = ((int64_t)timegm(&tm) - offset) * 1000000 + micros;
    return 0;
}
