/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ngram.h - similarity of short Chinese (and mixed) texts by character
 * bigrams, pure.  Chinese has no spaces between words, and PostgreSQL's
 * pg_trgm ignores CJK characters under the C locale, so the project keeps
 * its own index: each text becomes the sorted set of hashes of its
 * overlapping two-character windows (punctuation and blanks split windows;
 * Latin letters are folded to lower case; a lone character counts as a
 * unigram).  The set is stored as an integer array with a GIN index, so
 * candidates are found with the array overlap operator and ranked here.
 */
#ifndef HOTLINE_NGRAM_H
#define HOTLINE_NGRAM_H

#include <stddef.h>
#include <stdint.h>

/* At most this many distinct grams are kept per text. */
#define NGRAM_MAX 1024

/*
 * Writes the distinct gram hashes (positive 31-bit values, ascending) of the
 * UTF-8 'text' into 'out' (room for 'cap') and returns their number.
 */
size_t ngram_grams(const char *text, int32_t *out, size_t cap);

/*
 * Similarity of two gram sets in [0, 1]: the Dice coefficient
 * 2|A∩B| / (|A| + |B|); 0 when both are empty.
 */
double ngram_similarity(const int32_t *a, size_t na, const int32_t *b, size_t nb);

/*
 * Writes the gram set as a PostgreSQL array literal "{1,2,3}" into 'out' of
 * 'cap' bytes.  Returns 0, or -1 if it does not fit.
 */
int ngram_array(const int32_t *grams, size_t n, char *out, size_t cap);

/* Parses a PostgreSQL integer array literal into 'out'; returns the count
 * (at most 'cap'), or -1 if malformed. */
int ngram_array_parse(const char *text, int32_t *out, size_t cap);

#endif
