/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overflow.c - a node's side of overflow: its offers as the owner, its
 * assists as a helper.
 *
 * Runs in the clock thread (offers and withdrawals, one transaction a
 * round), in the link thread (the province's messages, inside the stream's
 * transaction: the city's uplink, or at the province its hub, which
 * delivers its own messages to itself) and in HTTP workers (a helper's
 * operator triages).  Each on its own connection.  Where a ticket and its
 * offer are both locked, the ticket is locked first.
 *
 * The owner's offer of a ticket moves through rounds: offered, then
 * assigned to a helper or sent home (offered again after
 * overflow_retry_seconds), then triaged by the helper or withdrawn because
 * its own operators triaged it first.  Only the owner changes its ticket:
 * a helper's triage is applied through the workflow, as its own
 * operator's would be, and one that arrives too late is recorded on the
 * ticket and changes nothing else.
 */
#include "overflow.h"

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "ticket.h"
#include "ticketdb.h"
#include "utf8.h"
#include "wire.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFFERS_PER_ROUND 100
/* Bounds in bytes: four per character of the API's bounds. */
#define MAX_CONTENT     16000
#define MAX_ADDRESS     2000
#define MAX_EXPLANATION 8000
#define MAX_NAME        800
#define MAX_WORD        32

#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* clang-format off */
#define SELECT_QUEUED                                                                              \
    "SELECT kind, channel, category, content, division, address, " US("created_at")               \
    " FROM tickets WHERE id = $1 AND status = 'registered' FOR UPDATE"
#define SELECT_ASSIST                                                                              \
    "SELECT ticket_id, round, owner_node, owner_name, kind, channel, category, content,"           \
    " division, address, " US("created_at") ", " US("assigned_at") ", state, triage,"             \
    " triaged_by, " US("closed_at") " FROM assists"
/* clang-format on */

const char *const overflow_decisions[] = {"accept", "reject", NULL};

/* The channels of the intake queue: appeals submitted online. */
static const char *const online_channels[] = {"web", "app", "miniprogram", NULL};

/* --- messages ------------------------------------------------------------ */

static int one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; s != NULL && list[i] != NULL; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* Member 'name' of 'obj' if it is a string of 1 to 'max' bytes, else NULL. */
static const char *text(json_t *obj, const char *name, size_t max)
{
    json_t *v = json_object_get(obj, name);
    size_t len = json_string_length(v);

    return json_is_string(v) && len > 0 && len <= max ? json_string_value(v) : NULL;
}

/* An optional text member: absent or null gives NULL.  Returns 0, or -1 if
 * it is there and not a string of 1 to 'max' bytes. */
static int optional(json_t *obj, const char *name, size_t max, const char **out)
{
    json_t *v = json_object_get(obj, name);

    *out = v == NULL || json_is_null(v) ? NULL : text(obj, name, max);
    return v == NULL || json_is_null(v) || *out != NULL ? 0 : -1;
}

static int node_code(const char *s)
{
    return s != NULL && strlen(s) == 6 && strspn(s, "0123456789") == 6 && s[0] != '0' &&
           strcmp(s + 4, "00") == 0;
}

static int division_valid(const char *s)
{
    return s != NULL && strlen(s) == 6 && strspn(s, "0123456789") == 6 && s[0] != '0';
}

int overflow_ref_read(json_t *v, struct overflow_ref *out)
{
    const char *ticket = text(v, "ticket", TICKET_ID_LEN);
    json_t *round = json_object_get(v, "round");

    if (!json_is_object(v) || ticket == NULL || !ticket_id_valid(ticket) ||
        !json_is_integer(round) || json_integer_value(round) < 1 ||
        json_integer_value(round) > INT32_MAX)
        return -1;
    out->ticket = ticket;
    out->round = (int)json_integer_value(round);
    return 0;
}

