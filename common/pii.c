/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pii.c - sealing, hashing and masking of personal data, through OpenSSL.
 *
 * Runs in HTTP workers (intake, reads) and the link thread with keys loaded
 * by the main thread before any of them started; the main thread alone
 * adds a key (pii_keys_switch, on SIGHUP) and the `pii-rotate` and
 * `pii-reseal` commands use the same files.  Every other call is
 * thread-safe and keeps no state.
 */
#include "pii.h"

#include "crypto.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const key_files[] = {"pii.key", "phone.key"};

#define NEXT_FILE "pii.next.key"

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

/* Reads the key in file 'name' of 'dir'.  Returns 1, 0 if there is no such
 * file and 'optional' is set, -1 otherwise (logged). */
static int key_read(const char *dir, const char *name, int optional, uint8_t out[PII_KEY_LEN])
{
    char path[PATH_MAX], hex[CRYPTO_TOKEN_LEN + 8];
    size_t len;
    int rc = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (crypto_secret_read(path, hex, sizeof(hex), &len) < 0) {
        if (optional && errno == ENOENT)
            return 0;
        if (errno == EPERM)
            log_warnx("'%s' has loose permissions: only its owner may read it (mode 0600)", path);
        else
            log_warn("cannot read '%s'", path);
        return -1;
    }
    if (len >= CRYPTO_TOKEN_LEN && hex_decode(hex, out, PII_KEY_LEN) == 0)
        rc = 1;
    else
        log_warnx("'%s' does not hold a key", path);
    OPENSSL_cleanse(hex, sizeof(hex));
    return rc;
}

/* Puts a sealing key in a free slot, or finds it held.  Returns its slot,
 * or -1 (logged) when every slot is taken. */
static int slot_add(struct pii_keys *k, const uint8_t key[PII_KEY_LEN])
{
    char id[PII_KEY_ID_LEN + 1];
    int n = atomic_load(&k->nseal);

    crypto_fingerprint(key, id);
    for (int i = 0; i < n; i++)
        if (strcmp(k->seal[i].id, id) == 0)
            return i;
    if (n == PII_SLOTS) {
        log_warnx("this process holds %d sealing keys already; restart it", n);
        return -1;
    }
    memcpy(k->seal[n].key, key, PII_KEY_LEN);
    memcpy(k->seal[n].id, id, sizeof(id));
    atomic_store(&k->nseal, n + 1);
    return n;
}

/* Is 'name' the file of a retired sealing key, pii.<id>.key?  Writes the id. */
static int retired_name(const char *name, char id[PII_KEY_ID_LEN + 1])
{
    size_t len = strlen(name);

    if (len != 4 + PII_KEY_ID_LEN + 4 || strncmp(name, "pii.", 4) != 0 ||
        strcmp(name + len - 4, ".key") != 0 ||
        strspn(name + 4, "0123456789abcdef") != PII_KEY_ID_LEN)
        return 0;
    snprintf(id, PII_KEY_ID_LEN + 1, "%.*s", PII_KEY_ID_LEN, name + 4);
    return 1;
}

/* Loads every retired key of 'dir' into free slots.  Returns 0 or -1 (logged). */
static int retired_load(const char *dir, struct pii_keys *k)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = 0;

    if (d == NULL) {
        log_warn("cannot read the folder '%s'", dir);
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        char id[PII_KEY_ID_LEN + 1], got[PII_KEY_ID_LEN + 1];
        uint8_t key[PII_KEY_LEN];
        if (!retired_name(e->d_name, id))
            continue;
        if (key_read(dir, e->d_name, 0, key) < 0) {
            rc = -1;
        } else {
            crypto_fingerprint(key, got);
            if (strcmp(got, id) != 0) {
                log_warnx("'%s/%s' holds another key than its name says", dir, e->d_name);
                rc = -1;
            } else if (slot_add(k, key) < 0) {
                rc = -1;
            }
        }
        OPENSSL_cleanse(key, sizeof(key));
    }
    closedir(d);
    return rc;
}

