/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transferdb.c - SQL and sealing of a node's side of transfers.
 *
 * Runs in HTTP workers (offer, decline, history) and in the link thread
 * (what the province sends, progress answers), always inside the caller's
 * transaction but for transferdb_progress_flush(), which makes its own.
 */
#include "transferdb.h"

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "pii.h"
#include "progress_api.h"
#include "transfer.h"
#include "transit.h"
#include "wire.h"
#include "workflow.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The province: its code, its CURVE public key and its signing key. */
static void province_code(const struct node *node, char code[8])
{
    snprintf(code, 8, "%.2s0000", node->cfg.node_code);
}

static const char *province_curve_key(const struct node *node)
{
    return node->kind->role == NODE_PROVINCE ? keyring_curve(&node->keys)->public_z85
                                             : node->cfg.province_public_key;
}

static int province_sign_key(const struct node *node, struct db *db,
                             char out[SIGN_KEY_TEXT_LEN + 1])
{
    char code[8];

    if (node->kind->role == NODE_PROVINCE) {
        snprintf(out, SIGN_KEY_TEXT_LEN + 1, "%s", keyring_sign(&node->keys)->public_text);
        return 1;
    }
    province_code(node, code);
    return transferdb_key(db, code, out);
}

int transferdb_pin_key(struct db *db, const char *code, const char *key, int replace, int64_t now)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {code, key, at};

    clock_format(now, at);
    PGresult *res = db_query(db,
                             replace ? "INSERT INTO node_keys (code, sign_key, seen_at)"
                                       " VALUES ($1, $2, $3) ON CONFLICT (code) DO UPDATE"
                                       " SET sign_key = $2, seen_at = $3 RETURNING sign_key = $2"
                                     : "WITH pinned AS (INSERT INTO node_keys (code, sign_key,"
                                       " seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                                       " RETURNING sign_key)"
                                       " SELECT sign_key = $2 FROM pinned UNION ALL"
                                       " SELECT sign_key = $2 OR COALESCE(previous_sign_key = $2"
                                       "  AND previous_until > $3::timestamptz, false)"
                                       " FROM node_keys WHERE code = $1",
                             3, p);
    if (res == NULL)
        return -1;
    int same = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return same;
}

int transferdb_key(struct db *db, const char *code, char out[SIGN_KEY_TEXT_LEN + 1])
{
    const char *p[] = {code};
    PGresult *res = db_query(db, "SELECT sign_key FROM node_keys WHERE code = $1", 1, p);

    if (res == NULL)
        return -1;
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(out, SIGN_KEY_TEXT_LEN + 1, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

int transferdb_keys(struct db *db, const char *code, int64_t now,
                    char out[2][SIGN_KEY_TEXT_LEN + 1])
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {code, at};

    clock_format(now, at);
    PGresult *res = db_query(db,
                             "SELECT k FROM node_keys, LATERAL (VALUES (1, sign_key),"
                             "  (2, CASE WHEN previous_until > $2::timestamptz"
                             "       THEN previous_sign_key END)) v(i, k)"
                             " WHERE code = $1 AND k IS NOT NULL ORDER BY i",
                             2, p);
    if (res == NULL)
        return -1;
    int n = PQntuples(res) < 2 ? PQntuples(res) : 2;
    for (int i = 0; i < n; i++)
        snprintf(out[i], SIGN_KEY_TEXT_LEN + 1, "%s", PQgetvalue(res, i, 0));
    PQclear(res);
    return n;
}

int transferdb_rekey(struct db *db, const char *code, const char *key, int64_t until, int64_t now)
{
    char at[CLOCK_RFC3339_LEN], end[CLOCK_RFC3339_LEN];
    const char *p[] = {code, key, at, until > 0 ? end : NULL};
    size_t len = 0;
    uint8_t *raw = strlen(key) == SIGN_KEY_TEXT_LEN ? crypto_b64_decode(key, &len) : NULL;

    free(raw);
    if (raw == NULL || len != 32)
        return -1;
    clock_format(now, at);
    clock_format(until, end);
    long long n = db_changed(db,
                             "INSERT INTO node_keys (code, sign_key, seen_at) VALUES ($1, $2, $3)"
                             " ON CONFLICT (code) DO UPDATE SET previous_sign_key ="
                             "  CASE WHEN $4::timestamptz IS NULL THEN NULL"
                             "  ELSE node_keys.sign_key END,"
                             " previous_until = $4, sign_key = $2, seen_at = $3"
                             " WHERE node_keys.sign_key <> $2",
                             4, p);
    return n < 0 ? -1 : n > 0;
}

int transferdb_retire_key(struct db *db, const char *code)
{
    const char *p[] = {code};
    long long n = db_changed(db,
                             "UPDATE node_keys SET previous_sign_key = NULL, previous_until = NULL"
                             " WHERE code = $1 AND previous_sign_key IS NOT NULL",
                             1, p);

    return n < 0 ? -1 : n > 0;
}

static int store_message(struct db *db, const char *transfer, const char *kind, const char *signer,
                         const struct transfer_signed *m, const char *key, int64_t now)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {transfer, kind, signer, m->text, m->signature, key, at};

    clock_format(now, at);
    return db_exec(db,
                   "INSERT INTO transfer_messages (transfer_id, kind, signer, body, signature,"
                   " signer_key, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                   " ON CONFLICT DO NOTHING",
                   7, p);
}

