/* SPDX-License-Identifier: Apache-2.0 */
/*
 * master.c - SQL of the master dataset, from the province's link thread.
 * The restrictions a node reports on the same stream go to the broadcast
 * log (broadcastlog.c), in the same transaction.
 *
 * A batch is staged with COPY, a row per message, and applied by one
 * function, not one statement per message: catching up after a day offline
 * is a few thousand batches, not millions of round trips.  Events go to
 * monthly partitions, made before their month's first event from the
 * months the validation of the batch found.  The roll-ups of the master
 * dataset's statistics are counted again apart from the apply, for the
 * days it marked (master_refresh, from the master dataset's thread).  The
 * messages of a batch it drops are logged in one line, once a minute per
 * node: a node may send any number of them.
 */
#include "master.h"

#include "outbox.h"

#include "assign.h"
#include "router.h"

#include "broadcastlog.h"
#include "clock.h"
#include "log.h"
#include "calendar.h"
#include "restriction.h"
#include "ticket.h"
#include "wire.h"

#include <jansson.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lines a node can repeat at will, in the thread that applies batches. */
static _Thread_local struct log_limit master_logs;

/*
 * A time of the stream: RFC 3339, from 2000 on (a partition's month), with
 * an offset PostgreSQL takes (up to 15:59; RFC 3339 allows 23:59).  Writes
 * it into '*us' (unless NULL) when it is there and valid.
 */
static int item_time(json_t *obj, const char *name, int nullable, int64_t *us)
{
    json_t *v = json_object_get(obj, name);
    const char *s = json_string_value(v);
    int64_t t;

    if (v == NULL || json_is_null(v))
        return nullable;
    if (s == NULL || clock_parse(s, &t) < 0 || t < INT64_C(946684800) * 1000000)
        return 0;
    /* clock_parse() took "Z" or "+HH:MM" at the end. */
    size_t len = strlen(s);
    if (s[len - 1] != 'Z' && s[len - 1] != 'z' && strncmp(s + len - 5, "16", 2) >= 0)
        return 0;
    if (us != NULL)
        *us = t;
    return 1;
}

static int item_count(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);

    return json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= INT32_MAX;
}

/* An event's detail: none, or the text of a JSON value, which statistics
 * read (131_master_stats.sql). */
static int item_detail(json_t *e)
{
    json_t *v = json_object_get(e, "detail");

    if (v == NULL || json_is_null(v))
        return 1;
    if (!json_is_string(v))
        return 0;
    json_t *detail = json_loadb(json_string_value(v), json_string_length(v), JSON_DECODE_ANY, NULL);
    json_decref(detail);
    return detail != NULL;
}

/* The texts the master dataset cannot do without (its NOT NULL columns). */
static const char *const ticket_texts[] = {"status",   "kind",       "channel", "category",
                                           "division", "phone_hash", NULL};
static const char *const event_texts[] = {"action", "to_status", "hash", NULL};

static int item_texts(json_t *obj, const char *const *names)
{
    for (; *names != NULL; names++)
        if (!json_is_string(json_object_get(obj, *names)))
            return 0;
    return 1;
}

/* The month (year * 12 + month - 1, Beijing time) of an instant. */
static int month_of(int64_t us)
{
    char date[CALENDAR_DATE_LEN];
    int y, m;

    calendar_day_format(calendar_day_of(us), date);
    return sscanf(date, "%4d-%2d", &y, &m) == 2 ? y * 12 + m - 1 : -1;
}

/* How far ahead of the province's clock an event may be: a node's clock may
 * be a little fast, but an event of a later month would make its month's
 * partition, and a node could make any number of them. */
#define EVENT_AHEAD_US (INT64_C(86400) * 1000000)