int overflow_item_read(json_t *v, struct overflow_item *out)
{
    struct overflow_ref ref;
    struct overflow_item it = {
        .kind = text(v, "kind", MAX_WORD),
        .channel = text(v, "channel", MAX_WORD),
        .category = text(v, "category", MAX_WORD),
        .content = text(v, "content", MAX_CONTENT),
        .division = text(v, "division", 6),
        .address = text(v, "address", MAX_ADDRESS),
        .created_at = text(v, "created_at", CLOCK_RFC3339_LEN),
    };
    int64_t us;

    if (overflow_ref_read(v, &ref) < 0 || !one_of(it.kind, ticket_kinds) ||
        !one_of(it.channel, online_channels) || !one_of(it.category, ticket_categories) ||
        it.content == NULL || it.address == NULL || !division_valid(it.division) ||
        it.created_at == NULL || clock_parse(it.created_at, &us) < 0)
        return -1;
    it.ticket = ref.ticket;
    it.round = ref.round;
    *out = it;
    return 0;
}

int overflow_triage_read(json_t *v, struct overflow_triage *out)
{
    struct overflow_ref ref;
    struct overflow_triage t = {
        .decision = text(v, "decision", MAX_WORD),
        .by = text(v, "operator", MAX_NAME),
    };
    const char *field, *why;

    if (overflow_ref_read(v, &ref) < 0 || t.by == NULL ||
        optional(v, "kind", MAX_WORD, &t.kind) < 0 ||
        optional(v, "category", MAX_WORD, &t.category) < 0 ||
        optional(v, "reason", MAX_WORD, &t.reason) < 0 ||
        optional(v, "explanation", MAX_EXPLANATION, &t.explanation) < 0)
        return -1;
    t.ticket = ref.ticket;
    t.round = ref.round;
    if (overflow_triage_check(&t, &field, &why) < 0)
        return -1;
    *out = t;
    return 0;
}

static int fault(const char **field, const char **why, const char *f, const char *message)
{
    *field = f;
    *why = message;
    return -1;
}

int overflow_triage_check(const struct overflow_triage *t, const char **field, const char **why)
{
    if (!one_of(t->decision, overflow_decisions))
        return fault(field, why, "decision", "'decision' is accept or reject");
    if (strcmp(t->decision, "accept") == 0) {
        if (t->reason != NULL)
            return fault(field, why, "reason", "only an appeal not accepted has a reason");
        if (t->explanation != NULL)
            return fault(field, why, "explanation",
                         "only an appeal not accepted has an explanation");
        if (t->kind != NULL && !one_of(t->kind, ticket_kinds))
            return fault(field, why, "kind", "'kind' is not a kind of appeal");
        if (t->category != NULL && !one_of(t->category, ticket_categories))
            return fault(field, why, "category", "'category' is not a category of appeal");
        return 0;
    }
    if (t->kind != NULL)
        return fault(field, why, "kind", "an appeal not accepted keeps its kind");
    if (t->category != NULL)
        return fault(field, why, "category", "an appeal not accepted keeps its category");
    if (!one_of(t->reason, ticket_reject_reasons))
        return fault(field, why, "reason", "an appeal not accepted needs a reason of Art 7");
    if (strcmp(t->reason, "repeat") == 0)
        return fault(field, why, "reason",
                     "a repeat is judged by the centre that holds the earlier appeal");
    if (t->explanation == NULL)
        return fault(field, why, "explanation",
                     "an appeal not accepted needs the explanation the citizen is told");
    return 0;
}

json_t *overflow_triage_json(const struct overflow_triage *t)
{
    return json_pack("{s:s,s:s*,s:s*,s:s*,s:s*,s:s}", "decision", t->decision, "kind", t->kind,
                     "category", t->category, "reason", t->reason, "explanation", t->explanation,
                     "operator", t->by);
}

/* Queues message {kind: value} for the province on the ticket stream, in
 * the caller's transaction; takes 'value'.  Returns 0 or -1. */
static int post_up(struct db *db, const char *kind, json_t *value, int64_t now)
{
    json_t *msg = value != NULL ? json_pack("{s:o}", kind, value) : NULL;
    char *body = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
    char stream[12], at[CLOCK_RFC3339_LEN];
    const char *p[] = {stream, body, at};
    int rc = -1;

    json_decref(msg);
    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    clock_format(now, at);
    if (body != NULL &&
        db_exec(db, "INSERT INTO outbox (stream, body, created_at) VALUES ($1, $2, $3)", 3, p) ==
            0 &&
        db_exec(db, "NOTIFY outbox", 0, NULL) == 0)
        rc = 0;
    free(body);
    return rc;
}

/* --- the owner's round --------------------------------------------------- */

