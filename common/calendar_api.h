/* SPDX-License-Identifier: Apache-2.0 */
/*
 * calendar_api.h - the calendar routes of the HTTP API, served by every node:
 *   GET  /api/v1/calendar/deadline?from=RFC3339&working_days=N   any role
 *   GET  /api/v1/calendar/days?from=YYYY-MM-DD&to=YYYY-MM-DD     any role
 *   POST /api/v1/calendar/days   {"year", "days": [{"date", "kind", "name"}]}   admin
 */
#ifndef HOTLINE_CALENDAR_API_H
#define HOTLINE_CALENDAR_API_H

#include "http.h"

#include <stddef.h>

/* The route table; the handlers expect http_app() to be the struct node. */
extern const struct http_route calendar_routes[];
extern const size_t calendar_routes_len;

#endif
