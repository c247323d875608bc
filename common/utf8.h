/* SPDX-License-Identifier: Apache-2.0 */
/*
 * utf8.h - strict UTF-8 validation for text that comes from outside: no
 * overlong forms, no surrogates, nothing above U+10FFFF, no NUL.
 */
#ifndef HOTLINE_UTF8_H
#define HOTLINE_UTF8_H

#include <stddef.h>

/* Returns 1 if the 'len' bytes at 's' are valid UTF-8 without NUL, else 0. */
int utf8_valid(const char *s, size_t len);

/*
 * Returns the length (1 to 4) of the valid character that starts the 'len'
 * bytes at 's', or 0 if they do not start with one (NUL included).
 */
size_t utf8_char(const char *s, size_t len);

/*
 * Ends the NUL-terminated 's' before its first byte that does not start a
 * valid character: text cut to a buffer's size by snprintf() may end in
 * part of a character, which an answer must not carry.
 */
void utf8_cut(char *s);

#endif
