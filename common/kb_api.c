/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kb_api.c - the knowledge base over HTTP (Art 18): units keep the entries
 * of their unit, the hotline office (managers) reviews every version before
 * readers see it and files corrections, operators search it while they
 * answer.
 *
 * Runs in HTTP workers, each on its own database connection and with its
 * own copy of the calendar.  A handler checks the path, then the caller's
 * right to the entry, then the body, then the rules (kb.c), and makes one
 * change through kbdb.c.  An entry nobody published is not revealed to
 * those who may not see it: 404, as if it did not exist.  The entries the
 * province publishes are held at a city as copies (broadcast.h), named
 * "440000-KB-0001": read and searched like the city's own, changed by
 * nobody here (403 read_only).
 */
#include "kb_api.h"

#include "calendar.h"
#include "calstore.h"
#include "clock.h"
#include "input.h"
#include "kb.h"
#include "kbdb.h"
#include "log.h"
#include "ngram.h"
#include "node.h"
#include "unitdb.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READERS        (ROLE_OPERATOR | ROLE_MANAGER | ROLE_UNIT)
#define EDITORS        (ROLE_MANAGER | ROLE_UNIT)
#define MAX_QUERY      200
#define DEFAULT_LIMIT  20
#define MAX_LIMIT      100
#define GRAMS_TEXT_MAX (NGRAM_MAX * 12 + 3)
#define COUNT(a)       (sizeof(a) / sizeof((a)[0]))

static const char *const decisions[] = {"approve", "reject", NULL};

static const struct field create_fields[] = {
    {.name = "type", .type = FIELD_ENUM, .required = 1, .values = kb_type_names},
    INPUT_TEXT("unit", 0, 1, AUTH_MAX_UNIT),
    INPUT_TEXT("title", 1, 1, KB_MAX_TITLE),
    INPUT_TEXT("text", 1, 1, KB_MAX_TEXT),
    INPUT_TEXT("valid_from", 1, 1, 10),
    INPUT_TEXT("valid_until", 0, 1, 10),
    INPUT_TEXT("publication_date", 0, 1, 10),
    INPUT_TEXT("official_text", 0, 1, KB_MAX_OFFICIAL_TEXT),
    {.name = "publish", .type = FIELD_BOOL},
};

/* A new version names only what changes; null clears an optional field. */
static const struct field version_fields[] = {
    INPUT_TEXT("title", 0, 1, KB_MAX_TITLE),
    INPUT_TEXT("text", 0, 1, KB_MAX_TEXT),
    INPUT_TEXT("valid_from", 0, 1, 10),
    INPUT_TEXT("valid_until", 0, 1, 10),
    INPUT_TEXT("publication_date", 0, 1, 10),
    INPUT_TEXT("official_text", 0, 1, KB_MAX_OFFICIAL_TEXT),
    {.name = "publish", .type = FIELD_BOOL},
};

static const struct field review_fields[] = {
    {.name = "decision", .type = FIELD_ENUM, .required = 1, .values = decisions},
    {.name = "version", .type = FIELD_INT, .required = 1, .lo = 1, .hi = 1000000000},
    INPUT_TEXT("reason", 0, 1, 2000),
};

static const struct field correction_fields[] = {INPUT_TEXT("note", 1, 1, 2000)};

static const struct field withdrawal_fields[] = {INPUT_TEXT("reason", 1, 1, 2000)};

/* A version about to be submitted, checked; strings borrowed. */
struct draft {
    const char *title, *text, *valid_from, *valid_until, *publication_date, *official_text;
    int32_t publication_day; /* -1 without */
};

/* --- loading and rendering ---------------------------------------------- */

static void reply_database_error(struct http_request *req)
{
    http_reply_error(req, 500, "internal", "the knowledge base could not be read");
}

/*
 * Loads entry 'n' and the version 'who' sees of it: the published one, else
 * (for those who may edit it) the newest.  Returns 1, or 0 having answered
 * 404 or 500.
 */
static int entry_load(struct http_request *req, struct db *db, long long n, struct kb_entry *e,
                      struct kb_version *shown)
{
    int found = kbdb_entry(db, n, e);

