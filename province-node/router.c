/* SPDX-License-Identifier: Apache-2.0 */
/*
 * router.c - SQL, signatures and sealing of the province's transfer routing.
 *
 * Runs in the link thread (router_apply, within a batch's transaction) and
 * in HTTP workers (decide, list).  Every refusal is logged with the node
 * and the reason, never with personal data.
 */
#include "router.h"

#include "clock.h"
#include "crypto.h"
#include "deliver.h"
#include "log.h"
#include "registry.h"
#include "transfer.h"
#include "transferdb.h"
#include "transit.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The CURVE public keys of a live node (the province's own for itself):
 * the current one, then, during a key rotation's grace period, the one it
 * replaced.  Returns how many, 0 for no live node, -1 on error.
 */
static int curve_keys(const struct node *node, struct db *db, const char *code,
                      char out[2][CURVE_KEY_Z85_LEN + 1])
{
    if (strcmp(code, node->cfg.node_code) == 0) {
        snprintf(out[0], CURVE_KEY_Z85_LEN + 1, "%s", keyring_curve(&node->keys)->public_z85);
        return 1;
    }
    return registry_curve_keys(db, code, out);
}

/* The signing keys of a node, as curve_keys() gives its CURVE keys. */
static int sign_keys_of(const struct node *node, struct db *db, const char *code,
                        char out[2][SIGN_KEY_TEXT_LEN + 1])
{
    if (strcmp(code, node->cfg.node_code) == 0) {
        snprintf(out[0], SIGN_KEY_TEXT_LEN + 1, "%s", keyring_sign(&node->keys)->public_text);
        return 1;
    }
    return transferdb_keys(db, code, clock_now_us(), out);
}

/* Stores a signed message as the province received or made it. */
static int store(struct db *db, const char *transfer, const char *kind, const char *signer,
                 const char *text, const char *sig, const char *key)
{
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {transfer, kind, signer, text, sig, key, at};

    clock_format(clock_now_us(), at);
    return db_exec(db,
                   "INSERT INTO transfer_messages (transfer_id, kind, signer, body, signature,"
                   " signer_key, stored_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                   " ON CONFLICT DO NOTHING",
                   7, p);
}

/* Sends {"kind": value} to 'to' (deliver_post); takes 'value'. */
static int post(const struct node *node, struct db *db, const char *to, const char *kind,
                json_t *value)
{
    json_t *msg = json_pack("{s:o}", kind, value);
    char *text = json_dumps(msg, JSON_COMPACT);
    int rc = text != NULL ? deliver_post(node, db, to, text) : -1;

    json_decref(msg);
    free(text);
    return rc;
}

/* Decides transfer 'id': signs the decision, stores it, tells both ends.
 * 'events' (taken, may be NULL) go with it for a new owner's chain, and
 * the ticket's version in the master dataset, which the new owner's next
 * version must pass: the origin taking its ticket back holds an older one
 * than the target's decline left there. */
static int decide(const struct node *node, struct db *db, const char *id, const char *ticket,
                  const char *from, const char *to, const char *owner, long long epoch,
                  const char *outcome, int final, const char *reason, json_t *events)
{
    char at[CLOCK_RFC3339_LEN];
    struct transfer_signed m;
    int rc = -1;

    clock_format(clock_now_us(), at);
    const char *t[] = {ticket};
    PGresult *version = db_query(db, "SELECT version FROM master_tickets WHERE id = $1", 1, t);
    if (version == NULL) {
        json_decref(events);
        return -1;
    }
    json_int_t held = PQntuples(version) == 1 ? atoll(PQgetvalue(version, 0, 0)) : 0;
    PQclear(version);
    json_t *body =
        json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:b,s:s,s:s}", "kind", "decision", "transfer", id,
                  "ticket", ticket, "owner", owner, "epoch", (json_int_t)epoch, "outcome", outcome,
                  "final", final, "reason", reason, "at", at);
    if (body != NULL && held > 0)
        json_object_set_new(body, "version", json_integer(held));
    /* The events sent with it end at the head it signs. */
    json_t *last = json_array_get(events, json_array_size(events) - 1);
    if (body != NULL && last != NULL)
        json_object_set_new(body, "head",
                            json_pack("{s:O,s:O}", "seq", json_object_get(last, "seq"), "hash",
                                      json_object_get(last, "hash")));
    const struct sign_key *sk = keyring_sign(&node->keys);
    if (transfer_sign(sk, body, &m) < 0) {
        json_decref(events);
        return -1;
    }
    if (store(db, id, final ? "final" : "decision", node->cfg.node_code, m.text, m.signature,
              sk->public_text) < 0)
        goto out;
    const char *ends[] = {from, to};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && strcmp(from, to) == 0)
            break;
        json_t *v = json_pack("{s:s,s:s}", "body", m.text, "signature", m.signature);
        if (events != NULL)
            json_object_set(v, "events", events);
        if (post(node, db, ends[i], "decision", v) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(events);
    free(m.text);
    return rc;
}

