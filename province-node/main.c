/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the province node: the hub of the federation.
 *
 * It admits city nodes by their registered CURVE keys, watches their
 * sessions and load, shows the registry to administrators, answers which
 * centre should take an overflowing call (balance.c) and gives the items of
 * overflowing queues to helpers (assign.c).  Everything else it does comes
 * from common/; this file says what makes it the province: its routes, its
 * admin commands and its link thread.
 */
#include "assign.h"
#include "balance.h"
#include "broadcastlog.h"
#include "calendar.h"
#include "clock.h"
#include "deliver.h"
#include "hub.h"
#include "input.h"
#include "master.h"
#include "outbox.h"
#include "router.h"
#include "transfer.h"
#include "transferdb.h"
#include "log.h"
#include "metrics.h"
#include "node.h"
#include "registry.h"
#include "stats_api.h"
#include "ticket.h"
#include "unitdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void handle_nodes(struct http_request *req)
{
    struct node *node = http_app(req);
    struct db *db = db_thread(node->cfg.database);
    json_t *nodes = db != NULL ? registry_list(db) : NULL;

    if (nodes == NULL) {
        http_reply_error(req, 503, "database_unavailable", "the database cannot be reached");
        return;
    }
    http_reply_json(req, 200, json_pack("{s:o}", "nodes", nodes));
}

/* Reads node=, a node code of the federation, if given.  Returns 0, or -1
 * having answered 400. */
static int node_param(struct http_request *req, const char **node)
{
    *node = http_query_param(req, "node");
    if (*node != NULL && !config_code_valid(*node, NODE_CITY) &&
        !config_code_valid(*node, NODE_PROVINCE)) {
        http_reply_invalid(req, "node", "'node' must be a node code");
        return -1;
    }
    return 0;
}

/* Art 19: did every node's day arrive whole?  Its report against the
 * master dataset. */
static void handle_reconciliation(struct http_request *req)
{
    const char *node, *only = http_query_param(req, "mismatches");
    struct db *db;

    if (node_param(req, &node) < 0)
        return;
    if (only != NULL && strcmp(only, "true") != 0 && strcmp(only, "false") != 0) {
        http_reply_invalid(req, "mismatches", "'mismatches' is true or false");
        return;
    }
    if ((db = node_db(req, NULL)) == NULL)
        return;
    json_t *days = master_reconciliation(db, node, only != NULL && strcmp(only, "true") == 0);
    if (days == NULL)
        http_reply_error(req, 500, "internal", "the reconciliation could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "days", days));
}

/* What each node's stream brought (links) and what waits for each node on
 * its stream down (sending). */
static void handle_links(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    json_t *links = db != NULL ? master_links(db) : NULL;
    json_t *sending = db != NULL ? outbox_peer_queues(db, clock_now_us()) : NULL;

    if (db == NULL)
        return;
    if (links == NULL || sending == NULL) {
        json_decref(links);
        json_decref(sending);
        http_reply_error(req, 500, "internal", "the links could not be read");
    } else {
        http_reply_json(req, 200, json_pack("{s:o,s:o}", "links", links, "sending", sending));
    }
}

/* The streams down, per node, for /metrics. */
static void metrics(struct node *node, FILE *out)
{
    static const struct {
        const char *name, *key, *help;
    } gauges[] = {
        {"hotline_down_queued", "queued", "Messages for a node not yet acknowledged."},
        {"hotline_down_in_flight", "in_flight", "Messages sent to a node and not acknowledged."},
        {"hotline_down_acked_seq", "last_acked", "The last number a node acknowledged."},
        {"hotline_down_lag_seconds", "lag_seconds", "Age of the oldest message for a node."},
    };
    struct db *db = db_thread(node->cfg.database);
    json_t *queues = db != NULL ? outbox_peer_queues(db, clock_now_us()) : NULL, *q;
    size_t i;

    for (size_t g = 0; queues != NULL && g < sizeof(gauges) / sizeof(gauges[0]); g++) {
        fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name, gauges[g].help,
                gauges[g].name);
        json_array_foreach(queues, i, q)
        {
            fprintf(out, "%s{peer=\"%s\"} %g\n", gauges[g].name,
                    json_string_value(json_object_get(q, "peer")),
                    json_number_value(json_object_get(q, gauges[g].key)));
        }
    }
    json_decref(queues);
}

