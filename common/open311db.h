/* SPDX-License-Identifier: Apache-2.0 */
/*
 * open311db.h - the SQL behind the Open311 facade's reads: the requests of
 * this node's tickets, in the columns every source of requests answers
 * with, so the province can answer from its master dataset through the
 * same rendering (struct open311_federation).
 */
#ifndef HOTLINE_OPEN311DB_H
#define HOTLINE_OPEN311DB_H

#include "clock.h"
#include "db.h"
#include "open311.h"

#include <stdint.h>

/* The columns of a result of requests, in order. */
enum open311_column {
    OPEN311_COL_ID,
    OPEN311_COL_STATUS, /* the public status (progress.h), or the ticket's status */
    OPEN311_COL_KIND,
    OPEN311_COL_CATEGORY,
    OPEN311_COL_CONTENT,
    OPEN311_COL_AGENCY, /* the unit's name, NULL if none */
    OPEN311_COL_EMERGENCY_LINE,
    OPEN311_COL_EMERGENCY_HOURS, /* 0 if not an emergency */
    OPEN311_COL_REQUESTED,       /* microseconds since the epoch */
    OPEN311_COL_UPDATED,
    OPEN311_COL_EXPECTED, /* NULL if no deadline */
    OPEN311_COL_DIVISION,
    OPEN311_COL_MEDIA_URL,
};

/* Which requests: 'ids' alone when set, else every other member set. */
struct open311_query {
    const char *ids;    /* array literal of ticket ids, "{a,b}", or NULL */
    const char *codes;  /* array literal of service codes, or NULL */
    const char *status; /* "open", "closed" or NULL for both */
    const char *node;   /* the master dataset: the node owning them, or NULL */
    int64_t from, to;   /* requested in [from, to); 0: open */
    int page, page_size;
};

/* The SQL parameters of 'q', in the order both readers of requests take
 * them: $1 ids, $2 codes, $3 status, $4 the public statuses that read
 * closed, $5 from, $6 to, $7 limit, $8 offset, $9 node. */
#define OPEN311_PARAMS 9
struct open311_params {
    const char *p[OPEN311_PARAMS];
    char from[CLOCK_RFC3339_LEN], to[CLOCK_RFC3339_LEN], limit[12], offset[24];
};
void open311db_params(const struct open311_query *q, struct open311_params *out);

/* The province answers for every node from its master dataset. */
struct open311_federation {
    /* Returns 1 if node 'code' is registered here, 0 if not, -1 on error. */
    int (*knows)(struct db *db, const char *code);
    /* The requests matching 'q' in the master dataset, in the columns
     * above, oldest first (PQclear them), or NULL on error. */
    PGresult *(*requests)(struct db *db, const struct open311_query *q);
};

/*
 * The requests of this node's tickets matching 'q', oldest first, a page
 * at a time (PQclear them), or NULL on error.  A copy left here by a
 * transfer shows what its owner last sent.
 */
PGresult *open311db_requests(struct db *db, const struct open311_query *q);

/* Row 'i' of a result of requests as a request; its strings point into
 * 'res'. */
void open311db_row(PGresult *res, int i, struct open311_request *out);

#endif
