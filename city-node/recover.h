/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recover.h - a city whose database was restored from a backup takes back,
 * from the province's master dataset, what it did after the backup.
 */
#ifndef HOTLINE_RECOVER_H
#define HOTLINE_RECOVER_H

#include "db.h"
#include "node.h"

/*
 * The `recover FILE` command, with the daemon stopped: reads FILE, written
 * by `province-node node-export CODE FILE` for this node, and in one
 * transaction takes back every ticket and event the backup lacks
 * (recover_ticket(), common/sql/090_recover.sql), moves the ticket stream's
 * numbering past what the province applied and the province's stream past
 * what it acknowledged, and gives the node a new incarnation.  Changes made
 * here after the restore that clash with the master dataset make it change
 * nothing.  Every chain must verify before it commits.  Returns the exit
 * status: 0, or 1 with the reason on stderr.
 */
int recover_run(struct node *node, struct db *db, char **argv);

#endif
