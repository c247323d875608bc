/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emergency_api.c - the hotline office keeps its emergency list (Art 14):
 * managers add, change and remove rules, each change a new version;
 * operators read the list they work with.
 *
 * Runs in HTTP workers.
 */
#include "emergency_api.h"

#include "clock.h"
#include "emergency.h"
#include "emergencydb.h"
#include "input.h"
#include "ticket.h"
#include "node.h"

#include <stdlib.h>
#include <string.h>

static const struct field rule_fields[] = {
    {.name = "name", .type = FIELD_TEXT, .required = 1, .min = 1, .max = 100},
    {.name = "category", .type = FIELD_ENUM, .values = ticket_categories},
    {.name = "keywords",
     .type = FIELD_TEXTS,
     .required = 1,
     .min = 1,
     .max = EMERGENCY_MAX_KEYWORDS,
     .hi = 50},
    {.name = "line", .type = FIELD_ENUM, .required = 1, .values = emergency_lines},
    {.name = "period_hours", .type = FIELD_INT, .required = 1, .lo = 1, .hi = 168},
};

/* The id in the path, or 0 having answered 404. */
static int rule_id(struct http_request *req)
{
    const char *s = http_path_param(req, "id");
    char *end;
    long id = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || id <= 0 || id > 1000000000) {
        http_reply_error(req, 404, "not_found", "no such rule");
        return 0;
    }
    return (int)id;
}

/* Answers with the current version of rule 'id', or 404. */
static void reply_rule(struct http_request *req, struct db *db, int id, int status)
{
    json_t *versions = emergencydb_json(db, id, 1);
    size_t n = versions != NULL ? json_array_size(versions) : 0;

    if (versions == NULL) {
        http_reply_error(req, 500, "internal", "the rule could not be read");
        return;
    }
    if (n == 0) {
        json_decref(versions);
        http_reply_error(req, 404, "not_found", "no such rule");
        return;
    }
    json_t *current = json_deep_copy(json_array_get(versions, n - 1));
    json_object_set_new(current, "versions", versions);
    http_reply_json(req, status, current);
}

/* Writes a version of rule 'id' (0: new) from the body, or a deletion. */
static void put_rule(struct http_request *req, int id, int active)
{
    json_t *body = NULL;
    struct db *db;
    int new_id, version;

    if (active) {
        body = http_body_json(req);
        if (body == NULL || input_check(req, body, NULL, rule_fields,
                                        sizeof(rule_fields) / sizeof(rule_fields[0])) < 0)
            return;
    }
    if ((db = node_db(req, NULL)) == NULL)
        return;
    /* A deletion writes the last version's content again, inactive. */
    json_t *last = NULL;
    if (!active) {
        json_t *versions = emergencydb_json(db, id, 1);
        size_t n = versions != NULL ? json_array_size(versions) : 0;
        last = n > 0 ? json_incref(json_array_get(versions, n - 1)) : NULL;
        json_decref(versions);
        if (last == NULL || !json_is_true(json_object_get(last, "active"))) {
            json_decref(last);
            http_reply_error(req, 404, "not_found", "no such rule");
            return;
        }
        body = last;
    }
    int rc = emergencydb_put(db, id, input_text(body, "name"), input_text(body, "category"),
                             json_object_get(body, "keywords"), input_text(body, "line"),
                             (int)json_integer_value(json_object_get(body, "period_hours")), active,
                             http_principal(req)->name, clock_now_us(), &new_id, &version);
    json_decref(last);
    if (rc < 0)
        http_reply_error(req, 500, "internal", "the rule could not be written");
    else if (rc == 0)
        http_reply_error(req, 404, "not_found", "no such rule");
    else
        reply_rule(req, db, new_id, id == 0 ? 201 : 200);
}

static void handle_list(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    json_t *rules = db != NULL ? emergencydb_json(db, 0, 0) : NULL;

    if (db == NULL)
        return;
    if (rules == NULL)
        http_reply_error(req, 500, "internal", "the rules could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "rules", rules));
}

static void handle_create(struct http_request *req)
{
    put_rule(req, 0, 1);
}

static void handle_get(struct http_request *req)
{
    int id = rule_id(req);
    struct db *db;

    if (id != 0 && (db = node_db(req, NULL)) != NULL)
        reply_rule(req, db, id, 200);
}

static void handle_update(struct http_request *req)
{
    int id = rule_id(req);

    if (id != 0)
        put_rule(req, id, 1);
}

static void handle_delete(struct http_request *req)
{
    int id = rule_id(req);

    if (id != 0)
        put_rule(req, id, 0);
}

#define READERS (ROLE_OPERATOR | ROLE_MANAGER)

const struct http_route emergency_routes[] = {
    {"GET", "/api/v1/emergency-rules", handle_list, READERS, NULL},
    {"POST", "/api/v1/emergency-rules", handle_create, ROLE_MANAGER, NULL},
    {"GET", "/api/v1/emergency-rules/{id}", handle_get, READERS, NULL},
    {"PUT", "/api/v1/emergency-rules/{id}", handle_update, ROLE_MANAGER, NULL},
    {"DELETE", "/api/v1/emergency-rules/{id}", handle_delete, ROLE_MANAGER, NULL},
};

const size_t emergency_routes_len = sizeof(emergency_routes) / sizeof(emergency_routes[0]);
