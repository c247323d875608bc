/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rating_api.c - how citizens rate a completed order, and what the hotline
 * office does about a bad rating (Art 15).
 *
 * Runs in HTTP workers.  A rating comes either from an operator who took it
 * on a follow-up call, or from the citizen with a one-time token the SMS
 * gateway (a service principal) asked for; only the token's SHA-256 is
 * kept, and a rating consumes it.  A dissatisfied or very dissatisfied
 * rating opens a follow-up in the same transaction.
 */
#include "rating_api.h"

#include "clock.h"
#include "crypto.h"
#include "input.h"
#include "node.h"
#include "workflow.h"

#include <stdlib.h>
#include <string.h>

static const char *const levels[] = {"very_satisfied", "satisfied",         "basically_satisfied",
                                     "dissatisfied",   "very_dissatisfied", NULL};
static const char *const channels[] = {"phone", "web", "sms", NULL};

static const struct field rating_fields[] = {
    {.name = "intake", .type = FIELD_ENUM, .required = 1, .values = levels},
    {.name = "handling", .type = FIELD_ENUM, .required = 1, .values = levels},
    {.name = "comment", .type = FIELD_TEXT, .min = 1, .max = 500},
    {.name = "token", .type = FIELD_TEXT, .min = CRYPTO_TOKEN_LEN, .max = CRYPTO_TOKEN_LEN},
};

static int level_bad(const char *level)
{
    return strcmp(level, "dissatisfied") == 0 || strcmp(level, "very_dissatisfied") == 0;
}

struct rating_write {
    const char *intake, *handling, *comment;
};

/* Inside the rating's transaction: keep the rating, open a follow-up if it
 * is bad, and spend the token. */
static int rating_store(struct db *db, const struct ticket *t, const struct principal *who,
                        const void *arg, int64_t now)
{
    const struct rating_write *w = arg;
    struct ticket_rating r = {t->redos + 1, w->intake, w->handling, w->comment, who->name};

    return ticketdb_rating(db, t->id, &r, level_bad(w->intake) || level_bad(w->handling), now) <
                       0 ||
                   ticketdb_rating_token(db, t->id, NULL) < 0
               ? -1
               : 0;
}

/* Checks a citizen's token against ticket 'id'.  Returns 1 if it is the
 * ticket's live token, 0 if not, -1 on error. */
static int token_matches(struct db *db, const char *id, const char *token)
{
    struct ticket_row row = {0};
    char hash[CRYPTO_SHA256_HEX_LEN + 1];
    int found = ticketdb_load(db, id, 0, &row);
    int ok = 0;

    if (found > 0 && !PQgetisnull(row.res, 0, COL_RATING_TOKEN)) {
        crypto_sha256_hex(token, strlen(token), hash);
        ok = crypto_equal(hash, PQgetvalue(row.res, 0, COL_RATING_TOKEN), CRYPTO_SHA256_HEX_LEN);
    }
    ticketdb_row_clear(&row);
    return found < 0 ? -1 : ok;
}

static void handle_rating(struct http_request *req)
{
    const char *id = http_path_param(req, "id");
    struct principal citizen = {.id = 0, .role = ROLE_CITIZEN, .name = "citizen"};
    const struct principal *who = &citizen;
    struct ticket_refusal why;
    struct node *node;
    struct db *db;

    if (http_has_token(req)) {
        if (!http_authorize(req, ROLE_OPERATOR))
            return;
        who = http_principal(req);
    }
    json_t *body = http_body_json(req);
    if (body == NULL || input_check(req, body, NULL, rating_fields,
                                    sizeof(rating_fields) / sizeof(rating_fields[0])) < 0)
        return;
    const char *token = input_text(body, "token");
    if ((who == &citizen) != (token != NULL)) {
        http_reply_invalid(req, "token",
                           "'token' is the citizen's way to rate; an operator "
                           "rates with a bearer token instead");
        return;
    }
    if ((db = node_db(req, &node)) == NULL)
        return;
    if (token != NULL) {
        int ok = token_matches(db, id, token);
        if (ok <= 0) {
            if (ok < 0)
                http_reply_error(req, 500, "internal", "the ticket could not be read");
            else
                http_reply_error(req, 404, "not_found",
                                 "no such ticket, or the token is not valid");
            return;
        }
    }
    struct rating_write w = {input_text(body, "intake"), input_text(body, "handling"),
                             input_text(body, "comment")};
    struct action_request ar = {
        .action = ACTION_RATE,
        .reason = level_bad(w.intake) || level_bad(w.handling) ? "dissatisfied" : NULL,
        .also = rating_store,
        .also_arg = &w,
    };
    /* After a redo the second rating replaces the first in statistics
     * (Art 15); the event says which one it replaces. */
    json_t *first = ticketdb_first_rating(db, id);
    if (first == NULL) {
        http_reply_error(req, 500, "internal", "the ticket could not be read");
        return;
    }
    json_t *detail = json_pack("{s:s,s:s,s:o*}", "intake", w.intake, "handling", w.handling,
                               "replaces", json_is_null(first) ? NULL : first);
    if (json_is_null(first))
        json_decref(first);
    char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    ar.detail = text;
    json_decref(detail);
    switch (workflow_act(db, &node->hotline, who, id, &ar, &why)) {
    case WORKFLOW_DONE:
        http_reply_json(req, 200,
                        json_pack("{s:s,s:b,s:s,s:s}", "id", id, "rated", 1, "intake", w.intake,
                                  "handling", w.handling));
        break;
    case WORKFLOW_REFUSED:
        http_reply_error(req, why.status, why.code, "%s", why.message);
        break;
    case WORKFLOW_FAILED:
        http_reply_error(req, 500, "internal", "the rating could not be recorded");
        break;
    }
    free(text);
}