/*
 * Is this change one the master dataset can take: a ticket id, positive
 * counters, times that parse, and an event of that ticket, not from the
 * future, whose detail is JSON?  A change that is not would fail its whole
 * batch again and again and block the stream, so it is logged and left out
 * instead.  Returns 0 if not, 2 for a restriction, 3 for an overflow
 * message, 4 for a transfer message or a progress answer, 1 for a ticket
 * change or a daily report; writes the month of the event's partition
 * into '*month', or -1 for an item without an event.
 */
static int item_valid(const char *text, size_t len, int *month)
{
    json_t *item = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *report = json_object_get(item, "report");
    json_t *restriction = json_object_get(item, "restriction");

    *month = -1;
    /* COPY takes no NUL byte, and the whole batch would fail at every try. */
    if (!json_is_object(item) || memchr(text, '\0', len) != NULL) {
        json_decref(item);
        return 0;
    }
    /* A restriction the node imposed or lifted (broadcastlog_take). */
    if (restriction != NULL) {
        int ok = json_object_size(item) == 1 && restriction_wire_valid(NULL, restriction);
        json_decref(item);
        return ok ? 2 : 0;
    }

    /* Transfer messages and progress answers: the router checks them. */
    if (json_object_size(item) == 1 && (json_is_object(json_object_get(item, "transfer")) ||
                                        json_is_object(json_object_get(item, "progress")))) {
        json_decref(item);
        return 4;
    }

    /* Overflow: offers, withdrawals and triage (assign.c). */
    if (assign_message(item)) {
        int ok = assign_valid(item);
        json_decref(item);
        return ok ? 3 : 0;
    }

    /* A daily report: a date and a count, and nothing else. */
    if (report != NULL) {
        int32_t day;
        const char *date = json_string_value(json_object_get(report, "day"));
        json_t *events = json_object_get(report, "events");
        int ok = json_object_size(item) == 1 && date != NULL &&
                 calendar_day_parse(date, &day) == 0 && json_is_integer(events) &&
                 json_integer_value(events) >= 0;
        json_decref(item);
        return ok;
    }
    json_t *t = json_object_get(item, "ticket"), *e = json_object_get(item, "event");
    const char *id = json_string_value(json_object_get(t, "id"));
    const char *eid = json_string_value(json_object_get(e, "ticket_id"));
    int64_t at = 0;
    int ok = id != NULL && eid != NULL && ticket_id_valid(id) && strcmp(id, eid) == 0 &&
             item_count(t, "owner_epoch") && item_count(t, "version") && item_count(e, "seq") &&
             item_time(e, "at", 0, &at) && item_time(t, "created_at", 0, NULL) &&
             item_time(t, "updated_at", 0, NULL) && item_time(t, "deadline", 1, NULL) &&
             item_texts(t, ticket_texts) && item_texts(e, event_texts) && item_detail(e) &&
             item_time(item, "approval_deadline", 1, NULL);

    json_decref(item);
    if (!ok || at > clock_now_us() + EVENT_AHEAD_US)
        return 0;
    *month = month_of(at);
    return 1;
}

/*
 * A batch of a node's ticket stream, checked and laid out for the database
 * (master_prepare): its ticket changes and reports as the rows of a COPY,
 * its valid items as one JSON array text (for the broadcast log and
 * overflow), what they hold besides ticket changes and the distinct months
 * of their events, and which items were dropped, to be logged when the
 * batch is applied.
 */
struct master_batch {
    char node[8];
    uint64_t first, oldest;
    size_t n;
    const char **items; /* copies, in 'data' */
    size_t *lens;
    char *data;
    /* What lay_out() made of them. */
    char *array;
    char *rows; /* COPY text: the item's number, the item */
    size_t rows_len;
    unsigned char *dropped; /* per item */
    size_t restrictions, overflow;
    int *months; /* room for one per item */
    size_t nmonths;
};

/* Appends item 'i' of 'b' to its COPY rows at 'r': its number in the
 * stream, a tab, the text escaped as COPY's text format wants it, a
 * newline.  Returns the end. */
