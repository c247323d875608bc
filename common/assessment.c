/* SPDX-License-Identifier: Apache-2.0 */
/*
 * assessment.c - the formula of assessment.h, as one table of parts.
 *
 * Pure; runs in HTTP workers.  Rates are rounded before they are weighed,
 * so anyone can recompute a score from the rates the report shows.
 */
#include "assessment.h"

#include "stats.h"

#include <string.h>

struct part {
    const char *name;
    /* the good ones and all of them */
    long long (*good)(const struct assessment_figures *f);
    long long (*whole)(const struct assessment_figures *f);
};

static long long on_time(const struct assessment_figures *f)
{
    return f->completed_on_time;
}

static long long completed(const struct assessment_figures *f)
{
    return f->completed;
}

static long long satisfied(const struct assessment_figures *f)
{
    return f->satisfied;
}

static long long rated(const struct assessment_figures *f)
{
    return f->rated;
}

static long long proper_returns(const struct assessment_figures *f)
{
    return f->returns_approved;
}

static long long decided_returns(const struct assessment_figures *f)
{
    return f->returns_approved + f->returns_refused;
}

static long long not_redone(const struct assessment_figures *f)
{
    return f->completed - f->redo_approved;
}

static const struct part parts[ASSESSMENT_PART_COUNT] = {
    [ASSESSMENT_ON_TIME] = {"on_time", on_time, completed},
    [ASSESSMENT_SATISFACTION] = {"satisfaction", satisfied, rated},
    [ASSESSMENT_RETURNS] = {"returns", proper_returns, decided_returns},
    [ASSESSMENT_REDO] = {"redo", not_redone, completed},
};

const char *assessment_part_name(enum assessment_part p)
{
    return p < ASSESSMENT_PART_COUNT ? parts[p].name : "unknown";
}

void assessment_score(const struct assessment_figures *f, const struct assessment_weights *w,
                      struct assessment_result *out)
{
    double weighed = 0;
    long long weights = 0;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < ASSESSMENT_PART_COUNT; i++) {
        const struct part *p = &parts[i];
        out->has_rate[i] = stats_rate(p->good(f), p->whole(f), &out->rate[i]) == 0;
        if (out->has_rate[i] && w->part[i] > 0) {
            weighed += w->part[i] * out->rate[i];
            weights += w->part[i];
        }
    }
    if (weights == 0)
        return;
    double score = 100 * weighed / (double)weights - (double)w->penalty_supervised * f->supervised;
    score = score < 0 ? 0 : score > 100 ? 100 : score;
    out->has_score = 1;
    out->score = (double)(long long)(score * 100 + 0.5) / 100;
}
