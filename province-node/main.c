/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the province node: the hub of the federation.
 *
 * It admits city nodes by their registered CURVE keys, watches their
 * sessions and load, and shows the registry to administrators.  Everything
 * else it does comes from common/; this file says what makes it the
 * province: its routes, its admin commands and its link thread.
 */
#include "hub.h"
#include "input.h"
#include "master.h"
#include "log.h"
#include "metrics.h"
#include "node.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>

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

static void handle_links(struct http_request *req)
{
    struct db *db = node_db(req, NULL);
    json_t *links = db != NULL ? master_links(db) : NULL;

    if (db == NULL)
        return;
    if (links == NULL)
        http_reply_error(req, 500, "internal", "the links could not be read");
    else
        http_reply_json(req, 200, json_pack("{s:o}", "links", links));
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

static void handle_master_tickets(struct http_request *req)
{
    const char *node = http_query_param(req, "node"), *status = http_query_param(req, "status");
    int page, size;
    long long total;
    struct db *db;

    if (node != NULL && !config_code_valid(node, NODE_CITY) &&
        !config_code_valid(node, NODE_PROVINCE)) {
        http_reply_invalid(req, "node", "'node' must be a node code");
        return;
    }
    if ((page = page_param(req, "page", 1, 1000000)) < 0 ||
        (size = page_param(req, "page_size", 50, 200)) < 0 || (db = node_db(req, NULL)) == NULL)
        return;
    json_t *list = master_tickets(db, node, status, page, size, &total);
    if (list == NULL)
        http_reply_error(req, 500, "internal", "the master dataset could not be read");
    else
        http_reply_json(req, 200,
                        json_pack("{s:o,s:i,s:i,s:I}", "tickets", list, "page", page, "page_size",
                                  size, "total", (json_int_t)total));
}

static const struct http_route routes[] = {
    {"GET", "/api/v1/federation/nodes", handle_nodes, ROLE_ADMIN | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/federation/links", handle_links, ROLE_ADMIN | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/master/tickets", handle_master_tickets,
     ROLE_ADMIN | ROLE_MANAGER | ROLE_AUDITOR, NULL},
};

static int command_node_add(struct node *node, struct db *db, char **argv)
{
    char err[200];

    (void)node;
    if (registry_add(db, argv[0], argv[1], argv[2], err, sizeof(err)) < 0) {
        fprintf(stderr, "province-node: node-add: %s\n", err);
        return 1;
    }
    printf("node '%s' registered\n", argv[0]);
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

static const struct node_command commands[] = {
    {"node-add", "CODE NAME PUBLIC-KEY", 3, command_node_add},
    {"node-remove", "CODE", 1, command_node_remove},
};

static void health(json_t *obj)
{
    json_object_set_new(obj, "federation", json_string("listening"));
    json_object_set_new(obj, "nodes_connected", json_integer(metrics_nodes_connected()));
}

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
};

int main(int argc, char **argv)
{
    return node_main(&province, argc, argv);
}
