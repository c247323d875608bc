/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kb.h - the rules of the knowledge base (知识库, Art 18), pure: no I/O, no
 * clock.  Which types of entry there are and what each allows, who may
 * edit and read an entry, when a policy was submitted too late, when a
 * correction is due and whether it is overdue, and how search results rank.
 *
 * The SQL is in kbdb.c and the HTTP routes in kb_api.c; both call these.
 */
#ifndef HOTLINE_KB_H
#define HOTLINE_KB_H

#include "auth.h"
#include "calendar.h"

#include <stddef.h>
#include <stdint.h>

/* "KB-0001": the prefix and at least four digits; an entry another node
 * keeps has that node's code in front, "440000-KB-0001". */
#define KB_ID_LEN 32

/* Bounds of a version's text, in characters. */
#define KB_MAX_TITLE         200
#define KB_MAX_TEXT          20000
#define KB_MAX_OFFICIAL_TEXT 100000

enum kb_type {
    KB_DUTY,          /* 职责 */
    KB_POWER_LIST,    /* 权责清单 */
    KB_SERVICE_ITEM,  /* 服务事项 */
    KB_CONTACT,       /* 联系方式 */
    KB_OFFICE_HOURS,  /* 办公时间 */
    KB_POLICY,        /* 政策 */
    KB_ANSWER_SCRIPT, /* 应答口径 */
    KB_TYPE_COUNT,
};

/* The names of the types, in enum order, NULL-terminated (for input.h). */
extern const char *const kb_type_names[];

/* What each type of entry carries and allows. */
struct kb_type_rule {
    /* It has a publication date, is flagged late when submitted too close
     * to it, and takes its official text on or after it (policies). */
    int dated;
    /* A manager may publish a version at once, without review (answer
     * scripts for major or sudden events). */
    int publish_at_once;
};

/* The rule of 'type'. */
const struct kb_type_rule *kb_type_rule(enum kb_type type);

/* Parses a type name.  Returns 0, or -1 if unknown. */
int kb_type_parse(const char *s, enum kb_type *out);

/*
 * The review state of a version.  A unit's version is pending until a
 * manager publishes or rejects it; publishing one supersedes the version
 * published before it; a newer version submitted while one is pending
 * withdraws that one.
 */
enum kb_state {
    KB_PENDING,
    KB_PUBLISHED,
    KB_REJECTED,
    KB_SUPERSEDED,
    KB_WITHDRAWN,
    KB_STATE_COUNT,
};

/* "pending", "published", ... */
const char *kb_state_name(enum kb_state state);

/* Parses a state name.  Returns 0, or -1 if unknown. */
int kb_state_parse(const char *s, enum kb_state *out);

/* Writes the API id of entry 'n' ("KB-0001") into 'out'. */
void kb_id_format(long long n, char out[KB_ID_LEN + 1]);

/* Parses an API id: "KB-" and 1 to 15 digits, not zero.  Returns 0 and
 * writes the number, or -1. */
int kb_id_parse(const char *s, long long *n);

/* Writes the id of entry 'n' of node 'origin' ("440000-KB-0001"). */
void kb_copy_id_format(const char *origin, long long n, char out[KB_ID_LEN + 1]);

/*
 * Parses the id of an entry as another node names it: a node code (six
 * digits, not starting with 0), '-' and an API id.  Returns 0 and writes
 * the code and the number, or -1.
 */
int kb_copy_id_parse(const char *s, char origin[7], long long *n);

/*
 * Whether 'who' may submit versions of an entry of unit 'owner': a manager
 * (the hotline office) for any unit, a unit principal for its own unit only.
 */
int kb_may_edit(const struct principal *who, const char *owner);

/*
 * Whether 'who' may see a version in 'state' of an entry of 'owner':
 * published and superseded versions are public to every reader of the
 * knowledge base; pending, rejected and withdrawn ones only to those who may
 * edit the entry.
 */
int kb_may_see(const struct principal *who, const char *owner, enum kb_state state);

/*
 * Decision (Art 18, "new policies are submitted 3 to 10 working days before
 * publication"): a policy submitted at 'submitted' (microseconds since the
 * epoch) for publication on 'publication_day' is on time when that day is
 * no earlier than the 'notice_days'-th working day after the day of
 * submission, which is not counted, as for every period
 * (calendar_deadline).  Returns 1 if late, else 0.
 */
int kb_policy_late(const struct calendar *cal, int notice_days, int64_t submitted,
                   int32_t publication_day);

/*
 * The late flag of a new version of a policy for 'publication_day'
 * submitted at 'now'.  A version that keeps the publication day of the
 * version before it ('previous_day', with flag 'previous_late') keeps its
 * flag: correcting or completing a policy already announced is not a new
 * submission.  'previous_day' < 0 when there is no version before.
 */
int kb_policy_version_late(const struct calendar *cal, int notice_days, int64_t now,
                           int32_t publication_day, int32_t previous_day, int previous_late);

/* Whether the official text may be attached on day 'today': on or after
 * the publication day. */
int kb_official_text_allowed(int32_t today, int32_t publication_day);

/* Whether 'day' lies in the validity from..until ('until' < 0: open-ended). */
int kb_valid_on(int32_t day, int32_t from, int32_t until);

/*
 * The deadline of a correction filed at 'filed' (Art 18, "corrected within
 * 2 working days"): 23:59:59 +08:00 of the 'days'-th working day after the
 * day of filing.  Writes the provisional flag of calendar_deadline.
 */
int64_t kb_correction_deadline(const struct calendar *cal, int days, int64_t filed,
                               int *provisional);

enum kb_correction_state {
    KB_CORRECTION_OPEN,
    KB_CORRECTION_OVERDUE,
    KB_CORRECTION_CLOSED,
};

/*
 * The state of a correction at 'now': closed once a version the unit
 * submitted after the filing is published ('closed' true), else overdue
 * past 'deadline', else open.
 */
enum kb_correction_state kb_correction_state(int closed, int64_t deadline, int64_t now);

/* "open", "overdue", "closed". */
const char *kb_correction_state_name(enum kb_correction_state state);

/* Parses a correction state name.  Returns 0, or -1 if unknown. */
int kb_correction_state_parse(const char *s, enum kb_correction_state *out);

/*
 * The rank of an entry for a query: the bigram similarity (ngram.h) of the
 * query to the title and to the text, the title weighing twice the text.
 * In [0, 1].
 */
double kb_score(const int32_t *query, size_t nquery, const int32_t *title, size_t ntitle,
                const int32_t *text, size_t ntext);

/* One search candidate: its row in the result and its score. */
struct kb_hit {
    int row;
    long long id;
    double score;
};

/* Sorts 'hits' best first: higher score, then the older entry (lower id),
 * then the earlier row (this node's entries before copies). */
void kb_rank(struct kb_hit *hits, size_t n);

#endif
