/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recover.c - a city restored from a backup takes back what it lost.
 *
 * Runs as a command of its own (`city-node recover FILE`) while the daemon
 * is stopped, after the database was restored and before the daemon starts
 * again (README, "Backup and restore of a node").  FILE is what the
 * province's master dataset holds of this node (`province-node node-export`):
 * a header with how far the province took the node's ticket stream and how
 * far the node acknowledged the province's, one line per ticket, and a
 * trailer that proves the file whole.  Everything happens in one
 * transaction: a file cut short, a ticket that clashes with changes made
 * here after the restore, a chain that does not verify, or a database that
 * fails leave the database as the backup had it.
 *
 * Without it the province refuses the node (hub.c): its next changes would
 * bear numbers the province applied already, and be skipped as seen.
 */
#include "recover.h"

#include "crypto.h"
#include "log.h"
#include "pii.h"
#include "ticket.h"
#include "ticketdb.h"
#include "wire.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASHES_SHOWN 10

struct recovery {
    long long tickets, added, changed;
    char clashes[CLASHES_SHOWN][TICKET_ID_LEN + 1];
    size_t nclashes;
};

/* Takes back one ticket of the file (a line of JSON).  Returns 0, or -1
 * (said on stderr). */
static int take_ticket(struct db *db, const struct node *node, const struct pii_keys *pii,
                       const char *line, struct recovery *r)
{
    json_t *item = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    const char *id = json_string_value(json_object_get(json_object_get(item, "ticket"), "id"));
    char *hex = NULL;
    size_t len;
    uint8_t *sealed = NULL;
    int rc = -1;

    if (id == NULL || !ticket_id_valid(id) || !json_is_array(json_object_get(item, "events"))) {
        fprintf(stderr, "city-node: recover: ticket %lld of the file is not a ticket\n",
                r->tickets + 1);
        goto out;
    }
    /* A ticket the backup lacks: the province never held its citizen. */
    char key_id[PII_KEY_ID_LEN + 1];
    sealed = pii_seal(pii, id, "{}", 2, &len, key_id);
    if (sealed == NULL || (hex = ticketdb_bytea_hex(sealed, len)) == NULL)
        goto out;
    const char *p[] = {line, node->cfg.node_code, hex, key_id};
    PGresult *res = db_query(db, "SELECT recover_ticket($1::jsonb, $2, $3::bytea, $4)", 4, p);
    if (res == NULL)
        goto out;
    const char *what = PQgetvalue(res, 0, 0);
    r->tickets++;
    r->added += strcmp(what, "added") == 0;
    r->changed += strcmp(what, "changed") == 0;
    if (strcmp(what, "clash") == 0 && r->nclashes < CLASHES_SHOWN)
        snprintf(r->clashes[r->nclashes++], TICKET_ID_LEN + 1, "%s", id);
    PQclear(res);
    rc = 0;
out:
    free(hex);
    free(sealed);
    json_decref(item);
    return rc;
}

