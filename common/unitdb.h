/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unitdb.h - the SQL of handling units (承办单位, Art 5): each belongs to
 * exactly one node and handles some of the five categories of Art 7.
 */
#ifndef HOTLINE_UNITDB_H
#define HOTLINE_UNITDB_H

#include "db.h"

#include <jansson.h>

/* Returns 1 if 's' has the form of a unit code: 1 to AUTH_MAX_UNIT letters,
 * digits, '_' and '-', as the units table holds them; else 0. */
int unitdb_code_valid(const char *s);

/*
 * Creates unit 'code' named 'name' at 'node' handling 'categories' (a JSON
 * array of names).  Returns 1, 0 if the code is taken, -1 on error.
 */
int unitdb_create(struct db *db, const char *code, const char *name, const char *node,
                  json_t *categories);

/* Returns 1 if unit 'code' exists at 'node', 0 if not, -1 on error. */
int unitdb_exists(struct db *db, const char *code, const char *node);

/*
 * Writes the name of unit 'code' into 'out' of 'cap' bytes (cut if longer).
 * Returns 1, 0 if there is no such unit, -1 on error.
 */
int unitdb_name(struct db *db, const char *code, char *out, size_t cap);

/* Every unit as a JSON array; NULL on error. */
json_t *unitdb_list(struct db *db);

#endif