/* Queues {"transfer": {"body", "signature"}} for the province. */
static int queue_signed(struct db *db, const struct transfer_signed *m, int64_t now)
{
    char stream[12], at[CLOCK_RFC3339_LEN];
    const char *p[] = {stream, m->text, m->signature, at};

    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    clock_format(now, at);
    if (db_exec(db,
                "INSERT INTO outbox (stream, body, created_at) SELECT $1,"
                " jsonb_build_object('transfer', jsonb_build_object('body', $2::text,"
                " 'signature', $3::text))::text, $4",
                4, p) < 0)
        return -1;
    return db_exec(db, "NOTIFY outbox", 0, NULL);
}

/* The reason and detail of the ticket's newest event: what the workflow
 * just recorded for the action. */
static PGresult *last_event(struct db *db, const char *id)
{
    const char *p[] = {id};

    return db_query(db,
                    "SELECT e.reason, e.detail::jsonb->>'to', t.owner_epoch,"
                    " translate(encode(t.citizen_pii, 'base64'), E'\\n', ''),"
                    " t.event_seq, t.event_hash, t.pii_key_id"
                    " FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id"
                    " WHERE e.ticket_id = $1 ORDER BY e.seq DESC LIMIT 1",
                    1, p);
}

/* The citizen's data of ticket 'id', sealed here with key 'key_id', sealed
 * for the province with the CURVE pair in use. */
static char *seal_for_province(const struct node *node, const char *id, const char *stored,
                               const char *key_id)
{
    uint8_t key[CRYPTO_KEY_LEN];
    size_t len;
    uint8_t *raw = crypto_b64_decode(stored, &len);
    char *plain = raw != NULL ? pii_open(&node->hotline.pii, key_id, id, raw, len) : NULL;
    char *sealed = NULL;

    if (plain != NULL &&
        transit_key(keyring_curve(&node->keys), province_curve_key(node), key) == 0)
        sealed = transit_seal(key, id, plain);
    if (plain != NULL)
        OPENSSL_cleanse(plain, strlen(plain));
    OPENSSL_cleanse(key, sizeof(key));
    free(plain);
    free(raw);
    return sealed;
}

int transferdb_offer_fits(struct db *db, const char *id)
{
    char limit[24];
    const char *p[] = {id, limit};

    /* The ticket, its events, the sealed citizen and the signed body. */
    snprintf(limit, sizeof(limit), "%d", WIRE_MAX_ITEM - 16 * 1024);
    PGresult *res = db_query(db,
                             "SELECT octet_length(to_jsonb(t)::text)"
                             " + COALESCE((SELECT sum(octet_length(to_jsonb(e)::text))"
                             "   FROM ticket_events e WHERE e.ticket_id = t.id), 0)"
                             " + 2 * octet_length(t.citizen_pii) <= $2::int"
                             " FROM tickets t WHERE t.id = $1",
                             2, p);
    if (res == NULL)
        return -1;
    int fits = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return fits;
}