/* The streams with the province go on after what it holds. */
static int move_streams(struct db *db, const struct node *node, uint64_t applied, uint64_t acked)
{
    char tickets[12], down[12], a[24], k[24], province[8], inc[24];
    uint64_t incarnation;

    snprintf(tickets, sizeof(tickets), "%d", STREAM_TICKETS);
    snprintf(down, sizeof(down), "%d", STREAM_DOWN);
    snprintf(a, sizeof(a), "%" PRIu64, applied);
    snprintf(k, sizeof(k), "%" PRIu64, acked);
    snprintf(province, sizeof(province), "%.2s0000", node->cfg.node_code);
    if (crypto_random(&incarnation, sizeof(incarnation)) < 0)
        return -1;
    snprintf(inc, sizeof(inc), "%" PRIu64, incarnation & INT64_MAX);
    const char *up[] = {tickets, a};
    const char *in[] = {province, down, k};
    const char *id[] = {inc};
    const struct {
        const char *sql;
        int n;
        const char *const *p;
    } steps[] = {
        {"INSERT INTO outbox_state (stream, peer) VALUES ($1, '') ON CONFLICT DO NOTHING", 1, up},
        {"UPDATE outbox_state SET last_seq = greatest(last_seq, $2::bigint),"
         " acked_seq = greatest(acked_seq, $2::bigint) WHERE stream = $1 AND peer = ''",
         2, up},
        /* Numbered before the backup and applied since. */
        {"DELETE FROM outbox WHERE stream = $1 AND peer = '' AND seq <= $2", 2, up},
        {"INSERT INTO inbox_state (peer, stream) VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, in},
        {"UPDATE inbox_state SET last_applied = greatest(last_applied, $3::bigint)"
         " WHERE peer = $1 AND stream = $2",
         3, in},
        {"UPDATE node_identity SET incarnation = $1", 1, id},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (db_exec(db, steps[i].sql, steps[i].n, steps[i].p) < 0)
            return -1;
    return 0;
}

/* Reads the header line: for this node, and how far the province came. */
static int header_read(const char *line, const struct node *node, uint64_t *applied,
                       uint64_t *acked)
{
    json_t *h = json_loads(line, 0, NULL);
    const char *code = json_string_value(json_object_get(h, "node"));
    json_t *a = json_object_get(h, "tickets_applied"), *k = json_object_get(h, "down_acked");
    int ok = code != NULL && json_is_integer(a) && json_is_integer(k) &&
             json_integer_value(a) >= 0 && json_integer_value(k) >= 0;

    if (!ok)
        fprintf(stderr, "city-node: recover: not a file of 'province-node node-export'\n");
    else if (strcmp(code, node->cfg.node_code) != 0)
        fprintf(stderr, "city-node: recover: the file is of node '%s', not '%s'\n", code,
                node->cfg.node_code);
    if (ok) {
        *applied = (uint64_t)json_integer_value(a);
        *acked = (uint64_t)json_integer_value(k);
        ok = strcmp(code, node->cfg.node_code) == 0;
    }
    json_decref(h);
    return ok ? 0 : -1;
}

/* Is 'line' the trailer, and does it count what was read? */
static int trailer(const char *line, long long *count)
{
    json_t *t = json_loads(line, 0, NULL);
    json_t *end = json_object_get(t, "end");
    int is = json_is_integer(end) && json_object_size(t) == 1;

    if (is)
        *count = json_integer_value(end);
    json_decref(t);
    return is;
}

int recover_run(struct node *node, struct db *db, char **argv)
{
    struct pii_keys pii;
    struct recovery r = {0};
    uint64_t applied = 0, acked = 0;
    char *line = NULL;
    size_t cap = 0;
    long long count = -1;
    int rc = 1, keys = 0;
    FILE *in = fopen(argv[0], "r");

    if (in == NULL) {
        fprintf(stderr, "city-node: recover: cannot read '%s'\n", argv[0]);
        return 1;
    }
    if (getline(&line, &cap, in) < 0 || header_read(line, node, &applied, &acked) < 0)
        goto out;
    if (pii_keys_load(node->cfg.data_dir, &pii) < 0)
        goto out;
    keys = 1;
    if (db_begin(db) < 0)
        goto out;
    while (getline(&line, &cap, in) >= 0) {
        if (trailer(line, &count))
            break;
        if (take_ticket(db, node, &pii, line, &r) < 0)
            goto fail;
    }
    if (count != r.tickets) {
        fprintf(stderr, "city-node: recover: '%s' is cut short; export it again\n", argv[0]);
        goto fail;
    }
    if (r.nclashes > 0) {
        fprintf(stderr, "city-node: recover: changed here after the restore, unknown to the"
                        " province:");
        for (size_t i = 0; i < r.nclashes; i++)
            fprintf(stderr, " '%s'", r.clashes[i]);
        fprintf(stderr, "; the node ran before it recovered: restore the backup again, then"
                        " recover before starting it\n");
        goto fail;
    }
    long long events, tickets;
    char broken[TICKET_ID_LEN + 1];
    int seq;
    int verified = ticketdb_verify(db, &events, &tickets, broken, &seq);
    if (verified != 0) {
        if (verified > 0)
            fprintf(stderr, "city-node: recover: broken chain: ticket %s event %d\n", broken, seq);
        goto fail;
    }
    if (move_streams(db, node, applied, acked) < 0 || db_commit(db) < 0)
        goto fail;
    printf("recovered node '%s' from the master dataset: %lld tickets, %lld of them new here"
           " (without the citizen's personal data), %lld changed; its ticket stream goes on"
           " after %" PRIu64 "\n",
           node->cfg.node_code, r.tickets, r.added, r.changed, applied);
    rc = 0;
    goto out;

fail:
    db_rollback(db);
    fprintf(stderr, "city-node: recover: nothing was changed\n");
out:
    if (keys)
        pii_keys_wipe(&pii);
    free(line);
    fclose(in);
    return rc;
}