static char *copy_row(char *r, const struct master_batch *b, size_t i)
{
    r += sprintf(r, "%" PRIu64 "\t", b->first + i);
    for (size_t k = 0; k < b->lens[i]; k++) {
        char c = b->items[i][k];
        char esc = c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : 0;
        if (esc != 0) {
            *r++ = '\\';
            *r++ = esc;
        } else {
            *r++ = c;
        }
    }
    *r++ = '\n';
    return r;
}

/* Lays out items 'from' .. n - 1 of 'b'.  Returns 0, or -1 out of memory. */
static int lay_out(struct master_batch *b, size_t from)
{
    size_t total = 2, rows = 0, kept = 0;

    for (size_t i = from; i < b->n; i++) {
        total += b->lens[i] + 1;
        rows += 2 * b->lens[i] + 24;
    }
    free(b->array);
    free(b->rows);
    b->rows = NULL;
    char *p = b->array = malloc(total + 1);
    char *r = b->rows = malloc(rows + 1);
    if (p == NULL || r == NULL)
        return -1;
    *p++ = '[';
    b->restrictions = b->overflow = b->nmonths = 0;
    for (size_t i = from; i < b->n; i++) {
        int month;
        int valid = item_valid(b->items[i], b->lens[i], &month);
        b->dropped[i] = !valid;
        if (!valid)
            continue;
        b->restrictions += valid == 2;
        b->overflow += valid == 3;
        if (valid == 1)
            r = copy_row(r, b, i);
        size_t m = 0;
        while (m < b->nmonths && b->months[m] != month)
            m++;
        if (m == b->nmonths && month >= 0)
            b->months[b->nmonths++] = month;
        if (kept++ > 0)
            *p++ = ',';
        memcpy(p, b->items[i], b->lens[i]);
        p += b->lens[i];
    }
    *p++ = ']';
    *p = '\0';
    b->rows_len = (size_t)(r - b->rows);
    return 0;
}

/* Serialises the making of partitions (see partitions()). */
#define PARTITION_LOCK_KEY "4412347"

/* Makes the monthly partitions of the batch's events.  Their names and
 * bounds are built from numbers, never from the input's text.  Two
 * transactions may make the same month at once (the province's own stream,
 * applied by the link thread, and a city's, by the master dataset's
 * thread): IF NOT EXISTS does not see a table another has not committed,
 * and the second failed with its whole batch, to be sent again.  A missing
 * month is made under a lock, held to the commit, so the second waits and
 * then finds it. */
static int partitions(struct db *db, const int *months, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int y = months[i] / 12, m = months[i] % 12 + 1;
        int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
        char sql[512];
        if (y < 1970 || y > 9999)
            continue;
        snprintf(sql, sizeof(sql),
                 "DO $$BEGIN IF to_regclass('master_events_%04d%02d') IS NULL THEN"
                 " PERFORM pg_advisory_xact_lock(" PARTITION_LOCK_KEY ");"
                 " CREATE TABLE IF NOT EXISTS master_events_%04d%02d PARTITION OF master_events"
                 " FOR VALUES FROM ('%04d-%02d-01 00:00:00+08') TO ('%04d-%02d-01 00:00:00+08');"
                 " END IF; END$$",
                 y, m, y, m, y, m, ny, nm);
        if (db_exec(db, sql, 0, NULL) < 0)
            return -1;
    }
    return 0;
}

/* Stages the batch's reports and changes and applies them
 * (master_apply_staged(), 171_master_staged.sql); logs the changes
 * refused: of tickets another node owns. */
