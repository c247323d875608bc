/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transit.h - personal data on its way between two nodes, for a transfer
 * or an overflow: sealed with AES-256-GCM under a key the two nodes share
 * without ever sending it, X25519 of one's CURVE secret key with the
 * other's CURVE public key, through HKDF-SHA256.  The province opens what a
 * city sealed for it and seals it again for the receiving city; nothing in
 * clear crosses a link or rests in an outbox.
 */
#ifndef HOTLINE_TRANSIT_H
#define HOTLINE_TRANSIT_H

#include "crypto.h"
#include "keys.h"

#include <stddef.h>
#include <stdint.h>

/* Derives the key 'own' shares with the node whose CURVE public key is
 * 'peer_z85'.  Returns 0, or -1 if a key is malformed. */
int transit_key(const struct keys *own, const char *peer_z85, uint8_t out[CRYPTO_KEY_LEN]);

/* Seals 'plain' for the ticket 'id' as base64 text (free with free()), or NULL. */
char *transit_seal(const uint8_t key[CRYPTO_KEY_LEN], const char *id, const char *plain);

/* Opens what transit_seal made for the same ticket.  Returns the plain
 * text (free with free()), or NULL if it is not that. */
char *transit_open(const uint8_t key[CRYPTO_KEY_LEN], const char *id, const char *sealed);

#endif