int transferdb_offer(struct db *db, const struct ticket *t, const struct principal *who,
                     const void *arg, int64_t now)
{
    const struct node *node = arg;
    const char *self = node->cfg.node_code;
    char id[TRANSFER_ID_MAX + 1], at[CLOCK_RFC3339_LEN], stream[12];
    struct transfer_signed m = {0};
    char *sealed = NULL;
    int rc = -1;
    /* Read once: the key that signs is the key stored with the signature. */
    const struct sign_key *sk = keyring_sign(&node->keys);

    (void)who;
    PGresult *ev = last_event(db, t->id);
    const char *tp[] = {t->id};
    /* Every owner received the newest id of its ticket with the offer. */
    PGresult *n = db_query(db,
                           "SELECT COALESCE(max(split_part(id, '.', 2)::int), 0) + 1"
                           " FROM transfers WHERE ticket_id = $1",
                           1, tp);
    if (ev == NULL || n == NULL || PQntuples(ev) != 1)
        goto out;
    snprintf(id, sizeof(id), "%s.%s", t->id, PQgetvalue(n, 0, 0));
    clock_format(now, at);
    const char *to = PQgetvalue(ev, 0, 1), *reason = PQgetvalue(ev, 0, 0);
    int epoch = atoi(PQgetvalue(ev, 0, 2));
    /* The head of the ticket's chain is signed: the events sent with the
     * offer must end there. */
    if (transfer_sign(sk,
                      json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:{s:i,s:s}}", "kind", "offer",
                                "transfer", id, "ticket", t->id, "from", self, "to", to, "epoch",
                                epoch, "reason", reason, "at", at, "head", "seq",
                                atoi(PQgetvalue(ev, 0, 4)), "hash", PQgetvalue(ev, 0, 5)),
                      &m) < 0 ||
        (sealed = seal_for_province(node, t->id, PQgetvalue(ev, 0, 3), PQgetvalue(ev, 0, 6))) ==
            NULL)
        goto out;
    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    const char *p[] = {id, t->id, self, to, PQgetvalue(ev, 0, 2), reason, at};
    const char *q[] = {t->id, stream, m.text, m.signature, sealed, at};
    if (db_exec(db,
                "INSERT INTO transfers (id, ticket_id, from_node, to_node, epoch, reason, status,"
                " offered_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'offered', $7, $7)",
                7, p) < 0 ||
        store_message(db, id, "offer", self, &m, sk->public_text, now) < 0 ||
        db_exec(db,
                "INSERT INTO outbox (stream, body, created_at)"
                " SELECT $2, jsonb_build_object('transfer', jsonb_build_object("
                "  'body', $3::text, 'signature', $4::text, 'pii', $5::text,"
                "  'ticket', to_jsonb(t) - 'citizen_pii' - 'pii_key_id' - 'remote_progress',"
                "  'events', (SELECT jsonb_agg(to_jsonb(e) - 'copied' ORDER BY e.seq)"
                "             FROM ticket_events e WHERE e.ticket_id = t.id)))::text, $6"
                " FROM tickets t WHERE t.id = $1",
                6, q) < 0 ||
        db_exec(db, "NOTIFY outbox", 0, NULL) < 0)
        goto out;
    log_info("ticket '%s' offered to node '%s' (transfer '%s')", t->id, to, id);
    rc = 0;
out:
    PQclear(ev);
    PQclear(n);
    free(m.text);
    free(sealed);
    return rc;
}

int transferdb_decline(struct db *db, const struct ticket *t, const struct principal *who,
                       const void *arg, int64_t now)
{
    const struct node *node = arg;
    const char *self = node->cfg.node_code;
    char at[CLOCK_RFC3339_LEN];
    struct transfer_signed m = {0};
    int rc = -1;
    const struct sign_key *sk = keyring_sign(&node->keys);

    (void)who;
    const char *p[] = {t->id, self};
    PGresult *tr = db_query(db,
                            "SELECT id FROM transfers WHERE ticket_id = $1 AND owner = $2"
                            " AND status = 'accepted'"
                            " ORDER BY split_part(id, '.', 2)::int DESC LIMIT 1",
                            2, p);
    PGresult *ev = last_event(db, t->id);
    if (tr == NULL || ev == NULL || PQntuples(tr) != 1 || PQntuples(ev) != 1)
        goto out;
    const char *id = PQgetvalue(tr, 0, 0);
    clock_format(now, at);
    if (transfer_sign(sk,
                      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kind", "decline", "transfer", id,
                                "ticket", t->id, "node", self, "reason", PQgetvalue(ev, 0, 0), "at",
                                at),
                      &m) < 0)
        goto out;
    const char *q[] = {id, at};
    if (db_exec(db, "UPDATE transfers SET status = 'declined', updated_at = $2 WHERE id = $1", 2,
                q) < 0 ||
        store_message(db, id, "decline", self, &m, sk->public_text, now) < 0 ||
        queue_signed(db, &m, now) < 0)
        goto out;
    log_info("ticket '%s' declined (transfer '%s')", t->id, id);
    rc = 0;