/* Withdraws the items out whose ticket its own operators have triaged
 * since.  Returns how many, or -1. */
static int withdraw(struct db *db, int64_t now)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {at};

    clock_format(now, at);
    PGresult *res = db_query(db,
                             "UPDATE overflow_offers o SET state = 'withdrawn', decided_at = $1"
                             " FROM tickets t WHERE t.id = o.ticket_id"
                             " AND o.state IN ('offered', 'assigned') AND t.status <> 'registered'"
                             " RETURNING o.ticket_id, o.round",
                             1, p);
    if (res == NULL)
        return -1;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        json_t *ref = json_pack("{s:s,s:i}", "ticket", PQgetvalue(res, i, 0), "round",
                                atoi(PQgetvalue(res, i, 1)));
        if (post_up(db, "overflow_withdraw", ref, now) < 0) {
            PQclear(res);
            return -1;
        }
    }
    PQclear(res);
    return n;
}

/* Offers ticket 'id' if it is still in the queue.  Returns 1 if offered,
 * 0 if not, -1 on error. */
static int offer_one(struct db *db, const char *id, int64_t now)
{
    char at[CLOCK_RFC3339_LEN], created[CLOCK_RFC3339_LEN];
    const char *p[] = {id, at};
    int rc = -1;

    clock_format(now, at);
    PGresult *t = db_query(db, SELECT_QUEUED, 1, p);
    if (t == NULL)
        return -1;
    if (PQntuples(t) != 1) {
        PQclear(t);
        return 0;
    }
    PGresult *o = db_query(db,
                           "INSERT INTO overflow_offers AS o (ticket_id, round, state, offered_at)"
                           " VALUES ($1, 1, 'offered', $2)"
                           " ON CONFLICT (ticket_id) DO UPDATE SET round = o.round + 1,"
                           " state = 'offered', centre = NULL, offered_at = $2, decided_at = NULL"
                           " WHERE o.state = 'home' RETURNING round",
                           2, p);
    if (o == NULL)
        goto out;
    if (PQntuples(o) != 1) {
        rc = 0;
        goto out;
    }
    clock_format(strtoll(PQgetvalue(t, 0, 6), NULL, 10), created);
    json_t *item = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ticket", id, "round",
                             atoi(PQgetvalue(o, 0, 0)), "kind", PQgetvalue(t, 0, 0), "channel",
                             PQgetvalue(t, 0, 1), "category", PQgetvalue(t, 0, 2), "content",
                             PQgetvalue(t, 0, 3), "division", PQgetvalue(t, 0, 4), "address",
                             PQgetvalue(t, 0, 5), "created_at", created);
    rc = post_up(db, "overflow_offer", item, now) < 0 ? -1 : 1;
out:
    PQclear(o);
    PQclear(t);
    return rc;
}

/*
 * Offers what the home queue holds past the threshold: the newest items,
 * which would wait longest here, that are not out already, not an
 * emergency (Art 14: handled here at once) and not sent home less than
 * 'retry' seconds ago.  Returns how many, or -1.
 */
static int offer(struct db *db, int retry, int64_t now)
{
    char cutoff[CLOCK_RFC3339_LEN], limit[12];
    PGresult *s = db_query(db, "SELECT queue_threshold FROM overflow_settings", 0, NULL);

    if (s == NULL)
        return -1;
    if (PQntuples(s) != 1) { /* the province has set no threshold */
        PQclear(s);
        return 0;
    }
    const char *p[] = {PQgetvalue(s, 0, 0), cutoff, limit};
    clock_format(now - (int64_t)retry * 1000000, cutoff);
    snprintf(limit, sizeof(limit), "%d", OFFERS_PER_ROUND);
    PGresult *res = db_query(
        db,
        "SELECT id FROM (SELECT t.id, t.created_at, t.emergency_hours, o.state, o.decided_at"
        "  FROM tickets t LEFT JOIN overflow_offers o ON o.ticket_id = t.id"
        "  WHERE t.status = 'registered' AND t.channel IN ('web', 'app', 'miniprogram')"
        "  AND (o.state IS NULL OR o.state NOT IN ('offered', 'assigned'))"
        "  ORDER BY t.created_at, t.id OFFSET $1::integer) x"
        " WHERE x.emergency_hours IS NULL"
        " AND (x.state IS NULL OR (x.state = 'home' AND x.decided_at <= $2::timestamptz))"
        " ORDER BY x.created_at DESC, x.id DESC LIMIT $3::integer",
        3, p);
    PQclear(s);
    if (res == NULL)
        return -1;
    int offered = 0;
    for (int i = 0; i < PQntuples(res) && offered >= 0; i++) {
        int rc = offer_one(db, PQgetvalue(res, i, 0), now);
        offered = rc < 0 ? -1 : offered + rc;
    }
    PQclear(res);
    return offered;
}