/* Tells the origin its offer cannot be routed: it keeps the ticket. */
static int refuse_offer(const struct node *node, struct db *db, json_t *b, const char *reason)
{
    const char *from = json_string_value(json_object_get(b, "from"));

    log_warnx("refused transfer '%s' from node '%s': %s",
              json_string_value(json_object_get(b, "transfer")), from, reason);
    return decide(node, db, json_string_value(json_object_get(b, "transfer")),
                  json_string_value(json_object_get(b, "ticket")), from, from, from,
                  json_integer_value(json_object_get(b, "epoch")), "refused", 0, reason, NULL);
}

/* The offer's personal data, sealed again for the target's current key.
 * The origin sealed it with the key it used then: during a key rotation's
 * grace period, the one it replaced may still have sealed it. */
static char *reseal(const struct node *node, struct db *db, const char *from, const char *to,
                    const char *ticket, const char *sealed)
{
    char from_keys[2][CURVE_KEY_Z85_LEN + 1], to_keys[2][CURVE_KEY_Z85_LEN + 1];
    uint8_t kf[CRYPTO_KEY_LEN], kt[CRYPTO_KEY_LEN];
    char *plain = NULL, *out = NULL;
    const struct keys *own = keyring_curve(&node->keys);
    int nfrom = curve_keys(node, db, from, from_keys);

    for (int i = 0; plain == NULL && i < nfrom; i++)
        if (transit_key(own, from_keys[i], kf) == 0)
            plain = transit_open(kf, ticket, sealed);
    if (plain != NULL && curve_keys(node, db, to, to_keys) > 0 &&
        transit_key(own, to_keys[0], kt) == 0)
        out = transit_seal(kt, ticket, plain);
    if (plain != NULL)
        OPENSSL_cleanse(plain, strlen(plain));
    OPENSSL_cleanse(kf, sizeof(kf));
    OPENSSL_cleanse(kt, sizeof(kt));
    free(plain);
    return out;
}

static int on_offer(const struct node *node, struct db *db, const char *sender, json_t *v,
                    json_t *b, const char *key)
{
    const char *id = json_string_value(json_object_get(b, "transfer"));
    const char *ticket = json_string_value(json_object_get(b, "ticket"));
    const char *to = json_string_value(json_object_get(b, "to"));
    const char *pii = json_string_value(json_object_get(v, "pii"));
    char epoch[24], at[CLOCK_RFC3339_LEN], target[2][CURVE_KEY_Z85_LEN + 1];

    snprintf(epoch, sizeof(epoch), "%lld",
             (long long)json_integer_value(json_object_get(b, "epoch")));
    /* Only the owner, at the current epoch, gives a ticket away, and one
     * transfer at a time; the origin is told, so it does not wait for ever. */
    const char *p[] = {ticket, sender, epoch, id};
    PGresult *own = db_query(db,
                             "SELECT EXISTS (SELECT 1 FROM master_tickets"
                             "  WHERE id = $1 AND node = $2 AND owner_epoch = $3),"
                             " EXISTS (SELECT 1 FROM routed_transfers WHERE ticket_id = $1"
                             "  AND (status IN ('offered', 'declined') OR id = $4))",
                             4, p);
    if (own == NULL)
        return -1;
    int owner = strcmp(PQgetvalue(own, 0, 0), "t") == 0;
    int open = strcmp(PQgetvalue(own, 0, 1), "t") == 0;
    PQclear(own);
    if (!owner) {
        log_warnx("refused transfer '%s' from node '%s': it does not own ticket '%s' at epoch %s",
                  id, sender, ticket, epoch);
        return refuse_offer(node, db, b, "the sender does not own the ticket at that epoch");
    }
    if (open) {
        log_warnx("refused transfer '%s' from node '%s': ticket '%s' is already being transferred",
                  id, sender, ticket);
        return 0;
    }
    int known = strcmp(to, sender) != 0 ? curve_keys(node, db, to, target) : 0;
    if (known < 0)
        return -1;
    if (!known || pii == NULL)
        return refuse_offer(node, db, b, known ? "no personal data" : "no such node to take it");
    char *sealed = reseal(node, db, sender, to, ticket, pii);
    if (sealed == NULL)
        return refuse_offer(node, db, b, "its personal data does not open");
    clock_format(clock_now_us(), at);
    const char *q[] = {id,
                       ticket,
                       sender,
                       to,
                       epoch,
                       json_string_value(json_object_get(b, "reason")),
                       json_string_value(json_object_get(b, "at")),
                       at};
    json_t *fwd = json_pack("{s:O,s:O,s:s,s:O,s:O,s:s}", "body", json_object_get(v, "body"),
                            "signature", json_object_get(v, "signature"), "signer_key", key,
                            "ticket", json_object_get(v, "ticket"), "events",
                            json_object_get(v, "events"), "pii", sealed);
    free(sealed);
    if (fwd == NULL)
        return refuse_offer(node, db, b, "no ticket or no events with it");
    int rc = db_exec(db,
                     "INSERT INTO routed_transfers (id, ticket_id, from_node, to_node, epoch,"
                     " reason, status, offered_at, updated_at)"
                     " VALUES ($1, $2, $3, $4, $5, $6, 'offered', $7, $8)",
                     8, q) < 0 ||
                     store(db, id, "offer", sender, json_string_value(json_object_get(v, "body")),
                           json_string_value(json_object_get(v, "signature")), key) < 0 ||
                     post(node, db, to, "offer", fwd) < 0
                 ? -1
                 : 0;
    if (rc == 0)
        log_info("transfer '%s' of ticket '%s' routed from node '%s' to '%s'", id, ticket, sender,
                 to);
    return rc;
}