    if (found > 0)
        found = kbdb_version(db, n, e->published > 0 ? e->published : e->latest, shown);
    if (found < 0) {
        reply_database_error(req);
        return 0;
    }
    if (found == 0 || !kb_may_see(http_principal(req), e->unit, shown->state)) {
        kbdb_version_clear(shown);
        http_reply_error(req, 404, "not_found", "no such knowledge-base entry");
        return 0;
    }
    return 1;
}

/*
 * Reads an entry id: this node's ("KB-0001", or with the node's own code in
 * front) or another node's ("440000-KB-0001"), whose copy this node holds.
 * Returns 1 with the number, 2 with the origin of a copy, 0 if neither.
 */
static int id_read(const struct node *node, const char *id, char origin[7], long long *n)
{
    if (kb_copy_id_parse(id, origin, n) == 0)
        return strcmp(origin, node->cfg.node_code) == 0 ? 1 : 2;
    return kb_id_parse(id, n) == 0;
}

/*
 * The entry the {id} of the path names.  This node's is loaded as
 * entry_load does: returns 1.  A copy of another node's entry is stored in
 * '*copy' and 2 returned; a handler that edits passes no 'copy', as copies
 * are read-only here: 403.  Returns 0 having answered.
 */
static int entry_of_path(struct http_request *req, struct db *db, struct kb_entry *e,
                         struct kb_version *shown, json_t **copy)
{
    const char *id = http_path_param(req, "id");
    char origin[7];
    json_t *found = NULL;
    long long n;
    int rc;

    switch (id_read(http_app(req), id, origin, &n)) {
    case 1:
        return entry_load(req, db, n, e, shown);
    case 2:
        rc = kbdb_copy(db, id, &found);
        if (rc < 0) {
            reply_database_error(req);
            return 0;
        }
        if (rc > 0 && copy != NULL) {
            *copy = found;
            return 2;
        }
        json_decref(found);
        if (rc > 0) {
            http_reply_error(req, 403, "read_only",
                             "entry '%s' is kept by node %s; it is read-only here", id, origin);
            return 0;
        }
        break;
    }
    http_reply_error(req, 404, "not_found", "no such knowledge-base entry");
    return 0;
}

/* Returns 1 if the caller may edit 'e', else answers 403 and returns 0. */
static int may_edit(struct http_request *req, const struct kb_entry *e)
{
    if (kb_may_edit(http_principal(req), e->unit))
        return 1;
    http_reply_error(req, 403, "not_owner", "the entry belongs to unit '%s'", e->unit);
    return 0;
}

static json_t *time_json(int64_t us)
{
    char text[CLOCK_RFC3339_LEN];

    clock_format(us, text);
    return json_string(text);
}

/* The entry with the version shown of it. */
static json_t *entry_json(const struct kb_entry *e, const struct kb_version *shown)
{
    char id[KB_ID_LEN + 1];
    json_t *obj = kbdb_version_json(shown);

    if (obj == NULL)
        return NULL;
    kb_id_format(e->id, id);
    json_object_set_new(obj, "id", json_string(id));
    json_object_set_new(obj, "type", json_string(kb_type_names[e->type]));
    json_object_set_new(obj, "unit", json_string(e->unit));
    json_object_set_new(obj, "unit_name", json_string(e->unit_name));
    json_object_set_new(obj, "origin", json_null());
    json_object_set_new(obj, "latest_version", json_integer(e->latest));
    json_object_set_new(obj, "pending_version",
                        e->pending > 0 ? json_integer(e->pending) : json_null());
    json_object_set_new(obj, "open_corrections", json_integer(e->open_corrections));
    json_object_set_new(obj, "created_at", time_json(e->created_at));
    json_object_set_new(obj, "updated_at", time_json(e->updated_at));
    return obj;
}

/* Answers 'status' with entry 'n' as the caller sees it. */
static void reply_entry(struct http_request *req, struct db *db, long long n, int status)
{
    struct kb_entry e;
    struct kb_version shown = {0};

    if (!entry_load(req, db, n, &e, &shown))
        return;
    json_t *obj = entry_json(&e, &shown);
    kbdb_version_clear(&shown);
    if (obj == NULL)
        reply_database_error(req);
    else
        http_reply_json(req, status, obj);
}