int overflow_tick(struct db *db, const struct node *node)
{
    int64_t now = clock_now_us();
    int withdrawn, offered = 0;

    if (db_begin(db) < 0)
        return -1;
    if ((withdrawn = withdraw(db, now)) < 0)
        goto fail;
    /* Offers wait for a link: a decision is only as good as the figures. */
    if ((node->kind->role == NODE_PROVINCE || metrics_link_up(NULL)) &&
        (offered = offer(db, node->cfg.overflow_retry_seconds, now)) < 0)
        goto fail;
    if (db_commit(db) < 0)
        goto fail;
    if (offered > 0)
        log_info("offered %d queued appeals for overflow", offered);
    return withdrawn + offered;

fail:
    db_rollback(db);
    return -1;
}

/* --- the province's messages to the owner ------------------------------- */

int overflow_on_balancing(const struct node *node, struct db *db, json_t *v)
{
    json_t *threshold = json_object_get(v, "queue_threshold");
    json_t *takes = json_object_get(v, "takes_overflow");
    const char *region = text(v, "region", MAX_WORD);
    char t[24], at[CLOCK_RFC3339_LEN];
    const char *p[] = {t, json_is_true(takes) ? "true" : "false", region, at};

    (void)node;
    if (!json_is_integer(threshold) || json_integer_value(threshold) < 0 ||
        json_integer_value(threshold) > INT32_MAX || !json_is_boolean(takes) || region == NULL)
        return 1;
    snprintf(t, sizeof(t), "%lld", (long long)json_integer_value(threshold));
    clock_format(clock_now_us(), at);
    if (db_exec(
            db,
            "INSERT INTO overflow_settings (queue_threshold, takes_overflow, region, updated_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (only_row) DO UPDATE SET"
            " queue_threshold = $1, takes_overflow = $2, region = $3, updated_at = $4",
            4, p) < 0)
        return -1;
    log_info("overflow: queue threshold %s, %s overflow of others", t,
             json_is_true(takes) ? "takes" : "takes no");
    return 0;
}

/* Is the loaded ticket this node's, not a copy a transfer left here? */
static int owned(const struct node *node, const struct ticket_row *row)
{
    return strcmp(PQgetvalue(row->res, 0, COL_OWNER_NODE), node->cfg.node_code) == 0;
}

/* An event on the owner's ticket that leaves its state as it is. */
static int note_event(struct db *db, const struct ticket *t, const char *actor, const char *role,
                      const char *action, const char *reason, json_t *detail, int64_t now)
{
    char *text_detail = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct ticket_event e = {
        .actor = actor,
        .role = role,
        .action = action,
        .from = t->status,
        .to = t->status,
        .reason = reason,
        .detail = text_detail,
    };
    int rc = text_detail != NULL ? ticketdb_event(db, t->id, &e, now) : -1;

    free(text_detail);
    json_decref(detail);
    return rc;
}

