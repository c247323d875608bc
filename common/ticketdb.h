/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ticketdb.h - the SQL of work orders and their history: the only code that
 * reads or writes the tickets, ticket_events and audit_log tables, but for
 * an import from a legacy system, which loads whole histories with COPY
 * (importdb.c) and chains them with ticketdb_event_hash().
 *
 * Callers run these inside the transaction of one workflow command.
 */
#ifndef HOTLINE_TICKETDB_H
#define HOTLINE_TICKETDB_H

#include "db.h"
#include "emergency.h"
#include "crypto.h"
#include "ticket.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* One loaded ticket: the fields the rules use, and the row for display. */
struct ticket_row {
    struct ticket t;
    PGresult *res;
};

/* Columns of a loaded row, for ticket_api's rendering. */
enum ticket_column {
    COL_ID,
    COL_STATUS,
    COL_KIND,
    COL_CHANNEL,
    COL_CATEGORY,
    COL_CONTENT,
    COL_CITIZEN_TYPE,
    COL_CITIZEN_PII,
    COL_DIVISION,
    COL_ADDRESS,
    COL_LAT,
    COL_LONG,
    COL_UNIT,
    COL_UNIT_NAME,
    COL_RECEIVED_AT,
    COL_DEADLINE,
    COL_PROVISIONAL,
    COL_RETURNS,
    COL_EXTENSIONS,
    COL_NO_RETURN,
    COL_DUE_SOON,
    COL_OVERDUE,
    COL_SUPERVISED,
    COL_CREATED_AT,
    COL_UPDATED_AT,
    COL_REDOS,
    COL_RATING_DUE,
    COL_RATED,
    COL_RATING_TOKEN,
    COL_EMERGENCY_RULE,
    COL_EMERGENCY_VERSION,
    COL_EMERGENCY_LINE,
    COL_EMERGENCY_HOURS,
    COL_PENDING,
    COL_OUTCOME,
    COL_SOURCE,
    COL_OWNER_NODE,
    COL_HANDED_AT,
    COL_TRANSFER_FINAL,
    COL_REMOTE_PROGRESS,
    COL_PII_KEY_ID,
};

/* A new ticket, as intake validated it.  Strings are UTF-8 and bounded. */
struct ticket_new {
    enum ticket_kind kind;
    const char *channel, *category, *content;
    const char *citizen_type;
    const uint8_t *pii; /* sealed citizen */
    size_t pii_len;
    const char *pii_key_id;
    const char *phone_hash;
    const char *division, *address;
    const double *lat, *lon;                /* NULL if absent */
    const struct emergency_rule *emergency; /* the rule it matched, or NULL */
    const char *grams;                      /* content bigrams, an array literal */
    const char *source;                     /* "local" or "national_platform" */
    const char *media_url;                  /* an http(s) URL, or NULL */
};

/* What an event records besides the action. */
struct ticket_event {
    const char *actor;
    const char *role;
    const char *action;
    enum ticket_status from; /* STATUS_COUNT: none (the first event) */
    enum ticket_status to;
    const char *reason; /* may be NULL */
    const char *detail; /* JSON text without personal data, may be NULL */
};

/*
 * Draws the next ticket id of day 'now' for node 'node' into 'id', in a
 * transaction of its own (100_ticket_number.sql) whose COMMIT is sent
 * (db_send): call it outside one.  Returns 0 or -1 (logged).
 */
int ticketdb_next_id(struct db *db, const char *node, int64_t now, char id[TICKET_ID_LEN + 1]);

/* The hex text ("\x...") of bytea 'data', as PostgreSQL reads it (free),
 * or NULL if out of memory. */
char *ticketdb_bytea_hex(const uint8_t *data, size_t len);

/* Inserts ticket 'id', sent (db_send).  Returns 0 or -1. */
int ticketdb_insert(struct db *db, const char *id, const char *node, const struct ticket_new *n,
                    int64_t now);

/*
 * Loads ticket 'id' into 'row', locking it for the transaction when
 * 'for_update' is set.  Returns 1, 0 if there is no such ticket, -1 on error.
 * Release with ticketdb_row_clear().
 */
int ticketdb_load(struct db *db, const char *id, int for_update, struct ticket_row *row);
void ticketdb_row_clear(struct ticket_row *row);

/*
 * Stores the rule fields of 't' and the JSON texts 'pending' and 'outcome'
 * (NULL: unchanged), bumping the version.  Returns 0 or -1.
 */
int ticketdb_update(struct db *db, const struct ticket *t, const char *pending, const char *outcome,
                    int64_t now);

/* The head of a ticket's hash chain: its last event. */
struct ticketdb_head {
    int seq; /* 0: no event yet */
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
};

/* The head of a ticket without events. */
void ticketdb_head_new(struct ticketdb_head *head);

/* Reads the head of ticket 'id''s chain into 'head'.  Returns 0 or -1. */
int ticketdb_head(struct db *db, const char *id, struct ticketdb_head *head);

/*
 * Appends an event after 'head' to ticket 'id''s hash chain and moves
 * 'head' to it.  Its statements are sent (db_send): a failure shows at the
 * transaction's next statement that waits, or its commit.  Returns 0 or -1.
 */
int ticketdb_append(struct db *db, const char *id, struct ticketdb_head *head,
                    const struct ticket_event *e, int64_t now);

/* ticketdb_append after the ticket's current head. */
int ticketdb_event(struct db *db, const char *id, const struct ticket_event *e, int64_t now);

