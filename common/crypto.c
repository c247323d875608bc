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
#include <openssl/rand.h>
#include <stdio.h>
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
