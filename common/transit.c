/* SPDX-License-Identifier: Apache-2.0 */
/*
 * transit.c - X25519 and HKDF through OpenSSL; sealing through crypto.c.
 */
#include "transit.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdlib.h>
#include <string.h>

static const char info[] = "12345 federation transit v1";

static int hkdf(const uint8_t *secret, size_t len, uint8_t out[CRYPTO_KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof(info) - 1),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx != NULL && EVP_KDF_derive(ctx, out, CRYPTO_KEY_LEN, params) == 1;

    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

int transit_key(const struct keys *own, const char *peer_z85, uint8_t out[CRYPTO_KEY_LEN])
{
    uint8_t secret[32], peer[32], shared[32];
    size_t len = sizeof(shared);

    if (keys_decode(own->secret_z85, secret) < 0 || keys_decode(peer_z85, peer) < 0)
        return -1;
    EVP_PKEY *mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, sizeof(secret));
    EVP_PKEY *theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, sizeof(peer));
    EVP_PKEY_CTX *ctx = mine != NULL ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
    int ok = ctx != NULL && theirs != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_derive_set_peer(ctx, theirs) == 1 &&
             EVP_PKEY_derive(ctx, shared, &len) == 1 && hkdf(shared, len, out) == 0;

    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(mine);
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(shared, sizeof(shared));
    return ok ? 0 : -1;
}

char *transit_seal(const uint8_t key[CRYPTO_KEY_LEN], const char *id, const char *plain)
{
    size_t len;
    uint8_t *sealed = crypto_seal(key, id, plain, strlen(plain), &len);
    char *text = sealed != NULL ? crypto_b64_encode(sealed, len) : NULL;

    free(sealed);
    return text;
}

char *transit_open(const uint8_t key[CRYPTO_KEY_LEN], const char *id, const char *sealed)
{
    size_t len;
    uint8_t *raw = crypto_b64_decode(sealed, &len);
    char *plain = raw != NULL ? crypto_open(key, id, raw, len) : NULL;

    free(raw);
    return plain;
}