out:
    PQclear(tr);
    PQclear(ev);
    free(m.text);
    return rc;
}

/*
 * Stores events another node wrote of ticket 'ticket', in its chain, and
 * checks that the chain now ends at 'seq' and 'hash', which the sender
 * signed.  Returns 0, 1 if they are not that ticket's chain, -1 on error.
 */
static int copy_events(struct db *db, const char *ticket, json_t *events, long long seq,
                       const char *hash)
{
    char *text = json_dumps(json_is_array(events) ? events : json_array(), JSON_COMPACT);
    char s[24];
    const char *p[] = {text, ticket, s, hash};

    snprintf(s, sizeof(s), "%lld", seq);
    if (text == NULL)
        return -1;
    PGresult *res = db_query(db,
                             "WITH given AS (SELECT e FROM jsonb_array_elements($1::jsonb) e),"
                             " stored AS (INSERT INTO ticket_events SELECT (r).* FROM"
                             "  (SELECT jsonb_populate_record(NULL::ticket_events,"
                             "   e || '{\"copied\": true}') AS r FROM given"
                             "   WHERE NOT EXISTS (SELECT 1 FROM given g"
                             "    WHERE g.e->>'ticket_id' IS DISTINCT FROM $2)) x"
                             "  ON CONFLICT DO NOTHING RETURNING 1)"
                             " SELECT NOT EXISTS (SELECT 1 FROM given"
                             "  WHERE e->>'ticket_id' IS DISTINCT FROM $2)"
                             " AND (SELECT count(DISTINCT (e->>'seq')::int) FROM given) = $3::int"
                             " AND (SELECT COALESCE(max((e->>'seq')::int), 0) FROM given) = $3::int"
                             " AND (SELECT count(*) FROM stored) >= 0"
                             " AND ($3::int = 0 OR EXISTS (SELECT 1 FROM given"
                             "  WHERE (e->>'seq')::int = $3::int AND e->>'hash' = $4))",
                             4, p);
    free(text);
    if (res == NULL)
        return -1;
    int ok = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return ok ? 0 : 1;
}

