/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kb.c - the rules of the knowledge base, as tables and small functions.
 *
 * Called from HTTP workers; pure, so every rule is unit-tested without a
 * database (tests/unit/kb_test.c).  The periods (the notice a policy needs,
 * the days a correction may take) are the node's configuration and arrive
 * as arguments; the working days are those of the node's calendar.
 */
#include "kb.h"

#include "ngram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TITLE_WEIGHT 2.0
#define TEXT_WEIGHT  1.0

const char *const kb_type_names[] = {
    [KB_DUTY] = "duty",
    [KB_POWER_LIST] = "power_list",
    [KB_SERVICE_ITEM] = "service_item",
    [KB_CONTACT] = "contact",
    [KB_OFFICE_HOURS] = "office_hours",
    [KB_POLICY] = "policy",
    [KB_ANSWER_SCRIPT] = "answer_script",
    [KB_TYPE_COUNT] = NULL,
};

static const struct kb_type_rule type_rules[KB_TYPE_COUNT] = {
    [KB_DUTY] = {.dated = 0, .publish_at_once = 0},
    [KB_POWER_LIST] = {.dated = 0, .publish_at_once = 0},
    [KB_SERVICE_ITEM] = {.dated = 0, .publish_at_once = 0},
    [KB_CONTACT] = {.dated = 0, .publish_at_once = 0},
    [KB_OFFICE_HOURS] = {.dated = 0, .publish_at_once = 0},
    [KB_POLICY] = {.dated = 1, .publish_at_once = 0},
    [KB_ANSWER_SCRIPT] = {.dated = 0, .publish_at_once = 1},
};

static const char *const state_names[KB_STATE_COUNT] = {
    [KB_PENDING] = "pending",       [KB_PUBLISHED] = "published", [KB_REJECTED] = "rejected",
    [KB_SUPERSEDED] = "superseded", [KB_WITHDRAWN] = "withdrawn",
};

static const char *const correction_state_names[] = {
    [KB_CORRECTION_OPEN] = "open",
    [KB_CORRECTION_OVERDUE] = "overdue",
    [KB_CORRECTION_CLOSED] = "closed",
};

#define NCORRECTION_STATES (sizeof(correction_state_names) / sizeof(correction_state_names[0]))

/* The index of 's' among the 'n' names, or -1. */
static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] != NULL && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

const struct kb_type_rule *kb_type_rule(enum kb_type type)
{
    return &type_rules[type];
}

int kb_type_parse(const char *s, enum kb_type *out)
{
    int i = name_index(kb_type_names, KB_TYPE_COUNT, s);

    if (i < 0)
        return -1;
    *out = (enum kb_type)i;
    return 0;
}

const char *kb_state_name(enum kb_state state)
{
    return state_names[state];
}

int kb_state_parse(const char *s, enum kb_state *out)
{
    int i = name_index(state_names, KB_STATE_COUNT, s);

    if (i < 0)
        return -1;
    *out = (enum kb_state)i;
    return 0;
}

void kb_id_format(long long n, char out[KB_ID_LEN + 1])
{
    snprintf(out, KB_ID_LEN + 1, "KB-%04lld", n);
}

int kb_id_parse(const char *s, long long *n)
{
    size_t len;

    if (strncmp(s, "KB-", 3) != 0)
        return -1;
    len = strlen(s + 3);
    if (len == 0 || len > 15 || strspn(s + 3, "0123456789") != len)
        return -1;
    long long v = strtoll(s + 3, NULL, 10);
    if (v <= 0)
        return -1;
    *n = v;
    return 0;
}

void kb_copy_id_format(const char *origin, long long n, char out[KB_ID_LEN + 1])
{
    snprintf(out, KB_ID_LEN + 1, "%.6s-KB-%04lld", origin, n);
}

int kb_copy_id_parse(const char *s, char origin[7], long long *n)
{
    if (strspn(s, "0123456789") != 6 || s[0] == '0' || s[6] != '-' || kb_id_parse(s + 7, n) < 0)
        return -1;
    memcpy(origin, s, 6);
    origin[6] = '\0';
    return 0;
}

int kb_may_edit(const struct principal *who, const char *owner)
{
    if (who->role == ROLE_MANAGER)
        return 1;
    return who->role == ROLE_UNIT && strcmp(who->unit, owner) == 0;
}

int kb_may_see(const struct principal *who, const char *owner, enum kb_state state)
{
    if (state == KB_PUBLISHED || state == KB_SUPERSEDED)
        return 1;
    return kb_may_edit(who, owner);
}

int kb_policy_late(const struct calendar *cal, int notice_days, int64_t submitted,
                   int32_t publication_day)
{
    int64_t enough = calendar_deadline(cal, submitted, notice_days, NULL);

    return calendar_day_of(enough) > publication_day;
}

int kb_policy_version_late(const struct calendar *cal, int notice_days, int64_t now,
                           int32_t publication_day, int32_t previous_day, int previous_late)
{
    if (previous_day >= 0 && previous_day == publication_day)
        return previous_late != 0;
    return kb_policy_late(cal, notice_days, now, publication_day);
}

int kb_official_text_allowed(int32_t today, int32_t publication_day)
{
    return today >= publication_day;
}

int kb_valid_on(int32_t day, int32_t from, int32_t until)
{
    return day >= from && (until < 0 || day <= until);
}

int64_t kb_correction_deadline(const struct calendar *cal, int days, int64_t filed,
                               int *provisional)
{
    return calendar_deadline(cal, filed, days, provisional);
}

enum kb_correction_state kb_correction_state(int closed, int64_t deadline, int64_t now)
{
    if (closed)
        return KB_CORRECTION_CLOSED;
    return now > deadline ? KB_CORRECTION_OVERDUE : KB_CORRECTION_OPEN;
}

const char *kb_correction_state_name(enum kb_correction_state state)
{
    return correction_state_names[state];
}

int kb_correction_state_parse(const char *s, enum kb_correction_state *out)
{
    int i = name_index(correction_state_names, NCORRECTION_STATES, s);

    if (i < 0)
        return -1;
    *out = (enum kb_correction_state)i;
    return 0;
}

double kb_score(const int32_t *query, size_t nquery, const int32_t *title, size_t ntitle,
                const int32_t *text, size_t ntext)
{
    double t = ngram_similarity(query, nquery, title, ntitle);
    double x = ngram_similarity(query, nquery, text, ntext);

    return (TITLE_WEIGHT * t + TEXT_WEIGHT * x) / (TITLE_WEIGHT + TEXT_WEIGHT);
}

static int hit_order(const void *a, const void *b)
{
    const struct kb_hit *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (x->row > y->row) - (x->row < y->row);
}

void kb_rank(struct kb_hit *hits, size_t n)
{
    if (n > 1) /* qsort wants an array even for none */
        qsort(hits, n, sizeof(*hits), hit_order);
}
