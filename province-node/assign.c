/* SPDX-License-Identifier: Apache-2.0 */
/*
 * assign.c - the province's side of overflow.
 *
 * Runs in the province's link thread, inside the transaction that applies
 * a batch of a node's ticket stream (its own hotline's included), and in
 * HTTP workers (the load, the list of decisions).  What it sends goes
 * through deliver_post() in that same transaction, so a decision and the
 * messages that tell the owner and the helper commit together or not at
 * all.  Each offer (ticket and round) is decided once and kept in
 * overflow_assignments; the appeal itself only passes through.
 */
#include "assign.h"

#include "balance.h"
#include "clock.h"
#include "deliver.h"
#include "loaddb.h"
#include "log.h"
#include "overflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* clang-format off */
#define SELECT_DECISIONS                                                                           \
    "SELECT ticket_id, round, owner_node, helper, state, reason, " US("decided_at") ", "          \
    US("closed_at") " FROM overflow_assignments"                                                   \
    " WHERE $1::text IS NULL OR owner_node = $1 OR helper = $1"                                    \
    " ORDER BY decided_at DESC, ticket_id, round DESC LIMIT $2::integer OFFSET $3::bigint"
/* clang-format on */

/* A batch being applied: who sent it, and the centres once an offer needs them. */
struct batch {
    const struct node *node;
    struct db *db;
    const char *from;
    struct registry_centres centres;
    int loaded;
};

typedef int assign_fn(struct batch *b, json_t *v);

static int offer_valid(json_t *v)
{
    struct overflow_item it;

    return overflow_item_read(v, &it) == 0;
}

static int withdraw_valid(json_t *v)
{
    struct overflow_ref ref;

    return overflow_ref_read(v, &ref) == 0;
}

static int triage_valid(json_t *v)
{
    struct overflow_triage t;

    return overflow_triage_read(v, &t) == 0;
}

/* Queues {kind: value} for node 'to' (taking 'value').  Returns 0 or -1. */
static int post(struct batch *b, const char *to, const char *kind, json_t *value)
{
    json_t *msg = value != NULL ? json_pack("{s:o}", kind, value) : NULL;
    char *body = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
    int rc = body != NULL ? deliver_post(b->node, b->db, to, body) : -1;

    free(body);
    json_decref(msg);
    return rc;
}

/* The name of centre 'code', or NULL if it is none now. */
static char *centre_name(struct batch *b, const char *code)
{
    const char *p[] = {code};

    if (strcmp(code, b->node->cfg.node_code) == 0)
        return strdup(b->node->cfg.node_name);
    PGresult *res = db_query(b->db, "SELECT name FROM nodes WHERE code = $1", 1, p);
    char *name = res != NULL && PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return name;
}