/* Registers the offered ticket, frozen, with its personal data sealed here. */
static int register_offered(const struct node *node, struct db *db, const char *ticket,
                            json_t *snapshot, const char *sealed_pii)
{
    uint8_t key[CRYPTO_KEY_LEN];
    char *plain = NULL, *pii = NULL, *snap = NULL;
    uint8_t *sealed = NULL;
    size_t len;
    int rc = 1;

    /* Sealed for a pair this node holds: the one in use, or, across a
     * rotation, the one it replaced; or for the pair made ready, which the
     * province knows before this node switches to it. */
    const struct keys *mine;
    struct keys ready;
    for (int i = 0; plain == NULL && (mine = keyring_curve_held(&node->keys, i)) != NULL; i++)
        if (transit_key(mine, province_curve_key(node), key) == 0)
            plain = transit_open(key, ticket, sealed_pii);
    if (plain == NULL && keyring_ready(node->cfg.data_dir, &ready) == 1) {
        if (transit_key(&ready, province_curve_key(node), key) == 0)
            plain = transit_open(key, ticket, sealed_pii);
        keys_wipe(&ready);
    }
    if (plain == NULL) {
        log_warnx("dropped the offer of ticket '%s': its personal data does not open", ticket);
        goto out;
    }
    rc = -1;
    char key_id[PII_KEY_ID_LEN + 1];
    if ((sealed = pii_seal(&node->hotline.pii, ticket, plain, strlen(plain), &len, key_id)) ==
            NULL ||
        (pii = crypto_b64_encode(sealed, len)) == NULL ||
        (snap = json_dumps(snapshot, JSON_COMPACT)) == NULL)
        goto out;
    const char *p[] = {snap, pii, key_id, node->cfg.node_code};
    rc = (int)db_changed(
        db,
        "INSERT INTO tickets SELECT (r).* FROM (SELECT jsonb_populate_record("
        "  NULL::tickets, $1::jsonb || jsonb_build_object("
        "  'citizen_pii', '\\x' || encode(decode($2, 'base64'), 'hex'),"
        "  'pii_key_id', $3::text, 'status', 'transfer_pending', 'unit_code', NULL,"
        "  'received_at', NULL, 'deadline', NULL, 'provisional', false,"
        "  'due_soon', false, 'overdue', false, 'pending', NULL, 'emergency_rule', NULL,"
        "  'handed_at', NULL, 'transfer_final', false, 'remote_progress', NULL,"
        "  'progress_sent', true)) AS r) x"
        " ON CONFLICT (id) DO UPDATE SET status = 'transfer_pending',"
        " owner_node = EXCLUDED.owner_node, owner_epoch = EXCLUDED.owner_epoch,"
        " version = EXCLUDED.version, citizen_pii = EXCLUDED.citizen_pii,"
        " pii_key_id = EXCLUDED.pii_key_id, kind = EXCLUDED.kind,"
        " category = EXCLUDED.category, content = EXCLUDED.content, unit_code = NULL,"
        " received_at = NULL, deadline = NULL, handed_at = NULL,"
        " transfer_final = false, remote_progress = NULL,"
        " event_seq = EXCLUDED.event_seq, event_hash = EXCLUDED.event_hash,"
        " pending = NULL, outcome = EXCLUDED.outcome, supervised = false,"
        " returns = EXCLUDED.returns, extensions = EXCLUDED.extensions,"
        " updated_at = EXCLUDED.updated_at"
        /* Never over a ticket this node owns. */
        " WHERE tickets.owner_node <> $4",
        4, p);
    if (rc == 0) {
        log_warnx("dropped the offer of ticket '%s': this node owns it", ticket);
        rc = 1;
    } else {
        rc = rc < 0 ? -1 : 0;
    }
out:
    if (plain != NULL)
        OPENSSL_cleanse(plain, strlen(plain));
    OPENSSL_cleanse(key, sizeof(key));
    free(plain);
    free(sealed);
    free(pii);
    free(snap);
    return rc;
}

int transferdb_on_offer(const struct node *node, struct db *db, json_t *v)
{
    const char *self = node->cfg.node_code, *why;
    const char *signer_key = json_string_value(json_object_get(v, "signer_key"));
    const char *pii = json_string_value(json_object_get(v, "pii"));
    json_t *snapshot = json_object_get(v, "ticket");
    json_t *body = signer_key != NULL ? transfer_open(v, signer_key, "offer", &why) : NULL;
    struct transfer_signed accept = {0};
    char at[CLOCK_RFC3339_LEN];
    int64_t now = clock_now_us();
    int rc = 1;
    const struct sign_key *sk = keyring_sign(&node->keys);

    if (body == NULL || pii == NULL || !json_is_object(snapshot) ||
        strcmp(json_string_value(json_object_get(body, "to")), self) != 0 ||
        strcmp(json_string_value(json_object_get(body, "ticket")),
               json_string_value(json_object_get(snapshot, "id")) != NULL
                   ? json_string_value(json_object_get(snapshot, "id"))
                   : "") != 0)
        goto out;
    const char *id = json_string_value(json_object_get(body, "transfer"));
    const char *ticket = json_string_value(json_object_get(body, "ticket"));
    const char *from = json_string_value(json_object_get(body, "from"));
    char epoch[12];
    snprintf(epoch, sizeof(epoch), "%lld",
             (long long)json_integer_value(json_object_get(body, "epoch")));
    struct transfer_signed offer = {(char *)json_string_value(json_object_get(v, "body")), ""};
    snprintf(offer.signature, sizeof(offer.signature), "%s",
             json_string_value(json_object_get(v, "signature")));
    if ((rc = register_offered(node, db, ticket, snapshot, pii)) != 0 ||
        (rc = copy_events(
             db, ticket, json_object_get(v, "events"),
             json_integer_value(json_object_get(json_object_get(body, "head"), "seq")),
             json_string_value(json_object_get(json_object_get(body, "head"), "hash")))) != 0)
        goto out;
    rc = -1;
    clock_format(now, at);
    const char *p[] = {id,
                       ticket,
                       from,
                       self,
                       epoch,
                       json_string_value(json_object_get(body, "reason")),
                       json_string_value(json_object_get(body, "at")),
                       at};
    if (transferdb_pin_key(db, from, signer_key, 1, now) < 0 ||
        db_exec(db,
                "INSERT INTO transfers (id, ticket_id, from_node, to_node, epoch, reason, status,"
                " offered_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'offered', $7, $8)"
                " ON CONFLICT DO NOTHING",
                8, p) < 0 ||
        store_message(db, id, "offer", from, &offer, signer_key, now) < 0)
        goto out;
    /* This node takes what it is offered; its operators may decline it
     * within 2 working days once it is theirs. */
    if (transfer_sign(sk,
                      json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "accept", "transfer", id, "ticket",
                                ticket, "node", self, "at", at),
                      &accept) < 0 ||
        store_message(db, id, "accept", self, &accept, sk->public_text, now) < 0 ||
        queue_signed(db, &accept, now) < 0)
        goto out;
    log_info("ticket '%s' offered by node '%s': registered and accepted", ticket, from);
    rc = 0;
