/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emergencydb.h - the SQL of the emergency list: current rules for
 * matching, and versioned changes for the managers who keep the list.
 */
#ifndef HOTLINE_EMERGENCYDB_H
#define HOTLINE_EMERGENCYDB_H

#include "db.h"
#include "emergency.h"

#include <jansson.h>
#include <stdint.h>

/* The current, active rules; strings point into 'res'. */
struct emergency_list {
    PGresult *res;
    struct emergency_rule *rules;
    size_t n;
};

/* Loads the current rules into 'list'.  Returns 0, or -1 (list empty). */
int emergencydb_load(struct db *db, struct emergency_list *list);
void emergencydb_list_clear(struct emergency_list *list);

/*
 * The current rules as the calling thread keeps them, read again when they
 * changed (fresh.h).  The list belongs to the thread and stays valid until
 * its next call.  Returns NULL if the database failed.
 */
const struct emergency_list *emergencydb_current(struct db *db);

/*
 * Writes a new version of rule 'id' (0: a new rule) from 'rule' (keywords a
 * JSON array of strings); 'active' 0 deletes the rule.  Stores the rule's
 * id and new version.  Returns 1, 0 if rule 'id' does not exist (or is
 * deleted), -1 on error.
 */
int emergencydb_put(struct db *db, int id, const char *name, const char *category, json_t *keywords,
                    const char *line, int period_hours, int active, const char *by, int64_t now,
                    int *id_out, int *version_out);

/* The current rules (id 0) or every version of rule 'id' (history 1) as a
 * JSON array; NULL on error. */
json_t *emergencydb_json(struct db *db, int id, int history);

#endif
