/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ticket_api.c - the HTTP face of the work-order lifecycle.
 *
 * Runs in HTTP workers: parse and validate the body, call one workflow
 * command, render the ticket for the caller.  Rendering decides what the
 * caller may see: personal data in clear for operators, managers and the
 * unit holding the order (each such read goes to the audit log), masked for
 * everyone else; and the actions the caller may take next.
 */
#include "ticket_api.h"

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "emergencydb.h"
#include "input.h"
#include "ticket.h"
#include "transferdb.h"
#include "kb_api.h"
#include "log.h"
#include "node.h"
#include "restriction.h"
#include "restriction_api.h"
#include "unitdb.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READERS       (ROLE_OPERATOR | ROLE_MANAGER | ROLE_UNIT | ROLE_AUDITOR)
#define MAX_PAGE_SIZE 200

static const char *const channels[] = {"phone", "web", "app", "miniprogram", NULL};
static const char *const sources[] = {"local", "national_platform", NULL};
static const char *const citizen_types[] = {"person", "legal_person", "organization", NULL};
static const char *const approve_refuse[] = {"approve", "refuse", NULL};
static const char *const approve_send_back[] = {"approve", "send_back", NULL};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct field citizen_fields[] = {
    INPUT_ENUM("type", 1, citizen_types), INPUT_TEXT("name", 1, 1, 100),
    INPUT_TEXT("phone", 1, 7, 16),        INPUT_TEXT("id_number", 0, 1, 32),
    INPUT_TEXT("contact", 0, 1, 200),
};

static const struct field location_fields[] = {
    INPUT_TEXT("division", 1, 6, 6),
    INPUT_TEXT("address", 1, 1, 500),
    {.name = "lat", .type = FIELD_NUMBER, .lo = -90, .hi = 90},
    {.name = "long", .type = FIELD_NUMBER, .lo = -180, .hi = 180},
};

const struct field ticket_intake_fields[] = {
    INPUT_ENUM("source", 0, sources),
    INPUT_ENUM("kind", 1, ticket_kinds),
    INPUT_ENUM("channel", 1, channels),
    INPUT_ENUM("category", 1, ticket_categories),
    INPUT_TEXT("content", 1, 1, 4000),
    {.name = "citizen",
     .type = FIELD_OBJECT,
     .required = 1,
     .fields = citizen_fields,
     .nfields = COUNT(citizen_fields)},
    {.name = "location",
     .type = FIELD_OBJECT,
     .required = 1,
     .fields = location_fields,
     .nfields = COUNT(location_fields)},
};
const size_t ticket_intake_fields_len = COUNT(ticket_intake_fields);

/* --- rendering ---------------------------------------------------------- */

static json_t *time_or_null(int64_t us)
{
    char text[CLOCK_RFC3339_LEN];

    if (us == 0)
        return json_null();
    clock_format(us, text);
    return json_string(text);
}

/* Deadlines are whole seconds: 23:59:59+08:00. */
static json_t *deadline_or_null(int64_t us)
{
    char text[CLOCK_RFC3339_LEN];

    if (us == 0)
        return json_null();
    clock_format(us - us % 1000000, text);
    memmove(text + 19, text + 26, sizeof("+08:00"));
    return json_string(text);
}

static json_t *text_or_null(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null() : json_string(PQgetvalue(res, i, col));
}

static json_t *number_or_null(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? json_null()
                                    : json_real(strtod(PQgetvalue(res, i, col), NULL));
}

/* A column holding JSON text, as JSON; null if empty. */
static json_t *json_text(PGresult *res, int i, int col)
{
    json_t *v = PQgetisnull(res, i, col) ? NULL : json_loads(PQgetvalue(res, i, col), 0, NULL);
    return v != NULL ? v : json_null();
}

/* May 'who' see the personal data of this order in clear? */
static int sees_pii(const struct principal *who, const struct ticket *t)
{
    if (who->role == ROLE_OPERATOR || who->role == ROLE_MANAGER)
        return 1;
    return who->role == ROLE_UNIT && strcmp(who->unit, t->unit) == 0;
}

static json_t *masked(const char *value, void (*mask)(const char *, char *, size_t))
{
    char out[256];

    if (value == NULL)
        return json_null();
    mask(value, out, sizeof(out));
    return json_string(out);
}

static void mask_all(const char *value, char *out, size_t cap)
{
    (void)value;
    snprintf(out, cap, "***");
}

/* The citizen object: opened and shown, or masked, or NULL on failure. */
static json_t *render_citizen(const struct hotline *h, const struct ticket *t, PGresult *res, int i,
                              int clear)
{
    size_t len = 0;
    unsigned char *sealed =
        PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, COL_CITIZEN_PII), &len);
    char *plain = sealed != NULL
                      ? pii_open(&h->pii, PQgetvalue(res, i, COL_PII_KEY_ID), t->id, sealed, len)
                      : NULL;
    json_t *pii = plain != NULL ? json_loads(plain, 0, NULL) : NULL;
    json_t *out = NULL;

    PQfreemem(sealed);
    if (plain != NULL) {
        memset(plain, 0, strlen(plain));
        free(plain);
    }
    if (pii == NULL) {
        log_warnx("cannot open the personal data of '%s'", t->id);
        return NULL;
    }
    const char *name = input_text(pii, "name"), *phone = input_text(pii, "phone");
    const char *id_number = input_text(pii, "id_number"), *contact = input_text(pii, "contact");
    if (clear)
        out = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?}", "type", PQgetvalue(res, i, COL_CITIZEN_TYPE),
                        "name", name, "phone", phone, "id_number", id_number, "contact", contact);
    else
        out = json_pack("{s:s,s:o,s:o,s:o,s:o}", "type", PQgetvalue(res, i, COL_CITIZEN_TYPE),
                        "name", masked(name, pii_mask_name), "phone", masked(phone, pii_mask_phone),
                        "id_number", masked(id_number, pii_mask_id), "contact",
                        masked(contact, mask_all));
    json_decref(pii);
    return out;
}