out:
    if (rc > 0)
        log_warnx("dropped a transfer offer: %s",
                  body == NULL && signer_key != NULL ? why : "not a well-formed offer for us");
    json_decref(body);
    free(accept.text);
    return rc;
}

/* The province's decision gives the ticket to 'owner' at 'epoch'. */
static int take_over(const struct node *node, struct db *db, json_t *body)
{
    const char *ticket = json_string_value(json_object_get(body, "ticket"));
    const char *outcome = json_string_value(json_object_get(body, "outcome"));
    const char *reason = json_string_value(json_object_get(body, "reason"));
    int final = json_is_true(json_object_get(body, "final"));
    char epoch[12], version[24], at[CLOCK_RFC3339_LEN];
    struct ticket_row row = {0};
    int64_t now = clock_now_us();

    snprintf(epoch, sizeof(epoch), "%lld",
             (long long)json_integer_value(json_object_get(body, "epoch")));
    snprintf(version, sizeof(version), "%lld",
             (long long)json_integer_value(json_object_get(body, "version")));
    int found = ticketdb_load(db, ticket, 1, &row);
    if (found <= 0)
        return found < 0 ? -1 : 1;
    enum ticket_status before = row.t.status;
    int mine = strcmp(PQgetvalue(row.res, 0, COL_OWNER_NODE), node->cfg.node_code) == 0;
    ticketdb_row_clear(&row);
    const char *q[] = {ticket};
    PGresult *cur = db_query(db, "SELECT owner_epoch FROM tickets WHERE id = $1", 1, q);
    if (cur == NULL)
        return -1;
    long long held = atoll(PQgetvalue(cur, 0, 0));
    PQclear(cur);
    /* A refused offer gives back only what this node offered and still
     * holds, frozen, at that epoch; anything else is not for this ticket. */
    int refused = strcmp(outcome, "refused") == 0;
    if (refused && (!mine || before != STATUS_TRANSFER_PENDING ||
                    held != json_integer_value(json_object_get(body, "epoch"))))
        return 1;
    if (mine && !refused && before != STATUS_TRANSFER_PENDING && before != STATUS_TRANSFERRED)
        return 0;
    clock_format(now, at);
    const char *p[] = {
        ticket, node->cfg.node_code, epoch, refused ? NULL : at, final ? "true" : "false", at,
        version};
    /* Past the version the master dataset holds (the decision's): a copy
     * taken back holds an older one than the decliner sent there. */
    if (db_exec(db,
                "UPDATE tickets SET owner_node = $2, owner_epoch = $3, status = 'registered',"
                " unit_code = NULL, received_at = NULL, deadline = NULL, handed_at = $4,"
                " transfer_final = $5, remote_progress = NULL, progress_sent = true,"
                " updated_at = $6, version = GREATEST(version, $7::int) + 1,"
                " event_seq = COALESCE((SELECT max(seq) FROM ticket_events WHERE ticket_id = $1),"
                "   0),"
                " event_hash = (SELECT hash FROM ticket_events WHERE ticket_id = $1"
                "   ORDER BY seq DESC LIMIT 1)"
                " WHERE id = $1",
                7, p) < 0)
        return -1;
    struct ticket_event e = {
        .actor = "province",
        .role = "system",
        .action = refused ? "transfer/refused" : "transfer/in",
        .from = before,
        .to = STATUS_REGISTERED,
        .reason = reason,
    };
    return ticketdb_event(db, ticket, &e, now) < 0 ? -1 : 0;
}

