/* SPDX-License-Identifier: Apache-2.0 */
/*
 * importdb.h - `city-node import FILE`: a legacy system's tickets, read
 * line by line (import.h) and written in batches, resumable.
 */
#ifndef HOTLINE_IMPORTDB_H
#define HOTLINE_IMPORTDB_H

#include "node.h"

/*
 * Imports the JSON-lines file 'argv[0]' ("-": standard input) into the
 * node's database 'db': each batch of tickets, their events, ratings, the
 * messages for the master dataset and the file's checkpoint in one
 * transaction.  Bad lines are reported on stderr with their number and
 * reason and nothing of them is written; progress goes to stderr about
 * once a second.  Returns the exit status: 0 when every line was imported
 * (or had been), 1 when some line was refused, 2 when the import stopped
 * on an error (what was committed stays, and a new run goes on from it).
 */
int importdb_run(struct node *node, struct db *db, char **argv);

#endif
