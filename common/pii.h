/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pii.h - personal data at rest: the citizen's name, phone, ID number and
 * contact are sealed with AES-256-GCM, bound to their ticket; the phone is
 * also kept as an HMAC-SHA256, so repeats and restrictions can match a
 * caller without anyone reading the number.  Masks for those who may not
 * see the clear values.
 *
 * The keys live in the node's data folder, mode 0600: pii.key (sealing) and
 * phone.key (hashing; the same in every node of the province, so hashes
 * match across nodes, and never replaced).  A sealing key is known by its
 * id, the fingerprint stored with every row it sealed.  When it is
 * replaced (README "Key rotation") `pii-rotate` makes pii.next.key ready;
 * the switch (SIGHUP) keeps pii.key as pii.<id>.key, retired, and puts the
 * new one in its place.  New rows are sealed with pii.key; a row opens with
 * the key its id names, pii.key or a retired one, until `pii-reseal` has
 * sealed it again with pii.key.  The main thread loads the keys before any
 * worker starts and adds a switched key to a slot nobody reads yet before
 * publishing it, so workers read them without a lock.
 */
#ifndef HOTLINE_PII_H
#define HOTLINE_PII_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PII_KEY_LEN    32
#define PII_KEY_ID_LEN 16
#define PII_HASH_LEN   64
#define PII_SLOTS      8 /* sealing keys one process may hold */

struct pii_seal_key {
    uint8_t key[PII_KEY_LEN];
    char id[PII_KEY_ID_LEN + 1]; /* fingerprint of the key */
};

struct pii_keys {
    struct pii_seal_key seal[PII_SLOTS];
    atomic_int nseal;   /* slots filled, from 0 */
    atomic_int seal_at; /* the slot of pii.key */
    uint8_t phone[PII_KEY_LEN];
};

/* Creates the missing key files in 'dir'.  Returns 0, or -1 (logged). */
int pii_keys_create(const char *dir);

/*
 * Loads pii.key, every retired sealing key and phone.key from 'dir',
 * refusing loose permissions and a retired key whose file name is not its
 * id.  Returns 0 or -1 (logged).
 */
int pii_keys_load(const char *dir, struct pii_keys *k);

/* Overwrites the keys in memory. */
void pii_keys_wipe(struct pii_keys *k);

/* The id of the sealing key new rows get. */
const char *pii_seal_id(const struct pii_keys *k);

/* Is a sealing key of id 'id' held?  Returns 1 or 0. */
int pii_key_held(const struct pii_keys *k, const char *id);

/*
 * Makes a new sealing key ready in 'dir' (pii.next.key) unless one is, and
 * writes its id.  Returns 1 made, 0 ready already, -1 on error (logged).
 */
int pii_key_stage(const char *dir, char id[PII_KEY_ID_LEN + 1]);

/*
 * Switches to the sealing key made ready in 'dir': pii.key is retired as
 * pii.<id>.key and the ready one takes its place, on disk, then in 'k'.
 * Returns 1 switched, 0 if none was ready, -1 on error (logged; the key in
 * use stays in use).
 */
int pii_keys_switch(struct pii_keys *k, const char *dir);

/*
 * Seals 'len' bytes of 'plain' for the ticket 'aad' with the key in use
 * into a new buffer (nonce, ciphertext, tag), stores its size in '*outlen'
 * and the id of the key in 'key_id': the id to store with the row, read
 * with the key (a switch may come at any moment).  Returns the buffer
 * (free with free()), or NULL.
 */
uint8_t *pii_seal(const struct pii_keys *k, const char *aad, const char *plain, size_t len,
                  size_t *outlen, char key_id[PII_KEY_ID_LEN + 1]);

/* A citizen's personal data, as a ticket holds it sealed. */
struct pii_citizen {
    const char *name, *phone;
    const char *id_number, *contact; /* may be NULL */
};

/*
 * Seals citizen 'c' for ticket 'aad' as one record, as pii_seal does; the
 * clear text made on the way is wiped.  Returns the buffer or NULL.
 */
uint8_t *pii_seal_citizen(const struct pii_keys *k, const char *aad, const struct pii_citizen *c,
                          size_t *outlen, char key_id[PII_KEY_ID_LEN + 1]);

/*
 * Opens what pii_seal made for the same 'aad' with the key of id 'key_id'
 * (the key in use when NULL).  Returns the plain text with a NUL (free with
 * free()), or NULL if it was altered, moved to another ticket, or its key
 * is not held.
 */
char *pii_open(const struct pii_keys *k, const char *key_id, const char *aad, const uint8_t *in,
               size_t len);

/* Writes the keyed hash of a phone number as hex and a NUL. */
void pii_phone_hash(const struct pii_keys *k, const char *phone, char out[PII_HASH_LEN + 1]);

/*
 * Masks for readers who may not see personal data, written into 'out' of
 * 'cap' bytes: a phone keeps its first 3 and last 4 digits (138****8000);
 * a name its first character (张**); an ID number its first 3 and last 2
 * characters; anything else becomes "***".
 */
void pii_mask_phone(const char *phone, char *out, size_t cap);
void pii_mask_name(const char *name, char *out, size_t cap);
void pii_mask_id(const char *id, char *out, size_t cap);

#endif