/* The SMS gateway asks for a citizen's one-time rating token. */
static void handle_rating_token(struct http_request *req)
{
    const char *id = http_path_param(req, "id");
    char token[CRYPTO_TOKEN_LEN + 1], hash[CRYPTO_SHA256_HEX_LEN + 1];
    struct ticket_row row = {0};
    struct node *node;
    struct db *db = node_db(req, &node);

    if (db == NULL)
        return;
    if (db_begin(db) < 0)
        goto fail;
    int found = ticketdb_load(db, id, 1, &row);
    if (found < 0)
        goto fail;
    int64_t now = clock_now_us();
    if (found == 0) {
        http_reply_error(req, 404, "not_found", "no such ticket");
    } else if (row.t.status != STATUS_COMPLETED || row.t.rated || now > row.t.rating_due) {
        http_reply_error(req, 409, "rating_closed", "this order cannot be rated now");
    } else {
        if (crypto_token_new(token) < 0)
            goto fail;
        crypto_sha256_hex(token, CRYPTO_TOKEN_LEN, hash);
        if (ticketdb_rating_token(db, id, hash) < 0 || db_commit(db) < 0)
            goto fail;
        char due[CLOCK_RFC3339_LEN];
        clock_format(row.t.rating_due, due);
        http_reply_json(req, 201,
                        json_pack("{s:s,s:s,s:s}", "id", id, "token", token, "expires_at", due));
    }
    ticketdb_row_clear(&row);
    db_rollback(db);
    return;

fail:
    ticketdb_row_clear(&row);
    db_rollback(db);
    http_reply_error(req, 500, "internal", "the token could not be issued");
}

static void handle_followups(struct http_request *req)
{
    const char *state = http_query_param(req, "state");
    struct db *db;

    if (state != NULL && strcmp(state, "open") != 0 && strcmp(state, "done") != 0) {
        http_reply_invalid(req, "state", "'state' is open or done");
        return;
    }
    if ((db = node_db(req, NULL)) == NULL)
        return;
    json_t *list = ticketdb_followups(db, state);
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the follow-ups could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "followups", list));
}

static const struct field followup_fields[] = {
    {.name = "outcome", .type = FIELD_TEXT, .required = 1, .min = 1, .max = 2000},
    {.name = "channel", .type = FIELD_ENUM, .required = 1, .values = channels},
};

static void handle_followup_done(struct http_request *req)
{
    const char *ids = http_path_param(req, "id");
    char *end;
    long long id = strtoll(ids, &end, 10);
    json_t *body;
    struct db *db;

    if (*ids == '\0' || *end != '\0' || id <= 0) {
        http_reply_error(req, 404, "not_found", "no such follow-up");
        return;
    }
    if ((body = http_body_json(req)) == NULL ||
        input_check(req, body, NULL, followup_fields,
                    sizeof(followup_fields) / sizeof(followup_fields[0])) < 0)
        return;
    if ((db = node_db(req, NULL)) == NULL)
        return;
    int rc = ticketdb_followup_done(db, id, http_principal(req)->name, input_text(body, "channel"),
                                    input_text(body, "outcome"), clock_now_us());
    if (rc < 0)
        http_reply_error(req, 500, "internal", "the follow-up could not be recorded");
    else if (rc == 0)
        http_reply_error(req, 404, "not_found", "no open follow-up %lld", id);
    else
        http_reply_json(req, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id, "state", "done"));
}

const struct http_route rating_routes[] = {
    {"POST", "/api/v1/tickets/{id}/rating", handle_rating, 0, NULL},
    {"POST", "/api/v1/tickets/{id}/rating-token", handle_rating_token, ROLE_SERVICE, NULL},
    {"GET", "/api/v1/followups", handle_followups, ROLE_OPERATOR | ROLE_MANAGER, NULL},
    {"POST", "/api/v1/followups/{id}", handle_followup_done, ROLE_OPERATOR, NULL},
};

const size_t rating_routes_len = sizeof(rating_routes) / sizeof(rating_routes[0]);