/* Reads a positive integer query parameter within 1..max; -1 having answered. */
static int page_param(struct http_request *req, const char *name, int fallback, int max)
{
    const char *s = http_query_param(req, name);
    char *end;

    if (s == NULL)
        return fallback;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > max) {
        http_reply_invalid(req, name, "'%s' must be an integer from 1 to %d", name, max);
        return -1;
    }
    return (int)v;
}

/* Reads the day 'name' (YYYY-MM-DD, Beijing time) if given, as the instant
 * it starts ('next': the next day's, so the day is included).  Returns 0,
 * or -1 having answered 400. */
static int day_param(struct http_request *req, const char *name, int next, int64_t *at)
{
    const char *s = http_query_param(req, name);
    int32_t day;

    *at = 0;
    if (s == NULL)
        return 0;
    if (calendar_day_parse(s, &day) < 0) {
        http_reply_invalid(req, name, "'%s' must be a date YYYY-MM-DD", name);
        return -1;
    }
    *at = calendar_day_start(day + next);
    return 0;
}

static int is_category(const char *s)
{
    for (const char *const *c = ticket_categories; *c != NULL; c++) {
        if (strcmp(*c, s) == 0)
            return 1;
    }
    return 0;
}

/* Reads the filter of a page of the master dataset, the node's ticket
 * listing's names.  Returns 0, or -1 having answered 400. */
static int master_filter_read(struct http_request *req, struct master_filter *f)
{
    enum ticket_status st;
    enum ticket_kind k;

    *f = (struct master_filter){.status = http_query_param(req, "status"),
                                .unit = http_query_param(req, "unit"),
                                .kind = http_query_param(req, "kind"),
                                .category = http_query_param(req, "category")};
    if (node_param(req, &f->node) < 0)
        return -1;
    if (f->status != NULL && ticket_status_parse(f->status, &st) < 0) {
        http_reply_invalid(req, "status", "unknown status");
        return -1;
    }
    if (f->unit != NULL && !unitdb_code_valid(f->unit)) {
        http_reply_invalid(req, "unit", "'unit' is a unit code");
        return -1;
    }
    if (f->kind != NULL && ticket_kind_parse(f->kind, &k) < 0) {
        http_reply_invalid(req, "kind", "unknown kind");
        return -1;
    }
    if (f->category != NULL && !is_category(f->category)) {
        http_reply_invalid(req, "category", "unknown category");
        return -1;
    }
    if (day_param(req, "from", 0, &f->from) < 0 || day_param(req, "to", 1, &f->to) < 0)
        return -1;
    if (f->from != 0 && f->to != 0 && f->to <= f->from) {
        http_reply_invalid(req, "to", "'to' must not be before 'from'");
        return -1;
    }
    if ((f->page = page_param(req, "page", 1, 1000000)) < 0 ||
        (f->page_size = page_param(req, "page_size", 50, 200)) < 0)
        return -1;
    return 0;
}

static void handle_master_tickets(struct http_request *req)
{
    struct master_filter f;
    long long total;
    struct db *db;

    if (master_filter_read(req, &f) < 0 || (db = node_db(req, NULL)) == NULL)
        return;
    json_t *list = master_tickets(db, &f, &total);
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the master dataset could not be read");
    else
        http_reply_json(req, 200,
                        json_pack("{s:o,s:i,s:i,s:I}", "tickets", list, "page", f.page, "page_size",
                                  f.page_size, "total", (json_int_t)total));
}

static PGresult *master_sum(struct db *db, const struct node *node, const char *from,
                            const char *to, enum stats_group group, const char *excluded,
                            const char *of_node)
{
    return master_stats(db, from, to, group, excluded, of_node, node->cfg.node_code,
                        node->cfg.node_name);
}

/* GET /api/v1/stats over the master dataset: every node, or one. */
static const struct stats_api_source master_figures = {
    .name = "master-stats",
    .groups = 1u << STATS_BY_UNIT | 1u << STATS_BY_KIND | 1u << STATS_BY_CATEGORY |
              1u << STATS_BY_CHANNEL | 1u << STATS_BY_DAY | 1u << STATS_BY_NODE,
    .several_nodes = 1,
    .sum = master_sum,
};

