/* SPDX-License-Identifier: Apache-2.0 */
/*
 * national_calendar.h - the holiday calendar every node ships with, loaded
 * for a unit test.
 */
#ifndef HOTLINE_TEST_NATIONAL_CALENDAR_H
#define HOTLINE_TEST_NATIONAL_CALENDAR_H

#include "calendar.h"
#include "calstore.h"

#include <stdio.h>

/* The national calendar (calendar_free), or NULL with the reason printed. */
static inline struct calendar *national_calendar(void)
{
    struct calendar *cal = calendar_new();
    char err[256] = "";

    if (cal == NULL || calendar_load_tsv(cal, calendar_default_tsv, calendar_default_tsv_len, err,
                                         sizeof(err)) < 0) {
        fprintf(stderr, "national calendar: %s\n", err);
        calendar_free(cal);
        return NULL;
    }
    return cal;
}

/* cmocka setup and teardown holding it in the test's state. */
static inline int national_setup(void **state)
{
    return (*state = national_calendar()) != NULL ? 0 : -1;
}

static inline int national_teardown(void **state)
{
    calendar_free(*state);
    return 0;
}

#endif
