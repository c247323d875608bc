/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reseal.h - the citizens' personal data sealed again with the sealing key
 * in use (`pii-reseal`, README "Key rotation"), so that a retired key can
 * be deleted.
 */
#ifndef HOTLINE_RESEAL_H
#define HOTLINE_RESEAL_H

#include "db.h"
#include "pii.h"

#include <stdio.h>

/*
 * Seals again, with the key in use, every ticket's personal data sealed
 * with another key 'k' holds: 'batch' tickets per transaction, each batch
 * committed before the next, at most 'max_batches' of them (0: until none
 * is left), printing the progress on 'out'.  Runs beside a running node:
 * the rows of a batch are locked, those another transaction holds are left
 * for the next run; stopped at any point, a new run goes on from there.
 * Returns 0 when no ticket is left under another key, 1 when some are (the
 * batches ran out, a row was locked, or its key is not held: 'out' says
 * which), -1 on a database error (logged).
 */
int reseal_run(struct db *db, const struct pii_keys *k, long batch, long max_batches, FILE *out);

#endif
