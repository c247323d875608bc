/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.h - OpenSSL behind a handful of calls: random bytes and tokens,
 * SHA-256, constant-time comparison, and secret files.
 *
 * Secret files (keys, tokens) are written with mode 0600 and refused when
 * anyone but the owner may read them: a key another user could have copied
 * is no longer a key.
 */
#ifndef HOTLINE_CRYPTO_H
#define HOTLINE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* A bearer token: 256 random bits as 64 lower-case hex digits. */
#define CRYPTO_TOKEN_LEN      64
#define CRYPTO_SHA256_HEX_LEN 64
/* Key fingerprint: the first 8 bytes of SHA-256 of the raw key, in hex. */
#define CRYPTO_FINGERPRINT_LEN 16

/* Fills 'buf' with 'len' bytes from the system's CSPRNG.  Returns 0 or -1. */
int crypto_random(void *buf, size_t len);

/* Writes a new token and its NUL into 'out'.  Returns 0 or -1. */
int crypto_token_new(char out[CRYPTO_TOKEN_LEN + 1]);

/* Writes the SHA-256 of 'data' as hex and a NUL into 'out'. */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN + 1]);

/* Writes the fingerprint of a 32-byte key and a NUL into 'out'. */
void crypto_fingerprint(const uint8_t key[32], char out[CRYPTO_FINGERPRINT_LEN + 1]);

/* Compares 'n' bytes in time independent of their content.  Returns 1 if equal. */
int crypto_equal(const void *a, const void *b, size_t n);

/*
 * Creates 'path' with mode 0600 holding 'len' bytes of 'data', and syncs it.
 * Fails if the file exists.  Returns 0, or -1 with errno set.
 */
int crypto_secret_write(const char *path, const void *data, size_t len);

/*
 * Reads the secret file at 'path' into 'buf' (at most 'cap' - 1 bytes, then
 * a NUL), and stores its length in '*len'.  Refuses (-1, errno EPERM) a file
 * that is not a regular file or that its group or others may read or write;
 * EFBIG when it does not fit.  Returns 0, or -1 with errno set.
 */
int crypto_secret_read(const char *path, char *buf, size_t cap, size_t *len);

#define CRYPTO_KEY_LEN 32

/*
 * Seals 'len' bytes of 'plain' with AES-256-GCM under 'key', bound to the
 * text 'aad', into a new buffer (nonce, ciphertext, tag) and stores its size
 * in '*outlen'.  Returns the buffer (free with free()), or NULL.
 */
uint8_t *crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const char *aad, const char *plain,
                     size_t len, size_t *outlen);

/*
 * Opens what crypto_seal made with the same key and 'aad'.  Returns the
 * plain text with a NUL (free with free()), or NULL if it was altered.
 */
char *crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const char *aad, const uint8_t *in,
                  size_t len);

/* Base64 of 'len' bytes, with a NUL (free with free()), or NULL. */
char *crypto_b64_encode(const uint8_t *in, size_t len);

/* Decodes base64 text into a new buffer and stores its size in '*len'.
 * Returns the buffer (free with free()), or NULL if 'in' is not base64. */
uint8_t *crypto_b64_decode(const char *in, size_t *len);

#endif
