/* SPDX-License-Identifier: Apache-2.0 */
/*
 * import.c - a legacy system's ticket, line by line: intake's checks, then
 * its history replayed through the rules of ticket.c at its own times.
 *
 * Pure, run by `city-node import` in its one thread.  Each history event
 * names an action as the HTTP API does and carries that route's body; the
 * event it becomes is the one the API would have written (the same reason,
 * detail, pending application and outcome), with the original time, actor
 * and role.  The clock's marks (due_soon, overdue, close) are accepted when
 * the rules would have made them then.  Decisions:
 *   - the unit role acts for the unit holding the order at the time;
 *   - a rejection as a repeat names no earlier ticket (the legacy system's
 *     numbers are not this node's);
 *   - answers cite no knowledge-base entry; emergencies are not matched;
 *   - times never go back, and none is after the import runs.
 */
#include "import.h"

#include "clock.h"
#include "input.h"
#include "restriction.h"
#include "ticket_api.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const levels[] = {"very_satisfied", "satisfied",         "basically_satisfied",
                                     "dissatisfied",   "very_dissatisfied", NULL};
/* Where a history may leave an order: not in a transfer between nodes. */
static const char *const statuses[] = {"registered",
                                       "accepted",
                                       "answered",
                                       "rejected",
                                       "handling",
                                       "return_requested",
                                       "extension_requested",
                                       "completion_requested",
                                       "completed",
                                       "redo_requested",
                                       "closed",
                                       NULL};

/* A rating as the file holds it: the API's (rating_api.c) without the
 * citizen's one-time token, which a legacy system never had. */
static const struct field rating_fields[] = {INPUT_ENUM("intake", 1, levels),
                                             INPUT_ENUM("handling", 1, levels),
                                             INPUT_TEXT("comment", 0, 1, 500)};

/* What the line holds besides intake's body. */
static const struct field line_fields[] = {
    INPUT_TEXT("legacy_id", 1, 1, IMPORT_LEGACY_ID_MAX),
    INPUT_TEXT("received_at", 1, 1, 40),
    INPUT_TEXT("registered_by", 1, 1, 100),
    INPUT_ENUM("status", 1, statuses),
    {.name = "history", .type = FIELD_TEXTS}, /* checked below, event by event */
};

/* Where the replay of one event stands. */
struct replay {
    const struct import_rules *rules;
    struct import_record *r;
    json_t *body;  /* the event's body: its fields without at, actor, role, action */
    json_t *event; /* the event as the line holds it: what must outlive the replay */
    const char *actor;
    enum role role;
    struct ticket_context ctx;
    char *why;
    size_t whylen;
};

/* How one kind of event is read and what it writes. */
typedef int event_fn(struct replay *p, struct import_event *e);

struct event_kind {
    const char *name; /* as in the file: the API's route name, or the clock's mark */
    const struct field *fields;
    size_t nfields;
    event_fn *apply;
    int api; /* the body is an API action's: its fields are looked up there */
};

static int fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -1;
}

static char *dump(json_t *obj)
{
    char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(obj);
    return text;
}

static char *copy_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

/* The pending application of 'request': {"body": ..., "request": ...}. */
static int set_pending(struct replay *p, const char *request)
{
    free(p->r->pending);
    p->r->pending = dump(json_pack("{s:s,s:O}", "request", request, "body", p->body));
    return p->r->pending != NULL ? 0 : -1;
}

/* Checks 'action' for the caller at the event's time and applies it. */
static int act(struct replay *p, struct import_event *e, enum ticket_action action,
               const struct ticket_input *in)
{
    struct ticket_caller caller = {.role = p->role, .unit = p->r->t.unit};
    struct ticket_refusal refusal;

    if (ticket_check(&p->r->t, action, &caller, in, &p->ctx, &refusal) < 0)
        return fail(p->why, p->whylen, "'%s' refused by the rules: %s", ticket_action_name(action),
                    refusal.message);
    struct ticket_input none = {0};
    ticket_apply(&p->r->t, action, in != NULL ? in : &none, &p->ctx);
    e->action = ticket_action_name(action);
    return 0;
}

static const char *text(struct replay *p, const char *name)
{
    return input_text(p->body, name);
}

static int is_approve(struct replay *p)
{
    return strcmp(text(p, "decision"), "approve") == 0;
}

static int known_unit(struct replay *p, const char *unit)
{
    if (unit == NULL || !p->rules->unit_known(unit, p->rules->unit_arg))
        return fail(p->why, p->whylen, "no unit '%s' at this node", unit != NULL ? unit : "");
    return 0;
}