int overflow_on_decision(const struct node *node, struct db *db, json_t *v)
{
    struct overflow_ref ref;
    json_t *centre_v = json_object_get(v, "centre");
    const char *centre = text(v, "centre", 6), *name = text(v, "centre_name", MAX_NAME);
    struct ticket_row row = {0};
    int64_t now = clock_now_us();
    char round[12], at[CLOCK_RFC3339_LEN];

    if (overflow_ref_read(v, &ref) < 0 ||
        (!json_is_null(centre_v) && (!node_code(centre) || name == NULL)))
        return 1;
    int found = ticketdb_load(db, ref.ticket, 1, &row);
    if (found <= 0) {
        if (found == 0)
            log_warnx("overflow decision about '%s', which is not here", ref.ticket);
        return found;
    }
    const char *p[] = {ref.ticket, round, centre != NULL ? "assigned" : "home", centre, at};
    snprintf(round, sizeof(round), "%d", ref.round);
    clock_format(now, at);
    long long changed = db_changed(db,
                                   "UPDATE overflow_offers SET state = $3, centre = $4,"
                                   " decided_at = $5 WHERE ticket_id = $1 AND round = $2::integer"
                                   " AND state = 'offered'",
                                   5, p);
    int rc = changed < 0 ? -1 : 0;
    if (changed > 0 && centre != NULL && owned(node, &row))
        rc = note_event(
            db, &row.t, "province", "system", "overflow_assigned", NULL,
            json_pack("{s:s,s:s,s:i}", "centre", centre, "centre_name", name, "round", ref.round),
            now);
    ticketdb_row_clear(&row);
    return rc;
}

/* Copies "operator (centre)" into 'out', cut at a character if need be. */
static void actor_name(char *out, size_t cap, const char *by, const char *centre)
{
    char full[2 * MAX_NAME + 4];
    int n = snprintf(full, sizeof(full), "%s (%s)", by, centre);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(full) ? (size_t)n : sizeof(full) - 1, at = 0;

    for (size_t c; at < len && (c = utf8_char(full + at, len - at)) > 0 && at + c < cap;)
        at += c;
    memcpy(out, full, at);
    out[at] = '\0';
}

/* Applies a helper's triage to ticket 't' through the workflow, as one of
 * the owner's operators would.  Returns WORKFLOW_DONE, WORKFLOW_REFUSED
 * (the ticket has moved on: nothing written) or WORKFLOW_FAILED. */
