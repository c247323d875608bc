/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ngram.c - character bigrams of short texts, their hashes, the Dice
 * coefficient of two sets, and the PostgreSQL array literals the sets are
 * stored as.
 *
 * Pure and thread-safe: no I/O, no allocation, no global state.  It runs in
 * HTTP workers, at intake (likely repeats) and in the knowledge base (the
 * search index); whatever text arrives, the result is bounded by the
 * caller's buffer and by NGRAM_MAX.
 *
 * A text is read as a sequence of characters.  Letters and digits of every
 * script, Han characters included, are "word" characters; punctuation,
 * symbols, blanks and control characters are separators (the ranges in
 * 'separators').  Each maximal run of word characters gives the hashes of
 * its overlapping pairs, or of its one character when it stands alone.
 * Fullwidth forms (Ａ, １, ，) are read as their ASCII twins and Latin
 * letters are folded to lower case, so "WiFi" and "ｗｉｆｉ" make the same
 * grams.  Bytes that are not valid UTF-8 are separators too.
 *
 * When a text has more distinct grams than fit, the smallest hashes are kept:
 * the same sample of every text (a bottom-k sketch), so that two long texts
 * are still compared on the same part of the hash space.
 */
#include "ngram.h"

#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Code points that split windows, inclusive ranges in ascending order. */
static const struct {
    uint32_t lo, hi;
} separators[] = {
    {0x0000, 0x002f}, /* controls, blank, ASCII punctuation */
    {0x003a, 0x0040}, /* : ; < = > ? @ */
    {0x005b, 0x0060}, /* [ \ ] ^ _ ` */
    {0x007b, 0x00bf}, /* { | } ~, C1 controls, Latin-1 punctuation and signs */
    {0x00d7, 0x00d7}, /* × */
    {0x00f7, 0x00f7}, /* ÷ */
    {0x2000, 0x2bff}, /* general punctuation to miscellaneous symbols and arrows */
    {0x2e00, 0x2e7f}, /* supplemental punctuation */
    {0x3000, 0x3004}, /* ideographic space, 、。〃〄 */
    {0x3008, 0x303f}, /* brackets 〈〉《》「」【】, 〜, other CJK marks (not 々〆〇) */
    {0xe000, 0xf8ff}, /* private use */
    {0xfe10, 0xfe1f}, /* vertical forms */
    {0xfe30, 0xfe6f}, /* CJK compatibility forms, small form variants */
    {0xfeff, 0xfeff}, /* byte order mark */
    {0xff5f, 0xff65}, /* halfwidth brackets and CJK punctuation */
    {0xfff0, 0xffff}, /* specials */
    {0x1f000, 0x1faff}, /* mahjong and playing cards to emoji */
};

#define NSEPARATORS (sizeof(separators) / sizeof(separators[0]))

/* Fullwidth ASCII variants, U+FF01 '！' to U+FF5E '～', are read as ASCII. */
#define FULLWIDTH_FIRST 0xff01
#define FULLWIDTH_LAST  0xff5e
#define FULLWIDTH_SHIFT 0xfee0

static int is_separator(uint32_t cp)
{
    size_t lo = 0, hi = NSEPARATORS;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < separators[mid].lo)
            hi = mid;
        else if (cp > separators[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/*
 * Reads the character at 's' (at most 'len' bytes): writes its folded code
 * point, 0 for a separator, and returns the bytes it took (at least 1).
 */
static size_t next_char(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = utf8_char(s, len);
    uint32_t c;

    if (n == 0) {
        *cp = 0;
        return 1;
    }
    if (n == 1)
        c = p[0];
    else if (n == 2)
        c = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
    else if (n == 3)
        c = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
    else
        c = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
            (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
    if (c >= FULLWIDTH_FIRST && c <= FULLWIDTH_LAST)
        c -= FULLWIDTH_SHIFT;
    if (c >= 'A' && c <= 'Z')
        c += 'a' - 'A';
    *cp = is_separator(c) ? 0 : c;
    return n;
}

/* FNV-1a over the two code points (0 for a unigram's second), kept to 31
 * bits and never 0. */
static int32_t gram_hash(uint32_t first, uint32_t second)
{
    uint32_t h = 2166136261u;
    const uint32_t cps[2] = {first, second};

    for (int i = 0; i < 2; i++) {
        for (int shift = 0; shift < 32; shift += 8) {
            h ^= (cps[i] >> shift) & 0xff;
            h *= 16777619u;
        }
    }
    h &= 0x7fffffff;
    return h != 0 ? (int32_t)h : 1;
}

/* Adds 'h' to the ascending set 'out' of '*n' values, keeping at most 'cap'
 * of the smallest. */
static void set_add(int32_t *out, size_t *n, size_t cap, int32_t h)
{
    size_t lo = 0, hi = *n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (out[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < *n && out[lo] == h)
        return;
    if (lo == cap)
        return;
    size_t keep = *n < cap ? *n : cap - 1;
    memmove(out + lo + 1, out + lo, (keep - lo) * sizeof(*out));
    out[lo] = h;
    *n = keep + 1;
}

size_t ngram_grams(const char *text, int32_t *out, size_t cap)
{
    size_t len = strlen(text), n = 0, run = 0;
    uint32_t prev = 0, cp;

    if (cap > NGRAM_MAX)
        cap = NGRAM_MAX;
    if (cap == 0)
        return 0;
    for (size_t i = 0; i <= len;) {
        /* The terminating NUL reads as one last separator. */
        if (i < len) {
            i += next_char(text + i, len - i, &cp);
        } else {
            cp = 0;
            i++;
        }
        if (cp != 0) {
            if (run > 0)
                set_add(out, &n, cap, gram_hash(prev, cp));
            run++;
        } else {
            if (run == 1)
                set_add(out, &n, cap, gram_hash(prev, 0));
            run = 0;
        }
        prev = cp;
    }
    return n;
}

double ngram_similarity(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    size_t i = 0, j = 0, common = 0;

    if (na + nb == 0)
        return 0.0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) {
            i++;
        } else if (a[i] > b[j]) {
            j++;
        } else {
            common++;
            i++;
            j++;
        }
    }
    return 2.0 * (double)common / (double)(na + nb);
}

int ngram_array(const int32_t *grams, size_t n, char *out, size_t cap)
{
    size_t at = 0;

    if (cap < 3)
        return -1;
    out[at++] = '{';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + at, cap - at, "%s%ld", i > 0 ? "," : "", (long)grams[i]);
        if (w < 0 || (size_t)w >= cap - at)
            return -1;
        at += (size_t)w;
    }
    if (at + 2 > cap)
        return -1;
    out[at++] = '}';
    out[at] = '\0';
    return 0;
}

int ngram_array_parse(const char *text, int32_t *out, size_t cap)
{
    const char *p = text;
    size_t n = 0;

    if (*p++ != '{')
        return -1;
    if (*p == '}')
        return p[1] == '\0' ? 0 : -1;
    for (;;) {
        const char *digits = *p == '-' ? p + 1 : p;
        size_t nd = strspn(digits, "0123456789");
        if (nd == 0 || nd > 10)
            return -1;
        long long v = strtoll(p, NULL, 10);
        if (v < INT32_MIN || v > INT32_MAX)
            return -1;
        if (n < cap)
            out[n] = (int32_t)v;
        n++;
        p = digits + nd;
        if (*p == '}')
            break;
        if (*p++ != ',')
            return -1;
    }
    if (p[1] != '\0')
        return -1;
    return (int)(n < cap ? n : cap);
}