/* The calendar of the calling worker, or NULL having answered 503. */
static const struct calendar *worker_calendar(struct http_request *req, struct db *db)
{
    const struct calendar *cal = calstore_get(db);

    if (cal == NULL)
        http_reply_error(req, 503, "database_unavailable", "the database cannot be reached");
    return cal;
}

/* --- what a version says -------------------------------------------------- */

/* Member 'name' of 'body' if given (NULL if given as null), else 'base'. */
static const char *merged(json_t *body, const char *name, const char *base)
{
    json_t *v = json_object_get(body, name);

    return v == NULL ? base : json_string_value(v);
}

static int date_read(struct http_request *req, const char *field, const char *text, int32_t *day)
{
    if (calendar_day_parse(text, day) < 0) {
        http_reply_invalid(req, field, "'%s' must be a date YYYY-MM-DD", field);
        return -1;
    }
    return 0;
}

/*
 * Reads the version a body describes into 'd': the body's members over those
 * of 'base' (NULL for a new entry), checked against the rule of 'type'.
 * Returns 0, or -1 having answered 400 naming the field.
 */
static int draft_read(struct http_request *req, json_t *body, const struct kb_version *base,
                      enum kb_type type, struct draft *d)
{
    const struct kb_type_rule *rule = kb_type_rule(type);
    int32_t from, until = -1;

    *d = (struct draft){
        .title = merged(body, "title", base != NULL ? base->title : NULL),
        .text = merged(body, "text", base != NULL ? base->text : NULL),
        .valid_from = merged(body, "valid_from", base != NULL ? base->valid_from : NULL),
        .valid_until = merged(body, "valid_until", base != NULL ? base->valid_until : NULL),
        .publication_date =
            merged(body, "publication_date", base != NULL ? base->publication_date : NULL),
        .official_text = merged(body, "official_text", base != NULL ? base->official_text : NULL),
        .publication_day = -1,
    };
    static const char *const required[] = {"title", "text", "valid_from"};
    const char *values[] = {d->title, d->text, d->valid_from};
    for (size_t i = 0; i < COUNT(required); i++) {
        if (values[i] == NULL) {
            http_reply_invalid(req, required[i], "'%s' is required", required[i]);
            return -1;
        }
    }
    if (date_read(req, "valid_from", d->valid_from, &from) < 0 ||
        (d->valid_until != NULL && date_read(req, "valid_until", d->valid_until, &until) < 0))
        return -1;
    if (d->valid_until != NULL && until < from) {
        http_reply_invalid(req, "valid_until", "'valid_until' must not be before 'valid_from'");
        return -1;
    }
    if (!rule->dated) {
        static const char *const dated_only[] = {"publication_date", "official_text"};
        const char *given[] = {d->publication_date, d->official_text};
        for (size_t i = 0; i < COUNT(dated_only); i++) {
            if (given[i] != NULL) {
                http_reply_invalid(req, dated_only[i], "only a policy has '%s'", dated_only[i]);
                return -1;
            }
        }
        return 0;
    }
    if (d->publication_date == NULL) {
        http_reply_invalid(req, "publication_date", "a policy needs its 'publication_date'");
        return -1;
    }
    return date_read(req, "publication_date", d->publication_date, &d->publication_day);
}

/*
 * May the caller publish a version of 'type' without review?  Returns 0, or
 * -1 having answered 403 (not a manager) or 409 (a type that needs review).
 */
static int publish_check(struct http_request *req, enum kb_type type, int publish)
{
    if (!publish)
        return 0;
    if (http_principal(req)->role != ROLE_MANAGER) {
        http_reply_error(req, 403, "forbidden", "only the hotline office publishes at once");
        return -1;
    }
    if (!kb_type_rule(type)->publish_at_once) {
        http_reply_error(req, 409, "review_required",
                         "a '%s' entry is published after review; only answer scripts at once",
                         kb_type_names[type]);
        return -1;
    }
    return 0;
}

/* The official text comes on or after the publication day.  Returns 0, or
 * -1 having answered 409. */
