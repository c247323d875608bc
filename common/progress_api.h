/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress_api.h - the citizen's progress query (Art 12), without a token:
 *   GET /api/v1/progress/{id}?phone_last4=NNNN
 * The last four digits of the phone number given at intake stand in for a
 * token; every attempt counts against a limit per client address.
 */
#ifndef HOTLINE_PROGRESS_API_H
#define HOTLINE_PROGRESS_API_H

#include "http.h"
#include "ticketdb.h"

#include <stddef.h>

/* The route table; the handler expects http_app() to be the struct node. */
extern const struct http_route progress_routes[];
extern const size_t progress_routes_len;

/* What a citizen's progress query answers for the ticket in 'row' (no
 * personal data), or NULL on error.  The owner of a transferred ticket
 * sends it to the nodes holding copies. */
json_t *progress_view(struct db *db, const struct ticket_row *row);

#endif
