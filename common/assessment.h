/* SPDX-License-Identifier: Apache-2.0 */
/*
 * assessment.h - the score of a handling unit for a month (Art 17:
 * objective and reproducible), pure: the same figures and weights always
 * give the same score, on any node.
 *
 * The score is a weighted mean of four rates, each in 0..1 and rounded to
 * 4 decimals as the report shows them, times 100, less a deduction per
 * supervised order, held to 0..100 and rounded to 2 decimals:
 *   on_time       completions approved by their deadline / completions
 *   satisfaction  handling rated very satisfied or satisfied / rated, over
 *                 the categories the satisfaction rate counts
 *   returns       approved returns / decided returns (a refused return is
 *                 an improper one, Art 16)
 *   redo          (completions - approved redos) / completions
 * A rate whose denominator is 0 has no value and its weight drops out; a
 * unit none of whose weighted rates has a value has no score.
 */
#ifndef HOTLINE_ASSESSMENT_H
#define HOTLINE_ASSESSMENT_H

enum assessment_part {
    ASSESSMENT_ON_TIME,
    ASSESSMENT_SATISFACTION,
    ASSESSMENT_RETURNS,
    ASSESSMENT_REDO,
    ASSESSMENT_PART_COUNT
};

/* The node's formula (configuration, Art 21). */
struct assessment_weights {
    int part[ASSESSMENT_PART_COUNT]; /* weights, 0..100 each */
    int penalty_supervised;          /* points off per supervised order */
};

/* A unit's figures for the month, from the roll-ups. */
struct assessment_figures {
    long long completed, completed_on_time;
    long long rated, satisfied; /* handling ratings of the counted categories */
    long long returns_approved, returns_refused;
    long long redo_approved;
    long long supervised;
};

struct assessment_result {
    int has_rate[ASSESSMENT_PART_COUNT];
    double rate[ASSESSMENT_PART_COUNT]; /* 0..1, 4 decimals, when has_rate */
    int has_score;
    double score; /* 0..100, 2 decimals, when has_score */
};

/* Computes the rates and the score of 'f' under 'w' into 'out'. */
void assessment_score(const struct assessment_figures *f, const struct assessment_weights *w,
                      struct assessment_result *out);

/* The name of a part: "on_time", "satisfaction", "returns", "redo". */
const char *assessment_part_name(enum assessment_part p);

#endif
