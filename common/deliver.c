/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deliver.c - one table from message kind to its handler.
 */
#include "deliver.h"

#include "broadcast.h"
#include "clock.h"
#include "log.h"
#include "outbox.h"
#include "overflow.h"
#include "transferdb.h"
#include "wire.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/*
 * Applies the value 'v' of one message of its kind.  Returns 0 when
 * applied, 1 when it is not well formed (the caller logs and leaves it
 * out), -1 on a database error.
 */
typedef int deliver_fn(const struct node *node, struct db *db, json_t *v);

static const struct {
    const char *kind;
    deliver_fn *apply;
} kinds[] = {
    {"offer", transferdb_on_offer},
    {"decision", transferdb_on_decision},
    {"progress", transferdb_on_progress},
    {"broadcast", broadcast_deliver},
    {"balancing", overflow_on_balancing},
    {"overflow_assist", overflow_on_assist},
    {"overflow_decision", overflow_on_decision},
    {"overflow_result", overflow_on_result},
    {"overflow_withdrawn", overflow_on_withdrawn},
    {NULL, NULL},
};

static deliver_fn *handler(json_t *msg)
{
    if (!json_is_object(msg) || json_object_size(msg) != 1)
        return NULL;
    const char *kind = json_object_iter_key(json_object_iter(msg));
    for (size_t i = 0; kinds[i].kind != NULL; i++)
        if (strcmp(kinds[i].kind, kind) == 0)
            return kinds[i].apply;
    return NULL;
}

struct attempt {
    const struct node *node;
    deliver_fn *fn;
    json_t *value;
};

static int attempt(void *arg, struct db *db)
{
    struct attempt *a = arg;

    return a->fn(a->node, db, a->value);
}

/*
 * Applies one message (db_attempt): a message whose data the database
 * refuses is dropped like a malformed one, so it cannot block the stream;
 * an unavailable database fails the whole batch, to be resent.  'what'
 * names it in the log.  Returns 0 or -1.
 */
static int apply_one(const struct node *node, struct db *db, const char *text, size_t len,
                     const char *what)
{
    json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    struct attempt a = {node, handler(msg), json_object_iter_value(json_object_iter(msg))};
    int rc = a.fn != NULL ? db_attempt(db, attempt, &a) : 1;

    json_decref(msg);
    if (rc > 0)
        log_warnx("dropped %s: not a message this node can apply", what);
    return rc < 0 ? -1 : 0;
}

int deliver_apply(void *arg, struct db *db, const char *peer, uint64_t first,
                  const char *const *items, const size_t *lens, size_t n)
{
    const struct node *node = arg;
    char what[64];

    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof(what), "message %llu of '%s'", (unsigned long long)(first + i), peer);
        if (apply_one(node, db, items[i], lens[i], what) < 0)
            return -1;
    }
    return 0;
}

int deliver_post(const struct node *node, struct db *db, const char *to, const char *body)
{
    if (strcmp(to, node->cfg.node_code) == 0)
        return apply_one(node, db, body, strlen(body), "a message to the province itself");

    char stream[12], at[CLOCK_RFC3339_LEN];
    const char *p[] = {stream, to, body, at};
    snprintf(stream, sizeof(stream), "%d", STREAM_DOWN);
    clock_format(clock_now_us(), at);
    if (db_exec(db, "INSERT INTO outbox (stream, peer, body, created_at) VALUES ($1, $2, $3, $4)",
                4, p) < 0)
        return -1;
    return db_exec(db, "NOTIFY outbox", 0, NULL);
}
