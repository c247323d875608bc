/* SPDX-License-Identifier: Apache-2.0 */
/*
 * router.h - the province routes transfers between nodes and decides their
 * outcome (Art 3, Art 10; DESIGN.md "Ownership"), inside the transaction
 * that applies a node's stream.
 *
 * An offer is checked (signed by the ticket's owner at the current epoch,
 * to a registered node), stored, and forwarded with the personal data
 * sealed again for the target; the target's acceptance is the hand-off:
 * the master dataset's owner and epoch change here, and both ends are told
 * in a decision signed by the province.  A decline waits for the managers'
 * decision, which is final.  Progress answers of a transferred ticket go
 * to every node that held it.
 */
#ifndef HOTLINE_ROUTER_H
#define HOTLINE_ROUTER_H

#include "db.h"
#include "node.h"

#include <jansson.h>

/* Applies item value 'v' of kind "transfer" or "progress" from node
 * 'sender'.  Returns 0 (applied, or refused and logged), -1 on error. */
int router_apply(const struct node *node, struct db *db, const char *sender, const char *kind,
                 json_t *v);

enum router_result {
    ROUTER_DONE,
    ROUTER_NOT_FOUND,
    ROUTER_CONFLICT,
    ROUTER_INVALID,
    ROUTER_FAILED
};

/* The managers' decision on a declined transfer, or on an offer its target
 * has not answered: 'owner' (the origin or the target) handles the ticket,
 * for good.  One transaction. */
enum router_result router_decide(const struct node *node, struct db *db, const char *id,
                                 const char *owner, const char *reason);

/* Routed transfers, newest first, optionally of one status, as JSON; NULL on error. */
json_t *router_list(struct db *db, const char *status);

/* One routed transfer with its signed messages; json null if unknown, NULL on error. */
json_t *router_get(struct db *db, const char *id);

#endif