/*
 * Queues every event of every ticket for the master dataset again (after
 * the province lost data): the province skips what it has.  Returns the
 * number of events queued, or -1.
 */
long long ticketdb_announce_all(struct db *db, int64_t now);

/*
 * The chain hash of an event of ticket 'id' into 'out' (hex): over 'prev',
 * the previous event's hash (64 zeros for the first), its 'seq', its time
 * 'at' and 'fields': actor, role, action, from, to, reason, detail (NULL
 * where absent).  Returns 0 or -1.
 */
int ticketdb_event_hash(const char *prev, const char *id, int seq, int64_t at,
                        const char *const fields[7], char out[CRYPTO_SHA256_HEX_LEN + 1]);

/*
 * Reports to the province how many events yesterday and today (Beijing
 * days) hold, when that changed since the last report: a message on the
 * ticket stream, after the events it counts.  Returns the number of days
 * reported, or -1.
 */
int ticketdb_report(struct db *db, const char *node, int64_t now);

/* The ticket's events as a JSON array, oldest first; NULL on error. */
json_t *ticketdb_events(struct db *db, const char *id);

/* Records that 'p' read the personal data of ticket 'id', sent (db_send):
 * outside a transaction, db_wait before the data leaves.  Returns 0 or -1. */
int ticketdb_audit(struct db *db, const struct principal *p, const char *id, const char *what,
                   int64_t now);

/* Records in one statement, and outside a transaction one commit, that
 * 'p' read the personal data of the 'n' tickets 'ids'.  Returns 0 or -1. */
int ticketdb_audit_all(struct db *db, const struct principal *p, const char *const *ids, size_t n,
                       const char *what, int64_t now);

/* Audit entries of ticket 'id' as a JSON array; NULL on error. */
json_t *ticketdb_audit_list(struct db *db, const char *id);

/* Filters of a ticket list; NULL or -1 members do not filter. */
struct ticket_filter {
    const char *status, *unit, *kind;
    int overdue;         /* -1, 0 or 1 */
    int64_t from, to;    /* created_at range; 0: open */
    int page, page_size; /* from 1 */
};

/*
 * Lists tickets matching 'f' in creation order, a page at a time.  Returns
 * the rows (PQclear them) and stores the number of all matches in '*total',
 * or NULL on error.
 */
PGresult *ticketdb_list(struct db *db, const struct ticket_filter *f, long long *total);

/* Fills 'row->t' from row 'i' of a result with the columns above. */
void ticketdb_row_read(PGresult *res, int i, struct ticket *t);

/* Running tickets whose deadline is before 'horizon' and that are not yet
 * flagged overdue: their ids (PQclear), or NULL. */
PGresult *ticketdb_due(struct db *db, int64_t horizon);

/*
 * Checks every ticket's hash chain.  Returns 0 and the counts when all hold;
 * 1 with the first broken link in 'ticket' and '*seq'; -1 on error.
 */
int ticketdb_verify(struct db *db, long long *events, long long *tickets,
                    char ticket[TICKET_ID_LEN + 1], int *seq);

/*
 * Earlier appeals than 'id' created since 'since' and not rejected, newest
 * first: the latest of the caller of 'phone_hash', and those among the
 * latest in 'division' that share a gram of 'grams' (an array literal); see
 * ticket_repeats() in the migrations for the bounds.
 * Columns id, same_caller, same_place, content_grams (PQclear), or NULL.
 */
PGresult *ticketdb_repeats(struct db *db, const char *id, const char *phone_hash,
                           const char *division, const char *grams, int64_t since);

/* The pending application becomes the order's outcome (a completion
 * approved: its reply is the answer of record).  Returns 0 or -1. */
int ticketdb_settle(struct db *db, const char *id);

/* Records that 'id' is related to 'related'.  Returns 0 or -1. */
int ticketdb_link(struct db *db, const char *id, const char *related, const char *by, int64_t now);

/* A rating of one round of a ticket. */
struct ticket_rating {
    int round;
    const char *intake, *handling, *comment, *by;
};

/* Records a rating and, when it is bad, opens a follow-up.  Returns 0 or -1. */
int ticketdb_rating(struct db *db, const char *id, const struct ticket_rating *r, int bad,
                    int64_t now);

/* The first-round rating of ticket 'id' as {"intake","handling"}, JSON null
 * if there is none; NULL on error. */
json_t *ticketdb_first_rating(struct db *db, const char *id);

/* Sets (or with NULL clears) the hash of the ticket's rating token.  Returns 0 or -1. */
int ticketdb_rating_token(struct db *db, const char *id, const char *sha256);

/* Completed tickets whose rating window ended before 'now': ids (PQclear), or NULL. */
PGresult *ticketdb_expired(struct db *db, int64_t now);

/* Follow-ups in 'state' ("open", "done" or NULL for all) as a JSON array; NULL on error. */
json_t *ticketdb_followups(struct db *db, const char *state);

/*
 * Records the outcome of follow-up 'id' done by 'who' over 'channel'.
 * Returns 1, 0 if there is no open follow-up 'id', -1 on error.
 */
int ticketdb_followup_done(struct db *db, long long id, const char *who, const char *channel,
                           const char *outcome, int64_t now);

/* Microseconds since the epoch of a column holding them as text, 0 if NULL. */
int64_t ticketdb_us(PGresult *res, int row, int col);

#endif
