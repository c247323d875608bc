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
 * match across nodes).  They are read once at start and never change.
 */
#ifndef HOTLINE_PII_H
#define HOTLINE_PII_H

#include <stddef.h>
#include <stdint.h>

#define PII_KEY_LEN    32
#define PII_KEY_ID_LEN 16
#define PII_HASH_LEN   64

struct pii_keys {
    uint8_t seal[PII_KEY_LEN];
    char seal_id[PII_KEY_ID_LEN + 1]; /* fingerprint of the sealing key */
    uint8_t phone[PII_KEY_LEN];
};

/* Creates the missing key files in 'dir'.  Returns 0, or -1 (logged). */
int pii_keys_create(const char *dir);

/* Loads both keys from 'dir', refusing loose permissions.  Returns 0 or -1 (logged). */
int pii_keys_load(const char *dir, struct pii_keys *k);

/* Overwrites the keys in memory. */
void pii_keys_wipe(struct pii_keys *k);

/*
 * Seals 'len' bytes of 'plain' for the ticket 'aad' into a new buffer
 * (nonce, ciphertext, tag) and stores its size in '*outlen'.  Returns the
 * buffer (free with free()), or NULL.
 */
uint8_t *pii_seal(const struct pii_keys *k, const char *aad, const char *plain, size_t len,
                  size_t *outlen);

/*
 * Opens what pii_seal made for the same 'aad'.  Returns the plain text with
 * a NUL (free with free()), or NULL if it was altered, moved to another
 * ticket or sealed with another key.
 */
char *pii_open(const struct pii_keys *k, const char *aad, const uint8_t *in, size_t len);

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
