/* SPDX-License-Identifier: Apache-2.0 */
/*
 * calendar_fuzz.c - libFuzzer harness of calendar_load_tsv(), which reads
 * the national calendar at `init` and every year the province broadcasts.
 *
 * Any text must be refused with a message or loaded, all or nothing; on
 * what was loaded, deadlines from the first dates listed and from a few
 * fixed days must be computed without a crash, end on a working day, and
 * never before the instant of receipt.
 */
#include "calendar.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define US_PER_DAY (86400LL * 1000000)

/* Deadlines of a few periods from 'day', checked against the calendar. */
static void deadlines(const struct calendar *cal, int32_t day)
{
    static const int periods[] = {-1, 0, 1, 2, 15, 60, 365};

    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        int provisional = -1;
        int64_t from = calendar_day_start(day) + US_PER_DAY / 2;
        int64_t due = calendar_deadline(cal, from, periods[i], &provisional);
        if (due < from || (provisional != 0 && provisional != 1))
            abort();
        if (periods[i] > 0 && !calendar_is_working_day(cal, calendar_day_of(due)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct calendar *cal = calendar_new();
    char err[256];

    if (cal == NULL)
        return 0;
    err[0] = '\0';
    int n = calendar_load_tsv(cal, (const char *)data, size, err, sizeof(err));
    if (n < 0 && err[0] == '\0')
        abort();
    /* The first few dates the text lists: loaded, or none of them if it was
     * refused; deadlines from them walk the years loaded. */
    for (size_t i = 0, found = 0; i + 10 <= size && found < 4; i++) {
        char date[CALENDAR_DATE_LEN];
        int32_t day;
        if (i > 0 && data[i - 1] != '\n')
            continue;
        memcpy(date, data + i, 10);
        date[10] = '\0';
        if (calendar_day_parse(date, &day) < 0 || !calendar_listed(cal, day, NULL, NULL))
            continue;
        if (n < 0)
            abort();
        deadlines(cal, day - 1);
        deadlines(cal, day);
        found++;
    }
    deadlines(cal, 19723); /* 2024-01-01 */
    deadlines(cal, 20454); /* 2026-01-01 */
    calendar_free(cal);
    return 0;
}
