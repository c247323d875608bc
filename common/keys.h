/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.h - a node's long-term CURVE key pair, kept in its data folder:
 * node.key (the secret, mode 0600) and node.pub (the public key, for
 * registering the node with its peers).  Both hold one Z85 line.
 */
#ifndef HOTLINE_KEYS_H
#define HOTLINE_KEYS_H

#include "crypto.h"

#include <stdint.h>

#define CURVE_KEY_Z85_LEN 40

struct keys {
    char public_z85[CURVE_KEY_Z85_LEN + 1];
    char secret_z85[CURVE_KEY_Z85_LEN + 1];
    char fingerprint[CRYPTO_FINGERPRINT_LEN + 1];
};

/*
 * Creates the key pair in 'dir' unless node.key exists.  Returns 1 if it
 * created one, 0 if one was there, -1 on error (logged).
 */
int keys_create(const char *dir);

/*
 * keys_create() under other names: the secret file 'secret' and the public
 * file 'public' in 'dir' (a pair made ready to replace the one in use).
 */
int keys_create_named(const char *dir, const char *secret, const char *public);

/*
 * Loads the key pair from 'dir' into 'k', refusing a secret file others can
 * read.  Returns 0, or -1 with the reason logged.
 */
int keys_load(const char *dir, struct keys *k);

/*
 * Loads the pair whose secret is the file 'secret' in 'dir', if there is
 * one.  Returns 1 loaded, 0 if there is no such file, -1 on any other
 * error (logged: loose permissions, not a key).
 */
int keys_load_named(const char *dir, const char *secret, struct keys *k);

/* Returns 1 if 's' is 40 characters of the Z85 alphabet, else 0. */
int keys_z85_valid(const char *s);

/* Decodes a Z85 public key into 32 bytes.  Returns 0, or -1 if malformed. */
int keys_decode(const char *z85, uint8_t out[32]);

/* Writes the fingerprint of a Z85 key; "invalid" if it does not decode. */
void keys_fingerprint(const char *z85, char out[CRYPTO_FINGERPRINT_LEN + 1]);

/* Overwrites the secret half of 'k'. */
void keys_wipe(struct keys *k);

#endif
