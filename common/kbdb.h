/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kbdb.h - the SQL of the knowledge base: the only code that reads or
 * writes kb_entries, kb_versions and kb_corrections (common/sql/020_kb.sql)
 * and kb_copies, the entries the province keeps as this node holds them
 * (common/sql/081_broadcasts.sql).
 *
 * Writes run in transactions of their own, so an entry, its versions and
 * its corrections never disagree; a write that changes what readers see of
 * an entry shares it (broadcast.h) for 'node' in the same transaction.
 * Times are the node's clock, passed in.
 */
#ifndef HOTLINE_KBDB_H
#define HOTLINE_KBDB_H

#include "auth.h"
#include "db.h"
#include "kb.h"

#include <jansson.h>
#include <stdint.h>

struct node;

/* Who writes, and when. */
struct kb_author {
    const char *name;
    const char *role;
    int64_t at;
};

/* A version as submitted: dates "YYYY-MM-DD", grams as array literals. */
struct kb_content {
    const char *title, *text;
    const char *valid_from;
    const char *valid_until;      /* NULL: open-ended */
    const char *publication_date; /* dated types, else NULL */
    const char *official_text;    /* may be NULL */
    int late;
    const char *title_grams, *text_grams;
};

/* The header of an entry. */
struct kb_entry {
    long long id;
    enum kb_type type;
    char unit[AUTH_MAX_UNIT + 1];
    char unit_name[AUTH_MAX_NAME + 1];
    int latest;    /* its newest version */
    int published; /* its published version, 0 if none */
    int pending;   /* its pending version, 0 if none */
    int open_corrections;
    int64_t created_at, updated_at;
};

/* One version, its strings valid until kbdb_version_clear(). */
struct kb_version {
    PGresult *res;
    int version;
    enum kb_state state;
    const char *title, *text, *valid_from, *valid_until, *publication_date, *official_text;
    int late;
};

/*
 * Creates an entry of 'type' for 'unit' with 'c' as version 1, pending or,
 * with 'publish', published by 'by' at once.  Returns the entry's number, or
 * -1 on error (logged).
 */
long long kbdb_create(struct db *db, const struct node *node, enum kb_type type, const char *unit,
                      const struct kb_content *c, int publish, const struct kb_author *by);

/* Loads entry 'id'.  Returns 1 and fills 'out', 0 if there is none, -1 on error. */
int kbdb_entry(struct db *db, long long id, struct kb_entry *out);

/*
 * Loads version 'version' of entry 'id'.  Returns 1 and fills 'out' (free
 * it with kbdb_version_clear), 0 if there is none, -1 on error.
 */
int kbdb_version(struct db *db, long long id, int version, struct kb_version *out);

/* Frees what 'v' holds; safe on a cleared or zeroed one. */
void kbdb_version_clear(struct kb_version *v);

/* The version as the API shows it; NULL on failure. */
json_t *kbdb_version_json(const struct kb_version *v);

/*
 * Adds 'c' as the next version of entry 'id', whose newest version must
 * still be 'expected_latest' (the one 'c' was made from); a pending version
 * is withdrawn.  With 'publish' the new version is published at once.
 * Returns the new version's number, 0 if another version came first, -1
 * on error.
 */
int kbdb_add_version(struct db *db, const struct node *node, long long id, int expected_latest,
                     const struct kb_content *c, int publish, const struct kb_author *by);

/*
 * Publishes ('approve') or rejects with 'reason' the pending version
 * 'version' of entry 'id'.  Publishing supersedes the version published
 * before and closes the open corrections filed before the version was
 * submitted.  Returns 1, 0 if that version is not pending, -1 on error.
 */
int kbdb_review(struct db *db, const struct node *node, long long id, int version, int approve,
                const char *reason, const struct kb_author *by);

/*
 * Withdraws the published version 'version' of entry 'id' for 'reason':
 * readers no longer see the entry until another version is published.
 * Returns 1, 0 if that version is not the published one, -1 on error.
 */
int kbdb_withdraw(struct db *db, const struct node *node, long long id, int version,
                  const char *reason, const struct kb_author *by);

/*
 * Every version of entry 'id', oldest first; with 'all' false only the
 * published and superseded ones.  NULL on error.
 */
json_t *kbdb_versions(struct db *db, long long id, int all);

/* What a search or listing asks for. */
struct kb_query {
    enum kb_state state;  /* KB_PUBLISHED: valid on 'today'; or KB_PENDING */
    const int32_t *grams; /* of the query text; NULL to list without ranking */
    size_t ngrams;
    const char *type;  /* NULL for any */
    const char *unit;  /* NULL for any */
    const char *today; /* "YYYY-MM-DD" */
    int limit;
};

/*
 * The entries whose 'state' version matches 'q': with grams, those sharing
 * a bigram with the query, best first (kb_score, kb_rank), each with its
 * "score"; without, by number.  At most q->limit; '*total' is how many
 * matched.  Returns a JSON array, or NULL on error.
 */
json_t *kbdb_search(struct db *db, const struct kb_query *q, long long *total);

/*
 * Files a correction of entry 'id' with 'note', due at 'deadline'.  Returns
 * the correction's number, or -1 on error.
 */
long long kbdb_correction_file(struct db *db, long long id, const char *note, int64_t deadline,
                               int provisional, const struct kb_author *by);

/* Which corrections to list; 0 or NULL for any. */
struct kb_correction_filter {
    long long id;
    long long entry;
    const char *unit;
    const enum kb_correction_state *state;
    int64_t now; /* for open and overdue */
};

/* The corrections matching 'f', oldest first, as a JSON array; NULL on error. */
json_t *kbdb_corrections(struct db *db, const struct kb_correction_filter *f);

/*
 * Entry 'key' of this node ("440000-KB-0001", the node's code in front) as
 * a broadcast carries it: its published version with the entry's type,
 * unit, unit_name, created_at and updated_at; JSON null when nothing is
 * published.  An official text too long for one message is left out
 * (logged).  NULL on a database error.
 */
json_t *kbdb_broadcast(struct db *db, const char *key);

/* Returns 1 if 'data' is an entry in that form and 'key' names an entry of
 * another node, else 0. */
int kbdb_copy_valid(const char *key, json_t *data);

/*
 * Keeps 'data' (checked by kbdb_copy_valid) as the copy 'key', read-only
 * and searchable here; NULL data removes the copy.  Returns 0, 1 if 'key'
 * is not a copy's, -1 on error.
 */
int kbdb_copy_apply(struct db *db, const char *key, json_t *data);

/*
 * The copy 'id' (another node's code, '-', an API id) as the API shows an
 * entry, with its "origin".  Returns 1 and stores it in '*out' (the caller
 * owns it), 0 if there is none, -1 on error.
 */
int kbdb_copy(struct db *db, const char *id, json_t **out);

#endif