static int official_text_check(struct http_request *req, const struct draft *d, int32_t today)
{
    if (d->official_text == NULL || kb_official_text_allowed(today, d->publication_day))
        return 0;
    http_reply_error(req, 409, "official_text_too_early",
                     "the official text is attached on or after the publication day %s",
                     d->publication_date);
    return -1;
}

/* Fills 'c' from 'd' with the grams of title and text in the two buffers. */
static int content_make(const struct draft *d, int late, char *title_grams, char *text_grams,
                        struct kb_content *c)
{
    int32_t grams[NGRAM_MAX];
    size_t n;

    n = ngram_grams(d->title, grams, NGRAM_MAX);
    if (ngram_array(grams, n, title_grams, GRAMS_TEXT_MAX) < 0)
        return -1;
    n = ngram_grams(d->text, grams, NGRAM_MAX);
    if (ngram_array(grams, n, text_grams, GRAMS_TEXT_MAX) < 0)
        return -1;
    *c = (struct kb_content){
        .title = d->title,
        .text = d->text,
        .valid_from = d->valid_from,
        .valid_until = d->valid_until,
        .publication_date = d->publication_date,
        .official_text = d->official_text,
        .late = late,
        .title_grams = title_grams,
        .text_grams = text_grams,
    };
    return 0;
}

static struct kb_author author_of(const struct principal *who, int64_t now)
{
    return (struct kb_author){.name = who->name, .role = auth_role_name(who->role), .at = now};
}

/* --- writing -------------------------------------------------------------- */

/* POST /api/v1/kb */
static void handle_create(struct http_request *req)
{
    const struct principal *who = http_principal(req);
    char title_grams[GRAMS_TEXT_MAX], text_grams[GRAMS_TEXT_MAX];
    json_t *body = http_body_json(req);
    struct node *node;
    struct draft d;
    struct kb_content c;
    enum kb_type type;
    struct db *db;

    if (body == NULL || input_check(req, body, NULL, create_fields, COUNT(create_fields)) < 0)
        return;
    (void)kb_type_parse(input_text(body, "type"), &type);
    int publish = json_is_true(json_object_get(body, "publish"));
    const char *unit = input_text(body, "unit");
    if (who->role == ROLE_UNIT) {
        if (unit != NULL && strcmp(unit, who->unit) != 0) {
            http_reply_error(req, 403, "not_owner", "a unit keeps the entries of its own unit");
            return;
        }
        unit = who->unit;
    } else if (unit == NULL) {
        http_reply_invalid(req, "unit", "'unit' names the unit that owns the entry");
        return;
    }
    if (draft_read(req, body, NULL, type, &d) < 0 || publish_check(req, type, publish) < 0 ||
        (db = node_db(req, &node)) == NULL)
        return;
    int exists = unitdb_exists(db, unit, node->cfg.node_code);
    if (exists <= 0) {
        if (exists < 0)
            reply_database_error(req);
        else
            http_reply_invalid(req, "unit", "'unit': no unit '%s' at this node", unit);
        return;
    }
    const struct calendar *cal = worker_calendar(req, db);
    int64_t now = clock_now_us();
    if (cal == NULL || official_text_check(req, &d, calendar_day_of(now)) < 0)
        return;
    int late = kb_type_rule(type)->dated
                   ? kb_policy_version_late(cal, node->cfg.kb_policy_notice_days, now,
                                            d.publication_day, -1, 0)
                   : 0;
    struct kb_author by = author_of(who, now);
    long long n = content_make(&d, late, title_grams, text_grams, &c) == 0
                      ? kbdb_create(db, node, type, unit, &c, publish, &by)
                      : -1;
    if (n < 0) {
        http_reply_error(req, 500, "internal", "the entry could not be saved");
        return;
    }
    log_info("knowledge-base entry %lld of unit '%s' submitted", n, unit);
    reply_entry(req, db, n, 201);
}

