/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats_api.h - the reports of the hotline office (Art 16, Art 17), for
 * managers and auditors, as JSON or, with `Accept: text/csv`, as CSV:
 *   GET /api/v1/stats?from=YYYY-MM-DD&to=YYYY-MM-DD[&group_by=...]
 *   GET /api/v1/assessment?month=YYYY-MM
 *   GET /api/v1/supervision?from=YYYY-MM-DD&to=YYYY-MM-DD
 */
#ifndef HOTLINE_STATS_API_H
#define HOTLINE_STATS_API_H

#include "http.h"

#include <stddef.h>

/* The route table; the handlers expect http_app() to be the struct node. */
extern const struct http_route stats_routes[];
extern const size_t stats_routes_len;

#endif
