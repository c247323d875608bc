/* SPDX-License-Identifier: Apache-2.0 */
/*
 * assign.h - the province's side of overflow (Art 3, DESIGN.md "Load
 * balancing"): each item a centre offers goes to the helper balance.c
 * chooses, or back home; a helper's triage goes on to the item's owner, and
 * an owner's withdrawal to the helper.  The messages are those of
 * overflow.h.
 */
#ifndef HOTLINE_ASSIGN_H
#define HOTLINE_ASSIGN_H

#include "db.h"
#include "node.h"
#include "registry.h"

#include <jansson.h>

/* Returns 1 if 'msg', a message of a node's ticket stream, is one of
 * overflow, else 0. */
int assign_message(json_t *msg);

/* Returns 1 if the overflow message 'msg' is well formed, else 0. */
int assign_valid(json_t *msg);

/*
 * Applies the overflow messages among 'batch' (the JSON array text of a
 * batch of well-formed messages node 'from' sent) inside the batch's
 * transaction, and queues what follows for the nodes concerned.  An offer
 * is decided once: the same ticket and round again changes nothing, nor
 * does a withdrawal or a triage of an item that has moved on, nor any
 * message about an item that is not the sender's.  Returns 0 or -1.
 */
int assign_apply(const struct node *node, struct db *db, const char *from, const char *batch);

/*
 * Loads every centre as balance.c sees it: the province with its figures
 * of now, each live city with those of its last heartbeat, and in each
 * centre's queue the items given to it and not yet triaged there.  Returns
 * 0, or -1 ('list' empty).  Free with registry_centres_clear().
 */
int assign_centres(const struct node *node, struct db *db, struct registry_centres *list);

/*
 * A page of decisions, newest first, of centre 'code' (as owner or helper;
 * NULL: every centre), as a JSON array, with the number of all matches in
 * '*total'.  NULL on error.
 */
json_t *assign_list(struct db *db, const char *code, int page, int page_size, long long *total);

#endif
