/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.c - create and load the node's CURVE key pair.
 *
 * Runs in the main thread: `init` creates the pair, the daemon loads it
 * before starting the link thread.  A secret file with loose permissions
 * stops the daemon at start-up.
 */
#include "keys.h"

#include "log.h"

#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#define SECRET_FILE "node.key"
#define PUBLIC_FILE "node.pub"

static int path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int keys_create(const char *dir)
{
    return keys_create_named(dir, SECRET_FILE, PUBLIC_FILE);
}

int keys_create_named(const char *dir, const char *secret, const char *public)
{
    char secret_path[PATH_MAX], public_path[PATH_MAX];
    char pub[CURVE_KEY_Z85_LEN + 2], sec[CURVE_KEY_Z85_LEN + 2];
    struct stat st;

    if (path_join(secret_path, sizeof(secret_path), dir, secret) < 0 ||
        path_join(public_path, sizeof(public_path), dir, public) < 0) {
        log_warnx("data folder path too long");
        return -1;
    }
    if (stat(secret_path, &st) == 0)
        return 0;
    if (zmq_curve_keypair(pub, sec) != 0) {
        log_warnx("cannot create a curve key pair: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    strcat(pub, "\n");
    strcat(sec, "\n");
    /* The public file first: a secret file on disk always has its public
     * one, whenever a crash comes (a missing secret is made again). */
    FILE *f = fopen(public_path, "w");
    int written = f != NULL && fputs(pub, f) != EOF;
    if (f == NULL || fclose(f) == EOF || !written) {
        log_warn("cannot write '%s'", public_path);
        OPENSSL_cleanse(sec, sizeof(sec));
        return -1;
    }
    int rc = crypto_secret_write(secret_path, sec, strlen(sec));
    OPENSSL_cleanse(sec, sizeof(sec));
    if (rc < 0) {
        log_warn("cannot write '%s'", secret_path);
        return -1;
    }
    return 1;
}

int keys_load(const char *dir, struct keys *k)
{
    int rc = keys_load_named(dir, SECRET_FILE, k);

    if (rc == 0)
        log_warnx("'%s/%s' is missing; run 'init' first", dir, SECRET_FILE);
    return rc == 1 ? 0 : -1;
}

int keys_load_named(const char *dir, const char *secret, struct keys *k)
{
    char path[PATH_MAX], buf[128];
    size_t len;

    if (path_join(path, sizeof(path), dir, secret) < 0) {
        log_warnx("data folder path too long");
        return -1;
    }
    if (crypto_secret_read(path, buf, sizeof(buf), &len) < 0) {
        if (errno == ENOENT)
            return 0;
        if (errno == EPERM)
            log_warnx("'%s' has loose permissions: only its owner may read it (mode 0600)", path);
        else
            log_warn("cannot read '%s'", path);
        return -1;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    uint8_t raw[32];
    if (keys_decode(buf, raw) < 0 || zmq_curve_public(k->public_z85, buf) != 0) {
        log_warnx("'%s' does not hold a curve secret key", path);
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    memcpy(k->secret_z85, buf, CURVE_KEY_Z85_LEN + 1);
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(raw, sizeof(raw));
    keys_fingerprint(k->public_z85, k->fingerprint);
    return 1;
}

int keys_z85_valid(const char *s)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   ".-:+=^!/*?&<>()[]{}@%$#";

    return strlen(s) == CURVE_KEY_Z85_LEN && strspn(s, alphabet) == CURVE_KEY_Z85_LEN;
}

int keys_decode(const char *z85, uint8_t out[32])
{
    if (!keys_z85_valid(z85))
        return -1;
    return zmq_z85_decode(out, z85) == NULL ? -1 : 0;
}

void keys_fingerprint(const char *z85, char out[CRYPTO_FINGERPRINT_LEN + 1])
{
    uint8_t raw[32];

    if (keys_decode(z85, raw) < 0) {
        snprintf(out, CRYPTO_FINGERPRINT_LEN + 1, "invalid");
        return;
    }
    crypto_fingerprint(raw, out);
}

void keys_wipe(struct keys *k)
{
    OPENSSL_cleanse(k->secret_z85, sizeof(k->secret_z85));
}