static void handle_master_stats(struct http_request *req)
{
    const char *node;

    if (node_param(req, &node) == 0)
        stats_api_reply(req, &master_figures, node);
}

static const char *const transfer_states[] = {"offered", "accepted", "declined",
                                              "decided", "refused",  NULL};

/* Transfers as the province routed them; ?status=declined lists those
 * waiting for the managers' decision. */
static void handle_transfers(struct http_request *req)
{
    const char *status = http_query_param(req, "status");
    struct db *db;
    size_t i = 0;

    while (status != NULL && transfer_states[i] != NULL && strcmp(status, transfer_states[i]) != 0)
        i++;
    if (status != NULL && transfer_states[i] == NULL) {
        http_reply_invalid(req, "status",
                           "'status' is one of offered, accepted, declined, decided, refused");
        return;
    }
    if ((db = node_db(req, NULL)) == NULL)
        return;
    json_t *list = router_list(db, status);
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the transfers could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "transfers", list));
}

static void handle_transfer(struct http_request *req)
{
    const char *id = http_path_param(req, "id");
    struct db *db = node_db(req, NULL);
    json_t *t = db != NULL && transfer_id_valid(id) ? router_get(db, id) : json_null();

    if (db == NULL)
        return;
    if (t == NULL)
        http_reply_error(req, 500, "internal", "the transfer could not be read");
    else if (json_is_null(t))
        http_reply_error(req, 404, "not_found", "no such transfer");
    else
        http_reply_json(req, 200, t);
}

static const struct field decide_fields[] = {INPUT_TEXT("owner", 1, 6, 6),
                                             INPUT_TEXT("reason", 1, 1, 2000)};

/* Art 10: after a decline, the province's managers say who handles the
 * appeal; the designated node cannot decline it again. */
static void handle_decide(struct http_request *req)
{
    const char *id = http_path_param(req, "id");
    struct node *node;
    struct db *db = node_db(req, &node);
    json_t *body;

    if (db == NULL)
        return;
    if (!transfer_id_valid(id)) {
        http_reply_error(req, 404, "not_found", "no such transfer");
        return;
    }
    body = http_body_json(req);
    if (body == NULL || input_check(req, body, NULL, decide_fields,
                                    sizeof(decide_fields) / sizeof(*decide_fields)) < 0)
        return;
    switch (router_decide(node, db, id, input_text(body, "owner"), input_text(body, "reason"))) {
    case ROUTER_DONE:
        http_reply_json(req, 200, router_get(db, id));
        break;
    case ROUTER_NOT_FOUND:
        http_reply_error(req, 404, "not_found", "no such transfer");
        break;
    case ROUTER_CONFLICT:
        http_reply_error(req, 409, "not_waiting",
                         "only a declined or unanswered transfer waits for a decision");
        break;
    case ROUTER_INVALID:
        http_reply_invalid(req, "owner", "'owner' must be the transfer's origin or its target");
        break;
    case ROUTER_FAILED:
        http_reply_error(req, 500, "internal", "the decision could not be made");
        break;
    }
}

/* Loads every centre (assign_centres).  Returns 0, or -1 having answered. */
static int centres_load(struct http_request *req, struct registry_centres *list)
{
    struct node *node;
    struct db *db = node_db(req, &node);

    if (db == NULL)
        return -1;
    if (assign_centres(node, db, list) < 0) {
        http_reply_error(req, 500, "internal", "the centres' load could not be read");
        return -1;
    }
    return 0;
}

static json_t *centre_json(const struct balance_centre *c)
{
    return json_pack(
        "{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b,s:o}", "code", c->code, "name", c->name,
        "connected", c->connected, "agents_online", (json_int_t)c->agents_online, "agents_busy",
        (json_int_t)c->agents_busy, "queue_depth", (json_int_t)c->queue_depth,
        "oldest_wait_seconds", (json_int_t)c->oldest_wait_seconds, "spare_capacity",
        (json_int_t)balance_spare(c), "queue_threshold", (json_int_t)c->queue_threshold,
        "over_threshold", balance_over(c), "takes_overflow", c->takes_overflow, "region",
        c->region != NULL ? json_string(c->region) : json_null());
}

