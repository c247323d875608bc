/* SPDX-License-Identifier: Apache-2.0 */
/*
 * load_api.c - operators' presence and the node's load (Art 3, DESIGN.md
 * "Load balancing"): the telephony system, the agent desktop or an operator
 * reports whether an operator is online, busy or away; operators and
 * managers see who is there, and the figures the node reports to the
 * province with every heartbeat.
 *
 * Runs in HTTP workers.
 */
#include "load_api.h"

#include "clock.h"
#include "input.h"
#include "loaddb.h"
#include "node.h"

#include <stdlib.h>

static const struct field presence_fields[] = {
    {.name = "state", .type = FIELD_ENUM, .required = 1, .values = loaddb_states},
};

static void handle_presence(struct http_request *req)
{
    const struct principal *caller = http_principal(req);
    const char *s = http_path_param(req, "id");
    char *end;
    long long id = strtoll(s, &end, 10);
    json_t *body;
    struct db *db;

    if (*s == '\0' || *end != '\0' || id <= 0) {
        http_reply_error(req, 404, "not_found", "no such operator");
        return;
    }
    /* An operator reports for itself; a manager or the telephony system for anyone. */
    if (caller->role == ROLE_OPERATOR && caller->id != id) {
        http_reply_error(req, 403, "forbidden", "an operator reports only its own presence");
        return;
    }
    body = http_body_json(req);
    if (body == NULL || input_check(req, body, NULL, presence_fields,
                                    sizeof(presence_fields) / sizeof(presence_fields[0])) < 0)
        return;
    if ((db = node_db(req, NULL)) == NULL)
        return;
    const char *state = input_text(body, "state");
    switch (loaddb_presence_set(db, id, state, clock_now_us())) {
    case 1:
        http_reply_json(req, 200, json_pack("{s:I,s:s}", "id", (json_int_t)id, "state", state));
        break;
    case 0:
        http_reply_error(req, 404, "not_found", "no such operator");
        break;
    default:
        http_reply_error(req, 500, "internal", "the presence could not be recorded");
        break;
    }
}

static void handle_agents(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    json_t *agents = db != NULL ? loaddb_presence_list(db) : NULL;

    if (db == NULL)
        return;
    if (agents == NULL)
        http_reply_error(req, 500, "internal", "the presence could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "agents", agents));
}

static void handle_load(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    struct load_figures f;

    if (db == NULL)
        return;
    if (loaddb_figures(db, clock_now_us(), &f) < 0)
        http_reply_error(req, 500, "internal", "the load could not be computed");
    else
        http_reply_json(req, 200, loaddb_json(&f));
}

const struct http_route load_routes[] = {
    {"PUT", "/api/v1/agents/{id}/presence", handle_presence,
     ROLE_OPERATOR | ROLE_MANAGER | ROLE_SERVICE, NULL},
    {"GET", "/api/v1/agents", handle_agents, ROLE_OPERATOR | ROLE_MANAGER, NULL},
    {"GET", "/api/v1/load", handle_load, ROLE_OPERATOR | ROLE_MANAGER | ROLE_ADMIN, NULL},
};

const size_t load_routes_len = sizeof(load_routes) / sizeof(load_routes[0]);
