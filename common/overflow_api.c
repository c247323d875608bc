/* SPDX-License-Identifier: Apache-2.0 */
/*
 * overflow_api.c - a helper centre's operators and the appeals other
 * centres' overflow brought them (Art 3, DESIGN.md "Load balancing"): they
 * list them and triage each, accepting it (with the kind and category they
 * judge) or not, with a reason of Art 7.  The result goes to the centre that
 * holds the appeal, which alone changes its ticket.
 *
 * Runs in HTTP workers.
 */
#include "overflow_api.h"

#include "input.h"
#include "node.h"
#include "overflow.h"
#include "ticket.h"

#include <string.h>

static const char *const assist_states[] = {"open", "triaged", "withdrawn", NULL};

static void handle_list(struct http_request *req)
{
    const char *state = http_query_param(req, "state");
    struct db *db;

    if (state == NULL)
        state = "open";
    for (size_t i = 0;; i++) {
        if (assist_states[i] == NULL) {
            http_reply_invalid(req, "state", "'state' is open, triaged or withdrawn");
            return;
        }
        if (strcmp(assist_states[i], state) == 0)
            break;
    }
    if ((db = node_db(req, NULL)) == NULL)
        return;
    json_t *list = overflow_assists(db, state);
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the assists could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "assists", list));
}

static const struct field triage_fields[] = {
    INPUT_ENUM("decision", 1, overflow_decisions), INPUT_ENUM("kind", 0, ticket_kinds),
    INPUT_ENUM("category", 0, ticket_categories),  INPUT_ENUM("reason", 0, ticket_reject_reasons),
    INPUT_TEXT("explanation", 0, 1, 2000),
};

static void handle_triage(struct http_request *req)
{
    json_t *body = http_body_json(req), *item = NULL;
    const char *field, *why;
    struct db *db;

    if (body == NULL || input_check(req, body, NULL, triage_fields,
                                    sizeof(triage_fields) / sizeof(triage_fields[0])) < 0)
        return;
    struct overflow_triage t = {
        .ticket = http_path_param(req, "id"),
        .decision = input_text(body, "decision"),
        .kind = input_text(body, "kind"),
        .category = input_text(body, "category"),
        .reason = input_text(body, "reason"),
        .explanation = input_text(body, "explanation"),
    };
    if (overflow_triage_check(&t, &field, &why) < 0) {
        http_reply_invalid(req, field, "%s", why);
        return;
    }
    if ((db = node_db(req, NULL)) == NULL)
        return;
    switch (overflow_triage(db, http_principal(req), &t, &item)) {
    case OVERFLOW_DONE:
        http_reply_json(req, 200, item);
        break;
    case OVERFLOW_UNKNOWN:
        http_reply_error(req, 404, "not_found", "no such appeal to triage here");
        break;
    case OVERFLOW_WITHDRAWN:
        http_reply_error(req, 409, "withdrawn",
                         "the centre that holds the appeal has triaged it itself");
        break;
    case OVERFLOW_TRIAGED:
        http_reply_error(req, 409, "already_triaged", "the appeal has been triaged here");
        break;
    case OVERFLOW_FAILED:
        http_reply_error(req, 500, "internal", "the triage could not be recorded");
        break;
    }
}

const struct http_route overflow_routes[] = {
    {"GET", "/api/v1/assists", handle_list, ROLE_OPERATOR | ROLE_MANAGER, NULL},
    {"POST", "/api/v1/assists/{id}/triage", handle_triage, ROLE_OPERATOR, NULL},
};

const size_t overflow_routes_len = sizeof(overflow_routes) / sizeof(overflow_routes[0]);