/* The target's acceptance: the hand-off. */
static int on_accept(const struct node *node, struct db *db, const char *sender, json_t *v,
                     json_t *b, const char *key)
{
    const char *id = json_string_value(json_object_get(b, "transfer"));
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {id, sender, at};

    clock_format(clock_now_us(), at);
    PGresult *res = db_query(db,
                             "UPDATE routed_transfers r SET status = 'accepted', owner = $2,"
                             " updated_at = $3 WHERE id = $1 AND to_node = $2"
                             " AND status = 'offered'"
                             " RETURNING ticket_id, from_node, epoch, reason",
                             3, p);
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        log_warnx("refused an acceptance of transfer '%s' from node '%s': not offered to it", id,
                  sender);
        return 0;
    }
    const char *ticket = PQgetvalue(res, 0, 0), *from = PQgetvalue(res, 0, 1);
    long long epoch = atoll(PQgetvalue(res, 0, 2)) + 1;
    char e[24];
    snprintf(e, sizeof(e), "%lld", epoch);
    char was[24];
    snprintf(was, sizeof(was), "%lld", epoch - 1);
    const char *q[] = {ticket, sender, e, from, was};
    /* The hand-off: only from the origin at the epoch it offered. */
    long long moved = db_changed(db,
                                 "UPDATE master_tickets SET node = $2, owner_epoch = $3"
                                 " WHERE id = $1 AND node = $4 AND owner_epoch = $5",
                                 5, q);
    const char *r[] = {id, from};
    if (moved < 0 || (moved == 0 && db_exec(db,
                                            "UPDATE routed_transfers SET status = 'refused',"
                                            " owner = $2 WHERE id = $1",
                                            2, r) < 0)) {
        PQclear(res);
        return -1;
    }
    int rc = store(db, id, "accept", sender, json_string_value(json_object_get(v, "body")),
                   json_string_value(json_object_get(v, "signature")), key) < 0 ||
                     (moved == 1 ? decide(node, db, id, ticket, from, sender, sender, epoch,
                                          "handed_off", 0, PQgetvalue(res, 0, 3), NULL)
                                 : decide(node, db, id, ticket, from, sender, from, epoch - 1,
                                          "refused", 0, "the origin no longer holds it", NULL)) < 0
                 ? -1
                 : 0;
    if (rc == 0)
        log_info("transfer '%s': ticket '%s' handed off from node '%s' to '%s'", id, ticket, from,
                 sender);
    PQclear(res);
    return rc;
}

