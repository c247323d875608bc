/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.h - the figures of the hotline's statistics (Art 16, Art 17), pure:
 * which counters the daily roll-ups keep, how they add up over a period,
 * the rates drawn from them, and how they read in the API.
 *
 * The counters are computed in SQL (common/sql/050_stats.sql, kept by
 * statsdb.c); the order of enum stats_counter is the order of the columns
 * of stats_sum() after the group.  Everything here is the same for every
 * grouping: a row of figures is a row, whether of a unit, a day or a total.
 */
#ifndef HOTLINE_STATS_H
#define HOTLINE_STATS_H

#include <jansson.h>

enum stats_counter {
    STATS_RECEIVED,
    STATS_ANSWERED,
    STATS_DISPATCHED,
    STATS_REJECTED_OUTSIDE_JURISDICTION, /* the reasons of Art 7, in its order */
    STATS_REJECTED_OTHER_LEGAL_CHANNEL,
    STATS_REJECTED_PETITION_CHANNEL,
    STATS_REJECTED_SECRET_OR_PRIVACY,
    STATS_REJECTED_ABUSIVE_OR_EMPTY,
    STATS_REJECTED_REPEAT,
    STATS_REJECTED_OTHER,
    STATS_COMPLETED,
    STATS_COMPLETED_ON_TIME,
    STATS_OVERDUE,
    STATS_RETURNS_REQUESTED,
    STATS_RETURNS_APPROVED,
    STATS_RETURNS_REFUSED,
    STATS_EXTENSIONS_REQUESTED,
    STATS_EXTENSIONS_APPROVED,
    STATS_EXTENSIONS_REFUSED,
    STATS_REDO_REQUESTED,
    STATS_REDO_APPROVED,
    STATS_SUPERVISED,
    STATS_INTAKE_VERY_SATISFIED, /* the five levels of Art 15, best first */
    STATS_INTAKE_SATISFIED,
    STATS_INTAKE_BASICALLY_SATISFIED,
    STATS_INTAKE_DISSATISFIED,
    STATS_INTAKE_VERY_DISSATISFIED,
    STATS_HANDLING_VERY_SATISFIED,
    STATS_HANDLING_SATISFIED,
    STATS_HANDLING_BASICALLY_SATISFIED,
    STATS_HANDLING_DISSATISFIED,
    STATS_HANDLING_VERY_DISSATISFIED,
    /* Ratings of the categories the satisfaction rate counts (Art 17
     * Decision): all of them, and the very satisfied and satisfied. */
    STATS_INTAKE_RATED_COUNTED,
    STATS_INTAKE_SATISFIED_COUNTED,
    STATS_HANDLING_RATED_COUNTED,
    STATS_HANDLING_SATISFIED_COUNTED,
    STATS_COUNTER_COUNT
};

/* The counters of one row. */
struct stats_figures {
    long long n[STATS_COUNTER_COUNT];
};

/* What the figures are grouped by. */
enum stats_group {
    STATS_BY_NONE, /* one row: the totals */
    STATS_BY_UNIT,
    STATS_BY_KIND,
    STATS_BY_CATEGORY,
    STATS_BY_CHANNEL,
    STATS_BY_DAY,
    STATS_BY_NODE, /* the province's master dataset only */
    STATS_GROUP_COUNT
};

/* Parses a group_by value ("unit", "kind", ...).  Returns 0, or -1 if unknown.
 * Which of them a report offers is the report's choice. */
int stats_group_parse(const char *s, enum stats_group *out);

/* The name of a grouping as the API and stats_sum() spell it ("none" for
 * STATS_BY_NONE). */
const char *stats_group_name(enum stats_group g);

/* Adds the counters of 'row' to 'sum'. */
void stats_add(struct stats_figures *sum, const struct stats_figures *row);

/*
 * A share 'part' of 'whole' rounded to 4 decimals and held to 0..1 (rating
 * levels of a short period can be negative, see 050_stats.sql).  Returns 0
 * and writes it, or -1 when 'whole' is not above 0 (no rate).
 */
int stats_rate(long long part, long long whole, double *out);

/*
 * Adds the figures to 'obj' as the API shows them: counters, their sums,
 * overdue orders open and closed, ratings by level and the rates (null
 * when there is nothing to divide by).  Returns 0, or -1 if out of memory.
 */
int stats_json(json_t *obj, const struct stats_figures *f);

#endif
