/* SPDX-License-Identifier: Apache-2.0 */
/*
 * utf8.c - the validator of RFC 3629, table 3-7 of the Unicode standard.
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

size_t utf8_char(const char *s, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;
    uint8_t c = p[0], lo = 0x80, hi = 0xbf;
    size_t need;

    if (len == 0 || c == 0)
        return 0;
    if (c < 0x80)
        return 1;
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
    if (len <= need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return need + 1;
}

int utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = utf8_char(s + i, len - i)) == 0)
            return 0;
    return 1;
}

void utf8_cut(char *s)
{
    size_t len = strlen(s), whole = 0, n;

    while (whole < len && (n = utf8_char(s + whole, len - whole)) > 0)
        whole += n;
    s[whole] = '\0';
}