/*
 * The ticket in row 'i' as 'who' may see it; NULL on failure.  A clear read
 * of personal data is written to the audit log first, unless 'audited'
 * already (by the transaction that made the ticket, or with its page).
 */
static json_t *render(struct db *db, const struct node *node, const struct principal *who,
                      PGresult *res, int i, const struct ticket_context *ctx, int audited)
{
    struct ticket t;
    struct ticket_caller caller = workflow_caller(who);
    const char *allowed[ACTION_COUNT];

    ticketdb_row_read(res, i, &t);
    int clear = sees_pii(who, &t);
    if (clear && !audited &&
        (ticketdb_audit(db, who, t.id, "pii_read", ctx->now) < 0 || db_wait(db) < 0))
        return NULL;
    json_t *citizen = render_citizen(&node->hotline, &t, res, i, clear);
    if (citizen == NULL)
        return NULL;
    size_t n = ticket_allowed(&t, &caller, ctx, allowed);
    json_t *actions = json_array();
    for (size_t k = 0; k < n; k++)
        json_array_append_new(actions, json_string(allowed[k]));

    json_t *location =
        json_pack("{s:s,s:s,s:o,s:o}", "division", PQgetvalue(res, i, COL_DIVISION), "address",
                  PQgetvalue(res, i, COL_ADDRESS), "lat", number_or_null(res, i, COL_LAT), "long",
                  number_or_null(res, i, COL_LONG));
    json_t *obj = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:i,s:i,s:b,s:b,s:b,s:b,s:o,s:o,"
        "s:o}",
        "id", t.id, "status", ticket_status_name(t.status), "kind", ticket_kind_name(t.kind),
        "channel", PQgetvalue(res, i, COL_CHANNEL), "category", PQgetvalue(res, i, COL_CATEGORY),
        "content", PQgetvalue(res, i, COL_CONTENT), "citizen", citizen, "location", location,
        "unit", text_or_null(res, i, COL_UNIT), "unit_name", text_or_null(res, i, COL_UNIT_NAME),
        "received_at", time_or_null(t.received_at), "deadline", deadline_or_null(t.deadline),
        "provisional", t.provisional, "returns", t.returns, "extensions", t.extensions, "no_return",
        t.no_return, "due_soon", t.due_soon, "overdue", t.overdue, "supervised", t.supervised,
        "created_at", time_or_null(ticketdb_us(res, i, COL_CREATED_AT)), "updated_at",
        time_or_null(ticketdb_us(res, i, COL_UPDATED_AT)), "allowed_actions", actions);
    /* What awaits a manager, and how the order ended: for the staff who
     * handle it (a unit's reply may quote the citizen). */
    json_object_set_new(obj, "pending", clear ? json_text(res, i, COL_PENDING) : json_null());
    json_object_set_new(obj, "outcome", clear ? json_text(res, i, COL_OUTCOME) : json_null());
    json_object_set_new(obj, "source", json_string(PQgetvalue(res, i, COL_SOURCE)));
    json_object_set_new(obj, "redos", json_integer(t.redos));
    json_object_set_new(obj, "rating_due", time_or_null(t.rating_due));
    json_object_set_new(obj, "rated", json_boolean(t.rated));
    json_object_set_new(
        obj, "emergency",
        t.emergency_hours == 0
            ? json_null()
            : json_pack("{s:i,s:i,s:s,s:i}", "rule", atoi(PQgetvalue(res, i, COL_EMERGENCY_RULE)),
                        "version", atoi(PQgetvalue(res, i, COL_EMERGENCY_VERSION)), "line",
                        PQgetvalue(res, i, COL_EMERGENCY_LINE), "period_hours", t.emergency_hours));
    return obj;
}

/*
 * Answers with ticket 'id' as the caller may see it.  An intake passes the
 * likely repeats it found (taking the reference); it skips the scope check:
 * whoever registered an appeal gets it back, masked as needed, and its
 * clear read was audited with the intake.  'changed' says a change of it
 * was just committed.
 */