static enum workflow_result apply_triage(struct db *db, const struct node *node,
                                         const struct principal *who,
                                         const struct overflow_triage *tr, const char *centre,
                                         const char *centre_name)
{
    struct action_request req = {0};
    struct ticket_refusal why;
    json_t *detail, *outcome = NULL;
    char *texts[2] = {NULL, NULL};

    if (strcmp(tr->decision, "accept") == 0) {
        req.action = ACTION_ACCEPT;
        req.input.kind = tr->kind;
        req.input.category = tr->category;
        detail = json_pack("{s:s*,s:s*,s:s,s:s}", "kind", tr->kind, "category", tr->category,
                           "centre", centre, "centre_name", centre_name);
    } else {
        req.action = ACTION_REJECT;
        req.reason = tr->reason;
        detail = json_pack("{s:s,s:s,s:s}", "explanation", tr->explanation, "centre", centre,
                           "centre_name", centre_name);
        outcome = json_pack("{s:s,s:s,s:s}", "reason", tr->reason, "explanation", tr->explanation,
                            "centre", centre);
    }
    texts[0] = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    texts[1] = outcome != NULL ? json_dumps(outcome, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    json_decref(outcome);
    req.detail = texts[0];
    req.outcome = texts[1];
    enum workflow_result r =
        texts[0] == NULL || (req.action == ACTION_REJECT && texts[1] == NULL)
            ? WORKFLOW_FAILED
            : workflow_act_within(db, &node->hotline, who, tr->ticket, &req, &why);
    free(texts[0]);
    free(texts[1]);
    return r;
}

/* Records on ticket 't' a helper's triage that came too late.  Returns 0 or -1. */
static int record_ignored(struct db *db, const struct ticket *t, const struct principal *who,
                          const struct overflow_triage *tr, const char *centre,
                          const char *centre_name, int64_t now)
{
    json_t *detail = overflow_triage_json(tr);

    if (detail == NULL || json_object_set_new(detail, "centre", json_string(centre)) < 0 ||
        json_object_set_new(detail, "centre_name", json_string(centre_name)) < 0) {
        json_decref(detail);
        return -1;
    }
    return note_event(db, t, who->name, "operator", "overflow_ignored", tr->decision, detail, now);
}

int overflow_on_result(const struct node *node, struct db *db, json_t *v)
{
    struct overflow_triage tr;
    const char *centre = text(v, "centre", 6), *name = text(v, "centre_name", MAX_NAME);
    struct principal who = {.role = ROLE_OPERATOR};
    struct ticket_row row = {0};
    int64_t now = clock_now_us();
    char at[CLOCK_RFC3339_LEN];
    PGresult *res = NULL;
    int rc = -1;

    if (overflow_triage_read(v, &tr) < 0 || !node_code(centre) || name == NULL)
        return 1;
    const char *p[] = {tr.ticket, at};
    clock_format(now, at);
    int found = ticketdb_load(db, tr.ticket, 1, &row);
    if (found <= 0) {
        if (found == 0)
            log_warnx("overflow triage of '%s', which is not here", tr.ticket);
        return found;
    }
    res = db_query(db, "SELECT round, state FROM overflow_offers WHERE ticket_id = $1 FOR UPDATE",
                   1, p);
    if (res == NULL)
        goto out;
    rc = 0;
    if (PQntuples(res) != 1 || atoi(PQgetvalue(res, 0, 0)) != tr.round) {
        log_warnx("overflow triage of '%s' for an offer not made", tr.ticket);
        goto out;
    }
    const char *state = PQgetvalue(res, 0, 1);
    if (strcmp(state, "triaged") == 0) /* seen before */
        goto out;
    actor_name(who.name, sizeof(who.name), tr.by, name);
    enum workflow_result r = WORKFLOW_REFUSED;
    if (strcmp(state, "offered") == 0 || strcmp(state, "assigned") == 0)
        r = apply_triage(db, node, &who, &tr, centre, name);
    if (r == WORKFLOW_FAILED) {
        rc = -1;
        goto out;
    }
    /* The owner's own triage came first: the helper's is recorded, and
     * ignored; on a copy a transfer left here, only in the log. */
    if (r == WORKFLOW_REFUSED) {
        log_info("the triage of '%s' by '%s' came after its own; recorded and ignored", tr.ticket,
                 centre);
        if (owned(node, &row) && record_ignored(db, &row.t, &who, &tr, centre, name, now) < 0) {
            rc = -1;
            goto out;
        }
    }
    if (db_exec(db,
                "UPDATE overflow_offers SET state = 'triaged', decided_at = $2"
                " WHERE ticket_id = $1",
                2, p) < 0)
        rc = -1;
out:
    PQclear(res);
    ticketdb_row_clear(&row);
    return rc;
}

/* --- the helper ---------------------------------------------------------- */

int overflow_on_assist(const struct node *node, struct db *db, json_t *v)
{
    struct overflow_item it;
    const char *owner = text(v, "owner", 6), *owner_name = text(v, "owner_name", MAX_NAME);
    char round[12], at[CLOCK_RFC3339_LEN];

    (void)node;
    if (overflow_item_read(v, &it) < 0 || !node_code(owner) || owner_name == NULL)
        return 1;
    const char *p[] = {it.ticket,   round,      owner,       owner_name, it.kind,       it.channel,
                       it.category, it.content, it.division, it.address, it.created_at, at};
    snprintf(round, sizeof(round), "%d", it.round);
    clock_format(clock_now_us(), at);
    long long n = db_changed(db,
                             "INSERT INTO assists (ticket_id, round, owner_node, owner_name, kind,"
                             " channel, category, content, division, address, created_at,"
                             " assigned_at, state)"
                             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open')"
                             " ON CONFLICT DO NOTHING",
                             12, p);
    if (n > 0)
        log_info("'%s' of '%s' is here for triage", it.ticket, owner);
    return n < 0 ? -1 : 0;
}

int overflow_on_withdrawn(const struct node *node, struct db *db, json_t *v)
{
    struct overflow_ref ref;
    char round[12], at[CLOCK_RFC3339_LEN];

    (void)node;
    if (overflow_ref_read(v, &ref) < 0)
        return 1;
    const char *p[] = {ref.ticket, round, at};
    snprintf(round, sizeof(round), "%d", ref.round);
    clock_format(clock_now_us(), at);
    return db_exec(db,
                   "UPDATE assists SET state = 'withdrawn', content = NULL, address = NULL,"
                   " closed_at = $3 WHERE ticket_id = $1 AND round = $2 AND state = 'open'",
                   3, p);
}

static json_t *time_json(PGresult *res, int i, int col)
{
    char at[CLOCK_RFC3339_LEN];

    if (PQgetisnull(res, i, col))
        return json_null();
    clock_format(strtoll(PQgetvalue(res, i, col), NULL, 10), at);
    return json_string(at);
}

static json_t *text_json(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

static json_t *assist_json(PGresult *res, int i)
{
    json_t *triage = PQgetisnull(res, i, 13) ? NULL : json_loads(PQgetvalue(res, i, 13), 0, NULL);

    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o,s:s,s:o,s:o,s:o}", "ticket",
                     PQgetvalue(res, i, 0), "round", atoi(PQgetvalue(res, i, 1)), "owner",
                     PQgetvalue(res, i, 2), "owner_name", PQgetvalue(res, i, 3), "kind",
                     PQgetvalue(res, i, 4), "channel", PQgetvalue(res, i, 5), "category",
                     PQgetvalue(res, i, 6), "content", text_json(res, i, 7), "division",
                     PQgetvalue(res, i, 8), "address", text_json(res, i, 9), "created_at",
                     time_json(res, i, 10), "assigned_at", time_json(res, i, 11), "state",
                     PQgetvalue(res, i, 12), "triage", triage != NULL ? triage : json_null(),
                     "triaged_by", text_json(res, i, 14), "closed_at", time_json(res, i, 15));
}