static int apply_rows(struct db *db, const char *node, const struct master_batch *b)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {node, at};

    if (b->rows_len == 0)
        return 0;
    clock_format(clock_now_us(), at);
    if (db_exec(db, "SELECT master_staging()", 0, NULL) < 0 ||
        db_copy(db, "COPY master_staged (n, item) FROM STDIN", b->rows, b->rows_len) < 0)
        return -1;
    PGresult *refused = db_query(db, "SELECT * FROM master_apply_staged($1, $2)", 2, p);
    if (refused == NULL)
        return -1;
    for (int i = 0; i < PQntuples(refused); i++)
        log_warnx("refused a change of ticket '%s' from node '%s': node '%s' owns it (epoch %s)",
                  PQgetvalue(refused, i, 0), node, PQgetvalue(refused, i, 1),
                  PQgetvalue(refused, i, 2));
    PQclear(refused);
    return 0;
}

/* Routes the transfer messages and progress answers of a batch, after its
 * ticket changes: an offer is checked against the owner it just synced. */
struct routed {
    const struct node *node;
    const char *sender, *kind;
    json_t *value;
};

static int route_one(void *arg, struct db *db)
{
    struct routed *r = arg;

    return router_apply(r->node, db, r->sender, r->kind, r->value);
}

static int route(const struct node *node, struct db *db, const char *sender, uint64_t first,
                 const char *const *items, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (memmem(items[i], lens[i] < 16 ? lens[i] : 16, "\"transfer\"", 10) == NULL &&
            memmem(items[i], lens[i] < 16 ? lens[i] : 16, "\"progress\"", 10) == NULL)
            continue;
        json_t *item = json_loadb(items[i], lens[i], JSON_REJECT_DUPLICATES, NULL);
        const char *kind = json_object_get(item, "transfer") != NULL ? "transfer" : "progress";
        struct routed r = {node, sender, kind, json_object_get(item, kind)};
        /* A message the database refuses is dropped; it must not block the stream. */
        int rc = json_object_size(item) == 1 && json_is_object(r.value)
                     ? db_attempt(db, route_one, &r)
                     : 0;
        if (rc > 0)
            log_warnx("dropped message %llu of node '%s': not a message the province can apply",
                      (unsigned long long)(first + i), sender);
        json_decref(item);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* One line for the messages of a batch that are not ticket changes: the
 * first numbers, and how many more. */
static void log_dropped(const struct master_batch *b, size_t from, const char *node)
{
    char numbers[8 * 22] = "", kind[32];
    size_t len = 0, shown = 0, dropped = 0;

    for (size_t i = from; i < b->n; i++) {
        if (!b->dropped[i])
            continue;
        if (dropped++ < 8) {
            int w = snprintf(numbers + len, sizeof(numbers) - len, "%s%llu", shown > 0 ? ", " : "",
                             (unsigned long long)(b->first + i));
            len += w > 0 ? (size_t)w : 0;
            if (len >= sizeof(numbers))
                len = sizeof(numbers) - 1;
            shown++;
        }
    }
    if (dropped == 0)
        return;
    snprintf(kind, sizeof(kind), "dropped|%s", node);
    if (dropped > shown)
        log_limited(&master_logs, LOG_LEVEL_WARN, kind,
                    "dropped messages %s and %zu more of node '%s': not ticket changes", numbers,
                    dropped - shown, node);
    else if (dropped > 1)
        log_limited(&master_logs, LOG_LEVEL_WARN, kind,
                    "dropped messages %s of node '%s': not ticket changes", numbers, node);
    else
        log_limited(&master_logs, LOG_LEVEL_WARN, kind,
                    "dropped message %s of node '%s': not a ticket change", numbers, node);
}

struct applying {
    const struct node *province;
    struct master_batch *batch;
};

/* Applies the new messages of a batch (inbox_apply_fn): all of them, as
 * laid out, unless some were applied before. */
static int apply_batch(void *arg, struct db *db, const char *node, uint64_t first,
                       const char *const *items, const size_t *lens, size_t n)
{
    struct applying *a = arg;
    struct master_batch *b = a->batch;
    size_t from = b->n - n;

    if (first != b->first + from || (from > 0 && lay_out(b, from) < 0))
        return -1;
    log_dropped(b, from, node);
    /* The broadcast log and overflow read the batch again: only if it has
     * something for them. */
    if (partitions(db, b->months, b->nmonths) < 0 || apply_rows(db, node, b) < 0 ||
        route(a->province, db, node, first, items, lens, n) < 0 ||
        (b->restrictions > 0 && broadcastlog_take(a->province, db, node, b->array) < 0) ||
        (b->overflow > 0 && assign_apply(a->province, db, node, b->array) < 0))
        return -1;
    return 0;
}

struct master_batch *master_prepare(const char *node, uint64_t first, uint64_t oldest,
                                    const char *const *items, const size_t *lens, size_t n)
{
    struct master_batch *b = calloc(1, sizeof(*b));
    size_t total = 0;

    for (size_t i = 0; i < n; i++)
        total += lens[i];
    if (b == NULL || (b->items = malloc(n * sizeof(*b->items))) == NULL ||
        (b->lens = malloc(n * sizeof(*b->lens))) == NULL || (b->data = malloc(total + 1)) == NULL ||
        (b->dropped = malloc(n)) == NULL || (b->months = malloc(n * sizeof(*b->months))) == NULL) {
        master_batch_free(b);
        return NULL;
    }
    snprintf(b->node, sizeof(b->node), "%s", node);
    b->first = first;
    b->oldest = oldest;
    b->n = n;
    char *p = b->data;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, items[i], lens[i]);
        b->items[i] = p;
        b->lens[i] = lens[i];
        p += lens[i];
    }
    if (lay_out(b, 0) < 0) {
        master_batch_free(b);
        return NULL;
    }
    return b;
}

