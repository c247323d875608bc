/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stats_api.h - the reports of the hotline office (Art 16, Art 17), for
 * managers and auditors, as JSON or, with `Accept: text/csv`, as CSV:
 *   GET /api/v1/stats?from=YYYY-MM-DD&to=YYYY-MM-DD[&group_by=...]
 *   GET /api/v1/assessment?month=YYYY-MM
 *   GET /api/v1/supervision?from=YYYY-MM-DD&to=YYYY-MM-DD
 * and the figures of any other source of roll-ups in the same form
 * (stats_api_reply: the province's master dataset).
 */
#ifndef HOTLINE_STATS_API_H
#define HOTLINE_STATS_API_H

#include "db.h"
#include "http.h"
#include "stats.h"

#include <stddef.h>

struct node;

/* The route table; the handlers expect http_app() to be the struct node. */
extern const struct http_route stats_routes[];
extern const size_t stats_routes_len;

/*
 * Where a statistics report's figures come from: the sums of days 'from'
 * to 'to' by 'group', laid out as statsdb_sum() lays them out, of the node
 * 'of_node' or (NULL) of all the source holds; 'excluded' as for
 * statsdb_sum().  Returns the result (the caller clears it), or NULL on
 * error.
 */
typedef PGresult *stats_api_sum_fn(struct db *db, const struct node *node, const char *from,
                                   const char *to, enum stats_group group, const char *excluded,
                                   const char *of_node);

/* A statistics report: the node's own, or the province's master dataset. */
struct stats_api_source {
    const char *name;  /* of the CSV file: "stats" gives stats-FROM-TO.csv */
    unsigned groups;   /* the groupings offered: bits 1u << STATS_BY_... */
    int several_nodes; /* rows of units name their node; the answer its 'of_node' */
    stats_api_sum_fn *sum;
};

/*
 * Answers a GET of the report 'src': reads from=, to= and group_by= (400
 * naming a bad one), sums the figures of 'of_node' (a node code already
 * checked, or NULL), and answers them as JSON or, when the Accept header
 * asks for text/csv, as CSV written from the same rows.  http_app() must
 * be the struct node.
 */
void stats_api_reply(struct http_request *req, const struct stats_api_source *src,
                     const char *of_node);

#endif
