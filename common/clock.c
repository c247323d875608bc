/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.c - the node's clock: one function for business time, one for
 * timeouts.  CLOCK_REALTIME is what libfaketime moves in tests.
 */
#include "clock.h"

#include <stdio.h>
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

void clock_format(int64_t us, char out[CLOCK_RFC3339_LEN])
{
    int64_t micros = us % 1000000;
    if (micros < 0)
        micros += 1000000;
    time_t local = (time_t)((us - micros) / 1000000) + CLOCK_OFFSET_SECONDS;
    struct tm tm;

    gmtime_r(&local, &tm);
    size_t n = strftime(out, CLOCK_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, CLOCK_RFC3339_LEN - n, ".%06d+08:00", (int)micros);
}
