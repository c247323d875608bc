/* SPDX-License-Identifier: Apache-2.0 */
/*
 * restriction_api.c - routes to restrict a caller, list and lift
 * restrictions, and the refusal of intake by phone from a restricted number.
 *
 * Runs in HTTP workers.  The number travels in clear only in the body of
 * POST /api/v1/restrictions and in intake; it is normalised, hashed and
 * masked at once, and answers, logs and tables carry only the mask and the
 * restriction's id.
 */
#include "restriction_api.h"

#include "clock.h"
#include "input.h"
#include "log.h"
#include "node.h"
#include "restriction.h"

#include <ctype.h>
#include <string.h>

static const struct field impose_fields[] = {
    {.name = "phone", .type = FIELD_TEXT, .required = 1, .min = 1, .max = 32},
    {.name = "reason", .type = FIELD_TEXT, .required = 1, .min = 1, .max = RESTRICTION_REASON_MAX},
};

static int blank(const char *s)
{
    for (; *s != '\0'; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

static void handle_impose(struct http_request *req)
{
    const struct principal *who = http_principal(req);
    json_t *body = http_body_json(req), *obj = NULL;
    char phone[RESTRICTION_PHONE_MAX + 1];
    struct node *node;
    struct db *db;

    if (body == NULL || input_check(req, body, NULL, impose_fields,
                                    sizeof(impose_fields) / sizeof(*impose_fields)) < 0)
        return;
    if (restriction_phone_normalize(input_text(body, "phone"), phone) < 0) {
        http_reply_invalid(req, "phone", "'phone' is not a mobile or landline number");
        return;
    }
    if (blank(input_text(body, "reason"))) {
        http_reply_invalid(req, "reason", "'reason' must say why the caller is restricted");
        return;
    }
    if ((db = node_db(req, &node)) == NULL)
        return;
    switch (restriction_impose(db, node, who, phone, input_text(body, "reason"), clock_now_us(),
                               &obj)) {
    case RESTRICTION_DONE:
        log_info("restriction '%s' imposed by principal %lld",
                 json_string_value(json_object_get(obj, "id")), who->id);
        http_reply_json(req, 201, obj);
        break;
    case RESTRICTION_EXISTS:
        http_reply_error(req, 409, "already_restricted",
                         "the number is already restricted until %s (restriction '%s')",
                         json_string_value(json_object_get(obj, "until")),
                         json_string_value(json_object_get(obj, "id")));
        json_decref(obj);
        break;
    default:
        http_reply_error(req, 500, "internal", "the restriction could not be made");
        break;
    }
}

static void handle_list(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    json_t *list = db != NULL ? restriction_list(db, clock_now_us()) : NULL;

    if (db == NULL)
        return;
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the restrictions could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "restrictions", list));
}

static void handle_lift(struct http_request *req)
{
    const struct principal *who = http_principal(req);
    const char *id = http_path_param(req, "id");
    json_t *obj = NULL;
    struct node *node;
    struct db *db;

    if (strlen(id) > RESTRICTION_ID_MAX) {
        http_reply_error(req, 404, "not_found", "no such restriction");
        return;
    }
    if ((db = node_db(req, &node)) == NULL)
        return;
    switch (restriction_lift(db, node, id, who, clock_now_us(), &obj)) {
    case RESTRICTION_DONE:
        log_info("restriction '%s' lifted by principal %lld", id, who->id);
        http_reply_json(req, 200, obj);
        break;
    case RESTRICTION_NOT_FOUND:
        http_reply_error(req, 404, "not_found", "no such restriction");
        break;
    case RESTRICTION_INACTIVE:
        http_reply_error(req, 409, "restriction_inactive",
                         "the restriction was lifted already or has expired");
        break;
    default:
        http_reply_error(req, 500, "internal", "the restriction could not be lifted");
        break;
    }
}

int restriction_check(struct db *db, const struct hotline *h, const struct principal *who,
                      const char *phone, const char *channel, char id[RESTRICTION_ID_MAX + 1],
                      char until[CLOCK_RFC3339_LEN])
{
    char number[RESTRICTION_PHONE_MAX + 1];
    int64_t end, now = clock_now_us();

    if (strcmp(channel, "phone") != 0 || restriction_phone_normalize(phone, number) < 0)
        return 0;
    int found = restriction_find(db, h, number, now, id, &end);
    if (found <= 0)
        return found;
    if (who != NULL && restriction_hit(db, id, who, h->node_code, now) < 0)
        log_warnx("the refusal under restriction '%s' could not be recorded", id);
    log_info("refused an appeal by phone under restriction '%s'", id);
    clock_format_seconds(end, until);
    return 1;
}

int restriction_refused(struct http_request *req, struct db *db, const struct hotline *h,
                        const char *phone, const char *channel)
{
    char id[RESTRICTION_ID_MAX + 1], until_text[CLOCK_RFC3339_LEN];
    int refused = restriction_check(db, h, http_principal(req), phone, channel, id, until_text);

    if (refused < 0) {
        http_reply_error(req, 500, "internal", "the caller restrictions could not be checked");
        return 1;
    }
    if (refused == 0)
        return 0;
    http_reply_json(
        req, 403,
        json_pack("{s:{s:s,s:s,s:s,s:s}}", "error", "code", "caller_restricted", "message",
                  "this number may not use the phone hotline until the restriction ends (Art 9);"
                  " the appeal was not registered, but it may be made on the website, the app"
                  " or the mini-program",
                  "restriction", id, "until", until_text));
    return 1;
}

const struct http_route restriction_routes[] = {
    {"POST", "/api/v1/restrictions", handle_impose, ROLE_OPERATOR | ROLE_MANAGER, NULL},
    {"GET", "/api/v1/restrictions", handle_list, ROLE_OPERATOR | ROLE_MANAGER | ROLE_AUDITOR, NULL},
    {"DELETE", "/api/v1/restrictions/{id}", handle_lift, ROLE_MANAGER, NULL},
};

const size_t restriction_routes_len = sizeof(restriction_routes) / sizeof(restriction_routes[0]);
