/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repeat.h - which earlier appeals a new one likely repeats (Art 7 item 6),
 * pure: scoring and ranking of the candidates the database found.
 *
 * A candidate is an earlier appeal, open or completed within the node's
 * window, from the same caller (the same keyed phone hash) or about the same
 * place (the same division) with similar content.  Content similarity is the
 * Dice coefficient of character bigrams (ngram.h); the threshold below was
 * measured on reworded and distinct Chinese appeals in tests/unit.
 */
#ifndef HOTLINE_REPEAT_H
#define HOTLINE_REPEAT_H

#include <stddef.h>
#include <stdint.h>

/* Similarity from which same-place appeals count as likely repeats. */
#define REPEAT_THRESHOLD 0.25
/* At most this many candidates are shown to the operator. */
#define REPEAT_MAX 5

struct repeat_candidate {
    const char *id;
    int same_caller;
    int same_place;
    const int32_t *grams;
    size_t ngrams;
    double score; /* written by repeat_rank */
};

/*
 * Scores each of the 'n' candidates against the new appeal's 'grams', drops
 * those that are neither from the same caller nor similar enough, and sorts
 * the rest, best first (ties: the order given, newest first).  Returns how
 * many remain at the front of 'c', at most REPEAT_MAX.
 */
size_t repeat_rank(struct repeat_candidate *c, size_t n, const int32_t *grams, size_t ngrams);

#endif