/* The two laid-out arrays as one: "[a..., b...]".  NULL out of memory. */
static char *join_arrays(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *out = malloc(la + lb + 1);

    if (out == NULL)
        return NULL;
    if (la <= 2 || lb <= 2) { /* one of them is "[]" */
        memcpy(out, la <= 2 ? b : a, (la <= 2 ? lb : la) + 1);
        return out;
    }
    memcpy(out, a, la - 1);
    out[la - 1] = ',';
    memcpy(out + la, b + 1, lb);
    return out;
}

/* Frees what a batch holds, not the batch itself. */
static void batch_parts_free(struct master_batch *b)
{
    free(b->items);
    free(b->lens);
    free(b->data);
    free(b->dropped);
    free(b->months);
    free(b->array);
    free(b->rows);
}

int master_batch_join(struct master_batch *b, const struct master_batch *more, size_t max)
{
    size_t n = b->n + more->n, total = 0;

    if (strcmp(b->node, more->node) != 0 || more->first != b->first + b->n || n > max)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        total += b->lens[i];
    for (size_t i = 0; i < more->n; i++)
        total += more->lens[i];
    struct master_batch j = {
        .items = malloc(n * sizeof(*j.items)),
        .lens = malloc(n * sizeof(*j.lens)),
        .data = malloc(total + 1),
        .dropped = malloc(n),
        .months = malloc(n * sizeof(*j.months)),
        .array = join_arrays(b->array, more->array),
        .rows = malloc(b->rows_len + more->rows_len + 1),
    };
    const char **items = j.items;
    size_t *lens = j.lens;
    char *data = j.data;
    unsigned char *dropped = j.dropped;
    int *months = j.months;
    char *array = j.array;
    char *rows = j.rows;
    if (items == NULL || lens == NULL || data == NULL || dropped == NULL || months == NULL ||
        array == NULL || rows == NULL) {
        batch_parts_free(&j);
        return -1;
    }
    char *p = data;
    for (size_t i = 0; i < n; i++) {
        const struct master_batch *from = i < b->n ? b : more;
        size_t k = i < b->n ? i : i - b->n;
        memcpy(p, from->items[k], from->lens[k]);
        items[i] = p;
        lens[i] = from->lens[k];
        p += lens[i];
    }
    memcpy(dropped, b->dropped, b->n);
    memcpy(dropped + b->n, more->dropped, more->n);
    memcpy(rows, b->rows, b->rows_len);
    memcpy(rows + b->rows_len, more->rows, more->rows_len);
    size_t nmonths = b->nmonths;
    memcpy(months, b->months, nmonths * sizeof(*months));
    for (size_t i = 0; i < more->nmonths; i++) {
        size_t m = 0;
        while (m < nmonths && months[m] != more->months[i])
            m++;
        if (m == nmonths)
            months[nmonths++] = more->months[i];
    }
    batch_parts_free(b);
    b->items = items;
    b->lens = lens;
    b->data = data;
    b->dropped = dropped;
    b->months = months;
    b->nmonths = nmonths;
    b->array = array;
    b->rows = rows;
    b->rows_len += more->rows_len;
    b->restrictions += more->restrictions;
    b->overflow += more->overflow;
    b->n = n;
    return 0;
}