static int ev_accept(struct replay *p, struct import_event *e)
{
    struct ticket_input in = {.kind = text(p, "kind"), .category = text(p, "category")};

    e->detail = dump(json_pack("{s:s?,s:s?}", "kind", in.kind, "category", in.category));
    return act(p, e, ACTION_ACCEPT, &in);
}

static int ev_answer(struct replay *p, struct import_event *e)
{
    e->detail = dump(json_pack("{s:n,s:n}", "kb_ref", "kb_version"));
    free(p->r->outcome);
    p->r->outcome = dump(json_incref(p->body));
    return act(p, e, ACTION_ANSWER, NULL);
}

static int ev_reject(struct replay *p, struct import_event *e)
{
    e->reason = copy_or_null(text(p, "reason"));
    e->detail = dump(json_pack("{s:s}", "explanation", text(p, "explanation")));
    free(p->r->outcome);
    p->r->outcome = dump(json_incref(p->body));
    return act(p, e, ACTION_REJECT, NULL);
}

static int ev_dispatch(struct replay *p, struct import_event *e)
{
    struct ticket_input in = {.unit = text(p, "unit"),
                              .no_return = json_is_true(json_object_get(p->body, "no_return"))};

    if (known_unit(p, in.unit) < 0)
        return -1;
    e->detail = dump(json_pack("{s:s,s:b}", "unit", in.unit, "no_return", in.no_return));
    return act(p, e, ACTION_DISPATCH, &in);
}

static int ev_return(struct replay *p, struct import_event *e)
{
    e->reason = copy_or_null(text(p, "reason"));
    e->detail = dump(json_pack("{s:s}", "basis", text(p, "basis")));
    return set_pending(p, "return") < 0 ? -1 : act(p, e, ACTION_RETURN, NULL);
}

static int ev_return_review(struct replay *p, struct import_event *e)
{
    int approve = is_approve(p);
    struct ticket_input in = {.unit = approve ? text(p, "unit") : NULL,
                              .no_return =
                                  approve && json_is_true(json_object_get(p->body, "no_return"))};

    if (approve && known_unit(p, in.unit) < 0)
        return -1;
    e->reason = copy_or_null(text(p, "note"));
    e->detail = dump(json_pack("{s:s?}", "unit", in.unit));
    return act(p, e, approve ? ACTION_RETURN_APPROVE : ACTION_RETURN_REFUSE, &in);
}

static int ev_extension(struct replay *p, struct import_event *e)
{
    e->reason = copy_or_null(text(p, "reason"));
    return set_pending(p, "extension") < 0 ? -1 : act(p, e, ACTION_EXTENSION, NULL);
}

static int ev_extension_review(struct replay *p, struct import_event *e)
{
    e->reason = copy_or_null(text(p, "note"));
    return act(p, e, is_approve(p) ? ACTION_EXTENSION_APPROVE : ACTION_EXTENSION_REFUSE, NULL);
}

static int ev_completion(struct replay *p, struct import_event *e)
{
    int64_t at;

    if (clock_parse(text(p, "handled_at"), &at) < 0 || at > p->ctx.now)
        return fail(p->why, p->whylen,
                    "'handled_at' must be an RFC 3339 date-time, not after the event");
    e->detail = dump(json_incref(p->body));
    return set_pending(p, "completion") < 0 ? -1 : act(p, e, ACTION_COMPLETION, NULL);
}

static int ev_completion_review(struct replay *p, struct import_event *e)
{
    int approve = is_approve(p);

    e->reason = copy_or_null(text(p, "note"));
    if (act(p, e, approve ? ACTION_COMPLETION_APPROVE : ACTION_COMPLETION_SEND_BACK, NULL) < 0)
        return -1;
    if (approve) { /* the reply becomes the answer of record */
        free(p->r->outcome);
        p->r->outcome = p->r->pending;
        p->r->pending = NULL;
    }
    return 0;
}

static int ev_note(struct replay *p, struct import_event *e)
{
    e->detail = dump(json_pack("{s:s}", "text", text(p, "text")));
    return act(p, e, ACTION_NOTE, NULL);
}

static int ev_supervise(struct replay *p, struct import_event *e)
{
    e->reason = copy_or_null(text(p, "note"));
    return act(p, e, ACTION_SUPERVISE, NULL);
}

static int level_bad(const char *level)
{
    return strcmp(level, "dissatisfied") == 0 || strcmp(level, "very_dissatisfied") == 0;
}

