/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.h - a node's Ed25519 signing key, for the messages that are
 * evidence: transfers, declines and ownership decisions (CURVE itself is
 * repudiable).  The seed lives in sign.key in the node's data folder, mode
 * 0600; peers learn the public key over their authenticated session.
 * Keys and signatures travel and are stored as base64 text.
 */
#ifndef HOTLINE_SIGN_H
#define HOTLINE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define SIGN_KEY_TEXT_LEN 44 /* base64 of 32 bytes */
#define SIGN_SIG_TEXT_LEN 88 /* base64 of 64 bytes */

struct sign_key {
    uint8_t seed[32];
    char public_text[SIGN_KEY_TEXT_LEN + 1];
};

/* Creates sign.key in 'dir' unless it exists.  Returns 0, or -1 (logged). */
int sign_key_create(const char *dir);

/* sign_key_create() under another file name 'name' in 'dir'. */
int sign_key_create_named(const char *dir, const char *name);

/* Loads sign.key from 'dir', refusing loose permissions.  Returns 0 or -1 (logged). */
int sign_key_load(const char *dir, struct sign_key *k);

/*
 * Loads the key in the file 'name' in 'dir', if there is one.  Returns 1
 * loaded, 0 if there is no such file, -1 on any other error (logged).
 */
int sign_key_load_named(const char *dir, const char *name, struct sign_key *k);

/* Overwrites the seed in memory. */
void sign_key_wipe(struct sign_key *k);

/* Signs 'len' bytes of 'text' into 'sig'.  Returns 0 or -1. */
int sign_text(const struct sign_key *k, const char *text, size_t len,
              char sig[SIGN_SIG_TEXT_LEN + 1]);

/* Is 'sig' a signature of 'text' by the key 'public_text'?  Returns 1 or 0;
 * malformed keys or signatures are 0. */
int sign_verify(const char *public_text, const char *text, size_t len, const char *sig);

#endif