int transferdb_on_decision(const struct node *node, struct db *db, json_t *v)
{
    char key[SIGN_KEY_TEXT_LEN + 1], province[8], at[CLOCK_RFC3339_LEN];
    const char *why = "the province's signing key is not known here";
    json_t *body =
        province_sign_key(node, db, key) == 1 ? transfer_open(v, key, "decision", &why) : NULL;
    int rc = 1;

    if (body == NULL) {
        log_warnx("dropped a transfer decision: %s", why);
        return 1;
    }
    const char *id = json_string_value(json_object_get(body, "transfer"));
    const char *owner = json_string_value(json_object_get(body, "owner"));
    const char *outcome = json_string_value(json_object_get(body, "outcome"));
    int final = json_is_true(json_object_get(body, "final"));
    struct transfer_signed m = {(char *)json_string_value(json_object_get(v, "body")), ""};
    snprintf(m.signature, sizeof(m.signature), "%s",
             json_string_value(json_object_get(v, "signature")));
    province_code(node, province);
    clock_format(clock_now_us(), at);
    const char *status = strcmp(outcome, "handed_off") == 0 ? "accepted"
                         : strcmp(outcome, "refused") == 0  ? "refused"
                                                            : "decided";
    const char *p[] = {id, status, owner, at};
    if (store_message(db, id, final ? "final" : "decision", province, &m, key, clock_now_us()) <
            0 ||
        db_exec(db, "UPDATE transfers SET status = $2, owner = $3, updated_at = $4 WHERE id = $1",
                4, p) < 0 ||
        (json_object_get(v, "events") != NULL &&
         (rc = copy_events(
              db, json_string_value(json_object_get(body, "ticket")), json_object_get(v, "events"),
              json_integer_value(json_object_get(json_object_get(body, "head"), "seq")),
              json_string_value(json_object_get(json_object_get(body, "head"), "hash")))) != 0))
        goto out;
    if (strcmp(owner, node->cfg.node_code) == 0) {
        rc = take_over(node, db, body);
    } else {
        char epoch[12];
        snprintf(epoch, sizeof(epoch), "%lld",
                 (long long)json_integer_value(json_object_get(body, "epoch")));
        const char *q[] = {json_string_value(json_object_get(body, "ticket")), owner, epoch, at};
        /* The events copied above (the target's take-over and decline,
         * when the decision leaves it there) extend this copy's chain:
         * its head moves with them. */
        rc = db_exec(db,
                     "UPDATE tickets SET owner_node = $2, owner_epoch = $3,"
                     " status = 'transferred', handed_at = NULL, transfer_final = false,"
                     " progress_sent = true, updated_at = $4,"
                     " event_seq = COALESCE((SELECT max(seq) FROM ticket_events"
                     "   WHERE ticket_id = $1), 0),"
                     " event_hash = (SELECT hash FROM ticket_events WHERE ticket_id = $1"
                     "   ORDER BY seq DESC LIMIT 1)"
                     " WHERE id = $1",
                     4, q) < 0
                 ? -1
                 : 0;
    }
    if (rc == 0)
        log_info("transfer '%s': %s, owner '%s'", id, outcome, owner);
out:
    json_decref(body);
    return rc;
}

int transferdb_on_progress(const struct node *node, struct db *db, json_t *v)
{
    const char *ticket = json_string_value(json_object_get(v, "ticket"));
    json_t *version = json_object_get(v, "version"), *view = json_object_get(v, "view");

    if (ticket == NULL || !json_is_integer(version) || !json_is_object(view))
        return 1;
    char ver[24], *text = json_dumps(view, JSON_COMPACT);
    snprintf(ver, sizeof(ver), "%lld", (long long)json_integer_value(version));
    const char *p[] = {ticket, node->cfg.node_code, ver, text};
    int rc = text == NULL ? -1
                          : db_exec(db,
                                    "UPDATE tickets SET remote_progress = jsonb_build_object("
                                    " 'version', $3::bigint, 'view', $4::jsonb)"
                                    " WHERE id = $1 AND owner_node <> $2 AND (remote_progress IS"
                                    " NULL OR (remote_progress->>'version')::bigint < $3::bigint)",
                                    4, p);
    free(text);
    return rc < 0 ? -1 : 0;
}