static void handle_load(struct http_request *req)
{
    struct registry_centres list;

    if (centres_load(req, &list) < 0)
        return;
    json_t *nodes = json_array();
    for (size_t i = 0; i < list.n; i++)
        json_array_append_new(nodes, centre_json(&list.c[i]));
    registry_centres_clear(&list);
    http_reply_json(req, 200, json_pack("{s:o}", "nodes", nodes));
}

static const struct field balancing_fields[] = {
    {.name = "queue_threshold", .type = FIELD_INT, .required = 1, .lo = 0, .hi = 1000000},
    {.name = "takes_overflow", .type = FIELD_BOOL, .required = 1},
    {.name = "region", .type = FIELD_ENUM, .required = 1, .values = balance_regions},
};

static void handle_balancing(struct http_request *req)
{
    const char *code = http_path_param(req, "code");
    struct node *node;
    struct db *db;
    json_t *body = http_body_json(req);

    if (body == NULL ||
        input_check(req, body, NULL, balancing_fields,
                    sizeof(balancing_fields) / sizeof(balancing_fields[0])) < 0 ||
        (db = node_db(req, &node)) == NULL)
        return;
    unsigned threshold = (unsigned)json_integer_value(json_object_get(body, "queue_threshold"));
    int takes = json_is_true(json_object_get(body, "takes_overflow"));
    const char *region = input_text(body, "region");
    int own = strcmp(code, node->cfg.node_code) == 0;
    if (!own && !config_code_valid(code, NODE_CITY)) {
        http_reply_error(req, 404, "not_found", "no such node");
        return;
    }
    json_t *settings = json_pack("{s:I,s:b,s:s}", "queue_threshold", (json_int_t)threshold,
                                 "takes_overflow", takes, "region", region);
    json_t *msg = json_pack("{s:O}", "balancing", settings);
    char *text = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    /* The centre gets its settings in the same transaction: it offers its
     * queue's excess past its threshold. */
    int rc = -1;
    if (text != NULL && db_begin(db) == 0) {
        rc = registry_balancing_set(db, code, own, threshold, takes, region);
        if (rc > 0 && (deliver_post(node, db, code, text) < 0 || db_commit(db) < 0))
            rc = -1;
        if (rc <= 0)
            db_rollback(db);
    }
    free(text);
    switch (rc) {
    case 1:
        json_object_set_new(settings, "code", json_string(code));
        http_reply_json(req, 200, settings);
        return;
    case 0:
        http_reply_error(req, 404, "not_found", "no such node");
        break;
    default:
        http_reply_error(req, 500, "internal", "the settings could not be written");
        break;
    }
    json_decref(settings);
}

/* Art 3: what became of the items centres offered, newest first. */
static void handle_overflow(struct http_request *req)
{
    const char *code;
    int page, size;
    long long total;
    struct db *db;

    if (node_param(req, &code) < 0 || (page = page_param(req, "page", 1, 1000000)) < 0 ||
        (size = page_param(req, "page_size", 50, 200)) < 0 || (db = node_db(req, NULL)) == NULL)
        return;
    json_t *list = assign_list(db, code, page, size, &total);
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the decisions could not be read");
    else
        http_reply_json(req, 200,
                        json_pack("{s:o,s:i,s:i,s:I}", "items", list, "page", page, "page_size",
                                  size, "total", (json_int_t)total));
}

static void handle_route(struct http_request *req)
{
    const char *code = http_query_param(req, "for");
    struct registry_centres list;
    size_t home;

    if (code == NULL ||
        (!config_code_valid(code, NODE_CITY) && !config_code_valid(code, NODE_PROVINCE))) {
        http_reply_invalid(req, "for", "'for' must be a node code");
        return;
    }
    if (centres_load(req, &list) < 0)
        return;
    for (home = 0; home < list.n && strcmp(list.c[home].code, code) != 0; home++)
        ;
    if (home == list.n) {
        registry_centres_clear(&list);
        http_reply_error(req, 404, "not_found", "no such node");
        return;
    }
    const char *reason;
    size_t to = balance_route(list.c, list.n, home, &reason);
    json_t *answer = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "for", list.c[home].code, "code",
                               list.c[to].code, "name", list.c[to].name, "reason", reason, "home",
                               centre_json(&list.c[home]), "centre", centre_json(&list.c[to]));
    registry_centres_clear(&list);
    http_reply_json(req, 200, answer);
}