static int ev_rating(struct replay *p, struct import_event *e)
{
    struct import_record *r = p->r;
    const char *intake = input_text(p->event, "intake");
    const char *handling = input_text(p->event, "handling");
    json_t *replaces = NULL;

    /* After a redo the second rating replaces the first (Art 15). */
    if (r->nratings > 0)
        replaces = json_pack("{s:s,s:s}", "intake", r->ratings[0].intake, "handling",
                             r->ratings[0].handling);
    e->reason = copy_or_null(level_bad(intake) || level_bad(handling) ? "dissatisfied" : NULL);
    e->detail = dump(
        json_pack("{s:s,s:s,s:o*}", "intake", intake, "handling", handling, "replaces", replaces));
    int round = r->t.redos + 1;
    if (act(p, e, ACTION_RATE, NULL) < 0)
        return -1;
    if (r->nratings >= COUNT(r->ratings))
        return fail(p->why, p->whylen, "more ratings than rounds");
    r->ratings[r->nratings++] = (struct import_rating){
        round, p->ctx.now, intake, handling, input_text(p->event, "comment"), p->actor,
    };
    return 0;
}

static int ev_redo(struct replay *p, struct import_event *e)
{
    e->reason = copy_or_null(text(p, "reason"));
    return act(p, e, ACTION_REDO, NULL);
}

static int ev_redo_review(struct replay *p, struct import_event *e)
{
    e->reason = copy_or_null(text(p, "note"));
    return act(p, e, is_approve(p) ? ACTION_REDO_APPROVE : ACTION_REDO_REFUSE, NULL);
}

/* The clock's marks: made by the system when the rules would have made them. */
static int clock_mark(struct replay *p, struct import_event *e, int bit, const char *name)
{
    if (p->role != ROLE_ADMIN) /* "system", see role_of() */
        return fail(p->why, p->whylen, "'%s' is the clock's, role 'system'", name);
    int changed = bit == 4 ? ticket_expire(&p->r->t, &p->ctx) << 2 : ticket_tick(&p->r->t, &p->ctx);
    if (!(changed & bit))
        return fail(p->why, p->whylen, "'%s' refused by the rules: not due at that time", name);
    e->action = name;
    if (bit == 4)
        e->reason = strdup(p->r->t.rated ? "rated" : "unrated");
    return 0;
}

static int ev_due_soon(struct replay *p, struct import_event *e)
{
    return clock_mark(p, e, 1, "due_soon");
}

static int ev_overdue(struct replay *p, struct import_event *e)
{
    return clock_mark(p, e, 2, "overdue");
}

static int ev_close(struct replay *p, struct import_event *e)
{
    return clock_mark(p, e, 4, "close");
}

/* An API action: its body's fields are the API's (ticket_api_action_fields). */
#define ACTION(n, fn)                                                                              \
    {                                                                                              \
        n, NULL, 0, fn, 1                                                                          \
    }
static const struct event_kind event_kinds[] = {
    ACTION("accept", ev_accept),
    ACTION("answer", ev_answer),
    ACTION("reject", ev_reject),
    ACTION("dispatch", ev_dispatch),
    ACTION("return", ev_return),
    ACTION("return/review", ev_return_review),
    ACTION("extension", ev_extension),
    ACTION("extension/review", ev_extension_review),
    ACTION("completion", ev_completion),
    ACTION("completion/review", ev_completion_review),
    ACTION("notes", ev_note),
    {"note", NULL, 0, ev_note, 1}, /* read as "notes" */
    ACTION("supervise", ev_supervise),
    {"rating", rating_fields, COUNT(rating_fields), ev_rating, 0},
    ACTION("redo", ev_redo),
    ACTION("redo/review", ev_redo_review),
    {"due_soon", NULL, 0, ev_due_soon, 0},
    {"overdue", NULL, 0, ev_overdue, 0},
    {"close", NULL, 0, ev_close, 0},
};

/* The role of an event's actor: the staff's roles, the citizen, or the
 * clock ("system", held as ROLE_ADMIN, which no action allows). */
static int role_of(const char *name, enum role *out)
{
    if (strcmp(name, "system") == 0) {
        *out = ROLE_ADMIN;
        return 0;
    }
    if (strcmp(name, "citizen") == 0) {
        *out = ROLE_CITIZEN;
        return 0;
    }
    if (auth_role_parse(name, out) < 0)
        return -1;
    return (*out & (ROLE_OPERATOR | ROLE_MANAGER | ROLE_UNIT | ROLE_CITIZEN)) ? 0 : -1;
}