/* Queues the progress answer of one ticket and marks it sent. */
static int flush_one(struct db *db, const char *id, int64_t now)
{
    struct ticket_row row = {0};
    char stream[12], at[CLOCK_RFC3339_LEN], *text = NULL;
    int rc = -1;

    if (db_begin(db) < 0 || ticketdb_load(db, id, 1, &row) <= 0)
        goto out;
    json_t *view = progress_view(db, &row);
    const char *p[] = {id};
    PGresult *ver = db_query(db, "SELECT version FROM tickets WHERE id = $1", 1, p);
    if (view == NULL || ver == NULL) {
        json_decref(view);
        PQclear(ver);
        goto out;
    }
    json_t *msg = json_pack("{s:{s:s,s:I,s:o}}", "progress", "ticket", id, "version",
                            (json_int_t)strtoll(PQgetvalue(ver, 0, 0), NULL, 10), "view", view);
    text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    PQclear(ver);
    snprintf(stream, sizeof(stream), "%d", STREAM_TICKETS);
    clock_format(now, at);
    const char *q[] = {stream, text, at};
    if (text == NULL ||
        db_exec(db, "INSERT INTO outbox (stream, body, created_at) VALUES ($1, $2, $3)", 3, q) <
            0 ||
        db_exec(db, "UPDATE tickets SET progress_sent = true WHERE id = $1", 1, p) < 0 ||
        db_commit(db) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        db_rollback(db);
    ticketdb_row_clear(&row);
    free(text);
    return rc;
}

int transferdb_progress_flush(const struct node *node, struct db *db)
{
    const char *p[] = {node->cfg.node_code};
    PGresult *res = db_query(db,
                             "SELECT id FROM tickets WHERE NOT progress_sent AND owner_node = $1"
                             " ORDER BY updated_at LIMIT 200",
                             1, p);
    int n = 0;

    if (res == NULL)
        return -1;
    for (int i = 0; i < PQntuples(res); i++, n++)
        if (flush_one(db, PQgetvalue(res, i, 0), clock_now_us()) < 0) {
            n = -1;
            break;
        }
    PQclear(res);
    return n;
}

json_t *transferdb_history(struct db *db, const char *id)
{
    const char *p[] = {id};
    PGresult *res = db_query(
        db,
        "SELECT COALESCE(jsonb_agg(jsonb_build_object('id', t.id, 'from', t.from_node,"
        " 'to', t.to_node, 'epoch', t.epoch, 'reason', t.reason, 'status', t.status,"
        " 'owner', t.owner, 'offered_at', t.offered_at, 'updated_at', t.updated_at,"
        " 'messages', (SELECT COALESCE(jsonb_agg(jsonb_build_object('kind', m.kind,"
        "   'signer', m.signer, 'body', m.body, 'signature', m.signature,"
        "   'signer_key', m.signer_key) ORDER BY m.stored_at, m.kind), '[]')"
        "   FROM transfer_messages m WHERE m.transfer_id = t.id))"
        " ORDER BY t.offered_at, t.id), '[]')::text FROM transfers t WHERE t.ticket_id = $1",
        1, p);

    if (res == NULL)
        return NULL;
    json_t *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return out;
}

int transferdb_verify(struct db *db, long long *checked, char *bad, size_t badlen)
{
    PGresult *res = db_query(db,
                             "SELECT transfer_id, kind, signer, body, signature, signer_key"
                             " FROM transfer_messages ORDER BY transfer_id, kind",
                             0, NULL);

    if (res == NULL)
        return -1;
    bad[0] = '\0';
    *checked = PQntuples(res);
    for (int i = 0; i < PQntuples(res) && bad[0] == '\0'; i++) {
        const char *body = PQgetvalue(res, i, 3), *kind = PQgetvalue(res, i, 1);
        json_t *msg = json_pack("{s:s,s:s}", "body", body, "signature", PQgetvalue(res, i, 4));
        const char *why;
        json_t *b = transfer_open(msg, PQgetvalue(res, i, 5),
                                  strcmp(kind, "final") == 0 ? "decision" : kind, &why);
        if (b == NULL ||
            strcmp(json_string_value(json_object_get(b, "transfer")), PQgetvalue(res, i, 0)) != 0)
            snprintf(bad, badlen, "%s", PQgetvalue(res, i, 0));
        json_decref(b);
        json_decref(msg);
    }
    PQclear(res);
    return 0;
}