static void reply_ticket(struct http_request *req, struct db *db, struct node *node, const char *id,
                         int status, int changed, json_t *repeats)
{
    const struct principal *who = http_principal(req);
    struct ticket_context ctx = workflow_context(db, &node->hotline);
    struct ticket_row row = {0};
    struct ticket_caller caller = workflow_caller(who);
    json_t *obj = NULL;

    int found = ctx.calendar != NULL ? ticketdb_load(db, id, 0, &row) : -1;
    if (found == 0 || (found > 0 && repeats == NULL && !ticket_visible(&row.t, &caller))) {
        http_reply_error(req, 404, "not_found", "no such ticket");
        goto out;
    }
    if (found > 0)
        obj = render(db, node, who, row.res, 0, &ctx, repeats != NULL);
    /* A change is committed by now: if the database went away before the
     * ticket could be read back, the answer still says it was made. */
    if (obj == NULL && changed) {
        http_reply_json(req, status, json_pack("{s:s}", "id", id));
        goto out;
    }
    if (obj == NULL) {
        http_reply_error(req, 500, "internal", "the ticket could not be read");
        goto out;
    }
    if (repeats != NULL)
        json_object_set(obj, "repeat_candidates", repeats);
    http_reply_json(req, status, obj);
out:
    json_decref(repeats);
    ticketdb_row_clear(&row);
}

/* --- intake ------------------------------------------------------------- */

