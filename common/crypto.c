/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crypto.c - the project's use of OpenSSL, kept in one place.
 *
 * Called from the main thread (init, start-up) and from HTTP workers (token
 * checks); every function is thread-safe and keeps no state.
 */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}

int crypto_random(void *buf, size_t len)
{
    return len > 0 && len <= 0x7fffffff && RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

int crypto_token_new(char out[CRYPTO_TOKEN_LEN + 1])
{
    uint8_t raw[CRYPTO_TOKEN_LEN / 2];

    if (crypto_random(raw, sizeof(raw)) < 0)
        return -1;
    hex(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN + 1])
{
    uint8_t digest[32];
    unsigned int dlen = 0;

    EVP_Digest(data, len, digest, &dlen, EVP_sha256(), NULL);
    hex(digest, sizeof(digest), out);
}

void crypto_fingerprint(const uint8_t key[32], char out[CRYPTO_FINGERPRINT_LEN + 1])
{
    uint8_t digest[32];
    unsigned int dlen = 0;

    EVP_Digest(key, 32, digest, &dlen, EVP_sha256(), NULL);
    hex(digest, CRYPTO_FINGERPRINT_LEN / 2, out);
}

int crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

int crypto_secret_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const char *p = data;

    if (fd < 0)
        return -1;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0)
        goto fail;
    return close(fd);

fail : {
    int saved = errno;
    close(fd);
    unlink(path);
    errno = saved;
    return -1;
}
}

int crypto_secret_read(const char *path, char *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    size_t got = 0;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        goto fail;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        errno = EPERM;
        goto fail;
    }
    if ((uint64_t)st.st_size >= cap) {
        errno = EFBIG;
        goto fail;
    }
    while (got + 1 < cap) {
        ssize_t n = read(fd, buf + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto fail;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return 0;

fail : {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}
}

#define NONCE_LEN 12
#define TAG_LEN   16

uint8_t *crypto_seal(const uint8_t key[CRYPTO_KEY_LEN], const char *aad, const char *plain,
                     size_t len, size_t *outlen)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t *out = malloc(NONCE_LEN + len + TAG_LEN);
    int n, ok = ctx != NULL && out != NULL && len <= INT_MAX && crypto_random(out, NONCE_LEN) == 0;

    ok = ok && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) == 1 &&
         EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
         EVP_EncryptUpdate(ctx, out + NONCE_LEN, &n, (const uint8_t *)plain, (int)len) == 1 &&
         EVP_EncryptFinal_ex(ctx, out + NONCE_LEN + n, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + NONCE_LEN + len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(out);
        return NULL;
    }
    *outlen = NONCE_LEN + len + TAG_LEN;
    return out;
}

char *crypto_open(const uint8_t key[CRYPTO_KEY_LEN], const char *aad, const uint8_t *in, size_t len)
{
    if (len < NONCE_LEN + TAG_LEN || len - NONCE_LEN - TAG_LEN > INT_MAX)
        return NULL;
    size_t plen = len - NONCE_LEN - TAG_LEN;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    char *out = malloc(plen + 1);
    int n;
    int ok = ctx != NULL && out != NULL &&
             EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, in) == 1 &&
             EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
             EVP_DecryptUpdate(ctx, (uint8_t *)out, &n, in + NONCE_LEN, (int)plen) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                 (void *)(in + NONCE_LEN + plen)) == 1 &&
             EVP_DecryptFinal_ex(ctx, (uint8_t *)out + n, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        /* What was decrypted before the tag failed is not to be trusted or kept. */
        if (out != NULL)
            OPENSSL_cleanse(out, plen);
        free(out);
        return NULL;
    }
    out[plen] = '\0';
    return out;
}

char *crypto_b64_encode(const uint8_t *in, size_t len)
{
    char *out = len <= INT_MAX / 2 ? malloc(4 * ((len + 2) / 3) + 1) : NULL;

    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

uint8_t *crypto_b64_decode(const char *in, size_t *len)
{
    size_t n = strlen(in), pad = 0;

    if (n % 4 != 0 || n > INT_MAX)
        return NULL;
    while (pad < 2 && pad < n && in[n - 1 - pad] == '=')
        pad++;
    uint8_t *out = malloc(n / 4 * 3 + 1);
    int got = out != NULL ? EVP_DecodeBlock(out, (const unsigned char *)in, (int)n) : -1;
    if (got < 0 || (size_t)got < pad) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as bytes. */
    *len = (size_t)got - pad;
    return out;
}