/* Replays event 'i' of the history, 'v', into 'r'. */
static int replay_event(const struct import_rules *rules, struct import_record *r, size_t i,
                        json_t *v, int64_t *last, char *why, size_t whylen)
{
    struct replay p = {.rules = rules, .r = r, .why = why, .whylen = whylen};
    struct import_event *e = &r->events[r->nevents];
    const char *at = json_string_value(json_object_get(v, "at"));
    const char *actor = json_string_value(json_object_get(v, "actor"));
    const char *role = json_string_value(json_object_get(v, "role"));
    const char *action = json_string_value(json_object_get(v, "action"));
    const struct event_kind *k = NULL;
    char prefix[48];
    int rc = -1;

    snprintf(prefix, sizeof(prefix), "history[%zu]", i);
    if (!json_is_object(v) || at == NULL || actor == NULL || role == NULL || action == NULL)
        return fail(why, whylen, "'%s' must be an object with 'at', 'actor', 'role', 'action'",
                    prefix);
    for (size_t n = 0; n < COUNT(event_kinds); n++)
        if (strcmp(event_kinds[n].name, action) == 0)
            k = &event_kinds[n];
    if (k == NULL)
        return fail(why, whylen, "'%s.action': no action '%s'", prefix, action);
    if (clock_parse(at, &p.ctx.now) < 0 || p.ctx.now < *last || p.ctx.now > rules->now)
        return fail(why, whylen,
                    "'%s.at' must be an RFC 3339 date-time, not before the event before it nor "
                    "in the future",
                    prefix);
    size_t alen = strlen(actor);
    if (alen < 1 || alen > 100 || role_of(role, &p.role) < 0)
        return fail(why, whylen,
                    "'%s': 'actor' must be 1 to 100 bytes and 'role' one of "
                    "operator, manager, unit, citizen, system",
                    prefix);
    /* As the node records them (rating_api.c, workflow.c): a citizen is not
     * named in the history, which reaches the province in clear. */
    if ((strcmp(role, "citizen") == 0 && strcmp(actor, "citizen") != 0) ||
        (strcmp(role, "system") == 0 && strcmp(actor, "clock") != 0))
        return fail(why, whylen, "'%s': the actor of role '%s' is '%s'", prefix, role,
                    strcmp(role, "citizen") == 0 ? "citizen" : "clock");
    p.body = json_copy(v); /* its values are the line's: only read */
    json_object_del(p.body, "at");
    json_object_del(p.body, "actor");
    json_object_del(p.body, "role");
    json_object_del(p.body, "action");
    struct http_refusal refusal;
    const struct field *fields = k->fields;
    size_t nfields = k->nfields;
    if (k->api)
        fields =
            ticket_api_action_fields(strcmp(k->name, "note") == 0 ? "notes" : k->name, &nfields);
    if (input_validate(p.body, prefix, fields, nfields, &refusal) < 0) {
        fail(why, whylen, "%s", refusal.message);
        goto out;
    }
    p.actor = actor;
    p.event = v;
    p.ctx.calendar = rules->calendar;
    p.ctx.periods = rules->periods;
    *e = (struct import_event){.at = p.ctx.now, .actor = actor, .role = role, .from = r->t.status};
    if (k->apply(&p, e) < 0) {
        char inner[256];
        snprintf(inner, sizeof(inner), "%s", why);
        fail(why, whylen, "'%s' (%s): %s", prefix, action, inner);
        free(e->reason);
        free(e->detail);
        goto out;
    }
    e->to = r->t.status;
    e->deadline = r->t.deadline;
    r->nevents++;
    *last = p.ctx.now;
    rc = 0;
out:
    json_decref(p.body);
    return rc;
}

/* Intake's checks of the appeal (ticket_api.c): its body without what only
 * an import carries. */
