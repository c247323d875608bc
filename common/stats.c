/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats.c - one table of the figures a row of statistics shows.
 *
 * Pure; runs in HTTP workers.  Each figure is a counter of the roll-ups, a
 * sum of adjacent counters, a difference of two, or a rate of two, and has
 * a dotted path that is its place in the JSON object ("rejected.repeat",
 * which is also its CSV header).  Rates are rounded to 4 decimals here,
 * once, so that the JSON and the CSV of one request say the same.
 */
#include "stats.h"

#include <string.h>

enum value_type {
    VALUE_COUNT, /* counter a */
    VALUE_SUM,   /* counters a to b */
    VALUE_DIFF,  /* a - b */
    VALUE_RATE,  /* a / b, null when b is not above 0 */
};

struct column {
    const char *path;
    enum value_type type;
    enum stats_counter a, b;
};

#define COUNT(path, a)                                                                             \
    {                                                                                              \
        path, VALUE_COUNT, a, a                                                                    \
    }
#define SUM(path, a, b)                                                                            \
    {                                                                                              \
        path, VALUE_SUM, a, b                                                                      \
    }
#define DIFF(path, a, b)                                                                           \
    {                                                                                              \
        path, VALUE_DIFF, a, b                                                                     \
    }
#define RATE(path, a, b)                                                                           \
    {                                                                                              \
        path, VALUE_RATE, a, b                                                                     \
    }

static const struct column columns[] = {
    COUNT("received", STATS_RECEIVED),
    SUM("accepted", STATS_ANSWERED, STATS_DISPATCHED),
    COUNT("answered", STATS_ANSWERED),
    COUNT("dispatched", STATS_DISPATCHED),
    SUM("rejected.total", STATS_REJECTED_OUTSIDE_JURISDICTION, STATS_REJECTED_OTHER),
    COUNT("rejected.outside_jurisdiction", STATS_REJECTED_OUTSIDE_JURISDICTION),
    COUNT("rejected.other_legal_channel", STATS_REJECTED_OTHER_LEGAL_CHANNEL),
    COUNT("rejected.petition_channel", STATS_REJECTED_PETITION_CHANNEL),
    COUNT("rejected.secret_or_privacy", STATS_REJECTED_SECRET_OR_PRIVACY),
    COUNT("rejected.abusive_or_empty", STATS_REJECTED_ABUSIVE_OR_EMPTY),
    COUNT("rejected.repeat", STATS_REJECTED_REPEAT),
    COUNT("rejected.other", STATS_REJECTED_OTHER),
    COUNT("completed", STATS_COMPLETED),
    COUNT("completed_on_time", STATS_COMPLETED_ON_TIME),
    RATE("on_time_rate", STATS_COMPLETED_ON_TIME, STATS_COMPLETED),
    COUNT("overdue.open", STATS_OVERDUE),
    DIFF("overdue.closed", STATS_COMPLETED, STATS_COMPLETED_ON_TIME),
    COUNT("returns.requested", STATS_RETURNS_REQUESTED),
    COUNT("returns.approved", STATS_RETURNS_APPROVED),
    COUNT("returns.refused", STATS_RETURNS_REFUSED),
    COUNT("extensions.requested", STATS_EXTENSIONS_REQUESTED),
    COUNT("extensions.approved", STATS_EXTENSIONS_APPROVED),
    COUNT("extensions.refused", STATS_EXTENSIONS_REFUSED),
    COUNT("redo.requested", STATS_REDO_REQUESTED),
    COUNT("redo.approved", STATS_REDO_APPROVED),
    COUNT("supervised", STATS_SUPERVISED),
    COUNT("ratings.intake.very_satisfied", STATS_INTAKE_VERY_SATISFIED),
    COUNT("ratings.intake.satisfied", STATS_INTAKE_SATISFIED),
    COUNT("ratings.intake.basically_satisfied", STATS_INTAKE_BASICALLY_SATISFIED),
    COUNT("ratings.intake.dissatisfied", STATS_INTAKE_DISSATISFIED),
    COUNT("ratings.intake.very_dissatisfied", STATS_INTAKE_VERY_DISSATISFIED),
    COUNT("ratings.handling.very_satisfied", STATS_HANDLING_VERY_SATISFIED),
    COUNT("ratings.handling.satisfied", STATS_HANDLING_SATISFIED),
    COUNT("ratings.handling.basically_satisfied", STATS_HANDLING_BASICALLY_SATISFIED),
    COUNT("ratings.handling.dissatisfied", STATS_HANDLING_DISSATISFIED),
    COUNT("ratings.handling.very_dissatisfied", STATS_HANDLING_VERY_DISSATISFIED),
    SUM("rated", STATS_INTAKE_VERY_SATISFIED, STATS_INTAKE_VERY_DISSATISFIED),
    RATE("satisfaction_rate.intake", STATS_INTAKE_SATISFIED_COUNTED, STATS_INTAKE_RATED_COUNTED),
    RATE("satisfaction_rate.handling", STATS_HANDLING_SATISFIED_COUNTED,
         STATS_HANDLING_RATED_COUNTED),
};

