/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pii.c - sealing, hashing and masking of personal data, through OpenSSL.
 *
 * Runs in HTTP workers (intake, reads) with keys loaded by the main thread
 * before any worker started; every call is thread-safe and keeps no state.
 */
#include "pii.h"

#include "crypto.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const key_files[] = {"pii.key", "phone.key"};

static int hex_decode(const char *hex, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

int pii_keys_create(const char *dir)
{
    for (size_t i = 0; i < sizeof(key_files) / sizeof(key_files[0]); i++) {
        char path[PATH_MAX], hex[CRYPTO_TOKEN_LEN + 2];
        snprintf(path, sizeof(path), "%s/%s", dir, key_files[i]);
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
    }
    return 0;
}

static int key_load(const char *dir, const char *name, uint8_t out[PII_KEY_LEN])
{
    char path[PATH_MAX], hex[CRYPTO_TOKEN_LEN + 8];
    size_t len;
    int rc = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (crypto_secret_read(path, hex, sizeof(hex), &len) < 0) {
        if (errno == EPERM)
            log_warnx("'%s' has loose permissions: only its owner may read it (mode 0600)", path);
        else
            log_warn("cannot read '%s'", path);
        return -1;
    }
    if (len >= CRYPTO_TOKEN_LEN && hex_decode(hex, out, PII_KEY_LEN) == 0)
        rc = 0;
    else
        log_warnx("'%s' does not hold a key", path);
    OPENSSL_cleanse(hex, sizeof(hex));
    return rc;
}

int pii_keys_load(const char *dir, struct pii_keys *k)
{
    if (key_load(dir, key_files[0], k->seal) < 0 || key_load(dir, key_files[1], k->phone) < 0) {
        pii_keys_wipe(k);
        return -1;
    }
    crypto_fingerprint(k->seal, k->seal_id);
    return 0;
}

void pii_keys_wipe(struct pii_keys *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

uint8_t *pii_seal(const struct pii_keys *k, const char *aad, const char *plain, size_t len,
                  size_t *outlen)
{
    return crypto_seal(k->seal, aad, plain, len, outlen);
}

char *pii_open(const struct pii_keys *k, const char *aad, const uint8_t *in, size_t len)
{
    return crypto_open(k->seal, aad, in, len);
}

void pii_phone_hash(const struct pii_keys *k, const char *phone, char out[PII_HASH_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t mac[32];
    unsigned int len = 0;

    HMAC(EVP_sha256(), k->phone, PII_KEY_LEN, (const uint8_t *)phone, strlen(phone), mac, &len);
    for (size_t i = 0; i < sizeof(mac); i++) {
        out[2 * i] = digits[mac[i] >> 4];
        out[2 * i + 1] = digits[mac[i] & 0xf];
    }
    out[PII_HASH_LEN] = '\0';
}

/* Length of the UTF-8 character starting with byte 'c'. */
static size_t utf8_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

void pii_mask_phone(const char *phone, char *out, size_t cap)
{
    size_t len = strlen(phone);

    if (len < 8)
        snprintf(out, cap, "***");
    else
        snprintf(out, cap, "%.3s****%s", phone, phone + len - 4);
}

void pii_mask_name(const char *name, char *out, size_t cap)
{
    size_t first = name[0] != '\0' ? utf8_len((unsigned char)name[0]) : 0;
    size_t used = (size_t)snprintf(out, cap, "%.*s", (int)first, name);

    for (const char *p = name + first; *p != '\0' && used + 1 < cap;
         p += utf8_len((unsigned char)*p))
        out[used++] = '*';
    out[used < cap ? used : cap - 1] = '\0';
}

void pii_mask_id(const char *id, char *out, size_t cap)
{
    size_t len = strlen(id);

    if (len < 6)
        snprintf(out, cap, "***");
    else
        snprintf(out, cap, "%.3s%.*s%s", id, (int)(len - 5), "******************************",
                 id + len - 2);
}
