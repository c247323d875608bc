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
#include "log.h"
#include "metrics.h"
#include "node.h"
#include "registry.h"

#include <stdio.h>

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

static const struct http_route routes[] = {
    {"GET", "/api/v1/federation/nodes", handle_nodes, ROLE_ADMIN | ROLE_AUDITOR, NULL},
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