/* POST /api/v1/kb/{id}/versions */
static void handle_version_add(struct http_request *req)
{
    const struct principal *who = http_principal(req);
    char title_grams[GRAMS_TEXT_MAX], text_grams[GRAMS_TEXT_MAX];
    struct kb_version shown = {0}, base = {0};
    struct kb_entry e;
    struct kb_content c;
    struct draft d;
    struct node *node;
    struct db *db;
    json_t *body;

    if ((db = node_db(req, &node)) == NULL || !entry_of_path(req, db, &e, &shown, NULL))
        return;
    kbdb_version_clear(&shown);
    if (!may_edit(req, &e))
        return;
    body = http_body_json(req);
    if (body == NULL || input_check(req, body, NULL, version_fields, COUNT(version_fields)) < 0)
        return;
    int found = kbdb_version(db, e.id, e.latest, &base);
    if (found <= 0) {
        reply_database_error(req);
        return;
    }
    int publish = json_is_true(json_object_get(body, "publish"));
    const struct calendar *cal = NULL;
    int64_t now = clock_now_us();
    if (draft_read(req, body, &base, e.type, &d) < 0 || publish_check(req, e.type, publish) < 0 ||
        (cal = worker_calendar(req, db)) == NULL ||
        official_text_check(req, &d, calendar_day_of(now)) < 0)
        goto out;
    int32_t previous_day = -1;
    if (base.publication_date != NULL &&
        calendar_day_parse(base.publication_date, &previous_day) < 0)
        previous_day = -1;
    int late = kb_type_rule(e.type)->dated
                   ? kb_policy_version_late(cal, node->cfg.kb_policy_notice_days, now,
                                            d.publication_day, previous_day, base.late)
                   : 0;
    struct kb_author by = author_of(who, now);
    int version = content_make(&d, late, title_grams, text_grams, &c) == 0
                      ? kbdb_add_version(db, node, e.id, e.latest, &c, publish, &by)
                      : -1;
    if (version < 0) {
        http_reply_error(req, 500, "internal", "the version could not be saved");
    } else if (version == 0) {
        http_reply_error(req, 409, "version_conflict",
                         "another version was submitted meanwhile; read the entry and try again");
    } else {
        log_info("knowledge-base entry %lld: version %d submitted", e.id, version);
        reply_entry(req, db, e.id, 201);
    }
out:
    kbdb_version_clear(&base);
}

/* POST /api/v1/kb/{id}/review {decision, version, reason} */
static void handle_review(struct http_request *req)
{
    struct kb_version shown = {0}, v = {0};
    struct kb_entry e;
    struct node *node;
    struct db *db;
    json_t *body;

    if ((db = node_db(req, &node)) == NULL || !entry_of_path(req, db, &e, &shown, NULL))
        return;
    kbdb_version_clear(&shown);
    body = http_body_json(req);
    if (body == NULL || input_check(req, body, NULL, review_fields, COUNT(review_fields)) < 0)
        return;
    int approve = strcmp(input_text(body, "decision"), "approve") == 0;
    const char *reason = input_text(body, "reason");
    int version = (int)json_integer_value(json_object_get(body, "version"));
    if (!approve && reason == NULL) {
        http_reply_invalid(req, "reason", "a rejection gives its 'reason'");
        return;
    }
    int found = kbdb_version(db, e.id, version, &v);
    enum kb_state state = v.state;
    kbdb_version_clear(&v);
    if (found < 0) {
        reply_database_error(req);
        return;
    }
    if (found == 0) {
        http_reply_error(req, 404, "not_found", "the entry has no version %d", version);
        return;
    }
    struct kb_author by = author_of(http_principal(req), clock_now_us());
    int done = state == KB_PENDING
                   ? kbdb_review(db, node, e.id, version, approve, approve ? NULL : reason, &by)
                   : 0;
    if (done < 0) {
        http_reply_error(req, 500, "internal", "the review could not be saved");
    } else if (done == 0) {
        http_reply_error(req, 409, "not_pending", "version %d is not pending review", version);
    } else {
        log_info("knowledge-base entry %lld: version %d %s", e.id, version,
                 approve ? "published" : "rejected");
        reply_entry(req, db, e.id, 200);
    }
}