#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static const char *const group_names[STATS_GROUP_COUNT] = {
    [STATS_BY_NONE] = "none",         [STATS_BY_UNIT] = "unit",       [STATS_BY_KIND] = "kind",
    [STATS_BY_CATEGORY] = "category", [STATS_BY_CHANNEL] = "channel", [STATS_BY_DAY] = "day",
    [STATS_BY_NODE] = "node",
};

int stats_group_parse(const char *s, enum stats_group *out)
{
    for (int g = STATS_BY_UNIT; g < STATS_GROUP_COUNT; g++) {
        if (strcmp(group_names[g], s) == 0) {
            *out = (enum stats_group)g;
            return 0;
        }
    }
    return -1;
}

const char *stats_group_name(enum stats_group g)
{
    return g < STATS_GROUP_COUNT ? group_names[g] : "none";
}

void stats_add(struct stats_figures *sum, const struct stats_figures *row)
{
    for (int i = 0; i < STATS_COUNTER_COUNT; i++)
        sum->n[i] += row->n[i];
}

int stats_rate(long long part, long long whole, double *out)
{
    if (whole <= 0)
        return -1;
    if (part <= 0)
        *out = 0;
    else if (part >= whole)
        *out = 1;
    else /* in ten-thousandths, half up, in integers: the same everywhere */
        *out = (double)((part * 20000 + whole) / (2 * whole)) / 10000;
    return 0;
}

/* The value of column 'c': 0 and '*count' for a number, 1 and '*rate' for
 * a rate, -1 for a rate that has none. */
static int column_value(const struct column *c, const struct stats_figures *f, long long *count,
                        double *rate)
{
    long long sum = 0;

    switch (c->type) {
    case VALUE_COUNT:
        *count = f->n[c->a];
        return 0;
    case VALUE_SUM:
        for (int i = c->a; i <= (int)c->b; i++)
            sum += f->n[i];
        *count = sum;
        return 0;
    case VALUE_DIFF:
        *count = f->n[c->a] - f->n[c->b];
        return 0;
    case VALUE_RATE:
        return stats_rate(f->n[c->a], f->n[c->b], rate) == 0 ? 1 : -1;
    }
    return -1;
}

/* Sets the member at dotted 'path' of 'obj' to 'value' (taken), making the
 * objects on the way.  Returns 0, or -1. */
static int json_put(json_t *obj, const char *path, json_t *value)
{
    const char *dot = strchr(path, '.');

    if (value == NULL)
        return -1;
    if (dot == NULL)
        return json_object_set_new(obj, path, value);
    char key[64];
    size_t len = (size_t)(dot - path);
    if (len >= sizeof(key)) {
        json_decref(value);
        return -1;
    }
    memcpy(key, path, len);
    key[len] = '\0';
    json_t *inner = json_object_get(obj, key);
    if (inner == NULL) {
        inner = json_object();
        if (json_object_set_new(obj, key, inner) < 0) {
            json_decref(value);
            return -1;
        }
    }
    return json_put(inner, dot + 1, value);
}

int stats_json(json_t *obj, const struct stats_figures *f)
{
    for (size_t i = 0; i < NCOLUMNS; i++) {
        long long count = 0;
        double rate = 0;
        int kind = column_value(&columns[i], f, &count, &rate);
        json_t *value = kind == 0   ? json_integer((json_int_t)count)
                        : kind == 1 ? json_real(rate)
                                    : json_null();
        if (json_put(obj, columns[i].path, value) < 0)
            return -1;
    }
    return 0;
}