/* An owner's item: to the helper balance.c chooses, or back home. */
static int on_offer(struct batch *b, json_t *v)
{
    struct overflow_item it;
    char round[12], at[CLOCK_RFC3339_LEN];
    const char *reason = "its centre is not a centre of the federation";

    if (overflow_item_read(v, &it) < 0)
        return 0;
    snprintf(round, sizeof(round), "%d", it.round);
    const char *p[] = {it.ticket, b->from, round};
    /* Only the master dataset's owner of a ticket offers it; once a round. */
    PGresult *res = db_query(b->db,
                             "SELECT EXISTS (SELECT 1 FROM master_tickets"
                             "               WHERE id = $1 AND node = $2),"
                             " EXISTS (SELECT 1 FROM overflow_assignments"
                             "         WHERE ticket_id = $1 AND round = $3::integer)",
                             3, p);
    if (res == NULL)
        return -1;
    int owns = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    int seen = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    if (seen)
        return 0;
    /* Not decided, and not kept: but its sender is not left waiting. */
    if (!owns) {
        log_warnx("refused an overflow offer of '%s' from '%s', which does not hold it", it.ticket,
                  b->from);
        return post(b, b->from, "overflow_decision",
                    json_pack("{s:s,s:i,s:n,s:n,s:s}", "ticket", it.ticket, "round", it.round,
                              "centre", "centre_name", "reason", "not a ticket of this centre"));
    }
    if (!b->loaded) {
        if (assign_centres(b->node, b->db, &b->centres) < 0)
            return -1;
        b->loaded = 1;
    }
    struct balance_centre *c = b->centres.c;
    size_t n = b->centres.n, home = 0, to = n;
    while (home < n && strcmp(c[home].code, b->from) != 0)
        home++;
    if (home < n)
        to = balance_assign(c, n, home, &reason);
    const char *helper = to < n ? c[to].code : NULL;
    clock_format(clock_now_us(), at);
    const char *q[] = {it.ticket, round, b->from, helper, helper != NULL ? "assigned" : "home",
                       reason,    at};
    if (db_exec(b->db,
                "INSERT INTO overflow_assignments (ticket_id, round, owner_node, helper, state,"
                " reason, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                7, q) < 0)
        return -1;
    if (helper != NULL &&
        post(b, helper, "overflow_assist",
             json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ticket", it.ticket,
                       "round", it.round, "kind", it.kind, "channel", it.channel, "category",
                       it.category, "content", it.content, "division", it.division, "address",
                       it.address, "created_at", it.created_at, "owner", b->from, "owner_name",
                       home < n ? c[home].name : b->from)) < 0)
        return -1;
    if (helper != NULL)
        log_info("'%s' of '%s' goes to '%s' for triage", it.ticket, b->from, helper);
    return post(b, b->from, "overflow_decision",
                json_pack("{s:s,s:i,s:s?,s:s?,s:s}", "ticket", it.ticket, "round", it.round,
                          "centre", helper, "centre_name", helper != NULL ? c[to].name : NULL,
                          "reason", reason));
}

/* The owner triaged the item itself: the helper need not. */
static int on_withdraw(struct batch *b, json_t *v)
{
    struct overflow_ref ref;
    char round[12], at[CLOCK_RFC3339_LEN];

    if (overflow_ref_read(v, &ref) < 0)
        return 0;
    snprintf(round, sizeof(round), "%d", ref.round);
    clock_format(clock_now_us(), at);
    const char *p[] = {ref.ticket, round, b->from, at};
    PGresult *res = db_query(b->db,
                             "UPDATE overflow_assignments SET state = 'withdrawn', closed_at = $4"
                             " WHERE ticket_id = $1 AND round = $2::integer AND owner_node = $3"
                             " AND state = 'assigned' RETURNING helper",
                             4, p);
    if (res == NULL)
        return -1;
    int rc = PQntuples(res) == 1
                 ? post(b, PQgetvalue(res, 0, 0), "overflow_withdrawn",
                        json_pack("{s:s,s:i}", "ticket", ref.ticket, "round", ref.round))
                 : 0;
    PQclear(res);
    return rc;
}

/* A helper's triage, on to the owner, once; even after a withdrawal, so the
 * owner records it. */
static int on_triage(struct batch *b, json_t *v)
{
    struct overflow_triage t;
    char round[12], at[CLOCK_RFC3339_LEN];

    if (overflow_triage_read(v, &t) < 0)
        return 0;
    snprintf(round, sizeof(round), "%d", t.round);
    clock_format(clock_now_us(), at);
    const char *p[] = {t.ticket, round, b->from, at};
    PGresult *res = db_query(b->db,
                             "UPDATE overflow_assignments SET state = 'triaged', closed_at = $4"
                             " WHERE ticket_id = $1 AND round = $2::integer AND helper = $3"
                             " AND state IN ('assigned', 'withdrawn') RETURNING owner_node",
                             4, p);
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        log_warnx("dropped a triage of '%s' from '%s': not given it, or triaged already", t.ticket,
                  b->from);
        PQclear(res);
        return 0;
    }
    char *name = centre_name(b, b->from);
    json_t *result = overflow_triage_json(&t);
    int rc = -1;
    if (name != NULL && result != NULL &&
        json_object_set_new(result, "ticket", json_string(t.ticket)) == 0 &&
        json_object_set_new(result, "round", json_integer(t.round)) == 0 &&
        json_object_set_new(result, "centre", json_string(b->from)) == 0 &&
        json_object_set_new(result, "centre_name", json_string(name)) == 0) {
        rc = post(b, PQgetvalue(res, 0, 0), "overflow_result", result);
        result = NULL;
    }
    json_decref(result);
    free(name);
    PQclear(res);
    return rc;
}

