/* SPDX-License-Identifier: Apache-2.0 */
/*
 * open311db.c - the requests of the node's own tickets, for the Open311
 * facade; runs in HTTP workers on the worker's connection, reading only.
 */
#include "open311db.h"

#include "clock.h"
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"

/* A copy that a transfer left here answers as its owner last said. */
#define REMOTE(path) "(t.remote_progress #>> '{view," path "}')"
#define COPY         "t.status = 'transferred' AND t.remote_progress IS NOT NULL"
#define PUBLIC_STATUS                                                                              \
    "(CASE WHEN " COPY " THEN COALESCE(" REMOTE("status") ", 'handling') ELSE t.status END)"

void open311db_params(const struct open311_query *q, struct open311_params *out)
{
    clock_format(q->from, out->from);
    clock_format(q->to, out->to);
    snprintf(out->limit, sizeof(out->limit), "%d", q->page_size);
    snprintf(out->offset, sizeof(out->offset), "%lld", (long long)(q->page - 1) * q->page_size);
    const char *p[OPEN311_PARAMS] = {q->ids,
                                     q->codes,
                                     q->status,
                                     OPEN311_CLOSED_LITERAL,
                                     q->from != 0 ? out->from : NULL,
                                     q->to != 0 ? out->to : NULL,
                                     out->limit,
                                     out->offset,
                                     q->node};
    memcpy(out->p, p, sizeof(p));
}

/* The unit: the name the owner sent for a copy, else the unit's here. */
#define SENT_UNIT REMOTE("unit_name")
#define AGENCY    "CASE WHEN " COPY " THEN " SENT_UNIT " ELSE u.name END"
/* The deadline: the owner's, when it sent one, for a copy. */
#define SENT_DEADLINE    REMOTE("deadline")
#define SENT_DEADLINE_US US(SENT_DEADLINE "::timestamptz")
#define OWN_DEADLINE_US  US("t.deadline")
#define DEADLINE                                                                                   \
    "CASE WHEN " COPY " THEN CASE WHEN " SENT_DEADLINE " ~ '^[0-9]{4}-' THEN " SENT_DEADLINE_US    \
    " END ELSE " OWN_DEADLINE_US " END"
#define REQUESTED US("t.created_at")
#define UPDATED   US("t.updated_at")

PGresult *open311db_requests(struct db *db, const struct open311_query *q)
{
    struct open311_params p;

    open311db_params(q, &p);
    return db_query(db,
                    "SELECT t.id, " PUBLIC_STATUS ", t.kind, t.category, t.content, " AGENCY ","
                    " t.emergency_line, COALESCE(t.emergency_hours, 0), " REQUESTED ","
                    " " UPDATED ", " DEADLINE ", t.division, t.media_url"
                    " FROM tickets t LEFT JOIN units u ON u.code = t.unit_code"
                    " WHERE ($1::text[] IS NULL OR t.id = ANY($1::text[]))"
                    " AND ($2::text[] IS NULL OR t.kind || '.' || t.category = ANY($2::text[]))"
                    " AND ($3::text IS NULL OR (" PUBLIC_STATUS " = ANY($4::text[]))"
                    " = ($3 = 'closed'))"
                    " AND ($5::timestamptz IS NULL OR t.created_at >= $5)"
                    " AND ($6::timestamptz IS NULL OR t.created_at < $6)"
                    " ORDER BY t.created_at, t.id LIMIT $7 OFFSET $8",
                    8, p.p);
}

static const char *text_or_null(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

static int64_t us_or_zero(PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? 0 : strtoll(PQgetvalue(res, i, col), NULL, 10);
}

void open311db_row(PGresult *res, int i, struct open311_request *out)
{
    const char *status = PQgetvalue(res, i, OPEN311_COL_STATUS);
    enum ticket_status s;

    /* A ticket's own status, or the public one a transfer's owner sent. */
    if (ticket_status_parse(status, &s) == 0)
        status = progress_status(s);
    *out = (struct open311_request){
        .id = PQgetvalue(res, i, OPEN311_COL_ID),
        .status = status,
        .kind = PQgetvalue(res, i, OPEN311_COL_KIND),
        .category = PQgetvalue(res, i, OPEN311_COL_CATEGORY),
        .description = text_or_null(res, i, OPEN311_COL_CONTENT),
        .agency = text_or_null(res, i, OPEN311_COL_AGENCY),
        .emergency_line = text_or_null(res, i, OPEN311_COL_EMERGENCY_LINE),
        .emergency_hours = atoi(PQgetvalue(res, i, OPEN311_COL_EMERGENCY_HOURS)),
        .requested = us_or_zero(res, i, OPEN311_COL_REQUESTED),
        .updated = us_or_zero(res, i, OPEN311_COL_UPDATED),
        .expected = us_or_zero(res, i, OPEN311_COL_EXPECTED),
        .division = text_or_null(res, i, OPEN311_COL_DIVISION),
        .media_url = text_or_null(res, i, OPEN311_COL_MEDIA_URL),
    };
}