/* POST /api/v1/kb/{id}/withdraw {reason}: readers no longer see the entry. */
static void handle_withdraw(struct http_request *req)
{
    struct kb_version shown = {0};
    struct kb_entry e;
    struct node *node;
    struct db *db;
    json_t *body;

    if ((db = node_db(req, &node)) == NULL || !entry_of_path(req, db, &e, &shown, NULL))
        return;
    kbdb_version_clear(&shown);
    body = http_body_json(req);
    if (body == NULL ||
        input_check(req, body, NULL, withdrawal_fields, COUNT(withdrawal_fields)) < 0)
        return;
    struct kb_author by = author_of(http_principal(req), clock_now_us());
    int done = e.published > 0
                   ? kbdb_withdraw(db, node, e.id, e.published, input_text(body, "reason"), &by)
                   : 0;
    if (done < 0) {
        http_reply_error(req, 500, "internal", "the withdrawal could not be saved");
    } else if (done == 0) {
        http_reply_error(req, 409, "not_published", "the entry has no published version");
    } else {
        log_info("knowledge-base entry %lld: version %d withdrawn", e.id, e.published);
        reply_entry(req, db, e.id, 200);
    }
}

/* POST /api/v1/kb/{id}/corrections {note} */
static void handle_correction_file(struct http_request *req)
{
    struct kb_version shown = {0};
    struct kb_entry e;
    struct node *node;
    struct db *db;
    json_t *body;
    int provisional;

    if ((db = node_db(req, &node)) == NULL || !entry_of_path(req, db, &e, &shown, NULL))
        return;
    kbdb_version_clear(&shown);
    body = http_body_json(req);
    if (body == NULL ||
        input_check(req, body, NULL, correction_fields, COUNT(correction_fields)) < 0)
        return;
    if (e.published == 0) {
        http_reply_error(req, 409, "not_published", "only a published entry can be corrected");
        return;
    }
    const struct calendar *cal = worker_calendar(req, db);
    if (cal == NULL)
        return;
    int64_t now = clock_now_us();
    int64_t deadline = kb_correction_deadline(cal, node->cfg.kb_correction_days, now, &provisional);
    struct kb_author by = author_of(http_principal(req), now);
    long long n =
        kbdb_correction_file(db, e.id, input_text(body, "note"), deadline, provisional, &by);
    struct kb_correction_filter f = {.id = n, .now = now};
    json_t *list = n > 0 ? kbdb_corrections(db, &f) : NULL;
    if (list == NULL || json_array_size(list) != 1) {
        json_decref(list);
        http_reply_error(req, 500, "internal", "the correction could not be saved");
        return;
    }
    log_info("knowledge-base entry %lld: correction %lld filed", e.id, n);
    http_reply_json(req, 201, json_incref(json_array_get(list, 0)));
    json_decref(list);
}

/* --- reading -------------------------------------------------------------- */

/* GET /api/v1/kb/{id} */
static void handle_get(struct http_request *req)
{
    struct kb_version shown = {0};
    struct kb_entry e;
    json_t *copy = NULL;
    struct db *db;
    int found;

    if ((db = node_db(req, NULL)) == NULL ||
        (found = entry_of_path(req, db, &e, &shown, &copy)) == 0)
        return;
    if (found == 2) {
        http_reply_json(req, 200, copy);
        return;
    }
    json_t *obj = entry_json(&e, &shown);
    kbdb_version_clear(&shown);
    if (obj == NULL)
        reply_database_error(req);
    else
        http_reply_json(req, 200, obj);
}

/* GET /api/v1/kb/{id}/versions: of a copy, the one version held here. */
static void handle_versions(struct http_request *req)
{
    static const char *const entry_only[] = {"id",
                                             "type",
                                             "unit",
                                             "unit_name",
                                             "origin",
                                             "latest_version",
                                             "pending_version",
                                             "open_corrections",
                                             "created_at",
                                             "updated_at"};
    struct kb_version shown = {0};
    struct kb_entry e;
    json_t *copy = NULL;
    struct db *db;
    int found;

    if ((db = node_db(req, NULL)) == NULL ||
        (found = entry_of_path(req, db, &e, &shown, &copy)) == 0)
        return;
    if (found == 2) {
        for (size_t i = 0; i < COUNT(entry_only); i++)
            json_object_del(copy, entry_only[i]);
        http_reply_json(req, 200, json_pack("{s:[o]}", "versions", copy));
        return;
    }
    kbdb_version_clear(&shown);
    json_t *versions = kbdb_versions(db, e.id, kb_may_edit(http_principal(req), e.unit));
    if (versions == NULL)
        reply_database_error(req);
    else
        http_reply_json(req, 200, json_pack("{s:o}", "versions", versions));
}

