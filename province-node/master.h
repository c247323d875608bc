/* SPDX-License-Identifier: Apache-2.0 */
/*
 * master.h - the province's master dataset (Art 19): applying the ticket
 * stream of a node, exactly once, and reading it back: its tickets, and
 * the figures of GET /api/v1/stats over every node.
 */
#ifndef HOTLINE_MASTER_H
#define HOTLINE_MASTER_H

#include "db.h"
#include "inbox.h"
#include "node.h"
#include "stats.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Applies the messages first .. first + n - 1 of node 'node''s ticket
 * stream at the province 'province', each a JSON text {"ticket", "event"},
 * {"report"}, {"restriction"} or a message of overflow (assign.c), in one
 * transaction with the node's cursor: duplicates are skipped, tickets of
 * other owners refused, a ticket row only replaced by a newer (owner epoch,
 * version), a restriction taken and published as broadcastlog_take says.
 * Writes the node's last applied number into 'applied'.  When the node can
 * no longer send what the province expects ('oldest' is past it: the
 * province was restored from a backup), the province moves on from 'oldest'
 * and says so in the log; `resync` at the node fills the hole.
 */
enum inbox_result master_apply(const struct node *province, struct db *db, const char *node,
                               uint64_t first, uint64_t oldest, const char *const *items,
                               const size_t *lens, size_t n, uint64_t *applied);

/*
 * The same in two steps, the first without the database, so that a thread
 * can check and lay out the next batch while another applies the last:
 * master_prepare() copies and checks the messages (NULL out of memory);
 * master_apply_batch() applies them as master_apply() does.
 */
struct master_batch;
struct master_batch *master_prepare(const char *node, uint64_t first, uint64_t oldest,
                                    const char *const *items, const size_t *lens, size_t n);
enum inbox_result master_apply_batch(const struct node *province, struct db *db,
                                     struct master_batch *b, uint64_t *applied);
void master_batch_free(struct master_batch *b);

/*
 * Appends the messages of 'more' to 'b', to be applied with them in one
 * transaction, if they are of the same node, follow them in its stream
 * and make 'max' messages at most together.  Returns 0, or -1 ('b' then
 * unchanged; out of memory, or not so).  'more' is left to the caller.
 */
int master_batch_join(struct master_batch *b, const struct master_batch *more, size_t max);

/*
 * Counts the roll-ups of the master dataset's statistics again for the
 * days the batches applied marked and no batch marked again since the
 * last call, or that waited ten calls (171_master_staged.sql), at most 16
 * of them, each in a transaction of its own.  Meant to be called about
 * once a second.  Returns how many it counted, or -1 if it could not read
 * which; a day that fails is logged and stays marked, for the next call.
 */
int master_refresh(struct db *db);

/* Every node's ticket stream as the province received it, as a JSON array:
 * peer, stream, last_applied, applied_at.  NULL on error. */
json_t *master_links(struct db *db);

/* What a page of the master dataset holds: tickets matching every field
 * set (NULL or 0: any). */
struct master_filter {
    const char *node, *status, *unit, *kind, *category;
    int64_t from, to;    /* created_at in [from, to) */
    int page, page_size; /* from 1 */
};

/* A page of master tickets matching 'f', oldest first, with the number of
 * all matches in '*total'.  NULL on error. */
json_t *master_tickets(struct db *db, const struct master_filter *f, long long *total);

/*
 * The requests of the master dataset matching 'q', in the columns of
 * open311db.h, oldest first (PQclear them), or NULL on error: Open311 at
 * the province, for every node.
 */
PGresult *master_open311(struct db *db, const struct open311_query *q);

/*
 * The sums of the master dataset's roll-ups of days 'from' to 'to' by
 * 'group', of the node 'of_node' or (NULL) of every node, as statsdb_sum()
 * lays them out; grouped by unit, a row per node and unit with its node,
 * and the name of the unit where the province has it; grouped by node, the
 * node's name from the registry, or 'own_name' for 'own_code'.  Returns the
 * result (PQclear it), or NULL on error.
 */
PGresult *master_stats(struct db *db, const char *from, const char *to, enum stats_group group,
                       const char *excluded, const char *of_node, const char *own_code,
                       const char *own_name);

/*
 * Every day some node reported, with the events it reported and those the
 * master dataset holds for that node and day, as a JSON array; only
 * mismatches when 'mismatches' is set.  NULL on error.
 */
json_t *master_reconciliation(struct db *db, const char *node, int mismatches);

/*
 * Writes to 'out' what the master dataset holds of node 'code', for a node
 * restored from a backup to take back (city-node/recover.c): a header line
 * {"node", "tickets_applied", "down_acked"}, then one line per ticket the
 * node owns or ever wrote an event of, {"ticket": its row, "events": every
 * event of it, with "copied" for those another node wrote and
 * "approval_deadline" for an approval}, then {"end": the number of
 * tickets}.  Reads in pages, inside the caller's transaction, which should
 * be REPEATABLE READ.  Returns the number of tickets, or -1 (logged).
 */
long long master_export(struct db *db, const char *code, FILE *out);

#endif
