/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress_api.c - the citizen's progress query (Art 12), in HTTP workers.
 *
 * A citizen names the appeal's id and the last four digits of the phone
 * number given at intake; those are read from the sealed citizen data,
 * compared in constant time and forgotten.  An unknown id and wrong digits
 * get the same 404, after about the same work (an unknown id still costs a
 * failed opening of a seal), so the answer does not tell which ids exist.
 * The answer holds the public status and steps (progress.c), never personal
 * data, names of staff, reasons or notes; nothing about the query is logged.
 *
 * Four digits are guessed in at most 10,000 tries, so every query counts
 * against a limit per client address (ratelimit.c): 60 per 10 minutes, and
 * 10 failed ones block the address for 10 minutes, even with the right
 * digits then.  The limiter is the one mutable structure the HTTP workers
 * share, and it is kept in memory on purpose: a query must be counted
 * before the database is touched, including when the database is slow or
 * down, and a guesser must not be able to make the node write a row per
 * guess.  Its table is bounded (PROGRESS_CLIENTS addresses), guarded by one
 * mutex, and made once, on the first query.  A restart forgets it, which
 * costs a guesser a restart of the node per 10 failures.  Its windows run
 * on the node's clock (clock_now_us), like every other time of the node.
 */
#include "progress_api.h"

#include "clock.h"
#include "crypto.h"
#include "input.h"
#include "log.h"
#include "node.h"
#include "progress.h"
#include "ratelimit.h"
#include "ticketdb.h"
#include "unitdb.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAST_DIGITS      4
#define PROGRESS_CLIENTS 4096
#define SEAL_OVERHEAD    28 /* nonce and tag of a pii_seal() */

static const struct ratelimit_rules rules = {
    .window_us = 10 * 60 * 1000000LL,
    .max_attempts = 60,
    .max_failures = 10,
};

static struct ratelimit *limiter;
static pthread_once_t limiter_once = PTHREAD_ONCE_INIT;

static void limiter_make(void)
{
    limiter = ratelimit_new(&rules, PROGRESS_CLIENTS);
}

/* Writes the last LAST_DIGITS digits of 'phone'.  Returns 0, or -1 if it
 * has fewer. */
static int last_digits(const char *phone, char out[LAST_DIGITS])
{
    int n = LAST_DIGITS;

    for (size_t i = strlen(phone); i-- > 0 && n > 0;)
        if (phone[i] >= '0' && phone[i] <= '9')
            out[--n] = phone[i];
    return n == 0 ? 0 : -1;
}

/* Returns 1 if the phone sealed in the loaded row of ticket 'id' ends with
 * 'last4', else 0. */
static int phone_matches(const struct hotline *h, const char *id, PGresult *res, const char *last4)
{
    size_t len = 0;
    unsigned char *sealed =
        PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, COL_CITIZEN_PII), &len);
    char *plain = sealed != NULL
                      ? pii_open(&h->pii, PQgetvalue(res, 0, COL_PII_KEY_ID), id, sealed, len)
                      : NULL;
    json_t *citizen = plain != NULL ? json_loads(plain, 0, NULL) : NULL;
    const char *phone = citizen != NULL ? input_text(citizen, "phone") : NULL;
    char digits[LAST_DIGITS];
    int match = 0;

    if (phone == NULL)
        log_warnx("cannot open the personal data of '%s'", id);
    else if (last_digits(phone, digits) == 0)
        match = crypto_equal(digits, last4, LAST_DIGITS);
    OPENSSL_cleanse(digits, sizeof(digits));
    PQfreemem(sealed);
    if (plain != NULL) {
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
    }
    json_decref(citizen);
    return match;
}

/* The work phone_matches() does, for an id that has no ticket. */
static void open_nothing(const struct hotline *h, const char *id)
{
    static const uint8_t nothing[SEAL_OVERHEAD + 128];

    free(pii_open(&h->pii, NULL, id, nothing, sizeof(nothing)));
}

/* The public timeline of ticket 'id'; NULL on error. */
static json_t *timeline(struct db *db, const char *id)
{
    json_t *events = ticketdb_events(db, id), *event;
    json_t *out = events != NULL ? json_array() : NULL;
    size_t i;

    json_array_foreach(events, i, event)
    {
        const struct progress_step *step = progress_step(input_text(event, "action"));
        const char *unit = input_text(json_object_get(event, "detail"), "unit");
        char name[PROGRESS_LABEL_MAX], label[PROGRESS_LABEL_MAX], at[CLOCK_RFC3339_LEN];
        int64_t us;

        if (step == NULL)
            continue;
        if (clock_parse(input_text(event, "at"), &us) < 0)
            goto fail;
        int named =
            step->names_unit && unit != NULL ? unitdb_name(db, unit, name, sizeof(name)) : 0;
        if (named < 0)
            goto fail;
        progress_label(step, named > 0 ? name : NULL, label, sizeof(label));
        clock_format_seconds(us, at);
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:s}", "at", at, "step", step->code, "label", label));
    }
    json_decref(events);
    return out;

