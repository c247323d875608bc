/* SPDX-License-Identifier: Apache-2.0 */
/*
 * utf8.c - the validator of RFC 3629, table 3-7 of the Unicode standard.
 */
#include "utf8.h"

#include <stdint.h>

int utf8_valid(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + len;

    while (p < end) {
        uint8_t c = *p;
        size_t need;
        uint8_t lo = 0x80, hi = 0xbf;

        if (c == 0)
            return 0;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3;
        else
            return 0;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
        else if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
        if ((size_t)(end - p) <= need)
            return 0;
        if (p[1] < lo || p[1] > hi)
            return 0;
        for (size_t i = 2; i <= need; i++)
            if (p[i] < 0x80 || p[i] > 0xbf)
                return 0;
        p += need + 1;
    }
    return 1;
}
