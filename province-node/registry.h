/* SPDX-License-Identifier: Apache-2.0 */
/*
 * registry.h - the province's table of nodes: who may connect with which
 * CURVE key, and the live state of each session.
 */
#ifndef HOTLINE_REGISTRY_H
#define HOTLINE_REGISTRY_H

#include "balance.h"
#include "db.h"
#include "federation.pb-c.h"
#include "keys.h"

#include <jansson.h>
#include <stdint.h>

/*
 * Registers city 'code' with 'name' and the Z85 public 'key', replacing an
 * earlier registration of the code.  Returns 0, or -1 with a message in 'err'.
 */
int registry_add(struct db *db, const char *code, const char *name, const char *key, char *err,
                 size_t errlen);

/*
 * Gives the live node 'code' the new CURVE public key 'curve' (Z85): the
 * key it replaces stays admitted until 'until' (clock_now_us() time; 0:
 * refused at once), so the node can switch without a gap.  The same key
 * again changes nothing.  Returns 1 if the key changed, 0 if it was the
 * node's key already, -1 with a message in 'err'.
 */
int registry_rekey(struct db *db, const char *code, const char *curve, int64_t until, char *err,
                   size_t errlen);

/* Ends the grace period of 'code' now: its previous CURVE key is refused
 * from here on.  Returns 1, 0 if it had none, -1 on error. */
int registry_retire(struct db *db, const char *code);

/*
 * Writes the CURVE keys node 'code' is admitted with now (the current one
 * first, then the previous one during its grace period) into 'out'.
 * Returns how many (0 if the node is not live), or -1 on error.
 */
int registry_curve_keys(struct db *db, const char *code, char out[2][CURVE_KEY_Z85_LEN + 1]);

/* Revokes the registration of 'code'.  Returns 1, 0 if none was live, -1. */
int registry_remove(struct db *db, const char *code);

/*
 * Finds the live node registered with the raw 32-byte 'key', its current
 * key or its previous one during the grace period.  Returns 1 and writes
 * its code, 0 if the key is unknown, -1 if the database failed.
 */
int registry_admit(struct db *db, const uint8_t key[32], char code[8]);

/*
 * Returns 1 if 'code' is registered, not removed, with the key whose
 * fingerprint is 'key' (its current key, or its previous one during the
 * grace period); 0 if not (removed, given another key since, or the grace
 * period over); -1 on error.
 */
int registry_live(struct db *db, const char *code, const char *key);

/* Returns 1 if 'code' is a registered node, not removed; 0 if not; -1 on
 * error. */
int registry_known(struct db *db, const char *code);

/* Marks every node disconnected (the province just started). */
int registry_reset(struct db *db);

/* Records a session opened by 'code', or closed when 'connected' is 0. */
int registry_session(struct db *db, const char *code, int connected, uint64_t incarnation);

/* Records a heartbeat of 'code' with its load figures. */
int registry_heartbeat(struct db *db, const char *code, const Fed__Load *load);

/* Every registered node with its live state, as the API shows it; NULL on error. */
json_t *registry_list(struct db *db);

/*
 * Sets the balancing settings of centre 'code': a live registered node, or
 * the province itself when 'own' is set.  'region' is one of
 * balance_regions.  Returns 1, 0 if there is no such node, -1 on error.
 */
int registry_balancing_set(struct db *db, const char *code, int own, unsigned queue_threshold,
                           int takes_overflow, const char *region);

/* Every centre for the balancing decision; strings point into 'res'. */
struct registry_centres {
    PGresult *res;
    struct balance_centre *c;
    size_t n;
};

/*
 * Loads the province 'own' (its code, name and figures; its settings are
 * read here) and every live registered node with the figures of its last
 * heartbeat, ordered by code.  Returns 0, or -1 ('out' empty).
 */
int registry_centres(struct db *db, const struct balance_centre *own, struct registry_centres *out);

/* Frees what registry_centres loaded; safe on an empty or cleared list. */
void registry_centres_clear(struct registry_centres *list);

#endif
