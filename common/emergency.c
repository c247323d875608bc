/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emergency.c - matching an appeal against the emergency list.
 *
 * Pure and small: keyword containment on the appeal's own words (Chinese
 * has no word boundaries, so a keyword is a substring, as an operator would
 * read it).  The list itself lives in the database (emergencydb.c).
 */
#include "emergency.h"

#include <string.h>

const char *const emergency_lines[] = {"110", "120", "119", "122", "none", NULL};

int emergency_line_valid(const char *line)
{
    for (size_t i = 0; emergency_lines[i] != NULL; i++)
        if (strcmp(emergency_lines[i], line) == 0)
            return 1;
    return 0;
}

static int rule_matches(const struct emergency_rule *r, const char *category, const char *content)
{
    if (r->category != NULL && strcmp(r->category, category) != 0)
        return 0;
    for (size_t k = 0; k < r->nkeywords; k++)
        if (r->keywords[k][0] != '\0' && strstr(content, r->keywords[k]) != NULL)
            return 1;
    return 0;
}

const struct emergency_rule *emergency_match(const struct emergency_rule *rules, size_t n,
                                             const char *category, const char *content)
{
    const struct emergency_rule *best = NULL;

    for (size_t i = 0; i < n; i++) {
        const struct emergency_rule *r = &rules[i];
        if (!rule_matches(r, category, content))
            continue;
        if (best == NULL || r->period_hours < best->period_hours ||
            (r->period_hours == best->period_hours && r->id < best->id))
            best = r;
    }
    return best;
}