int pii_keys_load(const char *dir, struct pii_keys *k)
{
    uint8_t seal[PII_KEY_LEN];

    atomic_store(&k->nseal, 0);
    atomic_store(&k->seal_at, 0);
    int rc = key_read(dir, key_files[0], 0, seal) < 0 || slot_add(k, seal) < 0 ||
                     retired_load(dir, k) < 0 || key_read(dir, key_files[1], 0, k->phone) < 0
                 ? -1
                 : 0;
    OPENSSL_cleanse(seal, sizeof(seal));
    if (rc < 0)
        pii_keys_wipe(k);
    return rc;
}

void pii_keys_wipe(struct pii_keys *k)
{
    OPENSSL_cleanse(k->seal, sizeof(k->seal));
    OPENSSL_cleanse(k->phone, sizeof(k->phone));
}

const char *pii_seal_id(const struct pii_keys *k)
{
    return k->seal[atomic_load(&k->seal_at)].id;
}

/* The slot of the key of id 'id', or -1. */
static int slot_of(const struct pii_keys *k, const char *id)
{
    int n = atomic_load(&k->nseal);

    for (int i = 0; i < n; i++)
        if (strcmp(k->seal[i].id, id) == 0)
            return i;
    return -1;
}

int pii_key_held(const struct pii_keys *k, const char *id)
{
    return slot_of(k, id) >= 0;
}

int pii_key_stage(const char *dir, char id[PII_KEY_ID_LEN + 1])
{
    char path[PATH_MAX], hex[CRYPTO_TOKEN_LEN + 2];
    uint8_t key[PII_KEY_LEN];
    int made = 1;

    snprintf(path, sizeof(path), "%s/%s", dir, NEXT_FILE);
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
    if (rc < 0)
        made = 0;
    if (key_read(dir, NEXT_FILE, 0, key) < 0)
        return -1;
    crypto_fingerprint(key, id);
    OPENSSL_cleanse(key, sizeof(key));
    return made;
}

int pii_keys_switch(struct pii_keys *k, const char *dir)
{
    char cur[PATH_MAX], next[PATH_MAX], old[PATH_MAX];
    uint8_t key[PII_KEY_LEN];
    int rc = key_read(dir, NEXT_FILE, 1, key), slot;

    if (rc <= 0)
        return rc;
    rc = -1;
    /* Room first: nothing may fail once the files moved. */
    if ((slot = slot_add(k, key)) < 0)
        goto out;
    snprintf(cur, sizeof(cur), "%s/%s", dir, key_files[0]);
    snprintf(next, sizeof(next), "%s/%s", dir, NEXT_FILE);
    snprintf(old, sizeof(old), "%s/pii.%s.key", dir, pii_seal_id(k));
    /* Kept under its id before the new key takes its name: a crash
     * in between leaves both on disk. */
    if ((link(cur, old) < 0 && errno != EEXIST) || rename(next, cur) < 0) {
        log_warn("cannot put '%s' in place of '%s'", next, cur);
        goto out;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    atomic_store(&k->seal_at, slot);
    log_info("personal data is sealed with key '%s' from now on", pii_seal_id(k));
    rc = 1;
out:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

uint8_t *pii_seal(const struct pii_keys *k, const char *aad, const char *plain, size_t len,
                  size_t *outlen, char key_id[PII_KEY_ID_LEN + 1])
{
    int slot = atomic_load(&k->seal_at);

    memcpy(key_id, k->seal[slot].id, PII_KEY_ID_LEN + 1);
    return crypto_seal(k->seal[slot].key, aad, plain, len, outlen);
}

uint8_t *pii_seal_citizen(const struct pii_keys *k, const char *aad, const struct pii_citizen *c,
                          size_t *outlen, char key_id[PII_KEY_ID_LEN + 1])
{
    json_t *citizen = json_pack("{s:s,s:s,s:s?,s:s?}", "name", c->name, "phone", c->phone,
                                "id_number", c->id_number, "contact", c->contact);
    char *text = citizen != NULL ? json_dumps(citizen, JSON_COMPACT) : NULL;
    uint8_t *sealed = text != NULL ? pii_seal(k, aad, text, strlen(text), outlen, key_id) : NULL;

    if (text != NULL) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    json_decref(citizen);
    return sealed;
}

char *pii_open(const struct pii_keys *k, const char *key_id, const char *aad, const uint8_t *in,
               size_t len)
{
    int slot = key_id != NULL ? slot_of(k, key_id) : atomic_load(&k->seal_at);

    return slot >= 0 ? crypto_open(k->seal[slot].key, aad, in, len) : NULL;
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
