/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - the city node: a municipal 12345 hotline centre.
 *
 * Everything it shares with the province comes from common/; this file says
 * what makes it a city: its routes, its link thread, the uplink to the
 * province, and `rotate-key`, which makes its new keys ready.
 */
#include "broadcast.h"
#include "clock.h"
#include "importdb.h"
#include "inbox.h"
#include "wire.h"
#include "metrics.h"
#include "node.h"
#include "recover.h"
#include "uplink.h"

#include <stdio.h>

static void handle_link(struct http_request *req)
{
    struct node *node = http_app(req);
    int64_t beat_us;
    int up = metrics_link_up(&beat_us);
    char stamp[CLOCK_RFC3339_LEN], province[8];
    json_t *beat = json_null();

    if (up && beat_us > 0) {
        clock_format(beat_us, stamp);
        beat = json_string(stamp);
    }
    /* A city's province is the province of its division code. */
    snprintf(province, sizeof(province), "%.2s0000", node->cfg.node_code);
    http_reply_json(req, 200,
                    json_pack("{s:s,s:s,s:b,s:o}", "province", province, "endpoint",
                              node->cfg.province_endpoint, "connected", up, "last_heartbeat",
                              beat));
}

/* The city's one link: its ticket stream to the province, and the
 * province's stream down, as far as applied here. */
static void handle_links(struct http_request *req)
{
    uint64_t queued, in_flight, acked, applied;
    double lag;
    char province[8];
    struct node *node;
    struct db *db = node_db(req, &node);

    if (db == NULL)
        return;
    snprintf(province, sizeof(province), "%.2s0000", node->cfg.node_code);
    if (inbox_applied(db, province, STREAM_DOWN, &applied) < 0) {
        http_reply_error(req, 500, "internal", "the links could not be read");
        return;
    }
    metrics_stream(&queued, &in_flight, &acked, &lag);
    http_reply_json(req, 200,
                    json_pack("{s:[{s:s,s:s,s:b,s:I,s:I,s:I,s:f}],s:[{s:s,s:s,s:I}]}", "links",
                              "peer", province, "stream", "tickets", "connected",
                              metrics_link_up(NULL), "queued", (json_int_t)queued, "in_flight",
                              (json_int_t)in_flight, "last_acked", (json_int_t)acked, "lag_seconds",
                              lag, "receiving", "peer", province, "stream", "down", "last_applied",
                              (json_int_t)applied));
}

/*
 * The province's broadcasts as this city holds them.  Data held while the
 * province is away too long only warns: calls are taken as ever.
 */
static void handle_broadcasts(struct http_request *req)
{
    struct node *node;
    struct db *db = node_db(req, &node);
    json_t *held = db != NULL ? broadcast_held(db) : NULL;
    char province[8];

    if (db == NULL)
        return;
    if (held == NULL) {
        http_reply_error(req, 500, "internal", "the broadcasts held could not be read");
        return;
    }
    int up = metrics_link_up(NULL);
    int64_t silent = metrics_link_silent_ms() / 1000;
    int stale = !up && silent >= node->cfg.broadcast_stale_seconds;
    snprintf(province, sizeof(province), "%.2s0000", node->cfg.node_code);
    json_object_set_new(held, "province", json_string(province));
    json_object_set_new(held, "connected", json_boolean(up));
    json_object_set_new(held, "stale", json_boolean(stale));
    json_object_set_new(held, "warning",
                        stale ? json_sprintf("no word from the province for %lld s: the knowledge"
                                             " base, calendar and restrictions held here may be"
                                             " out of date",
                                             (long long)silent)
                              : json_null());
    http_reply_json(req, 200, held);
}

#define BROADCAST_READERS (ROLE_ADMIN | ROLE_MANAGER | ROLE_AUDITOR | ROLE_OPERATOR)

static const struct http_route routes[] = {
    {"GET", "/api/v1/federation/link", handle_link, ROLE_ADMIN | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/federation/links", handle_links, ROLE_ADMIN | ROLE_AUDITOR, NULL},
    {"GET", "/api/v1/federation/broadcasts", handle_broadcasts, BROADCAST_READERS, NULL},
};

static void health(json_t *obj)
{
    json_object_set_new(obj, "federation",
                        json_string(metrics_link_up(NULL) ? "connected" : "disconnected"));
}

/* Makes a new CURVE pair and signing key ready (keyring.h) and prints what
 * the province registers with node-key; SIGHUP switches to them. */
static int command_rotate_key(struct node *node, struct db *db, char **argv)
{
    char curve[CURVE_KEY_Z85_LEN + 1], sign[SIGN_KEY_TEXT_LEN + 1];
    int made = keyring_stage(node->cfg.data_dir, curve, sign);

    (void)db;
    (void)argv;
    if (made < 0)
        return 1;
    if (!made)
        fprintf(stderr, "city-node: rotate-key: new keys were ready already\n");
    printf("curve-key %s\nsign-key %s\n", curve, sign);
    return 0;
}

static const struct node_command commands[] = {
    {"rotate-key", "", 0, command_rotate_key, 0},
    {"import", "FILE", 1, importdb_run, 0},
    {"recover", "FILE", 1, recover_run, 0},
};

static const struct node_kind city = {
    .role = NODE_CITY,
    .program = "city-node",
    .default_config = "/etc/12345/city-node.conf",
    .routes = routes,
    .nroutes = sizeof(routes) / sizeof(routes[0]),
    .commands = commands,
    .ncommands = sizeof(commands) / sizeof(commands[0]),
    .link_run = uplink_run,
    .health = health,
    .share = broadcast_send_up,
};

int main(int argc, char **argv)
{
    return node_main(&city, argc, argv);
}
