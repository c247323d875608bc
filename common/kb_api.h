/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kb_api.h - routes of the knowledge base (Art 18), and the check of a
 * consultation answered from it.
 */
#ifndef HOTLINE_KB_API_H
#define HOTLINE_KB_API_H

#include "db.h"
#include "http.h"

#include <jansson.h>

extern const struct http_route kb_routes[];
extern const size_t kb_routes_len;

/*
 * The event detail of an answer given from entry 'ref' ("KB-0001"; NULL
 * when the answer names none): {"kb_ref": id, "kb_version": the published
 * version}, both null without a reference.  Returns the new object, or NULL
 * having answered 400 naming "kb_ref" (no such entry, or none of its
 * versions published) or 500.
 */
json_t *kb_api_answer_detail(struct http_request *req, struct db *db, const char *ref);

#endif