enum inbox_result master_apply_batch(const struct node *province, struct db *db,
                                     struct master_batch *b, uint64_t *applied)
{
    struct applying a = {province, b};

    return inbox_apply(db, b->node, STREAM_TICKETS, b->first, b->oldest, b->items, b->lens, b->n,
                       apply_batch, &a, applied);
}

void master_batch_free(struct master_batch *b)
{
    if (b == NULL)
        return;
    batch_parts_free(b);
    free(b);
}

enum inbox_result master_apply(const struct node *province, struct db *db, const char *node,
                               uint64_t first, uint64_t oldest, const char *const *items,
                               const size_t *lens, size_t n, uint64_t *applied)
{
    struct master_batch *b = master_prepare(node, first, oldest, items, lens, n);
    enum inbox_result r = b != NULL ? master_apply_batch(province, db, b, applied) : INBOX_FAILED;

    master_batch_free(b);
    return r;
}

/* Days counted again in one round: a long resync's days take a few rounds,
 * between which batches are applied. */
#define REFRESH_DAYS "16"

int master_refresh(struct db *db)
{
    const char *limit[] = {REFRESH_DAYS};
    PGresult *days =
        db_query(db, "SELECT node, day::text, gen FROM master_stats_due($1::int)", 1, limit);
    if (days == NULL)
        return -1;
    int done = 0;
    for (; done < PQntuples(days); done++) {
        const char *p[] = {PQgetvalue(days, done, 0), PQgetvalue(days, done, 1),
                           PQgetvalue(days, done, 2)};
        PGresult *res = db_query(db, "SELECT master_stats_refresh($1, $2::date, $3::bigint)", 3, p);
        if (res == NULL) {
            log_warnx("master statistics: the roll-up of '%s' of node '%s' failed; trying again",
                      p[1], p[0]);
            break;
        }
        PQclear(res);
    }
    PQclear(days);
    return done;
}

json_t *master_links(struct db *db)
{
    PGresult *res = db_query(db,
                             "SELECT peer, last_applied,"
                             " (extract(epoch FROM applied_at) * 1000000)::bigint"
                             " FROM inbox_state ORDER BY peer, stream",
                             0, NULL);
    if (res == NULL)
        return NULL;
    json_t *links = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        char at[CLOCK_RFC3339_LEN];
        json_t *when = json_null();
        if (!PQgetisnull(res, i, 2)) {
            clock_format(strtoll(PQgetvalue(res, i, 2), NULL, 10), at);
            when = json_string(at);
        }
        json_array_append_new(links, json_pack("{s:s,s:s,s:I,s:o}", "peer", PQgetvalue(res, i, 0),
                                               "stream", "tickets", "last_applied",
                                               (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                               "applied_at", when));
    }
    PQclear(res);
    return links;
}

