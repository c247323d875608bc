/* SPDX-License-Identifier: Apache-2.0 */
/*
 * applier.h - the nodes' ticket streams applied to the master dataset in a
 * thread of its own, with a database connection of its own: the link
 * thread reads and checks the next batch, and goes on answering every
 * node, while the database takes the last one.
 */
#ifndef HOTLINE_APPLIER_H
#define HOTLINE_APPLIER_H

#include "inbox.h"
#include "link.h"
#include "master.h"
#include "node.h"

#include <stdint.h>

/* What became of a batch: the acknowledgement the link thread owes. */
struct applied {
    struct link_peer from;
    enum inbox_result result;
    uint64_t seq; /* the node's last message applied */
};

struct applier;

/* Connects to the database and starts the thread.  NULL on failure (logged). */
struct applier *applier_start(struct node *province);

/* The link thread's socket, readable when results wait (for zmq_poll). */
void *applier_socket(struct applier *a);

/* Is there room in the queue for another batch? */
int applier_has_room(struct applier *a);

/*
 * Queues batch 'b' (taken) of the node 'from', to be applied after those
 * queued before it.  Returns 0, or -1 when the queue is full: the batch is
 * dropped, and its node sends it again when no acknowledgement comes.
 */
int applier_submit(struct applier *a, const struct link_peer *from, struct master_batch *b);

/* Takes the next result into 'out'.  Returns 1, or 0 when none waits. */
int applier_result(struct applier *a, struct applied *out);

/* Applies what was queued, then stops the thread and frees 'a'. */
void applier_stop(struct applier *a);

#endif
