/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast.h - province-wide data (DESIGN.md, "Federation protocol"): the
 * knowledge-base entries the province publishes, the working-day calendar
 * and caller restrictions (REGULATION.md Art 9: "applies at every node").
 *
 * The province numbers every change in its broadcast log
 * (province-node/broadcastlog.c) and sends it to every node on STREAM_DOWN
 * as one message
 *     {"broadcast": {"version", "kind", "key", "at", "data"}}
 * where "data" is what the thing named by kind and key now is, or null when
 * it is gone (a tombstone).  A node applies each message once, in order,
 * never letting an older version of a key replace a newer one, and records
 * the last version it holds.  A city's own restrictions travel the other
 * way, up its ticket stream as {"restriction": data}: the province takes
 * them and publishes them to every node.
 */
#ifndef HOTLINE_BROADCAST_H
#define HOTLINE_BROADCAST_H

#include "db.h"

#include <jansson.h>
#include <stddef.h>

struct node;

enum broadcast_kind {
    BROADCAST_KB,          /* key "440000-KB-0001": an entry the province keeps */
    BROADCAST_CALENDAR,    /* key "2027": the listed dates of a year */
    BROADCAST_RESTRICTION, /* key "440100-R-000012": a restriction */
    BROADCAST_KINDS,
};

/* Keys are at most this many bytes. */
#define BROADCAST_KEY_MAX 64

/* "kb", "calendar", "restriction", in enum order, NULL-terminated. */
extern const char *const broadcast_kind_names[];

/* Parses a kind name.  Returns 0, or -1 if unknown. */
int broadcast_kind_parse(const char *s, enum broadcast_kind *out);

/*
 * The thing of 'kind' named 'key' changed at 'node', in the caller's
 * transaction: the node's kind shares it (struct node_kind, 'share'): the
 * province publishes it to every node, a city sends the province what it
 * must hear of.  Does nothing when 'node' is NULL (a command without a
 * federation).  Returns 0, or -1 to roll the change back.
 */
int broadcast_share(const struct node *node, struct db *db, enum broadcast_kind kind,
                    const char *key);

/*
 * What the thing of 'kind' named 'key' is at this node now, as a broadcast
 * carries it: a new JSON object, or JSON null when it is gone.  NULL on a
 * database error (logged).
 */
json_t *broadcast_read(struct db *db, enum broadcast_kind kind, const char *key);

/*
 * A city's 'share': its restrictions go up to the province on its ticket
 * stream, in the caller's transaction; nothing else does.  Returns 0 or -1.
 */
int broadcast_send_up(const struct node *node, struct db *db, enum broadcast_kind kind,
                      const char *key);

/*
 * Applies the value of one {"broadcast": ...} message from the province (a
 * deliver.h handler), in the caller's transaction.  Returns 0 when applied
 * or older than what is held, 1 when it is not well formed (nothing
 * changed), -1 on a database error.
 */
int broadcast_deliver(const struct node *node, struct db *db, json_t *v);

/*
 * What this node holds, for the API: {"version", "applied_at", "kinds":
 * {kind: {"version", "items", "applied_at"}}}, "items" counting the keys
 * not deleted.  NULL on error.
 */
json_t *broadcast_held(struct db *db);

/*
 * Checks of a member 'name' of data from another node, for the kinds'
 * validators: text of 1..'max' characters; an RFC 3339 time.  With
 * 'nullable', a missing member or null passes too.  Return 1 or 0.
 */
int broadcast_text_ok(json_t *obj, const char *name, size_t max, int nullable);
int broadcast_time_ok(json_t *obj, const char *name, int nullable);

#endif