/* Reads the 'unit' query parameter.  Returns 0, or -1 having answered 400. */
static int unit_param(struct http_request *req, const char **unit)
{
    *unit = http_query_param(req, "unit");
    if (*unit != NULL && !unitdb_code_valid(*unit)) {
        http_reply_invalid(req, "unit", "'unit' is a unit code");
        return -1;
    }
    return 0;
}

/* GET /api/v1/kb/corrections?state=open|overdue|closed&unit= */
static void handle_corrections(struct http_request *req)
{
    const struct principal *who = http_principal(req);
    const char *state = http_query_param(req, "state");
    enum kb_correction_state st;
    struct kb_correction_filter f = {.now = clock_now_us()};
    struct db *db;

    if (state != NULL) {
        if (kb_correction_state_parse(state, &st) < 0) {
            http_reply_invalid(req, "state", "'state' is open, overdue or closed");
            return;
        }
        f.state = &st;
    }
    if (unit_param(req, &f.unit) < 0 || (db = node_db(req, NULL)) == NULL)
        return;
    /* A unit sees the corrections of its own entries only, whatever it asks. */
    if (who->role == ROLE_UNIT)
        f.unit = f.unit == NULL || strcmp(f.unit, who->unit) == 0 ? who->unit : "";
    json_t *list = kbdb_corrections(db, &f);
    if (list == NULL)
        reply_database_error(req);
    else
        http_reply_json(req, 200, json_pack("{s:o}", "corrections", list));
}

/* GET /api/v1/kb/{id}/corrections */
static void handle_entry_corrections(struct http_request *req)
{
    struct kb_version shown = {0};
    struct kb_entry e;
    struct db *db;

    if ((db = node_db(req, NULL)) == NULL || !entry_of_path(req, db, &e, &shown, NULL))
        return;
    kbdb_version_clear(&shown);
    if (!may_edit(req, &e))
        return;
    struct kb_correction_filter f = {.entry = e.id, .now = clock_now_us()};
    json_t *list = kbdb_corrections(db, &f);
    if (list == NULL)
        reply_database_error(req);
    else
        http_reply_json(req, 200, json_pack("{s:o}", "corrections", list));
}

/* Parses the 'limit' parameter.  Returns 0, or -1 having answered 400. */
static int limit_param(struct http_request *req, int *limit)
{
    const char *s = http_query_param(req, "limit");
    size_t len = s != NULL ? strlen(s) : 0;

    *limit = DEFAULT_LIMIT;
    if (s == NULL)
        return 0;
    long v = len >= 1 && len <= 3 && strspn(s, "0123456789") == len ? strtol(s, NULL, 10) : 0;
    if (v < 1 || v > MAX_LIMIT) {
        http_reply_invalid(req, "limit", "'limit' must be an integer from 1 to %d", MAX_LIMIT);
        return -1;
    }
    *limit = (int)v;
    return 0;
}