static int all_chars(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

static void handle_intake(struct http_request *req)
{
    struct node *node;
    json_t *body = http_body_json(req);
    struct db *db;
    char id[TICKET_ID_LEN + 1];

    if (body == NULL ||
        input_check(req, body, NULL, ticket_intake_fields, ticket_intake_fields_len) < 0)
        return;
    json_t *citizen = json_object_get(body, "citizen"),
           *location = json_object_get(body, "location");
    const char *phone = input_text(citizen, "phone");
    const char *id_number = input_text(citizen, "id_number");
    const char *division = input_text(location, "division");
    char normalized[RESTRICTION_PHONE_MAX + 1];
    if (restriction_phone_normalize(phone, normalized) < 0) {
        http_reply_invalid(req, "citizen.phone",
                           "'citizen.phone' is not a mobile or landline number");
        return;
    }
    if (id_number != NULL &&
        !all_chars(id_number, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")) {
        http_reply_invalid(req, "citizen.id_number",
                           "'citizen.id_number' holds only letters and digits");
        return;
    }
    if (!all_chars(division, "0123456789") || division[0] == '0') {
        http_reply_invalid(req, "location.division",
                           "'location.division' is not a six-digit division code");
        return;
    }
    if ((db = node_db(req, &node)) == NULL ||
        restriction_refused(req, db, &node->hotline, phone, input_text(body, "channel")))
        return;
    const struct ticket unassigned = {.status = STATUS_REGISTERED};
    double lat, lon;
    json_t *jlat = json_object_get(location, "lat"), *jlon = json_object_get(location, "long");
    lat = json_number_value(jlat);
    lon = json_number_value(jlon);
    struct intake in = {
        .channel = input_text(body, "channel"),
        .category = input_text(body, "category"),
        .content = input_text(body, "content"),
        .citizen_type = input_text(citizen, "type"),
        .name = input_text(citizen, "name"),
        .phone = phone,
        .id_number = id_number,
        .contact = input_text(citizen, "contact"),
        .division = division,
        .address = input_text(location, "address"),
        .lat = json_is_number(jlat) ? &lat : NULL,
        .lon = json_is_number(jlon) ? &lon : NULL,
        .answer_clear = sees_pii(http_principal(req), &unassigned),
    };
    ticket_kind_parse(input_text(body, "kind"), &in.kind);
    in.source = input_text(body, "source") != NULL ? input_text(body, "source") : "local";
    const struct emergency_list *emergencies = emergencydb_current(db);
    if (emergencies == NULL) {
        http_reply_error(req, 500, "internal", "the emergency list could not be read");
        return;
    }
    in.emergency = emergency_match(emergencies->rules, emergencies->n, in.category, in.content);
    json_t *repeats = NULL;
    enum workflow_result done =
        workflow_intake(db, &node->hotline, http_principal(req), &in, id, &repeats);
    if (done != WORKFLOW_DONE) {
        http_reply_error(req, 500, "internal", "the appeal could not be registered");
        return;
    }
    log_info("registered '%s'", id);
    reply_ticket(req, db, node, id, 201, 1, repeats);
}

/* --- actions ------------------------------------------------------------ */

/*
 * Reads the body of an action into 'out'.  Returns 0, or -1 having answered.
 * 'scratch' keeps JSON texts alive until the command ran.
 */
typedef int action_prepare(struct http_request *req, struct db *db, struct node *node, json_t *body,
                           struct action_request *out, char **scratch);

struct action_route {
    const struct field *fields;
    size_t nfields;
    action_prepare *prepare;
};

/* A JSON text of 'obj' for an event or the ticket, kept in 'scratch'. */
static const char *keep(json_t *obj, char **scratch)
{
    for (int i = 0; i < 3; i++) {
        if (scratch[i] == NULL) {
            scratch[i] = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(obj);
            return scratch[i];
        }
    }
    json_decref(obj);
    return NULL;
}

/* Checks that unit 'field' of 'body' names a unit of this node. */
static const char *unit_of(struct http_request *req, struct db *db, struct node *node, json_t *body,
                           const char *field)
{
    const char *unit = input_text(body, field);
    int exists = unit != NULL ? unitdb_exists(db, unit, node->cfg.node_code) : 0;

    if (exists < 0)
        http_reply_error(req, 500, "internal", "the units could not be read");
    else if (exists == 0)
        http_reply_invalid(req, field, "'%s': no unit '%s' at this node", field,
                           unit != NULL ? unit : "");
    return exists > 0 ? unit : NULL;
}

/* Inside the approval's transaction: the reply becomes the answer of record. */
static int settle(struct db *db, const struct ticket *t, const struct principal *who,
                  const void *arg, int64_t now)
{
    (void)who, (void)arg, (void)now;
    return ticketdb_settle(db, t->id);
}

static int forget_rating_token(struct db *db, const struct ticket *t, const struct principal *who,
                               const void *arg, int64_t now)
{
    (void)who, (void)arg, (void)now;
    return ticketdb_rating_token(db, t->id, NULL);
}

/* Inside the link's or the repeat's transaction: keep the relation. */
static int link_store(struct db *db, const struct ticket *t, const struct principal *who,
                      const void *related, int64_t now)
{
    return ticketdb_link(db, t->id, related, who->name, now);
}

static int prepare_answer(struct http_request *req, struct db *db, struct node *node, json_t *body,
                          struct action_request *out, char **scratch)
{
    json_t *detail = kb_api_answer_detail(req, db, input_text(body, "kb_ref"));

    (void)node;
    if (detail == NULL)
        return -1;
    out->action = ACTION_ANSWER;
    out->detail = keep(detail, scratch);
    out->outcome = keep(json_deep_copy(body), scratch);
    return 0;
}

static int prepare_reject(struct http_request *req, struct db *db, struct node *node, json_t *body,
                          struct action_request *out, char **scratch)
{
    const char *reason = input_text(body, "reason"), *dup = input_text(body, "duplicate_of");

    (void)node;
    if ((strcmp(reason, "repeat") == 0) != (dup != NULL)) {
        http_reply_invalid(
            req, "duplicate_of",
            "'duplicate_of' names the earlier ticket of a repeat, and only of a repeat");
        return -1;
    }
    if (dup != NULL) {
        struct ticket_row row = {0};
        int found =
            strcmp(dup, http_path_param(req, "id")) == 0 ? 0 : ticketdb_load(db, dup, 0, &row);
        ticketdb_row_clear(&row);
        if (found <= 0) {
            http_reply_invalid(req, "duplicate_of", "'duplicate_of': no ticket '%s' at this node",
                               dup);
            return -1;
        }
    }
    out->action = ACTION_REJECT;
    out->reason = reason;
    out->detail = keep(json_pack("{s:s,s:s?}", "explanation", input_text(body, "explanation"),
                                 "duplicate_of", dup),
                       scratch);
    out->outcome = keep(json_deep_copy(body), scratch);
    /* Art 7 item 6: a repeat is linked to the appeal it repeats. */
    if (dup != NULL) {
        out->also = link_store;
        out->also_arg = dup;
    }
    return 0;
}

/* Art 7: the appeal is in scope; the operator may correct its kind and category. */
static int prepare_accept(struct http_request *req, struct db *db, struct node *node, json_t *body,
                          struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node;
    out->action = ACTION_ACCEPT;
    out->input.kind = input_text(body, "kind");
    out->input.category = input_text(body, "category");
    out->detail =
        keep(json_pack("{s:s?,s:s?}", "kind", out->input.kind, "category", out->input.category),
             scratch);
    return 0;
}

static int prepare_dispatch(struct http_request *req, struct db *db, struct node *node,
                            json_t *body, struct action_request *out, char **scratch)
{
    const char *unit = unit_of(req, db, node, body, "unit");

    if (unit == NULL)
        return -1;
    out->action = ACTION_DISPATCH;
    out->input.unit = unit;
    out->input.no_return = json_is_true(json_object_get(body, "no_return"));
    out->detail =
        keep(json_pack("{s:s,s:b}", "unit", unit, "no_return", out->input.no_return), scratch);
    return 0;
}

static int prepare_return(struct http_request *req, struct db *db, struct node *node, json_t *body,
                          struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node;
    out->action = ACTION_RETURN;
    out->reason = input_text(body, "reason");
    out->detail = keep(json_pack("{s:s}", "basis", input_text(body, "basis")), scratch);
    out->pending = keep(json_pack("{s:s,s:O}", "request", "return", "body", body), scratch);
    return 0;
}

static int prepare_return_review(struct http_request *req, struct db *db, struct node *node,
                                 json_t *body, struct action_request *out, char **scratch)
{
    int approve = strcmp(input_text(body, "decision"), "approve") == 0;
    const char *unit = NULL;

    if (approve && (unit = unit_of(req, db, node, body, "unit")) == NULL)
        return -1;
    out->action = approve ? ACTION_RETURN_APPROVE : ACTION_RETURN_REFUSE;
    out->input.unit = unit;
    out->input.no_return = approve && json_is_true(json_object_get(body, "no_return"));
    out->reason = input_text(body, "note");
    out->detail = keep(json_pack("{s:s?}", "unit", unit), scratch);
    return 0;
}

static int prepare_extension(struct http_request *req, struct db *db, struct node *node,
                             json_t *body, struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node;
    out->action = ACTION_EXTENSION;
    out->reason = input_text(body, "reason");
    out->pending = keep(json_pack("{s:s,s:O}", "request", "extension", "body", body), scratch);
    return 0;
}

static int prepare_extension_review(struct http_request *req, struct db *db, struct node *node,
                                    json_t *body, struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node, (void)scratch;
    out->action = strcmp(input_text(body, "decision"), "approve") == 0 ? ACTION_EXTENSION_APPROVE
                                                                       : ACTION_EXTENSION_REFUSE;
    out->reason = input_text(body, "note");
    return 0;
}

static int prepare_completion(struct http_request *req, struct db *db, struct node *node,
                              json_t *body, struct action_request *out, char **scratch)
{
    int64_t at;

    (void)db, (void)node;
    if (clock_parse(input_text(body, "handled_at"), &at) < 0 || at > clock_now_us()) {
        http_reply_invalid(req, "handled_at",
                           "'handled_at' must be an RFC 3339 date-time, not in the future");
        return -1;
    }
    out->action = ACTION_COMPLETION;
    /* Art 13 and 16: the reply itself is part of the record. */
    out->detail = keep(json_deep_copy(body), scratch);
    out->pending = keep(json_pack("{s:s,s:O}", "request", "completion", "body", body), scratch);
    return 0;
}

static int prepare_completion_review(struct http_request *req, struct db *db, struct node *node,
                                     json_t *body, struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node, (void)scratch;
    out->action = strcmp(input_text(body, "decision"), "approve") == 0
                      ? ACTION_COMPLETION_APPROVE
                      : ACTION_COMPLETION_SEND_BACK;
    out->reason = input_text(body, "note");
    if (out->action == ACTION_COMPLETION_APPROVE)
        out->also = settle;
    return 0;
}

static int prepare_note(struct http_request *req, struct db *db, struct node *node, json_t *body,
                        struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node;
    out->action = ACTION_NOTE;
    out->detail = keep(json_pack("{s:s}", "text", input_text(body, "text")), scratch);
    return 0;
}

static int prepare_supervise(struct http_request *req, struct db *db, struct node *node,
                             json_t *body, struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node, (void)scratch;
    out->action = ACTION_SUPERVISE;
    out->reason = input_text(body, "note");
    return 0;
}

static int prepare_redo(struct http_request *req, struct db *db, struct node *node, json_t *body,
                        struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node, (void)scratch;
    out->action = ACTION_REDO;
    out->reason = input_text(body, "reason");
    return 0;
}

static int prepare_redo_review(struct http_request *req, struct db *db, struct node *node,
                               json_t *body, struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)node, (void)scratch;
    out->action = strcmp(input_text(body, "decision"), "approve") == 0 ? ACTION_REDO_APPROVE
                                                                       : ACTION_REDO_REFUSE;
    out->reason = input_text(body, "note");
    /* A token of the first round must not rate the second. */
    if (out->action == ACTION_REDO_APPROVE)
        out->also = forget_rating_token;
    return 0;
}

/* An operator links an appeal to an earlier related one instead of
 * rejecting it as a repeat (Art 7 item 6). */
static int prepare_link(struct http_request *req, struct db *db, struct node *node, json_t *body,
                        struct action_request *out, char **scratch)
{
    const char *related = input_text(body, "related"), *id = http_path_param(req, "id");
    struct ticket_row row = {0};

    (void)node;
    int found = strcmp(related, id) == 0 ? 0 : ticketdb_load(db, related, 0, &row);
    ticketdb_row_clear(&row);
    if (found <= 0) {
        http_reply_invalid(req, "related", "'related' must be another ticket of this node");
        return -1;
    }
    out->action = ACTION_LINK;
    out->detail = keep(json_pack("{s:s}", "related", related), scratch);
    out->also = link_store;
    out->also_arg = related;
    return 0;
}

/* Art 3: an appeal registered at the wrong node goes to the right one, via
 * the province; the ticket is frozen here until the province decides. */
static int prepare_transfer(struct http_request *req, struct db *db, struct node *node,
                            json_t *body, struct action_request *out, char **scratch)
{
    const char *to = input_text(body, "to");

    if ((!config_code_valid(to, NODE_CITY) && !config_code_valid(to, NODE_PROVINCE)) ||
        strncmp(to, node->cfg.node_code, 2) != 0) {
        http_reply_invalid(req, "to", "'to' must be the code of a node of this province");
        return -1;
    }
    if (strcmp(to, node->cfg.node_code) == 0) {
        http_reply_invalid(req, "to", "'to' must be another node than this one");
        return -1;
    }
    int fits = transferdb_offer_fits(db, http_path_param(req, "id"));
    if (fits <= 0) {
        if (fits < 0)
            http_reply_error(req, 500, "internal", "the ticket could not be read");
        else
            http_reply_error(req, 413, "too_large",
                             "the ticket and its history are too large to transfer in one"
                             " message; it must be handled here");
        return -1;
    }
    out->action = ACTION_TRANSFER;
    out->reason = input_text(body, "reason");
    out->detail = keep(json_pack("{s:s}", "to", to), scratch);
    out->also = transferdb_offer;
    out->also_arg = node;
    return 0;
}

/* The node a transfer gave the appeal to declines it, within 2 working days. */
static int prepare_decline(struct http_request *req, struct db *db, struct node *node, json_t *body,
                           struct action_request *out, char **scratch)
{
    (void)req, (void)db, (void)scratch;
    out->action = ACTION_DECLINE;
    out->reason = input_text(body, "reason");
    out->also = transferdb_decline;
    out->also_arg = node;
    return 0;
}

static const struct field answer_fields[] = {INPUT_TEXT("answer", 1, 1, 4000),
                                             INPUT_TEXT("kb_ref", 0, 1, 64)};
static const struct field reject_fields[] = {INPUT_ENUM("reason", 1, ticket_reject_reasons),
                                             INPUT_TEXT("explanation", 1, 1, 2000),
                                             INPUT_TEXT("duplicate_of", 0, 1, TICKET_ID_LEN)};
static const struct field accept_fields[] = {INPUT_ENUM("kind", 0, ticket_kinds),
                                             INPUT_ENUM("category", 0, ticket_categories)};
static const struct field dispatch_fields[] = {INPUT_TEXT("unit", 1, 1, 32),
                                               {.name = "no_return", .type = FIELD_BOOL}};
static const struct field return_fields[] = {INPUT_TEXT("reason", 1, 1, 2000),
                                             INPUT_TEXT("basis", 1, 1, 2000)};
static const struct field return_review_fields[] = {INPUT_ENUM("decision", 1, approve_refuse),
                                                    INPUT_TEXT("unit", 0, 1, 32),
                                                    INPUT_TEXT("note", 0, 1, 2000),
                                                    {.name = "no_return", .type = FIELD_BOOL}};
static const struct field extension_fields[] = {INPUT_TEXT("reason", 1, 1, 2000)};
static const struct field review_fields[] = {INPUT_ENUM("decision", 1, approve_refuse),
                                             INPUT_TEXT("note", 0, 1, 2000)};
static const struct field completion_fields[] = {
    INPUT_TEXT("handled_at", 1, 1, 40), INPUT_TEXT("process", 1, 1, 4000),
    INPUT_TEXT("result", 1, 1, 4000), INPUT_TEXT("basis", 1, 1, 2000)};
static const struct field completion_review_fields[] = {
    INPUT_ENUM("decision", 1, approve_send_back), INPUT_TEXT("note", 0, 1, 2000)};
static const struct field note_fields[] = {INPUT_TEXT("text", 1, 1, 2000)};
static const struct field supervise_fields[] = {INPUT_TEXT("note", 1, 1, 2000)};
static const struct field redo_fields[] = {INPUT_TEXT("reason", 1, 1, 2000)};
static const struct field link_fields[] = {INPUT_TEXT("related", 1, 1, TICKET_ID_LEN)};
static const struct field transfer_fields[] = {INPUT_TEXT("to", 1, 6, 6),
                                               INPUT_TEXT("reason", 1, 1, 2000)};
static const struct field decline_fields[] = {INPUT_TEXT("reason", 1, 1, 2000)};

#define ACTION(f, p)                                                                               \
    {                                                                                              \
        f, COUNT(f), p                                                                             \
    }
static const struct action_route answer_route = ACTION(answer_fields, prepare_answer);
static const struct action_route reject_route = ACTION(reject_fields, prepare_reject);
static const struct action_route accept_route = ACTION(accept_fields, prepare_accept);
static const struct action_route dispatch_route = ACTION(dispatch_fields, prepare_dispatch);
static const struct action_route return_route = ACTION(return_fields, prepare_return);
static const struct action_route return_review_route =
    ACTION(return_review_fields, prepare_return_review);
static const struct action_route extension_route = ACTION(extension_fields, prepare_extension);
static const struct action_route extension_review_route =
    ACTION(review_fields, prepare_extension_review);
static const struct action_route completion_route = ACTION(completion_fields, prepare_completion);
static const struct action_route completion_review_route =
    ACTION(completion_review_fields, prepare_completion_review);
static const struct action_route note_route = ACTION(note_fields, prepare_note);
static const struct action_route supervise_route = ACTION(supervise_fields, prepare_supervise);
static const struct action_route redo_route = ACTION(redo_fields, prepare_redo);
static const struct action_route link_route = ACTION(link_fields, prepare_link);
static const struct action_route transfer_route = ACTION(transfer_fields, prepare_transfer);
static const struct action_route decline_route = ACTION(decline_fields, prepare_decline);
static const struct action_route redo_review_route = ACTION(review_fields, prepare_redo_review);

/* Returns 1 if ticket 'id' exists and the caller may see it; else answers
 * 404 (or 500) and returns 0. */
static int ticket_in_scope(struct http_request *req, struct db *db, const char *id)
{
    struct ticket_row row = {0};
    struct ticket_caller caller = workflow_caller(http_principal(req));
    int found = ticketdb_load(db, id, 0, &row);
    int visible = found > 0 && ticket_visible(&row.t, &caller);

    ticketdb_row_clear(&row);
    if (found < 0)
        http_reply_error(req, 500, "internal", "the ticket could not be read");
    else if (!visible)
        http_reply_error(req, 404, "not_found", "no such ticket");
    return visible;
}

static void handle_action(struct http_request *req)
{
    const struct action_route *route = http_route_arg(req);
    const char *id = http_path_param(req, "id");
    json_t *body;
    struct action_request ar = {0};
    struct ticket_refusal why;
    char *scratch[3] = {NULL, NULL, NULL};
    struct node *node;
    struct db *db;

    /* An unknown ticket, or one outside the caller's scope, is 404 whatever
     * the body says: its existence is not revealed by a validation error. */
    if ((db = node_db(req, &node)) == NULL || !ticket_in_scope(req, db, id))
        return;
    body = http_body_json(req);
    if (body == NULL || input_check(req, body, NULL, route->fields, route->nfields) < 0)
        return;
    if (route->prepare(req, db, node, body, &ar, scratch) < 0)
        goto out;
    switch (workflow_act(db, &node->hotline, http_principal(req), id, &ar, &why)) {
    case WORKFLOW_DONE:
        reply_ticket(req, db, node, id, 200, 1, NULL);
        break;
    case WORKFLOW_REFUSED:
        if (why.field != NULL)
            http_reply_invalid(req, why.field, "%s", why.message);
        else
            http_reply_error(req, why.status, why.code, "%s", why.message);
        break;
    case WORKFLOW_FAILED:
        http_reply_error(req, 500, "internal", "the change could not be made");
        break;
    }
out:
    for (int i = 0; i < 3; i++)
        free(scratch[i]);
}

/* --- reading ------------------------------------------------------------ */

static void handle_get(struct http_request *req)
{
    struct node *node;
    struct db *db = node_db(req, &node);

    if (db != NULL)
        reply_ticket(req, db, node, http_path_param(req, "id"), 200, 0, NULL);
}

static void handle_events(struct http_request *req)
{
    const char *id = http_path_param(req, "id");
    struct db *db = node_db(req, NULL);

    if (db == NULL || !ticket_in_scope(req, db, id))
        return;
    json_t *events = ticketdb_events(db, id);
    if (events == NULL)
        http_reply_error(req, 500, "internal", "the events could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "events", events));
}

/* The transfers of a ticket, with every signed message: the evidence. */
static void handle_transfers(struct http_request *req)
{
    const char *id = http_path_param(req, "id");
    struct db *db = node_db(req, NULL);

    if (db == NULL || !ticket_in_scope(req, db, id))
        return;
    json_t *list = transferdb_history(db, id);
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the transfers could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "transfers", list));
}