fail:
    json_decref(events);
    json_decref(out);
    return NULL;
}

json_t *progress_view(struct db *db, const struct ticket_row *row)
{
    const struct ticket *t = &row->t;
    char deadline[CLOCK_RFC3339_LEN];
    json_t *steps = timeline(db, t->id);

    if (steps == NULL)
        return NULL;
    clock_format_seconds(t->deadline, deadline);
    return json_pack("{s:s,s:s,s:o,s:o,s:b,s:o}", "id", t->id, "status", progress_status(t->status),
                     "unit_name",
                     PQgetisnull(row->res, 0, COL_UNIT_NAME)
                         ? json_null()
                         : json_string(PQgetvalue(row->res, 0, COL_UNIT_NAME)),
                     "deadline", t->deadline != 0 ? json_string(deadline) : json_null(),
                     "provisional", t->provisional, "timeline", steps);
}

/* A copy left by a transfer answers what its owner last sent: the same
 * answer at either node. */
static void reply_progress(struct http_request *req, struct db *db, const struct ticket_row *row)
{
    json_t *view;

    if (row->t.status == STATUS_TRANSFERRED && !PQgetisnull(row->res, 0, COL_REMOTE_PROGRESS)) {
        json_t *remote = json_loads(PQgetvalue(row->res, 0, COL_REMOTE_PROGRESS), 0, NULL);
        view = json_incref(json_object_get(remote, "view"));
        json_decref(remote);
    } else {
        view = progress_view(db, row);
    }
    if (view == NULL)
        http_reply_error(req, 500, "internal", "the progress could not be read");
    else
        http_reply_json(req, 200, view);
}

static void reply_too_many(struct http_request *req, int64_t wait)
{
    char seconds[24];

    snprintf(seconds, sizeof(seconds), "%lld", (long long)wait);
    http_reply_error(req, 429, "too_many_attempts",
                     "too many progress queries from this address; try again in %s seconds",
                     seconds);
    http_reply_header(req, "Retry-After", seconds);
}

static void handle_progress(struct http_request *req)
{
    const char *id = http_path_param(req, "id"), *last4 = http_query_param(req, "phone_last4");
    char client[HTTP_ADDRESS_LEN];
    struct ticket_row row = {0};
    struct node *node;
    struct db *db;

    pthread_once(&limiter_once, limiter_make);
    if (limiter == NULL) {
        http_reply_error(req, 503, "unavailable", "progress queries cannot be served now");
        return;
    }
    /* Clients whose address is unknown share one count: fail closed. */
    if (http_client_address(req, client, sizeof(client)) < 0)
        snprintf(client, sizeof(client), "unknown");
    /*
     * Guessing four digits is limited per address and per ticket: an
     * address can change (a whole IPv6 /64 is one client's), a ticket
     * cannot.  The ticket's citizen may be locked out for a while too,
     * which beats letting anyone read the progress of anyone's appeal.
     */
    char ticket_key[TICKET_ID_LEN + 3] = "";
    if (ticket_id_valid(id))
        snprintf(ticket_key, sizeof(ticket_key), "t:%s", id);
    int64_t now = clock_now_us();
    int64_t wait = ratelimit_admit(limiter, client, now);
    if (wait <= 0 && ticket_key[0] != '\0')
        wait = ratelimit_admit(limiter, ticket_key, now);
    if (wait > 0) {
        reply_too_many(req, wait);
        return;
    }
    if (last4 == NULL || strlen(last4) != LAST_DIGITS ||
        strspn(last4, "0123456789") != LAST_DIGITS) {
        http_reply_invalid(req, "phone_last4",
                           "'phone_last4' must be the last 4 digits of the phone number given"
                           " with the appeal");
        return;
    }
    if ((db = node_db(req, &node)) == NULL)
        return;
    int found = ticketdb_load(db, id, 0, &row);
    if (found < 0) {
        http_reply_error(req, 500, "internal", "the progress could not be read");
        return;
    }
    int match = 0;
    if (found > 0)
        match = phone_matches(&node->hotline, id, row.res, last4);
    else
        open_nothing(&node->hotline, id);
    if (!match) {
        ratelimit_fail(limiter, client, clock_now_us());
        if (ticket_key[0] != '\0')
            ratelimit_fail(limiter, ticket_key, clock_now_us());
        http_reply_error(req, 404, "not_found",
                         "no appeal has this number with these digits of the phone number");
    } else {
        reply_progress(req, db, &row);
    }
    ticketdb_row_clear(&row);
}

const struct http_route progress_routes[] = {
    {"GET", "/api/v1/progress/{id}", handle_progress, 0, NULL},
};

const size_t progress_routes_len = sizeof(progress_routes) / sizeof(progress_routes[0]);