static int appeal_check(json_t *doc, struct import_record *r, char *why, size_t whylen)
{
    json_t *appeal = json_copy(doc);
    struct http_refusal refusal;
    int rc = -1;

    for (size_t i = 0; i < COUNT(line_fields); i++)
        json_object_del(appeal, line_fields[i].name);
    if (input_validate(appeal, NULL, ticket_intake_fields, ticket_intake_fields_len, &refusal) <
        0) {
        fail(why, whylen, "%s", refusal.message);
        goto out;
    }
    json_t *citizen = json_object_get(doc, "citizen"), *location = json_object_get(doc, "location");
    char normalized[RESTRICTION_PHONE_MAX + 1];
    r->phone = input_text(citizen, "phone");
    r->id_number = input_text(citizen, "id_number");
    r->division = input_text(location, "division");
    if (restriction_phone_normalize(r->phone, normalized) < 0) {
        fail(why, whylen, "'citizen.phone' is not a mobile or landline number");
        goto out;
    }
    if (r->id_number != NULL &&
        strspn(r->id_number, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") !=
            strlen(r->id_number)) {
        fail(why, whylen, "'citizen.id_number' holds only letters and digits");
        goto out;
    }
    if (strspn(r->division, "0123456789") != 6 || r->division[0] == '0') {
        fail(why, whylen, "'location.division' is not a six-digit division code");
        goto out;
    }
    json_t *lat = json_object_get(location, "lat"), *lon = json_object_get(location, "long");
    r->has_lat = json_is_number(lat);
    r->has_lon = json_is_number(lon);
    r->lat = json_number_value(lat);
    r->lon = json_number_value(lon);
    r->channel = input_text(doc, "channel");
    r->content = input_text(doc, "content");
    r->citizen_type = input_text(citizen, "type");
    r->name = input_text(citizen, "name");
    r->contact = input_text(citizen, "contact");
    r->address = input_text(location, "address");
    r->source = input_text(doc, "source") != NULL ? input_text(doc, "source") : "local";
    rc = 0;
out:
    json_decref(appeal);
    return rc;
}

int import_parse(const char *line, size_t len, const struct import_rules *rules,
                 struct import_record *out, char *why, size_t whylen)
{
    struct import_record r = {0};
    json_error_t err;
    json_t *doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    struct http_refusal refusal;

    r.doc = doc;
    if (doc == NULL || !json_is_object(doc)) {
        /* Only where: jansson's text quotes the line, which may be personal data. */
        if (doc == NULL)
            fail(why, whylen, "not a JSON object: bad JSON at column %d", err.column);
        else
            fail(why, whylen, "not a JSON object: another value");
        goto fail;
    }
    json_t *only = json_object();
    for (size_t i = 0; i < COUNT(line_fields); i++) {
        json_t *v = json_object_get(doc, line_fields[i].name);
        if (json_is_array(v)) /* the history: checked event by event below */
            json_object_set_new(only, line_fields[i].name, json_array());
        else if (v != NULL)
            json_object_set(only, line_fields[i].name, v);
    }
    int bad = input_validate(only, NULL, line_fields, COUNT(line_fields), &refusal);
    json_decref(only);
    json_t *history = json_object_get(doc, "history");
    if (bad < 0 || !json_is_array(history)) {
        fail(why, whylen, "%s", bad < 0 ? refusal.message : "'history' must be a list of events");
        goto fail;
    }
    if (json_array_size(history) > IMPORT_EVENTS_MAX - 1) {
        fail(why, whylen, "'history' holds more than %d events", IMPORT_EVENTS_MAX - 1);
        goto fail;
    }
    if (appeal_check(doc, &r, why, whylen) < 0)
        goto fail;
    r.legacy_id = input_text(doc, "legacy_id");
    if (clock_parse(input_text(doc, "received_at"), &r.received_at) < 0 ||
        r.received_at > rules->now) {
        fail(why, whylen, "'received_at' must be an RFC 3339 date-time, not in the future");
        goto fail;
    }
    if (!calendar_covers(rules->calendar, calendar_day_of(r.received_at))) {
        fail(why, whylen, "'received_at': the node's calendar does not cover that year");
        goto fail;
    }
    ticket_kind_parse(input_text(doc, "kind"), &r.t.kind);
    snprintf(r.t.category, sizeof(r.t.category), "%s", input_text(doc, "category"));
    r.t.status = STATUS_REGISTERED;
    r.t.national = strcmp(r.source, "national_platform") == 0;
    r.events[0] = (struct import_event){
        .at = r.received_at,
        .actor = input_text(doc, "registered_by"),
        .role = "operator",
        .action = "register",
        .from = STATUS_COUNT,
        .to = STATUS_REGISTERED,
    };
    r.nevents = 1;
    int64_t last = r.received_at;
    size_t i;
    json_t *v;
    json_array_foreach(history, i, v)
    {
        if (replay_event(rules, &r, i, v, &last, why, whylen) < 0)
            goto fail;
    }
    const char *status = input_text(doc, "status");
    if (strcmp(status, ticket_status_name(r.t.status)) != 0) {
        fail(why, whylen, "'status' is '%s' but the history leaves the order '%s'", status,
             ticket_status_name(r.t.status));
        goto fail;
    }
    *out = r;
    return 0;

fail:
    import_record_clear(&r);
    return -1;
}

void import_record_clear(struct import_record *r)
{
    for (size_t i = 0; i < r->nevents; i++) {
        free(r->events[i].reason);
        free(r->events[i].detail);
    }
    free(r->pending);
    free(r->outcome);
    json_decref(r->doc);
    memset(r, 0, sizeof(*r));
}
