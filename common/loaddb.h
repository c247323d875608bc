/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loaddb.h - the SQL of a node's load (Art 3): the presence operators
 * report, and the figures computed from it and from the intake queue that
 * the city sends with every heartbeat and the API shows.
 */
#ifndef HOTLINE_LOADDB_H
#define HOTLINE_LOADDB_H

#include "db.h"

#include <jansson.h>
#include <stdint.h>

/* The presence states, NULL-terminated: online, busy, away. */
extern const char *const loaddb_states[];

struct load_figures {
    unsigned agents_online; /* operators online or busy */
    unsigned agents_busy;
    /* Web, app and mini-program appeals still registered, but those out on overflow. */
    unsigned queue_depth;
    unsigned oldest_wait_seconds; /* age at 'now' of the oldest of them; 0 if none */
};

/*
 * Computes the node's load figures at 'now' (microseconds since the epoch).
 * Returns 0 and fills 'out', or -1 on a database error ('out' untouched).
 */
int loaddb_figures(struct db *db, int64_t now, struct load_figures *out);

/* The figures as the API shows them: a new JSON object. */
json_t *loaddb_json(const struct load_figures *f);

/*
 * Records that operator 'id' is in 'state' (one of loaddb_states) as of
 * 'now'; 'since' changes only when the state does.  Returns 1, 0 if 'id' is
 * not a live operator of this node, -1 on error.
 */
int loaddb_presence_set(struct db *db, long long id, const char *state, int64_t now);

/*
 * The presence of every live operator that reported one, as a JSON array
 * of {id, name, state, since}; NULL on error.
 */
json_t *loaddb_presence_list(struct db *db);

#endif