static int on_decline(struct db *db, const char *sender, json_t *v, json_t *b, const char *key)
{
    const char *id = json_string_value(json_object_get(b, "transfer"));
    char at[CLOCK_RFC3339_LEN];
    const char *p[] = {id, sender, at};

    clock_format(clock_now_us(), at);
    long long n = db_changed(db,
                             "UPDATE routed_transfers r SET status = 'declined', updated_at = $3"
                             " WHERE id = $1 AND owner = $2 AND status = 'accepted'"
                             " AND EXISTS (SELECT 1 FROM master_tickets m WHERE m.id = r.ticket_id"
                             "  AND m.node = $2 AND m.owner_epoch = r.epoch + 1)",
                             3, p);
    if (n < 0)
        return -1;
    if (n == 0) {
        log_warnx("refused a decline of transfer '%s' from node '%s': not its to decline", id,
                  sender);
        return 0;
    }
    log_info("transfer '%s' declined by node '%s': the managers decide", id, sender);
    return store(db, id, "decline", sender, json_string_value(json_object_get(v, "body")),
                 json_string_value(json_object_get(v, "signature")), key);
}

/* An owner's progress answer goes to every other node that held the ticket. */
static int on_progress(const struct node *node, struct db *db, const char *sender, json_t *v)
{
    const char *ticket = json_string_value(json_object_get(v, "ticket"));
    if (ticket == NULL)
        return 0;
    const char *p[] = {ticket, sender};
    PGresult *res = db_query(db,
                             "SELECT n FROM (SELECT from_node AS n FROM routed_transfers"
                             "  WHERE ticket_id = $1 UNION SELECT to_node FROM routed_transfers"
                             "  WHERE ticket_id = $1) x"
                             " WHERE n <> $2 AND EXISTS (SELECT 1 FROM master_tickets"
                             "  WHERE id = $1 AND node = $2)",
                             2, p);
    int rc = res == NULL ? -1 : 0;
    for (int i = 0; rc == 0 && i < PQntuples(res); i++)
        rc = post(node, db, PQgetvalue(res, i, 0), "progress", json_incref(v));
    PQclear(res);
    return rc;
}

int router_apply(const struct node *node, struct db *db, const char *sender, const char *kind,
                 json_t *v)
{
    if (strcmp(kind, "progress") == 0)
        return on_progress(node, db, sender, v);

    char keys[2][SIGN_KEY_TEXT_LEN + 1];
    const char *text = json_string_value(json_object_get(v, "body")), *why = NULL, *key = NULL;
    json_t *peek = text != NULL ? json_loads(text, 0, NULL) : NULL;
    const char *what = json_string_value(json_object_get(peek, "kind"));
    char k[16];
    snprintf(k, sizeof(k), "%s", what != NULL ? what : "");
    json_decref(peek);
    int known = sign_keys_of(node, db, sender, keys);
    if (known < 0)
        return -1;
    /* Its key, or during a rotation's grace period the one it replaced;
     * the message is stored with the key that signed it. */
    json_t *b = NULL;
    for (int i = 0; b == NULL && i < known; i++)
        b = transfer_open(v, key = keys[i], k, &why);
    if (b != NULL && key != keys[0])
        log_info("a transfer message of node '%s' is signed with its previous key", sender);
    if (b == NULL) {
        log_warnx("refused a transfer message from node '%s': %s", sender,
                  known ? why : "its signing key is not known");
        return 0;
    }
    const char *signer =
        json_string_value(json_object_get(b, strcmp(k, "offer") == 0 ? "from" : "node"));
    int rc = 0;
    if (signer == NULL || strcmp(signer, sender) != 0)
        log_warnx("refused a transfer message from node '%s': it speaks for node '%s'", sender,
                  signer != NULL ? signer : "?");
    else if (strcmp(k, "offer") == 0)
        rc = on_offer(node, db, sender, v, b, key);
    else if (strcmp(k, "accept") == 0)
        rc = on_accept(node, db, sender, v, b, key);
    else if (strcmp(k, "decline") == 0)
        rc = on_decline(db, sender, v, b, key);
    else
        log_warnx("refused a transfer message from node '%s': a node cannot send '%s'", sender, k);
    json_decref(b);
    return rc;
}

