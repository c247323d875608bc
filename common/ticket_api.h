/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ticket_api.h - routes of the work orders: intake, actions, reading.
 */
#ifndef HOTLINE_TICKET_API_H
#define HOTLINE_TICKET_API_H

#include "http.h"
#include "input.h"

extern const struct http_route ticket_routes[];
extern const size_t ticket_routes_len;

/* The body of intake (POST /api/v1/tickets): the fields input_check()
 * holds it to before anything else reads it. */
extern const struct field ticket_intake_fields[];
extern const size_t ticket_intake_fields_len;

/*
 * The fields of the body of the ticket action at route segment 'name'
 * ("dispatch", "completion/review", "notes", ...) as the API checks them,
 * for what else reads the same bodies (the import), with their count in
 * 'n'.  NULL if there is no such action.
 */
const struct field *ticket_api_action_fields(const char *name, size_t *n);

#endif
