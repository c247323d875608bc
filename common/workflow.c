/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workflow.c - load, check, apply, store: every change of a work order.
 *
 * Runs in HTTP workers (intake and actions), in the clock thread
 * (deadlines) and in the link thread (actions another node's message
 * brings), each on its own connection.  A command locks its ticket row,
 * so two commands on one ticket happen one after the other and the second
 * sees the first's result.  On any failure the transaction is rolled back
 * and nothing of the command remains.
 */
#include "workflow.h"

#include "calstore.h"
#include "clock.h"
#include "log.h"
#include "ngram.h"
#include "repeat.h"
#include "restriction.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct ticket_context workflow_context(struct db *db, const struct hotline *h)
{
    struct ticket_context ctx = {
        .now = clock_now_us(),
        .calendar = calstore_get(db),
        .periods = &h->periods,
    };
    return ctx;
}

struct ticket_caller workflow_caller(const struct principal *who)
{
    struct ticket_caller c = {.role = who->role, .unit = who->unit[0] != '\0' ? who->unit : NULL};
    return c;
}

/* Art 14: the hand-off of an emergency to its line is part of the record. */
static int emergency_record(struct db *db, const char *id, struct ticketdb_head *head,
                            const struct principal *who, const struct emergency_rule *rule,
                            int64_t now)
{
    if (rule == NULL)
        return 0;
    json_t *detail = json_pack("{s:i,s:i,s:s,s:i}", "rule", rule->id, "version", rule->version,
                               "line", rule->line, "period_hours", rule->period_hours);
    char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    struct ticket_event e = {
        .actor = who->name,
        .role = auth_role_name(who->role),
        .action = strcmp(rule->line, "none") == 0 ? "emergency" : "emergency_handoff",
        .from = STATUS_REGISTERED,
        .to = STATUS_REGISTERED,
        .reason = rule->line,
        .detail = text,
    };
    int rc = text != NULL ? ticketdb_append(db, id, head, &e, now) : -1;

    free(text);
    json_decref(detail);
    return rc;
}

/* The candidates of 'res' (ticketdb_repeats) that are likely repeats of an
 * appeal of 'grams', ranked, as a new JSON array best first; NULL if out of
 * memory. */
static json_t *repeats_rank(PGresult *res, const int32_t *grams, size_t ngrams)
{
    int rows = PQntuples(res);
    struct repeat_candidate *c = calloc(rows > 0 ? (size_t)rows : 1, sizeof(*c));
    int32_t *pool = calloc(rows > 0 ? (size_t)rows * NGRAM_MAX : 1, sizeof(*pool));
    json_t *out = NULL;

    if (c == NULL || pool == NULL)
        goto out;
    for (int i = 0; i < rows; i++) {
        int n = ngram_array_parse(PQgetvalue(res, i, 3), pool + (size_t)i * NGRAM_MAX, NGRAM_MAX);
        c[i] = (struct repeat_candidate){
            .id = PQgetvalue(res, i, 0),
            .same_caller = strcmp(PQgetvalue(res, i, 1), "t") == 0,
            .same_place = strcmp(PQgetvalue(res, i, 2), "t") == 0,
            .grams = pool + (size_t)i * NGRAM_MAX,
            .ngrams = n > 0 ? (size_t)n : 0,
        };
    }
    size_t kept = repeat_rank(c, (size_t)rows, grams, ngrams);
    out = json_array();
    for (size_t i = 0; out != NULL && i < kept; i++)
        json_array_append_new(out, json_pack("{s:s,s:f,s:b,s:b}", "id", c[i].id, "score",
                                             (double)(int)(c[i].score * 1000) / 1000, "same_caller",
                                             c[i].same_caller, "same_place", c[i].same_place));
out:
    free(pool);
    free(c);
    return out;
}

/*
 * Art 7 item 6: the earlier appeals this one likely repeats, as a JSON array
 * best first; recorded as an event when there are any.  NULL on error.
 */
