/* SPDX-License-Identifier: Apache-2.0 */
/*
 * repeat.c - ranking of likely repeats, pure; the candidates come from
 * ticketdb_repeats() inside the intake's transaction.
 */
#include "repeat.h"

#include "ngram.h"

#include <stdlib.h>

size_t repeat_rank(struct repeat_candidate *c, size_t n, const int32_t *grams, size_t ngrams)
{
    size_t kept = 0;

    for (size_t i = 0; i < n; i++) {
        c[i].score = ngram_similarity(grams, ngrams, c[i].grams, c[i].ngrams);
        if (c[i].same_caller || (c[i].same_place && c[i].score >= REPEAT_THRESHOLD))
            c[kept++] = c[i];
    }
    /* Insertion sort, stable: a few hundred candidates at most. */
    for (size_t i = 1; i < kept; i++) {
        struct repeat_candidate x = c[i];
        size_t j = i;
        for (; j > 0 && c[j - 1].score < x.score; j--)
            c[j] = c[j - 1];
        c[j] = x;
    }
    return kept < REPEAT_MAX ? kept : REPEAT_MAX;
}
