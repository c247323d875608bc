/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reseal.c - re-sealing personal data under the sealing key in use.
 *
 * Runs in the main thread of the `pii-reseal` command, a process of its
 * own beside the running daemon, on its own connection.  Each batch is one
 * short transaction: the rows are read FOR UPDATE SKIP LOCKED, opened with
 * the key their id names, sealed with the key in use (bound to the same
 * ticket) and written with that key's id, so the daemon's workers wait at
 * most one batch for a row, and a batch that fails leaves its rows as they
 * were.  A row is taken in order of its ticket id, after the last one seen,
 * so one that does not open is reported and passed, not tried for ever.
 */
#include "reseal.h"

#include "crypto.h"
#include "log.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* How many rows are sealed with another key than 'current'; -1 on error. */
static long long left(struct db *db, const char *current)
{
    const char *p[] = {current};
    PGresult *res = db_query(db, "SELECT count(*) FROM tickets WHERE pii_key_id <> $1", 1, p);
    long long n = res != NULL ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;

    PQclear(res);
    return n;
}

/* Seals one row again.  Returns 1 done, 0 if it does not open, -1 on error. */
static int reseal_row(struct db *db, const struct pii_keys *k, const char *id, const char *stored,
                      const char *key_id)
{
    size_t len, sealed_len;
    char new_id[PII_KEY_ID_LEN + 1];
    uint8_t *raw = crypto_b64_decode(stored, &len);
    char *plain = raw != NULL ? pii_open(k, key_id, id, raw, len) : NULL;
    uint8_t *sealed =
        plain != NULL ? pii_seal(k, id, plain, strlen(plain), &sealed_len, new_id) : NULL;
    char *text = sealed != NULL ? crypto_b64_encode(sealed, sealed_len) : NULL;
    int rc = plain == NULL ? 0 : -1;

    if (text != NULL) {
        const char *p[] = {id, text, new_id, key_id};
        rc = db_exec(db,
                     "UPDATE tickets SET citizen_pii = decode($2, 'base64'), pii_key_id = $3"
                     " WHERE id = $1 AND pii_key_id = $4",
                     4, p) < 0
                 ? -1
                 : 1;
    }
    if (plain != NULL)
        OPENSSL_cleanse(plain, strlen(plain));
    free(plain);
    free(raw);
    free(sealed);
    free(text);
    return rc;
}

int reseal_run(struct db *db, const struct pii_keys *k, long batch, long max_batches, FILE *out)
{
    const char *current = pii_seal_id(k);
    char after[64] = "", limit[24];
    long long total = left(db, current), done = 0, skipped = 0;
    long batches = 0;

    if (total < 0)
        return -1;
    fprintf(out, "%lld tickets sealed with another key than '%s'\n", total, current);
    snprintf(limit, sizeof(limit), "%ld", batch);
    for (;;) {
        if (max_batches > 0 && batches == max_batches)
            break;
        const char *p[] = {current, after, limit};
        if (db_begin(db) < 0)
            return -1;
        PGresult *res = db_query(db,
                                 "SELECT id, translate(encode(citizen_pii, 'base64'), E'\\n', ''),"
                                 " pii_key_id FROM tickets WHERE pii_key_id <> $1 AND id > $2"
                                 " ORDER BY id LIMIT $3::int FOR UPDATE SKIP LOCKED",
                                 3, p);
        int n = res != NULL ? PQntuples(res) : -1, rc = 0;
        for (int i = 0; i < n && rc >= 0; i++) {
            const char *id = PQgetvalue(res, i, 0), *key_id = PQgetvalue(res, i, 2);
            rc = reseal_row(db, k, id, PQgetvalue(res, i, 1), key_id);
            if (rc == 0) {
                skipped++;
                fprintf(out, "ticket %s does not open with key '%s'%s\n", id, key_id,
                        pii_key_held(k, key_id) ? "" : " (not held here)");
            }
            done += rc > 0;
            snprintf(after, sizeof(after), "%s", id);
        }
        PQclear(res);
        if (n < 0 || rc < 0 || db_commit(db) < 0) {
            db_rollback(db);
            return -1;
        }
        if (n == 0)
            break;
        batches++;
        fprintf(out, "resealed %lld of %lld\n", done, total);
        fflush(out);
    }
    long long remaining = left(db, current);
    if (remaining < 0)
        return -1;
    if (remaining == 0) {
        fprintf(out, "every ticket is sealed with key '%s'; %lld resealed\n", current, done);
        return 0;
    }
    fprintf(out, "%lld tickets still sealed with another key (%lld did not open); run again\n",
            remaining, skipped);
    return 1;
}
