/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admin_api.c - HTTP routes of a node's administration: handling units,
 * principals and their tokens, and the audit log of personal-data reads.
 *
 * Runs in HTTP workers.  A token is shown once, in the answer that creates
 * it; afterwards only its hash exists.
 */
#include "admin_api.h"

#include "clock.h"
#include "input.h"
#include "ticket.h"
#include "node.h"
#include "ticketdb.h"
#include "unitdb.h"

#include <stdlib.h>
#include <string.h>

#define ANY_ROLE                                                                                   \
    (ROLE_ADMIN | ROLE_OPERATOR | ROLE_MANAGER | ROLE_UNIT | ROLE_AUDITOR | ROLE_SERVICE)

static const char *const roles[] = {
    "admin", "operator", "manager", "unit", "auditor", "service", NULL,
};

static const struct field unit_fields[] = {
    {.name = "code", .type = FIELD_TEXT, .required = 1, .min = 1, .max = 32},
    {.name = "name", .type = FIELD_TEXT, .required = 1, .min = 1, .max = 200},
    {.name = "categories",
     .type = FIELD_LIST,
     .required = 1,
     .min = 1,
     .max = 5,
     .values = ticket_categories},
};

static void handle_unit_create(struct http_request *req)
{
    struct node *node;
    json_t *body = http_body_json(req);
    struct db *db;

    if (body == NULL ||
        input_check(req, body, NULL, unit_fields, sizeof(unit_fields) / sizeof(unit_fields[0])) < 0)
        return;
    const char *code = input_text(body, "code");
    if (!unitdb_code_valid(code)) {
        http_reply_invalid(req, "code", "a unit code holds only letters, digits, '_' and '-'");
        return;
    }
    if ((db = node_db(req, &node)) == NULL)
        return;
    int rc = unitdb_create(db, code, input_text(body, "name"), node->cfg.node_code,
                           json_object_get(body, "categories"));
    if (rc < 0) {
        http_reply_error(req, 500, "internal", "the unit could not be created");
    } else if (rc == 0) {
        http_reply_error(req, 409, "unit_exists", "a unit with code '%s' exists", code);
    } else {
        http_reply_json(req, 201,
                        json_pack("{s:s,s:s,s:s,s:O}", "code", code, "name",
                                  input_text(body, "name"), "node", node->cfg.node_code,
                                  "categories", json_object_get(body, "categories")));
    }
}

static void handle_unit_list(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    json_t *units = db != NULL ? unitdb_list(db) : NULL;

    if (db == NULL)
        return;
    if (units == NULL)
        http_reply_error(req, 500, "internal", "the units could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "units", units));
}

static const struct field principal_fields[] = {
    {.name = "name", .type = FIELD_TEXT, .required = 1, .min = 1, .max = AUTH_MAX_NAME},
    {.name = "role", .type = FIELD_ENUM, .required = 1, .values = roles},
    {.name = "unit", .type = FIELD_TEXT, .min = 1, .max = 32},
    {.name = "expires_in_days", .type = FIELD_INT, .lo = 1, .hi = 3650},
};

static void handle_principal_create(struct http_request *req)
{
    struct node *node;
    json_t *body = http_body_json(req);
    struct db *db;
    enum role role;
    char token[CRYPTO_TOKEN_LEN + 1];

    if (body == NULL || input_check(req, body, NULL, principal_fields,
                                    sizeof(principal_fields) / sizeof(principal_fields[0])) < 0)
        return;
    auth_role_parse(input_text(body, "role"), &role);
    const char *unit = input_text(body, "unit");
    if ((role == ROLE_UNIT) != (unit != NULL)) {
        http_reply_invalid(req, "unit", "a unit principal needs a unit, and only a unit principal");
        return;
    }
    if ((db = node_db(req, &node)) == NULL)
        return;
    if (unit != NULL) {
        int exists = unitdb_exists(db, unit, node->cfg.node_code);
        if (exists <= 0) {
            if (exists < 0)
                http_reply_error(req, 500, "internal", "the unit could not be read");
            else
                http_reply_invalid(req, "unit", "no unit '%s' at this node", unit);
            return;
        }
    }
    /* A lifetime in whole days from now: a contractor's, a trainee's. */
    json_t *days = json_object_get(body, "expires_in_days");
    int64_t expires = 0;
    char until[CLOCK_RFC3339_LEN];
    if (days != NULL)
        expires = clock_now_us() + json_integer_value(days) * INT64_C(86400) * 1000000;
    clock_format(expires, until);
    long long id = auth_create(db, input_text(body, "name"), role, unit, expires, token);
    if (id < 0) {
        http_reply_error(req, 500, "internal", "the principal could not be created");
        return;
    }
    http_reply_json(req, 201,
                    json_pack("{s:I,s:s,s:s,s:s?,s:s,s:o}", "id", (json_int_t)id, "name",
                              input_text(body, "name"), "role", auth_role_name(role), "unit", unit,
                              "token", token, "expires_at",
                              expires != 0 ? json_string(until) : json_null()));
}

static void handle_principal_list(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    json_t *list = db != NULL ? auth_list(db) : NULL;

    if (db == NULL)
        return;
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the principals could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "principals", list));
}