json_t *overflow_assists(struct db *db, const char *state)
{
    const char *p[] = {state};
    /* The open ones as a queue, oldest first; the others newest first. */
    PGresult *res = db_query(db,
                             SELECT_ASSIST " WHERE state = $1 ORDER BY"
                                           " CASE WHEN state = 'open' THEN created_at END,"
                                           " closed_at DESC, ticket_id LIMIT 500",
                             1, p);
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, assist_json(res, i));
    PQclear(res);
    return list;
}

enum overflow_result overflow_triage(struct db *db, const struct principal *who,
                                     struct overflow_triage *t, json_t **item)
{
    int64_t now = clock_now_us();
    char round[12], at[CLOCK_RFC3339_LEN];
    enum overflow_result r = OVERFLOW_FAILED;
    PGresult *res = NULL;
    json_t *triage = NULL;
    char *text_triage = NULL;

    if (!ticket_id_valid(t->ticket))
        return OVERFLOW_UNKNOWN;
    if (db_begin(db) < 0)
        return OVERFLOW_FAILED;
    const char *p[] = {t->ticket};
    res = db_query(db,
                   "SELECT round, state FROM assists WHERE ticket_id = $1"
                   " ORDER BY round DESC LIMIT 1 FOR UPDATE",
                   1, p);
    if (res == NULL)
        goto out;
    if (PQntuples(res) != 1) {
        r = OVERFLOW_UNKNOWN;
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "open") != 0) {
        r = strcmp(PQgetvalue(res, 0, 1), "withdrawn") == 0 ? OVERFLOW_WITHDRAWN : OVERFLOW_TRIAGED;
        goto out;
    }
    t->round = atoi(PQgetvalue(res, 0, 0));
    t->by = who->name;
    triage = overflow_triage_json(t);
    text_triage = triage != NULL ? json_dumps(triage, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text_triage == NULL)
        goto out;
    snprintf(round, sizeof(round), "%d", t->round);
    clock_format(now, at);
    const char *q[] = {t->ticket, round, text_triage, who->name, at};
    if (db_exec(db,
                "UPDATE assists SET state = 'triaged', triage = $3, triaged_by = $4,"
                " closed_at = $5, content = NULL, address = NULL"
                " WHERE ticket_id = $1 AND round = $2",
                5, q) < 0 ||
        json_object_set_new(triage, "ticket", json_string(t->ticket)) < 0 ||
        json_object_set_new(triage, "round", json_integer(t->round)) < 0 ||
        post_up(db, "overflow_triage", json_incref(triage), now) < 0)
        goto out;
    PQclear(res);
    const char *k[] = {t->ticket, round};
    res = db_query(db, SELECT_ASSIST " WHERE ticket_id = $1 AND round = $2", 2, k);
    if (res == NULL || PQntuples(res) != 1 || db_commit(db) < 0)
        goto out;
    *item = assist_json(res, 0);
    r = OVERFLOW_DONE;
out:
    if (r != OVERFLOW_DONE)
        db_rollback(db);
    PQclear(res);
    free(text_triage);
    json_decref(triage);
    return r;
}