static json_t *repeats_find(struct db *db, const struct hotline *h, const struct principal *who,
                            const char *id, struct ticketdb_head *head, const char *phone_hash,
                            const struct intake *in, const int32_t *grams, size_t ngrams,
                            const char *literal, int64_t now)
{
    int64_t since = now - (int64_t)h->repeat_window_days * 86400 * 1000000;
    PGresult *res = ticketdb_repeats(db, id, phone_hash, in->division, literal, since);
    json_t *out = res != NULL ? repeats_rank(res, grams, ngrams) : NULL;

    PQclear(res);
    if (out == NULL || json_array_size(out) == 0)
        return out;
    json_t *wrapper = json_pack("{s:O}", "candidates", out);
    char *detail = wrapper != NULL ? json_dumps(wrapper, JSON_COMPACT) : NULL;
    json_decref(wrapper);
    struct ticket_event e = {
        .actor = who->name,
        .role = auth_role_name(who->role),
        .action = "repeat_check",
        .from = STATUS_REGISTERED,
        .to = STATUS_REGISTERED,
        .detail = detail,
    };
    int rc = detail != NULL ? ticketdb_append(db, id, head, &e, now) : -1;
    free(detail);
    if (rc < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

json_t *workflow_repeats(struct db *db, const struct hotline *h, const char *content,
                         const char *division, const char *phone)
{
    int64_t now = clock_now_us();
    int64_t since = now - (int64_t)h->repeat_window_days * 86400 * 1000000;
    char phone_hash[PII_HASH_LEN + 1] = "";
    char normalized[RESTRICTION_PHONE_MAX + 1];
    int32_t grams[NGRAM_MAX];
    size_t ngrams = ngram_grams(content, grams, NGRAM_MAX);
    char *literal = malloc(NGRAM_MAX * 12 + 3);
    PGresult *res = NULL;
    json_t *out = NULL;

    if (literal == NULL || ngram_array(grams, ngrams, literal, NGRAM_MAX * 12 + 3) < 0)
        goto out;
    /* No number yet: "" is no caller's hash, so only the place and the
     * words match. */
    if (phone != NULL && restriction_phone_normalize(phone, normalized) == 0)
        pii_phone_hash(&h->pii, normalized, phone_hash);
    res = ticketdb_repeats(db, "", phone_hash, division, literal, since);
    if (res != NULL)
        out = repeats_rank(res, grams, ngrams);
out:
    PQclear(res);
    free(literal);
    return out;
}

enum workflow_result workflow_intake(struct db *db, const struct hotline *h,
                                     const struct principal *who, const struct intake *in,
                                     char id[TICKET_ID_LEN + 1], json_t **repeats)
{
    int64_t now = clock_now_us();
    char phone_hash[PII_HASH_LEN + 1];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    int32_t grams[NGRAM_MAX];
    size_t ngrams = ngram_grams(in->content, grams, NGRAM_MAX);
    char *literal = malloc(NGRAM_MAX * 12 + 3);
    json_t *found = NULL;

    if (literal == NULL || ngram_array(grams, ngrams, literal, NGRAM_MAX * 12 + 3) < 0)
        goto fail;
    if (ticketdb_next_id(db, h->node_code, now, id) < 0 || db_begin(db) < 0)
        goto fail;
    struct pii_citizen citizen = {in->name, in->phone, in->id_number, in->contact};
    char key_id[PII_KEY_ID_LEN + 1];
    sealed = pii_seal_citizen(&h->pii, id, &citizen, &sealed_len, key_id);
    if (sealed == NULL) {
        log_warnx("cannot seal the personal data of '%s'", id);
        goto fail;
    }
    /* The hash is of the number as restrictions key it: without the dash. */
    char phone[RESTRICTION_PHONE_MAX + 1];
    if (restriction_phone_normalize(in->phone, phone) < 0)
        goto fail;
    pii_phone_hash(&h->pii, phone, phone_hash);
    struct ticket_new n = {
        .kind = in->kind,
        .channel = in->channel,
        .category = in->category,
        .content = in->content,
        .citizen_type = in->citizen_type,
        .pii = sealed,
        .pii_len = sealed_len,
        .pii_key_id = key_id,
        .phone_hash = phone_hash,
        .division = in->division,
        .address = in->address,
        .lat = in->lat,
        .lon = in->lon,
        .emergency = in->emergency,
        .grams = literal,
        .source = in->source,
        .media_url = in->media_url,
    };
    struct ticket_event e = {
        .actor = who->name,
        .role = auth_role_name(who->role),
        .action = "register",
        .from = STATUS_COUNT,
        .to = STATUS_REGISTERED,
    };
    /* Written without waiting (db_send), but for the repeat search and the
     * commit: an intake is three round trips to the database. */
    struct ticketdb_head head;
    ticketdb_head_new(&head);
    if (ticketdb_insert(db, id, h->node_code, &n, now) < 0 ||
        ticketdb_append(db, id, &head, &e, now) < 0 ||
        emergency_record(db, id, &head, who, in->emergency, now) < 0 ||
        (in->answer_clear && ticketdb_audit(db, who, id, "pii_read", now) < 0))
        goto fail;
    found = repeats_find(db, h, who, id, &head, phone_hash, in, grams, ngrams, literal, now);
    if (found == NULL || db_commit(db) < 0)
        goto fail;
    free(sealed);
    free(literal);
    *repeats = found;
    return WORKFLOW_DONE;

fail:
    json_decref(found);
    free(sealed);
    free(literal);
    db_rollback(db);
    return WORKFLOW_FAILED;
}

enum workflow_result workflow_act_within(struct db *db, const struct hotline *h,
                                         const struct principal *who, const char *id,
                                         const struct action_request *req,
                                         struct ticket_refusal *why)
{
    struct ticket_row row = {0};
    struct ticket_caller caller = workflow_caller(who);
    struct ticket_context ctx = workflow_context(db, h);

    if (ctx.calendar == NULL)
        return WORKFLOW_FAILED;
    int found = ticketdb_load(db, id, 1, &row);
    if (found < 0)
        return WORKFLOW_FAILED;
    if (found == 0) {
        why->status = 404;
        why->code = "not_found";
        why->message = "no such ticket";
        why->field = NULL;
        return WORKFLOW_REFUSED;
    }
    /* Only the owner changes a ticket; a copy left by a transfer is read-only. */
    int foreign = strcmp(PQgetvalue(row.res, 0, COL_OWNER_NODE), h->node_code) != 0;
    if (foreign)
        *why = (struct ticket_refusal){
            409, "transferred", "the appeal was transferred to another node and is handled there",
            NULL};
    if (foreign || ticket_check(&row.t, req->action, &caller, &req->input, &ctx, why) < 0) {
        ticketdb_row_clear(&row);
        return WORKFLOW_REFUSED;
    }
    enum ticket_status from = row.t.status;
    ticket_apply(&row.t, req->action, &req->input, &ctx);
    struct ticket_event e = {
        .actor = who->name,
        .role = auth_role_name(who->role),
        .action = ticket_action_name(req->action),
        .from = from,
        .to = row.t.status,
        .reason = req->reason,
        .detail = req->detail,
    };
    int failed = ticketdb_update(db, &row.t, req->pending, req->outcome, ctx.now) < 0 ||
                 ticketdb_event(db, id, &e, ctx.now) < 0 ||
                 (req->also != NULL && req->also(db, &row.t, who, req->also_arg, ctx.now) < 0);
    ticketdb_row_clear(&row);
    return failed ? WORKFLOW_FAILED : WORKFLOW_DONE;
}

enum workflow_result workflow_act(struct db *db, const struct hotline *h,
                                  const struct principal *who, const char *id,
                                  const struct action_request *req, struct ticket_refusal *why)
{
    if (db_begin(db) < 0)
        return WORKFLOW_FAILED;
    enum workflow_result r = workflow_act_within(db, h, who, id, req, why);
    if (r == WORKFLOW_DONE && db_commit(db) < 0)
        r = WORKFLOW_FAILED;
    if (r != WORKFLOW_DONE)
        db_rollback(db);
    return r;
}

/* Re-examines one order as time passed: raises its due-soon and overdue
 * flags, or closes it when its rating window ended, with an event for each.
 * Returns 1 if it changed, 0 if not, -1 on error. */
static int tick_one(struct db *db, const struct ticket_context *ctx, const char *id)
{
    static const char *const what[] = {"due_soon", "overdue", "close"};
    struct ticket_row row = {0};
    int changed = 0;

    if (db_begin(db) < 0)
        return -1;
    int found = ticketdb_load(db, id, 1, &row);
    if (found < 0)
        goto fail;
    enum ticket_status before = row.t.status;
    if (found > 0)
        changed = ticket_tick(&row.t, ctx) | (ticket_expire(&row.t, ctx) << 2);
    /* The ticket first, so each event announces the ticket as it now is. */
    if (changed != 0 && ticketdb_update(db, &row.t, NULL, NULL, ctx->now) < 0)
        goto fail;
    for (int bit = 0; bit < 3; bit++) {
        if (!(changed & (1 << bit)))
            continue;
        struct ticket_event e = {
            .actor = "clock",
            .role = "system",
            .action = what[bit],
            .from = before,
            .to = row.t.status,
            .reason = bit == 2 ? (row.t.rated ? "rated" : "unrated") : NULL,
        };
        if (ticketdb_event(db, id, &e, ctx->now) < 0)
            goto fail;
    }
    ticketdb_row_clear(&row);
    if (db_commit(db) < 0)
        goto fail;
    return changed != 0;

fail:
    ticketdb_row_clear(&row);
    db_rollback(db);
    return -1;
}

int workflow_tick(struct db *db, const struct hotline *h)
{
    struct ticket_context ctx = workflow_context(db, h);
    int provisional, changed = 0;

    if (ctx.calendar == NULL)
        return -1;
    /* Everything due by the end of the next working day may change now. */
    PGresult *lists[2] = {
        ticketdb_due(db, calendar_deadline(ctx.calendar, ctx.now, 1, &provisional) + 1),
        ticketdb_expired(db, ctx.now),
    };
    for (int l = 0; l < 2; l++) {
        for (int i = 0; lists[l] != NULL && changed >= 0 && i < PQntuples(lists[l]); i++) {
            int rc = tick_one(db, &ctx, PQgetvalue(lists[l], i, 0));
            changed = rc < 0 ? -1 : changed + rc;
        }
    }
    if (lists[0] == NULL || lists[1] == NULL)
        changed = -1;
    PQclear(lists[0]);
    PQclear(lists[1]);
    return changed;
}