static const struct {
    const char *kind;
    int (*valid)(json_t *v);
    assign_fn *apply;
} kinds[] = {
    {"overflow_offer", offer_valid, on_offer},
    {"overflow_withdraw", withdraw_valid, on_withdraw},
    {"overflow_triage", triage_valid, on_triage},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The row of 'msg''s kind, or NKINDS. */
static size_t kind_of(json_t *msg)
{
    size_t i = NKINDS;

    if (json_is_object(msg) && json_object_size(msg) == 1)
        for (i = 0; i < NKINDS; i++)
            if (strcmp(kinds[i].kind, json_object_iter_key(json_object_iter(msg))) == 0)
                break;
    return i;
}

int assign_message(json_t *msg)
{
    return kind_of(msg) < NKINDS;
}

int assign_valid(json_t *msg)
{
    size_t k = kind_of(msg);

    return k < NKINDS && kinds[k].valid(json_object_iter_value(json_object_iter(msg)));
}

/* One message of a batch, for db_attempt. */
struct attempt {
    struct batch *b;
    size_t kind;
    json_t *value;
};

static int attempt(void *arg, struct db *db)
{
    struct attempt *a = arg;

    (void)db;
    return kinds[a->kind].apply(a->b, a->value);
}

int assign_apply(const struct node *node, struct db *db, const char *from, const char *batch)
{
    struct batch b = {.node = node, .db = db, .from = from};
    json_t *msgs = json_loads(batch, 0, NULL);
    int rc = msgs != NULL ? 0 : -1;

    for (size_t i = 0; rc == 0 && i < json_array_size(msgs); i++) {
        json_t *msg = json_array_get(msgs, i);
        struct attempt a = {&b, kind_of(msg), json_object_iter_value(json_object_iter(msg))};
        if (a.kind == NKINDS)
            continue;
        /* A message the database refuses is dropped; it must not block the stream. */
        rc = db_attempt(db, attempt, &a);
        if (rc > 0) {
            log_warnx("dropped an overflow message of node '%s': not one the province can apply",
                      from);
            rc = 0;
        }
    }
    registry_centres_clear(&b.centres);
    json_decref(msgs);
    return rc;
}

int assign_centres(const struct node *node, struct db *db, struct registry_centres *list)
{
    struct load_figures f;

    *list = (struct registry_centres){0};
    if (loaddb_figures(db, clock_now_us(), &f) < 0)
        return -1;
    struct balance_centre own = {
        .code = node->cfg.node_code,
        .name = node->cfg.node_name,
        .agents_online = f.agents_online,
        .agents_busy = f.agents_busy,
        .queue_depth = f.queue_depth,
        .oldest_wait_seconds = f.oldest_wait_seconds,
    };
    if (registry_centres(db, &own, list) < 0)
        return -1;
    PGresult *res = db_query(db,
                             "SELECT helper, count(*) FROM overflow_assignments"
                             " WHERE state = 'assigned' GROUP BY helper",
                             0, NULL);
    if (res == NULL) {
        registry_centres_clear(list);
        return -1;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        unsigned long long out = strtoull(PQgetvalue(res, r, 1), NULL, 10);
        for (size_t i = 0; i < list->n; i++) {
            struct balance_centre *c = &list->c[i];
            if (strcmp(c->code, PQgetvalue(res, r, 0)) == 0)
                c->queue_depth =
                    out > UINT32_MAX - c->queue_depth ? UINT32_MAX : c->queue_depth + (unsigned)out;
        }
    }
    PQclear(res);
    return 0;
}

static json_t *time_json(PGresult *res, int i, int col)
{
    char at[CLOCK_RFC3339_LEN];

    if (PQgetisnull(res, i, col))
        return json_null();
    clock_format(strtoll(PQgetvalue(res, i, col), NULL, 10), at);
    return json_string(at);
}

json_t *assign_list(struct db *db, const char *code, int page, int page_size, long long *total)
{
    char limit[12], offset[24];
    const char *p[] = {code, limit, offset};

    snprintf(limit, sizeof(limit), "%d", page_size);
    snprintf(offset, sizeof(offset), "%lld", (long long)(page - 1) * page_size);
    PGresult *count = db_query(db,
                               "SELECT count(*) FROM overflow_assignments"
                               " WHERE $1::text IS NULL OR owner_node = $1 OR helper = $1",
                               1, p);
    if (count == NULL)
        return NULL;
    *total = strtoll(PQgetvalue(count, 0, 0), NULL, 10);
    PQclear(count);
    PGresult *res = db_query(db, SELECT_DECISIONS, 3, p);
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(
            list,
            json_pack("{s:s,s:i,s:s,s:o,s:s,s:s,s:o,s:o}", "ticket", PQgetvalue(res, i, 0), "round",
                      atoi(PQgetvalue(res, i, 1)), "owner", PQgetvalue(res, i, 2), "centre",
                      PQgetisnull(res, i, 3) ? json_null() : json_string(PQgetvalue(res, i, 3)),
                      "state", PQgetvalue(res, i, 4), "reason", PQgetvalue(res, i, 5), "decided_at",
                      time_json(res, i, 6), "closed_at", time_json(res, i, 7)));
    PQclear(res);
    return list;
}