static void handle_principal_revoke(struct http_request *req)
{
    const char *ids = http_path_param(req, "id");
    char *end;
    long long id = strtoll(ids, &end, 10);
    struct db *db;

    if (*ids == '\0' || *end != '\0' || id <= 0) {
        http_reply_error(req, 404, "not_found", "no such principal");
        return;
    }
    if ((db = node_db(req, NULL)) == NULL)
        return;
    int rc = auth_revoke(db, id);
    if (rc < 0)
        http_reply_error(req, 500, "internal", "the principal could not be revoked");
    else if (rc == 0)
        http_reply_error(req, 404, "not_found", "no such live principal");
    else
        http_reply_json(req, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "revoked", 1));
}

/* The caller itself and the node it speaks to: what a client (the web
 * console) needs to know who signed in and what its role may do. */
static void handle_me(struct http_request *req)
{
    const struct principal *me = http_principal(req);
    const struct node *node = http_app(req);

    http_reply_json(req, 200,
                    json_pack("{s:I,s:s,s:s,s:s?,s:{s:s,s:s,s:s}}", "id", (json_int_t)me->id,
                              "name", me->name, "role", auth_role_name(me->role), "unit",
                              me->unit[0] != '\0' ? me->unit : NULL, "node", "code",
                              node->cfg.node_code, "name", node->cfg.node_name, "kind",
                              node->cfg.role == NODE_PROVINCE ? "province" : "city"));
}

static void handle_audit(struct http_request *req)
{
    const char *ticket = http_query_param(req, "ticket");
    struct db *db;

    if (ticket == NULL || strlen(ticket) != TICKET_ID_LEN) {
        http_reply_invalid(req, "ticket", "'ticket' must be a ticket id");
        return;
    }
    if ((db = node_db(req, NULL)) == NULL)
        return;
    json_t *entries = ticketdb_audit_list(db, ticket);
    if (entries == NULL)
        http_reply_error(req, 500, "internal", "the audit log could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "entries", entries));
}

const struct http_route admin_routes[] = {
    {"POST", "/api/v1/units", handle_unit_create, ROLE_ADMIN, NULL},
    {"GET", "/api/v1/units", handle_unit_list, ANY_ROLE, NULL},
    {"POST", "/api/v1/principals", handle_principal_create, ROLE_ADMIN, NULL},
    {"GET", "/api/v1/principals", handle_principal_list, ROLE_ADMIN, NULL},
    {"DELETE", "/api/v1/principals/{id}", handle_principal_revoke, ROLE_ADMIN, NULL},
    {"GET", "/api/v1/me", handle_me, ANY_ROLE, NULL},
    {"GET", "/api/v1/audit", handle_audit, ROLE_AUDITOR | ROLE_MANAGER, NULL},
};

const size_t admin_routes_len = sizeof(admin_routes) / sizeof(admin_routes[0]);