/* The broadcast log and how far each node has taken it. */
static void handle_broadcasts(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    json_t *status = db != NULL ? broadcastlog_status(db) : NULL;

    if (db == NULL)
        return;
    if (status == NULL)
        http_reply_error(req, 500, "internal", "the broadcasts could not be read");
    else
        http_reply_json(req, 200, status);
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/federation/nodes", handle_nodes, ROLE_ADMIN | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/federation/links", handle_links, ROLE_ADMIN | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/federation/reconciliation", handle_reconciliation,
     ROLE_ADMIN | ROLE_MANAGER | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/master/tickets", handle_master_tickets,
     ROLE_ADMIN | ROLE_MANAGER | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/master/stats", handle_master_stats, ROLE_MANAGER | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/federation/load", handle_load, ROLE_ADMIN | ROLE_MANAGER | ROLE_AUDITOR, NULL},
    {"PUT", "/api/v1/federation/nodes/{code}/balancing", handle_balancing, ROLE_ADMIN, NULL},
    {"GET", "/api/v1/route", handle_route, ROLE_SERVICE | ROLE_ADMIN | ROLE_MANAGER, NULL},
    {"GET", "/api/v1/federation/overflow", handle_overflow,
     ROLE_ADMIN | ROLE_MANAGER | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/transfers", handle_transfers, ROLE_MANAGER | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/transfers/{id}", handle_transfer, ROLE_MANAGER | ROLE_AUDITOR, NULL},
    {"POST", "/api/v1/transfers/{id}/decide", handle_decide, ROLE_MANAGER, NULL},
    {"GET", "/api/v1/federation/broadcasts", handle_broadcasts,
     ROLE_ADMIN | ROLE_MANAGER | ROLE_AUDITOR | ROLE_OPERATOR, NULL},
};

/* Registers a node and queues for it the current state of every broadcast,
 * in one transaction. */
static int command_node_add(struct node *node, struct db *db, char **argv)
{
    char err[200] = "the registration could not be saved";
    long long queued = -1;

    if (db_begin(db) < 0 || registry_add(db, argv[0], argv[1], argv[2], err, sizeof(err)) < 0 ||
        (queued = broadcastlog_snapshot(node, db, argv[0])) < 0 || db_commit(db) < 0) {
        db_rollback(db);
        fprintf(stderr, "province-node: node-add: %s\n", err);
        return 1;
    }
    printf("node '%s' registered; %lld broadcasts queued for it\n", argv[0], queued);
    return 0;
}

static int command_node_remove(struct node *node, struct db *db, char **argv)
{
    (void)node;
    int rc = registry_remove(db, argv[0]);
    if (rc == 0)
        fprintf(stderr, "province-node: node-remove: '%s' is not registered\n", argv[0]);
    if (rc <= 0)
        return 1;
    printf("node '%s' removed\n", argv[0]);
    return 0;
}

/*
 * Gives a city its new CURVE key and signing key (README "Key rotation"):
 * those they replace stay admitted for the grace period, 24 hours unless
 * --grace-hours says otherwise, while the city switches.  Grace 0 refuses
 * them at once, as node-add does.
 */
static int command_node_key(struct node *node, struct db *db, char **argv)
{
    static const char *const names[] = {"--grace-hours"};
    long grace[] = {24};
    char err[200] = "the new keys could not be saved";
    int curve = -1, sign = -1;

    (void)node;
    if (node_options(argv + 3, names, grace, 1, 0, 24 * 365) < 0)
        return 2;
    int64_t now = clock_now_us();
    int64_t until = grace[0] > 0 ? now + grace[0] * 3600 * INT64_C(1000000) : 0;
    if (db_begin(db) < 0 ||
        (curve = registry_rekey(db, argv[0], argv[1], until, err, sizeof(err))) < 0 ||
        (sign = transferdb_rekey(db, argv[0], argv[2], until, now)) < 0 || db_commit(db) < 0) {
        db_rollback(db);
        if (curve >= 0 && sign < 0)
            snprintf(err, sizeof(err), "the signing key is not an Ed25519 public key (base64)");
        fprintf(stderr, "province-node: node-key: %s\n", err);
        return 1;
    }
    char stamp[CLOCK_RFC3339_LEN];
    clock_format(until, stamp);
    printf("node '%s': %s, %s\n", argv[0], curve ? "new curve key" : "curve key unchanged",
           sign ? "new signing key" : "signing key unchanged");
    if (until > 0)
        printf("the keys they replace are accepted until %s\n", stamp);
    else
        printf("the keys they replace are refused from now on\n");
    return 0;
}