json_t *master_tickets(struct db *db, const struct master_filter *f, long long *total)
{
    char from[CLOCK_RFC3339_LEN], to[CLOCK_RFC3339_LEN], limit[12], offset[24];
    const char *p[] = {f->node,
                       f->status,
                       f->unit,
                       f->kind,
                       f->category,
                       f->from != 0 ? from : NULL,
                       f->to != 0 ? to : NULL,
                       limit,
                       offset};

    clock_format(f->from, from);
    clock_format(f->to, to);
    snprintf(limit, sizeof(limit), "%d", f->page_size);
    snprintf(offset, sizeof(offset), "%lld", (long long)(f->page - 1) * f->page_size);
#define WHERE                                                                                      \
    " WHERE ($1::text IS NULL OR node = $1) AND ($2::text IS NULL OR status = $2)"                 \
    " AND ($3::text IS NULL OR unit_code = $3) AND ($4::text IS NULL OR kind = $4)"                \
    " AND ($5::text IS NULL OR category = $5)"                                                     \
    " AND ($6::timestamptz IS NULL OR created_at >= $6)"                                           \
    " AND ($7::timestamptz IS NULL OR created_at < $7)"
    PGresult *count = db_query(db, "SELECT count(*) FROM master_tickets" WHERE, 7, p);
    if (count == NULL)
        return NULL;
    *total = strtoll(PQgetvalue(count, 0, 0), NULL, 10);
    PQclear(count);
    PGresult *res = db_query(db,
                             "SELECT data::text FROM master_tickets" WHERE
                             " ORDER BY created_at, id LIMIT $8 OFFSET $9",
                             9, p);
#undef WHERE
    if (res == NULL)
        return NULL;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *t = json_loads(PQgetvalue(res, i, 0), 0, NULL);
        if (t != NULL)
            json_array_append_new(list, t);
    }
    PQclear(res);
    return list;
}

PGresult *master_open311(struct db *db, const struct open311_query *q)
{
    struct open311_params p;

    open311db_params(q, &p);
    /* What each node sent of its tickets; an owner never holds a copy, so
     * its status is the public one's source (open311db_row maps it). */
    return db_query(db,
                    "SELECT id, status, kind, category, data->>'content', data->>'unit_name',"
                    " data->>'emergency_line', COALESCE((data->>'emergency_hours')::int, 0),"
                    " (extract(epoch FROM created_at) * 1000000)::bigint,"
                    " (extract(epoch FROM updated_at) * 1000000)::bigint,"
                    " (extract(epoch FROM deadline) * 1000000)::bigint,"
                    " division, data->>'media_url' FROM master_tickets"
                    " WHERE ($1::text[] IS NULL OR id = ANY($1::text[]))"
                    " AND ($2::text[] IS NULL OR kind || '.' || category = ANY($2::text[]))"
                    " AND ($3::text IS NULL OR (status = ANY($4::text[])) = ($3 = 'closed'))"
                    " AND ($5::timestamptz IS NULL OR created_at >= $5)"
                    " AND ($6::timestamptz IS NULL OR created_at < $6)"
                    " AND ($9::text IS NULL OR node = $9)"
                    " ORDER BY created_at, id LIMIT $7 OFFSET $8",
                    OPEN311_PARAMS, p.p);
}

PGresult *master_stats(struct db *db, const char *from, const char *to, enum stats_group group,
                       const char *excluded, const char *of_node, const char *own_code,
                       const char *own_name)
{
    const char *p[] = {from, to, stats_group_name(group), excluded, of_node, own_code, own_name};

    return db_query(db,
                    "SELECT s.*, CASE $3 WHEN 'unit' THEN u.name"
                    " WHEN 'node' THEN COALESCE(n.name, CASE WHEN s.grp = $6 THEN $7 END) END"
                    " FROM master_stats_sum($1::date, $2::date, $3, $4::text[], $5) s"
                    " LEFT JOIN units u ON $3 = 'unit' AND u.node = s.node AND u.code = s.grp"
                    " LEFT JOIN nodes n ON $3 = 'node' AND n.code = s.grp"
                    " ORDER BY s.node, s.grp",
                    7, p);
}