/* Reads a list filter from the query string.  Returns 0, or -1 having answered. */
static int filter_read(struct http_request *req, const struct principal *who,
                       struct ticket_filter *f)
{
    const char *status = http_query_param(req, "status"), *kind = http_query_param(req, "kind");
    const char *overdue = http_query_param(req, "overdue");
    const char *page = http_query_param(req, "page"), *size = http_query_param(req, "page_size");
    const char *times[2] = {http_query_param(req, "from"), http_query_param(req, "to")};
    int64_t *bounds[2] = {&f->from, &f->to};
    static const char *const names[2] = {"from", "to"};
    enum ticket_status st;
    enum ticket_kind k;
    char *end;

    *f = (struct ticket_filter){.status = status,
                                .unit = http_query_param(req, "unit"),
                                .kind = kind,
                                .overdue = -1,
                                .page = 1,
                                .page_size = 50};
    if (status != NULL && ticket_status_parse(status, &st) < 0) {
        http_reply_invalid(req, "status", "unknown status");
        return -1;
    }
    if (kind != NULL && ticket_kind_parse(kind, &k) < 0) {
        http_reply_invalid(req, "kind", "unknown kind");
        return -1;
    }
    if (overdue != NULL) {
        if (strcmp(overdue, "true") != 0 && strcmp(overdue, "false") != 0) {
            http_reply_invalid(req, "overdue", "'overdue' is true or false");
            return -1;
        }
        f->overdue = strcmp(overdue, "true") == 0;
    }
    for (int i = 0; i < 2; i++) {
        if (times[i] != NULL && clock_parse(times[i], bounds[i]) < 0) {
            http_reply_invalid(req, names[i], "'%s' must be an RFC 3339 date-time", names[i]);
            return -1;
        }
    }
    if (page != NULL) {
        long v = strtol(page, &end, 10);
        if (*page == '\0' || *end != '\0' || v < 1 || v > 1000000) {
            http_reply_invalid(req, "page", "'page' must be a positive integer");
            return -1;
        }
        f->page = (int)v;
    }
    if (size != NULL) {
        long v = strtol(size, &end, 10);
        if (*size == '\0' || *end != '\0' || v < 1 || v > MAX_PAGE_SIZE) {
            http_reply_invalid(req, "page_size", "'page_size' must be 1 to %d", MAX_PAGE_SIZE);
            return -1;
        }
        f->page_size = (int)v;
    }
    /* A unit sees its own orders only, whatever it asks. */
    if (who->role == ROLE_UNIT) {
        if (f->unit != NULL && strcmp(f->unit, who->unit) != 0)
            f->unit = "";
        else
            f->unit = who->unit;
    }
    return 0;
}

