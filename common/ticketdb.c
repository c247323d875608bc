/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ticketdb.c - SQL for tickets, their events and the audit log.
 *
 * Runs in HTTP workers and in the clock thread, each on its own connection,
 * inside the transaction the workflow opened.  Times travel as microseconds
 * since the epoch, formatted by the node, never taken from the server.
 */
#include "ticketdb.h"

#include "calendar.h"
#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define US(col)      "(extract(epoch FROM " col ") * 1000000)::bigint"

/* clang-format off */
#define SELECT_TICKET                                                                              \
    "SELECT t.id, t.status, t.kind, t.channel, t.category, t.content, t.citizen_type,"             \
    " t.citizen_pii, t.division, t.address, t.lat, t.long, t.unit_code, u.name,"                   \
    " " US("t.received_at") ", " US("t.deadline") ", t.provisional, t.returns, t.extensions,"      \
    " t.no_return, t.due_soon, t.overdue, t.supervised, " US("t.created_at") ","                   \
    " " US("t.updated_at") ", t.redos, " US("t.rating_due") ", t.rated, t.rating_token_sha256,"    \
    " t.emergency_rule, t.emergency_version, t.emergency_line, t.emergency_hours,"                 \
    " t.pending, t.outcome, t.source, t.owner_node, " US("t.handed_at") ", t.transfer_final,"      \
    " t.remote_progress, t.pii_key_id"                                                             \
    " FROM tickets t LEFT JOIN units u ON u.code = t.unit_code"
/* clang-format on */

static void stamp(int64_t us, char out[CLOCK_RFC3339_LEN])
{
    clock_format(us, out);
}

int64_t ticketdb_us(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int ticketdb_next_id(struct db *db, const char *node, int64_t now, char id[TICKET_ID_LEN + 1])
{
    char day[CALENDAR_DATE_LEN];
    const char *p[] = {day};

    calendar_day_format(calendar_day_of(now), day);
    /* A transaction of its own, not waiting for the disk: see
     * 100_ticket_number.sql for why that is safe. */
    if (db_begin(db) < 0)
        return -1;
    PGresult *res = db_exec(db, "SET LOCAL synchronous_commit = off", 0, NULL) == 0
                        ? db_query(db, "SELECT ticket_number($1)", 1, p)
                        : NULL;
    long seq = res != NULL ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    /* Its COMMIT goes out with the intake's first statements. */
    if (res == NULL || db_send(db, "COMMIT", 0, NULL) < 0) {
        db_rollback(db);
        return -1;
    }
    if (seq < 1 || seq > 999999) {
        log_warnx("no ticket number left for day '%s'", day);
        return -1;
    }
    /* 2024-09-27 -> 20240927 */
    char text[64];
    snprintf(text, sizeof(text), "%.6s-%.4s%.2s%.2s-%06ld", node, day, day + 5, day + 8, seq);
    memcpy(id, text, TICKET_ID_LEN);
    id[TICKET_ID_LEN] = '\0';
    return 0;
}

char *ticketdb_bytea_hex(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(2 * len + 3);

    if (out == NULL)
        return NULL;
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[data[i] >> 4];
        out[3 + 2 * i] = digits[data[i] & 0xf];
    }
    out[2 + 2 * len] = '\0';
    return out;
}

int ticketdb_insert(struct db *db, const char *id, const char *node, const struct ticket_new *n,
                    int64_t now)
{
    char at[CLOCK_RFC3339_LEN], lat[32], lon[32], rule[16], version[16], hours[16];
    const struct emergency_rule *e = n->emergency;
    char *pii = ticketdb_bytea_hex(n->pii, n->pii_len);

    if (pii == NULL)
        return -1;
    if (n->lat != NULL)
        snprintf(lat, sizeof(lat), "%.7f", *n->lat);
    if (n->lon != NULL)
        snprintf(lon, sizeof(lon), "%.7f", *n->lon);
    if (e != NULL) {
        snprintf(rule, sizeof(rule), "%d", e->id);
        snprintf(version, sizeof(version), "%d", e->version);
        snprintf(hours, sizeof(hours), "%d", e->period_hours);
    }
    stamp(now, at);
    const char *p[] = {id,
                       ticket_kind_name(n->kind),
                       n->channel,
                       n->category,
                       n->content,
                       n->citizen_type,
                       pii,
                       n->pii_key_id,
                       n->phone_hash,
                       n->division,
                       n->address,
                       n->lat != NULL ? lat : NULL,
                       n->lon != NULL ? lon : NULL,
                       node,
                       at,
                       e != NULL ? rule : NULL,
                       e != NULL ? version : NULL,
                       e != NULL ? e->line : NULL,
                       e != NULL ? hours : NULL,
                       n->grams,
                       n->source,
                       n->media_url};
    int rc = db_send(db,
                     "INSERT INTO tickets (id, status, kind, channel, category, content,"
                     " citizen_type, citizen_pii, pii_key_id, phone_hash, division, address,"
                     " lat, long, owner_node, created_at, updated_at, emergency_rule,"
                     " emergency_version, emergency_line, emergency_hours, content_grams, source,"
                     " media_url) VALUES ($1, 'registered', $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                     " $11, $12, $13, $14, $15, $15, $16, $17, $18, $19, $20, $21, $22)",
                     22, p);
    free(pii);
    return rc;
}

