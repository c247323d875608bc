/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcastlog.h - the province's numbered log of province-wide changes
 * (common/broadcast.h) and the messages that carry them to every node.
 */
#ifndef HOTLINE_BROADCASTLOG_H
#define HOTLINE_BROADCASTLOG_H

#include "broadcast.h"
#include "db.h"
#include "node.h"

#include <jansson.h>

/*
 * The province's 'share' (struct node_kind): in the caller's transaction,
 * gives the next version to the change of 'kind' and 'key', logs it with
 * what the thing now is (broadcast_read) and queues the message for every
 * registered node (deliver_post).  Returns 0, or -1 to roll back.
 */
int broadcastlog_publish(const struct node *node, struct db *db, enum broadcast_kind kind,
                         const char *key);

/*
 * Queues for node 'code', in the caller's transaction (with its
 * registration), the last message of every key in the log, in version
 * order: the current state of everything, which the node applies as it
 * would have applied the changes.  Returns the number queued, or -1.
 */
long long broadcastlog_snapshot(const struct node *node, struct db *db, const char *code);

/*
 * Takes what node 'from' reported of its own changes in the batch 'batch'
 * (the JSON array of its checked ticket-stream items): its restrictions
 * (restriction_merge); each that changed anything here is published.  In
 * the caller's transaction.  Returns 0 or -1.
 */
int broadcastlog_take(const struct node *node, struct db *db, const char *from, const char *batch);

/*
 * The log's state for the API: {"version", "kinds": {kind: {"version",
 * "items"}}, "nodes": [{"code", "name", "connected", "acked_version",
 * "pending"}]}: each registered node's version is the last it acknowledged
 * in order, "pending" the messages it has not.  NULL on error.
 */
json_t *broadcastlog_status(struct db *db);

#endif