/* Writes the clear reads of a page of orders to the audit log, in one
 * statement and one commit for the page.  Returns 0 or -1. */
static int audit_page(struct db *db, const struct principal *who, PGresult *res, int64_t now)
{
    const char *ids[MAX_PAGE_SIZE];
    size_t n = 0;
    struct ticket t;

    if (PQntuples(res) > MAX_PAGE_SIZE)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        ticketdb_row_read(res, i, &t);
        if (sees_pii(who, &t))
            ids[n++] = PQgetvalue(res, i, COL_ID);
    }
    return ticketdb_audit_all(db, who, ids, n, "pii_read", now);
}

static void handle_list(struct http_request *req)
{
    const struct principal *who = http_principal(req);
    struct ticket_filter f;
    struct node *node;
    struct db *db;
    long long total;

    if (filter_read(req, who, &f) < 0 || (db = node_db(req, &node)) == NULL)
        return;
    struct ticket_context ctx = workflow_context(db, &node->hotline);
    PGresult *res = ctx.calendar != NULL ? ticketdb_list(db, &f, &total) : NULL;
    if (res == NULL || audit_page(db, who, res, ctx.now) < 0) {
        PQclear(res);
        http_reply_error(req, 500, "internal", "the tickets could not be read");
        return;
    }
    json_t *tickets = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *t = render(db, node, who, res, i, &ctx, 1);
        if (t == NULL) {
            json_decref(tickets);
            PQclear(res);
            http_reply_error(req, 500, "internal", "the tickets could not be read");
            return;
        }
        json_array_append_new(tickets, t);
    }
    PQclear(res);
    http_reply_json(req, 200,
                    json_pack("{s:o,s:i,s:i,s:I}", "tickets", tickets, "page", f.page, "page_size",
                              f.page_size, "total", (json_int_t)total));
}