json_t *master_reconciliation(struct db *db, const char *node, int mismatches)
{
    const char *p[] = {node, mismatches ? "true" : "false"};
    PGresult *res = db_query(db,
                             "SELECT node, day::text, events, received FROM ("
                             " SELECT r.node, r.day, r.events,"
                             "  (SELECT count(*) FROM master_events m WHERE m.node = r.node"
                             "   AND m.at >= (r.day::text || ' 00:00:00+08')::timestamptz"
                             "   AND m.at < ((r.day + 1)::text || ' 00:00:00+08')::timestamptz)"
                             "  AS received"
                             " FROM node_reports r WHERE $1::text IS NULL OR r.node = $1) x"
                             " WHERE NOT $2::boolean OR events <> received"
                             " ORDER BY node, day",
                             2, p);
    if (res == NULL)
        return NULL;
    json_t *rows = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        long long reported = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        long long received = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        json_array_append_new(rows, json_pack("{s:s,s:s,s:I,s:I,s:b}", "node",
                                              PQgetvalue(res, i, 0), "day", PQgetvalue(res, i, 1),
                                              "reported", (json_int_t)reported, "received",
                                              (json_int_t)received, "match", reported == received));
    }
    PQclear(res);
    return rows;
}

/* Tickets of a node's export read at once. */
#define EXPORT_PAGE 500

long long master_export(struct db *db, const char *code, FILE *out)
{
    char tickets[12], down[12], after[TICKET_ID_LEN + 1] = "", page[12];
    uint64_t applied, acked;
    long long n = 0;

    snprintf(tickets, sizeof(tickets), "%d", STREAM_TICKETS);
    snprintf(down, sizeof(down), "%d", STREAM_DOWN);
    snprintf(page, sizeof(page), "%d", EXPORT_PAGE);
    const char *node[] = {code};
    if (inbox_applied(db, code, STREAM_TICKETS, &applied) < 0 ||
        outbox_acked(db, STREAM_DOWN, code, &acked, NULL) < 0 ||
        /* Found once: master_events has no index by node. */
        db_exec(db,
                "CREATE TEMPORARY TABLE export_ids ON COMMIT DROP AS"
                " SELECT id FROM master_tickets WHERE node = $1"
                " UNION SELECT DISTINCT ticket_id FROM master_events WHERE node = $1",
                1, node) < 0)
        return -1;
    fprintf(out, "{\"node\":\"%s\",\"tickets_applied\":%" PRIu64 ",\"down_acked\":%" PRIu64 "}\n",
            code, applied, acked);
    for (;;) {
        const char *p[] = {code, after, page};
        PGresult *res =
            db_query(db,
                     "SELECT t.id, jsonb_build_object('ticket', t.data, 'events',"
                     " (SELECT jsonb_agg(e.data || jsonb_build_object('copied', e.node <> $1,"
                     "   'approval_deadline', c.deadline) ORDER BY e.seq)"
                     "  FROM master_events e LEFT JOIN master_completions c"
                     "   ON c.ticket_id = e.ticket_id AND c.seq = e.seq"
                     "  WHERE e.ticket_id = t.id))::text"
                     " FROM export_ids x JOIN master_tickets t ON t.id = x.id"
                     " WHERE x.id > $2 ORDER BY x.id LIMIT $3::int",
                     3, p);
        if (res == NULL)
            return -1;
        int rows = PQntuples(res);
        for (int i = 0; i < rows; i++)
            fprintf(out, "%s\n", PQgetvalue(res, i, 1));
        if (rows > 0)
            snprintf(after, sizeof(after), "%s", PQgetvalue(res, rows - 1, 0));
        n += rows;
        PQclear(res);
        if (rows < EXPORT_PAGE)
            break;
    }
    fprintf(out, "{\"end\":%lld}\n", n);
    return n;
}
