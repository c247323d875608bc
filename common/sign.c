/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sign.c - Ed25519 through OpenSSL's one-shot EVP_DigestSign.
 *
 * Thread-safe: every call makes its own OpenSSL key object.
 */
#include "sign.h"

#include "crypto.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGN_FILE "sign.key"

static EVP_PKEY *private_key(const struct sign_key *k)
{
    return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, sizeof(k->seed));
}

int sign_key_create(const char *dir)
{
    return sign_key_create_named(dir, SIGN_FILE);
}

int sign_key_create_named(const char *dir, const char *name)
{
    char path[PATH_MAX], hex[CRYPTO_TOKEN_LEN + 2];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (crypto_token_new(hex) < 0) {
        log_warnx("cannot draw a random key");
        return -1;
    }
    strcat(hex, "\n");
    int rc = crypto_secret_write(path, hex, strlen(hex));
    OPENSSL_cleanse(hex, sizeof(hex));
    if (rc < 0 && errno != EEXIST) {
        log_warn("cannot write '%s'", path);
        return -1;
    }
    return 0;
}

int sign_key_load(const char *dir, struct sign_key *k)
{
    int rc = sign_key_load_named(dir, SIGN_FILE, k);

    if (rc == 0)
        log_warnx("'%s/%s' is missing", dir, SIGN_FILE);
    return rc == 1 ? 0 : -1;
}

int sign_key_load_named(const char *dir, const char *name, struct sign_key *k)
{
    char path[PATH_MAX], hex[CRYPTO_TOKEN_LEN + 8];
    uint8_t pub[32];
    size_t len, publen = sizeof(pub);
    int ok = 1;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (crypto_secret_read(path, hex, sizeof(hex), &len) < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == EPERM)
            log_warnx("'%s' has loose permissions: only its owner may read it (mode 0600)", path);
        else
            log_warn("cannot read '%s'", path);
        return -1;
    }
    for (size_t i = 0; ok && i < sizeof(k->seed); i++) {
        unsigned v = 0;
        ok = len >= CRYPTO_TOKEN_LEN && sscanf(hex + 2 * i, "%2x", &v) == 1;
        k->seed[i] = (uint8_t)v;
    }
    OPENSSL_cleanse(hex, sizeof(hex));
    EVP_PKEY *key = ok ? private_key(k) : NULL;
    ok = key != NULL && EVP_PKEY_get_raw_public_key(key, pub, &publen) == 1;
    EVP_PKEY_free(key);
    if (!ok) {
        log_warnx("'%s' does not hold a signing key", path);
        sign_key_wipe(k);
        return -1;
    }
    char *text = crypto_b64_encode(pub, sizeof(pub));
    if (text == NULL)
        return -1;
    snprintf(k->public_text, sizeof(k->public_text), "%s", text);
    free(text);
    return 1;
}

void sign_key_wipe(struct sign_key *k)
{
    OPENSSL_cleanse(k->seed, sizeof(k->seed));
}

int sign_text(const struct sign_key *k, const char *text, size_t len,
              char sig[SIGN_SIG_TEXT_LEN + 1])
{
    uint8_t raw[64];
    size_t rawlen = sizeof(raw);
    EVP_PKEY *key = private_key(k);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = key != NULL && ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(ctx, raw, &rawlen, (const uint8_t *)text, len) == 1;

    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    char *encoded = ok ? crypto_b64_encode(raw, rawlen) : NULL;
    if (encoded == NULL)
        return -1;
    snprintf(sig, SIGN_SIG_TEXT_LEN + 1, "%s", encoded);
    free(encoded);
    return 0;
}

int sign_verify(const char *public_text, const char *text, size_t len, const char *sig)
{
    size_t publen = 0, rawlen = 0;
    uint8_t *pub = public_text != NULL ? crypto_b64_decode(public_text, &publen) : NULL;
    uint8_t *raw = sig != NULL ? crypto_b64_decode(sig, &rawlen) : NULL;
    EVP_PKEY *key = pub != NULL && publen == 32
                        ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, publen)
                        : NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = key != NULL && ctx != NULL && raw != NULL && rawlen == 64 &&
             EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(ctx, raw, rawlen, (const uint8_t *)text, len) == 1;

    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    free(pub);
    free(raw);
    return ok;
}
