/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emergency.h - the emergency list of a node (Art 14) and the matching of
 * an appeal against it, pure.
 */
#ifndef HOTLINE_EMERGENCY_H
#define HOTLINE_EMERGENCY_H

#include <stddef.h>

#define EMERGENCY_MAX_KEYWORDS 20

struct emergency_rule {
    int id, version;
    const char *category; /* NULL: any */
    const char *keywords[EMERGENCY_MAX_KEYWORDS];
    size_t nkeywords;
    const char *line; /* "110", "120", "119", "122" or "none" */
    int period_hours;
};

/*
 * The rule an appeal of 'category' with 'content' matches: one whose
 * category is the appeal's (or any) and one of whose keywords occurs in the
 * content.  When several match, the one with the shortest period wins, then
 * the lowest id, so the choice does not depend on order.  Returns it, or
 * NULL if none matches.
 */
const struct emergency_rule *emergency_match(const struct emergency_rule *rules, size_t n,
                                             const char *category, const char *content);

/* The lines an emergency is handed to (Art 14), and "none"; NULL-terminated. */
extern const char *const emergency_lines[];

/* Returns 1 if 'line' is one of the emergency lines or "none", else 0. */
int emergency_line_valid(const char *line);

#endif