#define ACT(path, roles, r)                                                                        \
    {                                                                                              \
        "POST", "/api/v1/tickets/{id}/" path, handle_action, roles, &r                             \
    }

static const struct field repeats_fields[] = {
    INPUT_TEXT("content", 1, 1, 4000),
    INPUT_TEXT("division", 1, 6, 6),
    INPUT_TEXT("phone", 0, 1, 16),
};

/* The likely repeats of an appeal being typed, before it is registered: the
 * operator sees them beside the intake form.  A POST, so that the phone
 * number stays out of addresses and logs; nothing is written. */
static void handle_repeats(struct http_request *req)
{
    json_t *body = http_body_json(req);
    struct node *node;
    struct db *db;

    if (body == NULL || input_check(req, body, NULL, repeats_fields, COUNT(repeats_fields)) < 0)
        return;
    const char *division = input_text(body, "division");
    if (!all_chars(division, "0123456789") || division[0] == '0') {
        http_reply_invalid(req, "division", "'division' is a six-digit division code");
        return;
    }
    if ((db = node_db(req, &node)) == NULL)
        return;
    json_t *found = workflow_repeats(db, &node->hotline, input_text(body, "content"), division,
                                     input_text(body, "phone"));
    if (found == NULL)
        http_reply_error(req, 500, "internal", "the repeats could not be looked for");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "repeat_candidates", found));
}