static int flag(PGresult *res, int row, int col)
{
    return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

void ticketdb_row_read(PGresult *res, int i, struct ticket *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", PQgetvalue(res, i, COL_ID));
    ticket_status_parse(PQgetvalue(res, i, COL_STATUS), &t->status);
    ticket_kind_parse(PQgetvalue(res, i, COL_KIND), &t->kind);
    snprintf(t->category, sizeof(t->category), "%s", PQgetvalue(res, i, COL_CATEGORY));
    snprintf(t->unit, sizeof(t->unit), "%s", PQgetvalue(res, i, COL_UNIT));
    t->received_at = ticketdb_us(res, i, COL_RECEIVED_AT);
    t->deadline = ticketdb_us(res, i, COL_DEADLINE);
    t->provisional = flag(res, i, COL_PROVISIONAL);
    t->returns = atoi(PQgetvalue(res, i, COL_RETURNS));
    t->extensions = atoi(PQgetvalue(res, i, COL_EXTENSIONS));
    t->no_return = flag(res, i, COL_NO_RETURN);
    t->due_soon = flag(res, i, COL_DUE_SOON);
    t->overdue = flag(res, i, COL_OVERDUE);
    t->supervised = flag(res, i, COL_SUPERVISED);
    t->redos = atoi(PQgetvalue(res, i, COL_REDOS));
    t->rating_due = ticketdb_us(res, i, COL_RATING_DUE);
    t->rated = flag(res, i, COL_RATED);
    t->emergency_hours = atoi(PQgetvalue(res, i, COL_EMERGENCY_HOURS));
    t->national = strcmp(PQgetvalue(res, i, COL_SOURCE), "national_platform") == 0;
    t->handed_at = ticketdb_us(res, i, COL_HANDED_AT);
    t->transfer_final = flag(res, i, COL_TRANSFER_FINAL);
}

int ticketdb_load(struct db *db, const char *id, int for_update, struct ticket_row *row)
{
    const char *p[] = {id};

    /* A malformed id names no ticket; it never reaches the server. */
    row->res = NULL;
    if (!ticket_id_valid(id))
        return 0;
    row->res = db_query(db,
                        for_update ? SELECT_TICKET " WHERE t.id = $1 FOR UPDATE OF t"
                                   : SELECT_TICKET " WHERE t.id = $1",
                        1, p);
    if (row->res == NULL)
        return -1;
    if (PQntuples(row->res) != 1) {
        ticketdb_row_clear(row);
        return 0;
    }
    ticketdb_row_read(row->res, 0, &row->t);
    return 1;
}

void ticketdb_row_clear(struct ticket_row *row)
{
    PQclear(row->res);
    row->res = NULL;
}

int ticketdb_update(struct db *db, const struct ticket *t, const char *pending, const char *outcome,
                    int64_t now)
{
    char received[CLOCK_RFC3339_LEN], deadline[CLOCK_RFC3339_LEN], at[CLOCK_RFC3339_LEN];
    char rating_due[CLOCK_RFC3339_LEN], returns[12], extensions[12], redos[12];

    stamp(t->received_at, received);
    stamp(t->deadline, deadline);
    stamp(t->rating_due, rating_due);
    stamp(now, at);
    snprintf(returns, sizeof(returns), "%d", t->returns);
    snprintf(extensions, sizeof(extensions), "%d", t->extensions);
    snprintf(redos, sizeof(redos), "%d", t->redos);
    const char *p[] = {t->id,
                       ticket_status_name(t->status),
                       t->unit[0] != '\0' ? t->unit : NULL,
                       t->received_at != 0 ? received : NULL,
                       t->deadline != 0 ? deadline : NULL,
                       t->provisional ? "true" : "false",
                       returns,
                       extensions,
                       t->no_return ? "true" : "false",
                       t->due_soon ? "true" : "false",
                       t->overdue ? "true" : "false",
                       t->supervised ? "true" : "false",
                       pending,
                       outcome,
                       at,
                       redos,
                       t->rating_due != 0 ? rating_due : NULL,
                       t->rated ? "true" : "false",
                       ticket_kind_name(t->kind),
                       t->category};
    return db_exec(db,
                   "UPDATE tickets SET status = $2, unit_code = $3, received_at = $4,"
                   " deadline = $5, provisional = $6, returns = $7, extensions = $8,"
                   " no_return = $9, due_soon = $10, overdue = $11, supervised = $12,"
                   " pending = COALESCE($13, pending), outcome = COALESCE($14, outcome),"
                   " updated_at = $15, redos = $16, rating_due = $17, rated = $18,"
                   " kind = $19, category = $20, version = version + 1 WHERE id = $1",
                   20, p);
}

/*
 * The ticket as the master dataset receives it: an explicit list, so a
 * column added later stays at the node until someone decides otherwise.
 * No personal data: the phone only as its province-wide keyed hash; not the
 * address, nor the pending application or the outcome, which may quote the
 * citizen (Art 20).  The unit's name and the media link go along for the
 * province's Open311 view (open311_api.c).
 */
/* clang-format off */
#define MASTER_TICKET                                                                              \
    "jsonb_build_object('id', t.id, 'owner_node', t.owner_node, 'owner_epoch', t.owner_epoch,"     \
    " 'version', t.version, 'status', t.status, 'kind', t.kind, 'channel', t.channel,"             \
    " 'category', t.category, 'content', t.content, 'citizen_type', t.citizen_type,"               \
    " 'phone_hash', t.phone_hash, 'division', t.division, 'unit_code', t.unit_code,"               \
    " 'source', t.source, 'received_at', t.received_at, 'deadline', t.deadline,"                   \
    " 'provisional', t.provisional, 'returns', t.returns, 'extensions', t.extensions,"             \
    " 'redos', t.redos, 'no_return', t.no_return, 'due_soon', t.due_soon,"                         \
    " 'overdue', t.overdue, 'supervised', t.supervised, 'rated', t.rated,"                         \
    " 'rating_due', t.rating_due, 'emergency_line', t.emergency_line,"                             \
    " 'emergency_hours', t.emergency_hours, 'created_at', t.created_at,"                           \
    " 'updated_at', t.updated_at, 'event_seq', t.event_seq, 'event_hash', t.event_hash,"           \
    " 'media_url', t.media_url,"                                                                   \
    " 'unit_name', (SELECT u.name FROM units u WHERE u.code = t.unit_code))"
/* clang-format on */

/*
 * A change for the master dataset: the ticket, the event and, for a
 * completion approved, the deadline then in force (stats_completions: a
 * later redo gives the ticket another), so the province counts it on time
 * or late as the node does.  From tickets t and ticket_events e.
 */
#define MASTER_ITEM                                                                                \
    "(jsonb_build_object('ticket', " MASTER_TICKET ", 'event', to_jsonb(e))"                       \
    " || COALESCE((SELECT jsonb_build_object('approval_deadline', c.deadline)"                     \
    "              FROM stats_completions c WHERE c.ticket_id = e.ticket_id AND c.seq = e.seq),"   \
    "             '{}'))::text"

/*
 * Queues the change for the provincial master dataset, in the transaction
 * that made it: the ticket as it now is, without personal data, and the
 * event.  The link thread is woken when the transaction commits.
 */
static int ticketdb_announce(struct db *db, const char *id, int seq, int64_t now)
{
    char seqs[12], at[CLOCK_RFC3339_LEN], stream[12];
    const char *p[] = {id, seqs, at, stream};

    snprintf(seqs, sizeof(seqs), "%d", seq);
    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    stamp(now, at);
    if (db_send(db,
                "INSERT INTO outbox (stream, body, created_at)"
                " SELECT $4, " MASTER_ITEM ", $3"
                " FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id"
                " WHERE t.id = $1 AND e.seq = $2",
                4, p) < 0)
        return -1;
    /* Other nodes hold copies of a ticket that was transferred: they get
     * its progress answer (transferdb_progress_flush). */
    if (db_send(db, "UPDATE tickets SET progress_sent = false WHERE id = $1 AND owner_epoch > 1", 1,
                p) < 0)
        return -1;
    return db_send(db, "NOTIFY outbox", 0, NULL);
}

long long ticketdb_announce_all(struct db *db, int64_t now)
{
    char at[CLOCK_RFC3339_LEN], stream[12];
    const char *p[] = {at, stream};

    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    stamp(now, at);
    if (db_begin(db) < 0)
        return -1;
    PGresult *res = db_query(db,
                             "INSERT INTO outbox (stream, body, created_at)"
                             " SELECT $2, " MASTER_ITEM ", $1"
                             " FROM tickets t JOIN ticket_events e ON e.ticket_id = t.id"
                             " WHERE NOT e.copied ORDER BY e.at, e.ticket_id, e.seq",
                             2, p);
    if (res == NULL || db_exec(db, "NOTIFY outbox", 0, NULL) < 0 || db_commit(db) < 0) {
        PQclear(res);
        db_rollback(db);
        return -1;
    }
    long long n = atoll(PQcmdTuples(res));
    PQclear(res);
    return n;
}

/* Appends a field to the text a hash covers, as a netstring ("5:hello,"), or
 * "-," for NULL, so no two different events give the same text. */
static void hash_field(FILE *f, const char *s)
{
    if (s == NULL)
        fputs("-,", f);
    else
        fprintf(f, "%zu:%s,", strlen(s), s);
}

int ticketdb_event_hash(const char *prev, const char *id, int seq, int64_t at,
                        const char *const fields[7], char out[CRYPTO_SHA256_HEX_LEN + 1])
{
    char *text = NULL, num[32];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f == NULL)
        return -1;
    hash_field(f, prev);
    hash_field(f, id);
    snprintf(num, sizeof(num), "%d", seq);
    hash_field(f, num);
    snprintf(num, sizeof(num), "%" PRId64, at);
    hash_field(f, num);
    for (int i = 0; i < 7; i++)
        hash_field(f, fields[i]);
    if (fclose(f) != 0)
        return -1;
    crypto_sha256_hex(text, len, out);
    free(text);
    return 0;
}