/* Characters (code points) of a valid UTF-8 string. */
static size_t characters(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* GET /api/v1/kb?q=&type=&unit=&state=published|pending&limit= */
static void handle_search(struct http_request *req)
{
    const struct principal *who = http_principal(req);
    const char *text = http_query_param(req, "q"), *type = http_query_param(req, "type");
    const char *state = http_query_param(req, "state");
    int32_t grams[NGRAM_MAX];
    char today[CALENDAR_DATE_LEN];
    struct kb_query q = {.state = KB_PUBLISHED, .type = type, .today = today};
    enum kb_type t;
    struct db *db;
    long long total = 0;

    if (text != NULL &&
        (!utf8_valid(text, strlen(text)) || characters(text) < 1 || characters(text) > MAX_QUERY)) {
        http_reply_invalid(req, "q", "'q' must be 1 to %d characters of UTF-8", MAX_QUERY);
        return;
    }
    if (type != NULL && kb_type_parse(type, &t) < 0) {
        http_reply_invalid(req, "type", "'type' is not a type of entry");
        return;
    }
    if (state != NULL && strcmp(state, "published") != 0) {
        if (strcmp(state, "pending") != 0) {
            http_reply_invalid(req, "state", "'state' is published or pending");
            return;
        }
        if (!(who->role & EDITORS)) {
            http_reply_error(req, 403, "forbidden", "pending versions are for their reviewers");
            return;
        }
        q.state = KB_PENDING;
    }
    if (unit_param(req, &q.unit) < 0 || limit_param(req, &q.limit) < 0)
        return;
    /* Pending versions: a unit sees its own only. */
    if (q.state == KB_PENDING && who->role == ROLE_UNIT)
        q.unit = q.unit == NULL || strcmp(q.unit, who->unit) == 0 ? who->unit : "";
    if (text != NULL) {
        q.ngrams = ngram_grams(text, grams, NGRAM_MAX);
        q.grams = grams;
    }
    calendar_day_format(calendar_day_of(clock_now_us()), today);
    if ((db = node_db(req, NULL)) == NULL)
        return;
    json_t *entries = kbdb_search(db, &q, &total);
    if (entries == NULL)
        reply_database_error(req);
    else
        http_reply_json(req, 200,
                        json_pack("{s:o,s:I}", "entries", entries, "total", (json_int_t)total));
}

/* --- answers from the knowledge base -------------------------------------- */

json_t *kb_api_answer_detail(struct http_request *req, struct db *db, const char *ref)
{
    char id[KB_ID_LEN + 1], origin[7];
    struct kb_entry e;
    json_t *copy = NULL;
    long long n;
    int found = 0;

    if (ref == NULL)
        return json_pack("{s:n,s:n}", "kb_ref", "kb_version");
    switch (id_read(http_app(req), ref, origin, &n)) {
    case 1:
        found = kbdb_entry(db, n, &e);
        break;
    case 2:
        /* A copy holds the published version only. */
        found = kbdb_copy(db, ref, &copy);
        if (found > 0) {
            json_t *detail = json_pack("{s:O,s:O}", "kb_ref", json_object_get(copy, "id"),
                                       "kb_version", json_object_get(copy, "version"));
            json_decref(copy);
            return detail;
        }
        break;
    }
    if (found < 0) {
        reply_database_error(req);
        return NULL;
    }
    if (found == 0) {
        http_reply_invalid(req, "kb_ref", "'kb_ref': no knowledge-base entry '%s'", ref);
        return NULL;
    }
    if (e.published == 0) {
        http_reply_invalid(req, "kb_ref", "'kb_ref': entry '%s' has no published version", ref);
        return NULL;
    }
    kb_id_format(e.id, id);
    return json_pack("{s:s,s:i}", "kb_ref", id, "kb_version", e.published);
}

/* GET /kb/corrections comes before GET /kb/{id}: the first match wins. */
const struct http_route kb_routes[] = {
    {"POST", "/api/v1/kb", handle_create, EDITORS, NULL},
    {"GET", "/api/v1/kb", handle_search, READERS, NULL},
    {"GET", "/api/v1/kb/corrections", handle_corrections, EDITORS, NULL},
    {"GET", "/api/v1/kb/{id}", handle_get, READERS, NULL},
    {"GET", "/api/v1/kb/{id}/versions", handle_versions, READERS, NULL},
    {"POST", "/api/v1/kb/{id}/versions", handle_version_add, EDITORS, NULL},
    {"POST", "/api/v1/kb/{id}/review", handle_review, ROLE_MANAGER, NULL},
    {"POST", "/api/v1/kb/{id}/withdraw", handle_withdraw, ROLE_MANAGER, NULL},
    {"POST", "/api/v1/kb/{id}/corrections", handle_correction_file, ROLE_MANAGER, NULL},
    {"GET", "/api/v1/kb/{id}/corrections", handle_entry_corrections, EDITORS, NULL},
};

const size_t kb_routes_len = sizeof(kb_routes) / sizeof(kb_routes[0]);