enum router_result router_decide(const struct node *node, struct db *db, const char *id,
                                 const char *owner, const char *reason)
{
    const char *p[] = {id};

    if (db_begin(db) < 0)
        return ROUTER_FAILED;
    PGresult *res = db_query(db,
                             "SELECT r.ticket_id, r.from_node, r.to_node,"
                             /* Still the ticket's latest transfer: its owner is the one
                              * this transfer left it with. */
                             " CASE WHEN r.status = 'declined' AND m.node = r.to_node"
                             "  AND m.owner_epoch = r.epoch + 1 THEN 'waiting'"
                             "  WHEN r.status = 'offered' AND m.node = r.from_node"
                             "  AND m.owner_epoch = r.epoch THEN 'waiting' ELSE r.status END,"
                             " m.owner_epoch + 1,"
                             " (SELECT jsonb_agg(e.data ORDER BY e.seq) FROM master_events e"
                             "  WHERE e.ticket_id = r.ticket_id)::text"
                             " FROM routed_transfers r JOIN master_tickets m ON m.id = r.ticket_id"
                             " WHERE r.id = $1 FOR UPDATE OF r, m",
                             1, p);
    enum router_result rr = ROUTER_FAILED;
    if (res == NULL)
        goto out;
    if (PQntuples(res) != 1) {
        rr = ROUTER_NOT_FOUND;
        goto out;
    }
    const char *ticket = PQgetvalue(res, 0, 0), *from = PQgetvalue(res, 0, 1),
               *to = PQgetvalue(res, 0, 2);
    /* Declined, or offered to a node that has not answered (the province
     * decides timeouts too), and not overtaken by a later transfer. */
    const char *status = PQgetvalue(res, 0, 3);
    if (strcmp(status, "waiting") != 0) {
        rr = ROUTER_CONFLICT;
        goto out;
    }
    if (strcmp(owner, from) != 0 && strcmp(owner, to) != 0) {
        rr = ROUTER_INVALID;
        goto out;
    }
    const char *epoch = PQgetvalue(res, 0, 4);
    char at[CLOCK_RFC3339_LEN];
    const char *q[] = {id, owner, at};
    const char *m[] = {ticket, owner, epoch};
    clock_format(clock_now_us(), at);
    if (db_exec(db,
                "UPDATE routed_transfers SET status = 'decided', owner = $2, updated_at = $3"
                " WHERE id = $1",
                3, q) < 0 ||
        db_exec(db, "UPDATE master_tickets SET node = $2, owner_epoch = $3 WHERE id = $1", 3, m) <
            0 ||
        decide(node, db, id, ticket, from, to, owner, atoll(epoch), "decided", 1, reason,
               json_loads(PQgetvalue(res, 0, 5), 0, NULL)) < 0 ||
        db_commit(db) < 0)
        goto out;
    log_info("transfer '%s' decided: node '%s' handles ticket '%s'", id, owner, ticket);
    PQclear(res);
    return ROUTER_DONE;
out:
    PQclear(res);
    db_rollback(db);
    return rr;
}

#define ROUTED_JSON                                                                                \
    "jsonb_build_object('id', r.id, 'ticket', r.ticket_id, 'from', r.from_node,"                   \
    " 'to', r.to_node, 'epoch', r.epoch, 'reason', r.reason, 'status', r.status,"                  \
    " 'owner', r.owner, 'offered_at', r.offered_at, 'updated_at', r.updated_at)"

json_t *router_list(struct db *db, const char *status)
{
    const char *p[] = {status};
    PGresult *res = db_query(db,
                             "SELECT COALESCE(jsonb_agg(" ROUTED_JSON
                             " ORDER BY r.offered_at DESC, r.id), '[]')::text"
                             " FROM routed_transfers r WHERE $1::text IS NULL OR r.status = $1",
                             1, p);
    if (res == NULL)
        return NULL;
    json_t *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return out;
}

json_t *router_get(struct db *db, const char *id)
{
    const char *p[] = {id};
    PGresult *res = db_query(db,
                             "SELECT (" ROUTED_JSON " || jsonb_build_object('messages',"
                             " (SELECT COALESCE(jsonb_agg(jsonb_build_object('kind', m.kind,"
                             "  'signer', m.signer, 'body', m.body, 'signature', m.signature,"
                             "  'signer_key', m.signer_key) ORDER BY m.stored_at, m.kind), '[]')"
                             "  FROM transfer_messages m WHERE m.transfer_id = r.id)))::text"
                             " FROM routed_transfers r WHERE r.id = $1",
                             1, p);
    if (res == NULL)
        return NULL;
    json_t *out = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : json_null();
    PQclear(res);
    return out;
}