void ticketdb_head_new(struct ticketdb_head *head)
{
    head->seq = 0;
    snprintf(head->hash, sizeof(head->hash), "%s", GENESIS_HASH);
}

int ticketdb_head(struct db *db, const char *id, struct ticketdb_head *head)
{
    const char *p[] = {id};
    PGresult *res = db_query(db,
                             "SELECT seq, hash FROM ticket_events WHERE ticket_id = $1"
                             " ORDER BY seq DESC LIMIT 1",
                             1, p);
    if (res == NULL)
        return -1;
    ticketdb_head_new(head);
    if (PQntuples(res) > 0) {
        head->seq = atoi(PQgetvalue(res, 0, 0));
        snprintf(head->hash, sizeof(head->hash), "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return 0;
}

int ticketdb_append(struct db *db, const char *id, struct ticketdb_head *head,
                    const struct ticket_event *e, int64_t now)
{
    int seq = head->seq + 1;
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    const char *from = e->from == STATUS_COUNT ? NULL : ticket_status_name(e->from);
    const char *fields[7] = {e->actor,  e->role,  e->action, from, ticket_status_name(e->to),
                             e->reason, e->detail};

    if (ticketdb_event_hash(head->hash, id, seq, now, fields, hash) < 0)
        return -1;
    char seqs[12], at[CLOCK_RFC3339_LEN];
    snprintf(seqs, sizeof(seqs), "%d", seq);
    stamp(now, at);
    const char *q[] = {id,        seqs,      at,        e->actor,  e->role,    e->action,
                       fields[3], fields[4], e->reason, e->detail, head->hash, hash};
    if (db_send(db,
                "INSERT INTO ticket_events (ticket_id, seq, at, actor, role, action,"
                " from_status, to_status, reason, detail, prev_hash, hash)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                12, q) < 0)
        return -1;
    const char *p[] = {id, seqs, hash};
    if (db_send(db, "UPDATE tickets SET event_seq = $2, event_hash = $3 WHERE id = $1", 3, p) < 0)
        return -1;
    head->seq = seq;
    memcpy(head->hash, hash, sizeof(hash));
    return ticketdb_announce(db, id, seq, now);
}

int ticketdb_event(struct db *db, const char *id, const struct ticket_event *e, int64_t now)
{
    struct ticketdb_head head;

    return ticketdb_head(db, id, &head) < 0 ? -1 : ticketdb_append(db, id, &head, e, now);
}

#define SELECT_EVENTS                                                                              \
    "SELECT ticket_id, seq, " US("at") ", actor, role, action, from_status, to_status,"            \
                                       " reason, detail, prev_hash, hash FROM ticket_events"

static json_t *nullable(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

json_t *ticketdb_events(struct db *db, const char *id)
{
    const char *p[] = {id};
    PGresult *res = db_query(db, SELECT_EVENTS " WHERE ticket_id = $1 ORDER BY seq", 1, p);

    if (res == NULL)
        return NULL;
    json_t *events = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char at[CLOCK_RFC3339_LEN];
        stamp(ticketdb_us(res, i, 2), at);
        json_t *detail =
            PQgetisnull(res, i, 9) ? json_null() : json_loads(PQgetvalue(res, i, 9), 0, NULL);
        json_array_append_new(
            events, json_pack("{s:i,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:s}", "seq",
                              atoi(PQgetvalue(res, i, 1)), "at", at, "actor", PQgetvalue(res, i, 3),
                              "role", PQgetvalue(res, i, 4), "action", PQgetvalue(res, i, 5),
                              "from", nullable(res, i, 6), "to", PQgetvalue(res, i, 7), "reason",
                              nullable(res, i, 8), "detail", detail != NULL ? detail : json_null(),
                              "hash", PQgetvalue(res, i, 11)));
    }
    PQclear(res);
    return events;
}

int ticketdb_audit(struct db *db, const struct principal *p, const char *id, const char *what,
                   int64_t now)
{
    char at[CLOCK_RFC3339_LEN], pid[24];

    stamp(now, at);
    snprintf(pid, sizeof(pid), "%lld", p->id);
    const char *q[] = {at, pid, p->name, auth_role_name(p->role), id, what};
    return db_send(db,
                   "INSERT INTO audit_log (at, principal_id, actor, role, ticket_id, what)"
                   " VALUES ($1, $2, $3, $4, $5, $6)",
                   6, q);
}

int ticketdb_audit_all(struct db *db, const struct principal *p, const char *const *ids, size_t n,
                       const char *what, int64_t now)
{
    char at[CLOCK_RFC3339_LEN], pid[24];

    if (n == 0)
        return 0;
    /* The array {"id","id",...}, each quoted as an array element. */
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(ids[i]) + 3;
    char *list = malloc(cap), *end = list;
    if (list == NULL) {
        log_warnx("out of memory");
        return -1;
    }
    *end++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            *end++ = ',';
        *end++ = '"';
        for (const char *c = ids[i]; *c != '\0'; c++) {
            if (*c == '"' || *c == '\\')
                *end++ = '\\';
            *end++ = *c;
        }
        *end++ = '"';
    }
    strcpy(end, "}");
    stamp(now, at);
    snprintf(pid, sizeof(pid), "%lld", p->id);
    const char *q[] = {at, pid, p->name, auth_role_name(p->role), list, what};
    int rc = db_exec(db,
                     "INSERT INTO audit_log (at, principal_id, actor, role, ticket_id, what)"
                     " SELECT $1, $2, $3, $4, unnest($5::text[]), $6",
                     6, q);
    free(list);
    return rc;
}

json_t *ticketdb_audit_list(struct db *db, const char *id)
{
    const char *p[] = {id};
    PGresult *res = db_query(db,
                             "SELECT " US("at") ", actor, role, ticket_id, what FROM audit_log"
                                                " WHERE ticket_id = $1 ORDER BY at, id",
                             1, p);
    if (res == NULL)
        return NULL;
    json_t *entries = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char at[CLOCK_RFC3339_LEN];
        stamp(ticketdb_us(res, i, 0), at);
        json_array_append_new(
            entries, json_pack("{s:s,s:s,s:s,s:s,s:s}", "at", at, "actor", PQgetvalue(res, i, 1),
                               "role", PQgetvalue(res, i, 2), "ticket", PQgetvalue(res, i, 3),
                               "what", PQgetvalue(res, i, 4)));
    }
    PQclear(res);
    return entries;
}

/* A list filter: the column test of a value given. */
struct list_test {
    const char *sql; /* with %d for the parameter's number */
    const char *value;
};

PGresult *ticketdb_list(struct db *db, const struct ticket_filter *f, long long *total)
{
    char from[CLOCK_RFC3339_LEN], to[CLOCK_RFC3339_LEN], limit[12], offset[24];
    char where[512] = "", sql[sizeof(SELECT_TICKET) + sizeof(where) + 128];
    const char *overdue = f->overdue < 0 ? NULL : f->overdue ? "true" : "false";
    const char *p[8];
    int n = 0;

    stamp(f->from, from);
    stamp(f->to, to);
    const struct list_test tests[] = {
        {"t.status = $%d", f->status},
        {"t.unit_code = $%d", f->unit},
        {"t.kind = $%d", f->kind},
        {"t.overdue = $%d::boolean", overdue},
        {"t.created_at >= $%d::timestamptz", f->from != 0 ? from : NULL},
        {"t.created_at < $%d::timestamptz", f->to != 0 ? to : NULL},
    };
    /* Only the filters given: each combination is a statement text of its
     * own, planned once per connection with its index, where one text for
     * all ('$1 IS NULL OR t.status = $1') was planned again at every call. */
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (tests[i].value == NULL)
            continue;
        size_t len = strlen(where);
        snprintf(where + len, sizeof(where) - len, n == 0 ? " WHERE " : " AND ");
        len = strlen(where);
        snprintf(where + len, sizeof(where) - len, tests[i].sql, n + 1);
        p[n++] = tests[i].value;
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM tickets t%s", where);
    PGresult *count = db_query(db, sql, n, p);
    if (count == NULL)
        return NULL;
    *total = strtoll(PQgetvalue(count, 0, 0), NULL, 10);
    PQclear(count);
    snprintf(limit, sizeof(limit), "%d", f->page_size);
    snprintf(offset, sizeof(offset), "%lld", (long long)(f->page - 1) * f->page_size);
    p[n] = limit;
    p[n + 1] = offset;
    /* Emergencies jump the queue (Art 14); otherwise first come, first served. */
    snprintf(sql, sizeof(sql),
             SELECT_TICKET "%s ORDER BY t.emergency_hours IS NULL, t.created_at, t.id"
                           " LIMIT $%d OFFSET $%d",
             where, n + 1, n + 2);
    return db_query(db, sql, n + 2, p);
}

PGresult *ticketdb_due(struct db *db, int64_t horizon)
{
    char h[CLOCK_RFC3339_LEN];
    const char *p[] = {h};

    stamp(horizon, h);
    return db_query(db,
                    "SELECT id FROM tickets WHERE status IN ('handling', 'return_requested',"
                    " 'extension_requested', 'completion_requested')"
                    " AND deadline < $1 AND NOT overdue ORDER BY deadline",
                    1, p);
}

/* The first ticket whose recorded head is not the last event of its chain:
 * its newest events were removed.  Returns 1 with the id and the first
 * missing seq, 0 if every head holds, -1 on error. */
static int heads_verify(struct db *db, char ticket[TICKET_ID_LEN + 1], int *seq)
{
    PGresult *res = db_query(db,
                             "SELECT t.id, COALESCE(h.seq, 0) + 1 FROM tickets t"
                             " LEFT JOIN LATERAL (SELECT seq, hash FROM ticket_events e"
                             "     WHERE e.ticket_id = t.id ORDER BY seq DESC LIMIT 1) h ON true"
                             " WHERE t.event_seq IS DISTINCT FROM COALESCE(h.seq, 0)"
                             " OR t.event_hash IS DISTINCT FROM h.hash"
                             " ORDER BY t.id LIMIT 1",
                             0, NULL);
    if (res == NULL)
        return -1;
    int broken = PQntuples(res) == 1;
    if (broken) {
        snprintf(ticket, TICKET_ID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
        *seq = atoi(PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return broken;
}

int ticketdb_verify(struct db *db, long long *events, long long *tickets,
                    char ticket[TICKET_ID_LEN + 1], int *seq)
{
    PGresult *res = db_query(db, SELECT_EVENTS " ORDER BY ticket_id, seq", 0, NULL);
    char prev[CRYPTO_SHA256_HEX_LEN + 1] = GENESIS_HASH, hash[CRYPTO_SHA256_HEX_LEN + 1];
    const char *current = "";
    int expect = 1;

    if (res == NULL)
        return -1;
    *events = *tickets = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        int s = atoi(PQgetvalue(res, i, 1));
        if (strcmp(id, current) != 0) {
            current = id;
            expect = 1;
            snprintf(prev, sizeof(prev), "%s", GENESIS_HASH);
            (*tickets)++;
        }
        const char *fields[7];
        for (int c = 0; c < 7; c++)
            fields[c] = PQgetisnull(res, i, 3 + c) ? NULL : PQgetvalue(res, i, 3 + c);
        if (s != expect || strcmp(PQgetvalue(res, i, 10), prev) != 0 ||
            ticketdb_event_hash(prev, id, s, ticketdb_us(res, i, 2), fields, hash) < 0 ||
            strcmp(hash, PQgetvalue(res, i, 11)) != 0) {
            snprintf(ticket, TICKET_ID_LEN + 1, "%s", id);
            *seq = expect;
            PQclear(res);
            return 1;
        }
        snprintf(prev, sizeof(prev), "%s", hash);
        expect++;
        (*events)++;
    }
    PQclear(res);
    return heads_verify(db, ticket, seq);
}

int ticketdb_rating(struct db *db, const char *id, const struct ticket_rating *r, int bad,
                    int64_t now)
{
    char at[CLOCK_RFC3339_LEN], round[12];
    const char *p[] = {id, round, r->intake, r->handling, r->comment, r->by, at};

    stamp(now, at);
    snprintf(round, sizeof(round), "%d", r->round);
    if (db_exec(db,
                "INSERT INTO ticket_ratings (ticket_id, round, intake, handling, comment,"
                " by_whom, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                7, p) < 0)
        return -1;
    if (!bad)
        return 0;
    const char *q[] = {id, round, at};
    return db_exec(db, "INSERT INTO followups (ticket_id, round, created_at) VALUES ($1, $2, $3)",
                   3, q);
}

int ticketdb_rating_token(struct db *db, const char *id, const char *sha256)
{
    const char *p[] = {id, sha256};

    return db_exec(db, "UPDATE tickets SET rating_token_sha256 = $2 WHERE id = $1", 2, p);
}

PGresult *ticketdb_expired(struct db *db, int64_t now)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {at};

    stamp(now, at);
    return db_query(db,
                    "SELECT id FROM tickets WHERE status = 'completed' AND rating_due < $1"
                    " ORDER BY rating_due",
                    1, p);
}

json_t *ticketdb_followups(struct db *db, const char *state)
{
    const char *p[] = {state};
    PGresult *res = db_query(
        db,
        "SELECT f.id, f.ticket_id, f.round, " US(
            "f.created_at") ","
                            " " US(
                                "f.done_at") ", f.done_by, f.channel, f.outcome,"
                                             " r.intake, r.handling, t.unit_code"
                                             " FROM followups f JOIN tickets t ON t.id = "
                                             "f.ticket_id"
                                             " JOIN ticket_ratings r ON r.ticket_id = f.ticket_id"
                                             " AND r.round = f.round"
                                             " WHERE $1::text IS NULL OR ($1 = 'open') = "
                                             "(f.done_at IS NULL)"
                                             " ORDER BY f.created_at, f.id",
        1, p);
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char created[CLOCK_RFC3339_LEN], done[CLOCK_RFC3339_LEN];
        stamp(ticketdb_us(res, i, 3), created);
        stamp(ticketdb_us(res, i, 4), done);
        json_array_append_new(list,
                              json_pack("{s:I,s:s,s:i,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:o}", "id",
                                        (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                        "ticket", PQgetvalue(res, i, 1), "round",
                                        atoi(PQgetvalue(res, i, 2)), "created_at", created, "state",
                                        PQgetisnull(res, i, 4) ? "open" : "done", "intake",
                                        PQgetvalue(res, i, 8), "handling", nullable(res, i, 9),
                                        "unit", PQgetvalue(res, i, 10), "done_at",
                                        PQgetisnull(res, i, 4) ? json_null() : json_string(done),
                                        "done_by", nullable(res, i, 5), "channel",
                                        nullable(res, i, 6), "outcome", nullable(res, i, 7)));
    }
    PQclear(res);
    return list;
}

int ticketdb_followup_done(struct db *db, long long id, const char *who, const char *channel,
                           const char *outcome, int64_t now)
{
    char ids[24], at[CLOCK_RFC3339_LEN];
    const char *p[] = {ids, who, channel, outcome, at};

    snprintf(ids, sizeof(ids), "%lld", id);
    stamp(now, at);
    long long n = db_changed(db,
                             "UPDATE followups SET done_by = $2, channel = $3, outcome = $4,"
                             " done_at = $5 WHERE id = $1 AND done_at IS NULL",
                             5, p);
    return n < 0 ? -1 : n > 0;
}

PGresult *ticketdb_repeats(struct db *db, const char *id, const char *phone_hash,
                           const char *division, const char *grams, int64_t since)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {id, phone_hash, division, grams, at};

    stamp(since, at);
    return db_query(db,
                    "SELECT id, same_caller, same_place, grams"
                    " FROM ticket_repeats($1, $2, $3, $4::int[], $5)",
                    5, p);
}

int ticketdb_link(struct db *db, const char *id, const char *related, const char *by, int64_t now)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {id, related, by, at};

    stamp(now, at);
    return db_exec(db,
                   "INSERT INTO ticket_links (ticket_id, related_id, linked_by, linked_at)"
                   " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                   4, p);
}

json_t *ticketdb_first_rating(struct db *db, const char *id)
{
    const char *p[] = {id};
    PGresult *res = db_query(db,
                             "SELECT intake, handling FROM ticket_ratings"
                             " WHERE ticket_id = $1 AND round = 1",
                             1, p);
    if (res == NULL)
        return NULL;
    json_t *out = PQntuples(res) == 0 ? json_null()
                                      : json_pack("{s:s,s:s}", "intake", PQgetvalue(res, 0, 0),
                                                  "handling", PQgetvalue(res, 0, 1));
    PQclear(res);
    return out;
}

int ticketdb_settle(struct db *db, const char *id)
{
    const char *p[] = {id};

    return db_exec(db, "UPDATE tickets SET outcome = pending, pending = NULL WHERE id = $1", 1, p);
}

/* Reports one day, if its count changed.  Returns 1 if reported, 0, -1. */
static int report_day(struct db *db, const char *node, int32_t day, int64_t now)
{
    char date[CALENDAR_DATE_LEN], from[CLOCK_RFC3339_LEN], to[CLOCK_RFC3339_LEN];
    char at[CLOCK_RFC3339_LEN], stream[12];
    const char *p[] = {date, from, to, at, stream, node};

    calendar_day_format(day, date);
    stamp(calendar_day_start(day), from);
    stamp(calendar_day_start(day + 1), to);
    stamp(now, at);
    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    long long n = db_changed(db,
                             "WITH n AS (SELECT count(*) AS events FROM ticket_events"
                             "           WHERE at >= $2 AND at < $3 AND NOT copied),"
                             " changed AS (INSERT INTO sync_reports (day, events, reported_at)"
                             "    SELECT $1, n.events, $4 FROM n"
                             "    ON CONFLICT (day) DO UPDATE SET events = EXCLUDED.events,"
                             "    reported_at = EXCLUDED.reported_at"
                             "    WHERE sync_reports.events <> EXCLUDED.events"
                             "    RETURNING events)"
                             " INSERT INTO outbox (stream, body, created_at)"
                             " SELECT $5, jsonb_build_object('report', jsonb_build_object("
                             "     'node', $6::text, 'day', $1::text, 'events', events))::text, $4"
                             " FROM changed",
                             6, p);
    return n < 0 ? -1 : (int)n;
}

int ticketdb_report(struct db *db, const char *node, int64_t now)
{
    int32_t today = calendar_day_of(now);
    int reported = 0;

    if (db_begin(db) < 0)
        return -1;
    for (int32_t day = today - 1; day <= today; day++) {
        int rc = report_day(db, node, day, now);
        if (rc < 0) {
            db_rollback(db);
            return -1;
        }
        reported += rc;
    }
    if ((reported > 0 && db_exec(db, "NOTIFY outbox", 0, NULL) < 0) || db_commit(db) < 0) {
        db_rollback(db);
        return -1;
    }
    return reported;
}