/* Ends a city's grace period now: only its new keys are accepted. */
static int command_node_key_retire(struct node *node, struct db *db, char **argv)
{
    int curve = -1, sign = -1;

    (void)node;
    if (db_begin(db) < 0 || (curve = registry_retire(db, argv[0])) < 0 ||
        (sign = transferdb_retire_key(db, argv[0])) < 0 || db_commit(db) < 0) {
        db_rollback(db);
        fprintf(stderr, "province-node: node-key-retire: the database refused it\n");
        return 1;
    }
    if (curve == 0 && sign == 0) {
        fprintf(stderr, "province-node: node-key-retire: '%s' has no previous key\n", argv[0]);
        return 1;
    }
    printf("node '%s': its previous keys are refused from now on\n", argv[0]);
    return 0;
}

/*
 * Writes what the master dataset holds of a node whose database was
 * restored from a backup (master_export), for `city-node recover` there,
 * and queues for it again the current state of every broadcast: what the
 * province sent it after the backup is gone with it.  One snapshot of the
 * database, one transaction.
 */
static int command_node_export(struct node *node, struct db *db, char **argv)
{
    const char *code = argv[0], *path = argv[1];
    long long tickets = -1, queued = -1;
    FILE *out = NULL;

    if (registry_known(db, code) != 1) {
        fprintf(stderr, "province-node: node-export: '%s' is not a registered node\n", code);
        return 1;
    }
    if ((out = fopen(path, "w")) == NULL) {
        fprintf(stderr, "province-node: node-export: cannot write '%s'\n", path);
        return 1;
    }
    if (db_begin(db) < 0 ||
        db_exec(db, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL) < 0 ||
        (tickets = master_export(db, code, out)) < 0 ||
        (queued = broadcastlog_snapshot(node, db, code)) < 0 || fflush(out) != 0 || ferror(out) ||
        db_commit(db) < 0) {
        db_rollback(db);
        fclose(out);
        fprintf(stderr, "province-node: node-export: the export of '%s' failed\n", code);
        return 1;
    }
    fclose(out);
    printf("node '%s': %lld tickets of the master dataset written to '%s'; %lld broadcasts"
           " queued for it again; run 'city-node recover %s' there before it starts\n",
           code, tickets, path, queued, path);
    return 0;
}

static const struct node_command commands[] = {
    {"node-add", "CODE NAME PUBLIC-KEY", 3, command_node_add, 0},
    {"node-remove", "CODE", 1, command_node_remove, 0},
    {"node-key", "CODE CURVE-KEY SIGN-KEY [--grace-hours N]", 3, command_node_key, 5},
    {"node-key-retire", "CODE", 1, command_node_key_retire, 0},
    {"node-export", "CODE FILE", 2, command_node_export, 0},
};

static void health(json_t *obj)
{
    json_object_set_new(obj, "federation", json_string("listening"));
    json_object_set_new(obj, "nodes_connected", json_integer(metrics_nodes_connected()));
}

/* Open311 at the province answers for every registered node. */
static const struct open311_federation open311 = {
    .knows = registry_known,
    .requests = master_open311,
};

static const struct node_kind province = {
    .role = NODE_PROVINCE,
    .program = "province-node",
    .default_config = "/etc/12345/province-node.conf",
    .routes = routes,
    .nroutes = sizeof(routes) / sizeof(routes[0]),
    .commands = commands,
    .ncommands = sizeof(commands) / sizeof(commands[0]),
    .link_run = hub_run,
    .health = health,
    .metrics = metrics,
    .share = broadcastlog_publish,
    .open311 = &open311,
};

int main(int argc, char **argv)
{
    return node_main(&province, argc, argv);
}