const struct http_route ticket_routes[] = {
    {"POST", "/api/v1/tickets", handle_intake, ROLE_OPERATOR | ROLE_SERVICE, NULL},
    {"POST", "/api/v1/repeats", handle_repeats, ROLE_OPERATOR | ROLE_MANAGER, NULL},
    {"GET", "/api/v1/tickets", handle_list, READERS, NULL},
    {"GET", "/api/v1/tickets/{id}", handle_get, READERS, NULL},
    {"GET", "/api/v1/tickets/{id}/events", handle_events, READERS, NULL},
    {"GET", "/api/v1/tickets/{id}/transfers", handle_transfers,
     ROLE_OPERATOR | ROLE_MANAGER | ROLE_AUDITOR, NULL},
    ACT("answer", ROLE_OPERATOR, answer_route),
    ACT("reject", ROLE_OPERATOR, reject_route),
    ACT("accept", ROLE_OPERATOR, accept_route),
    ACT("dispatch", ROLE_OPERATOR | ROLE_MANAGER, dispatch_route),
    ACT("return", ROLE_UNIT, return_route),
    ACT("return/review", ROLE_MANAGER, return_review_route),
    ACT("extension", ROLE_UNIT, extension_route),
    ACT("extension/review", ROLE_MANAGER, extension_review_route),
    ACT("completion", ROLE_UNIT, completion_route),
    ACT("completion/review", ROLE_MANAGER, completion_review_route),
    ACT("notes", ROLE_OPERATOR | ROLE_MANAGER | ROLE_UNIT, note_route),
    ACT("supervise", ROLE_MANAGER, supervise_route),
    ACT("redo", ROLE_OPERATOR, redo_route),
    ACT("redo/review", ROLE_MANAGER, redo_review_route),
    ACT("link", ROLE_OPERATOR | ROLE_MANAGER, link_route),
    ACT("transfer", ROLE_OPERATOR | ROLE_MANAGER, transfer_route),
    ACT("decline", ROLE_OPERATOR | ROLE_MANAGER, decline_route),
};

const size_t ticket_routes_len = sizeof(ticket_routes) / sizeof(ticket_routes[0]);

const struct field *ticket_api_action_fields(const char *name, size_t *n)
{
    static const char prefix[] = "/api/v1/tickets/{id}/";

    for (size_t i = 0; i < ticket_routes_len; i++) {
        const struct http_route *r = &ticket_routes[i];
        if (r->handler == handle_action && strncmp(r->path, prefix, sizeof(prefix) - 1) == 0 &&
            strcmp(r->path + sizeof(prefix) - 1, name) == 0) {
            const struct action_route *a = r->arg;
            *n = a->nfields;
            return a->fields;
        }
    }
    return NULL;
}
