/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyring.c - the files of a key rotation and the slots that hold them.
 *
 * Runs in the main thread: `rotate-key` stages new keys, the daemon loads
 * the ring at start and switches it on SIGHUP; the link thread and the
 * HTTP workers only read it.  A switch replaces files by link() and
 * rename(), so that a crash at any point leaves a key in use on disk.
 */
#include "keyring.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One file of a rotation: in use, made ready, replaced. */
struct rotation {
    const char *current, *next, *old;
};

static const struct rotation curve_secret = {"node.key", "node.next.key", "node.old.key"};
static const struct rotation curve_public = {"node.pub", "node.next.pub", "node.old.pub"};
static const struct rotation sign_secret = {"sign.key", "sign.next.key", "sign.old.key"};

static int path_of(char out[PATH_MAX], const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

    if (n < 0 || n >= PATH_MAX) {
        log_warnx("data folder path too long");
        return -1;
    }
    return 0;
}

/* Keeps the file in use as the old one and puts the next one in its
 * place.  Returns 1, 0 if there is no next file, -1 (logged). */
static int promote(const char *dir, const struct rotation *f)
{
    char cur[PATH_MAX], next[PATH_MAX], old[PATH_MAX];

    if (path_of(cur, dir, f->current) < 0 || path_of(next, dir, f->next) < 0 ||
        path_of(old, dir, f->old) < 0)
        return -1;
    if (access(next, F_OK) < 0)
        return errno == ENOENT ? 0 : -1;
    if ((unlink(old) < 0 && errno != ENOENT) || link(cur, old) < 0) {
        log_warn("cannot keep '%s' as '%s'", cur, old);
        return -1;
    }
    if (rename(next, cur) < 0) {
        log_warn("cannot put '%s' in place of '%s'", next, cur);
        return -1;
    }
    return 1;
}

/* Makes the renames of 'dir' durable. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int curve_add(struct keyring *r, const struct keys *k)
{
    int n = atomic_load(&r->ncurve);

    for (int i = 0; i < n; i++)
        if (strcmp(r->curve[i].public_z85, k->public_z85) == 0)
            return i;
    if (n == KEYRING_SLOTS) {
        log_warnx("this process holds %d curve key pairs already; restart it", n);
        return -1;
    }
    r->curve[n] = *k;
    atomic_store(&r->ncurve, n + 1);
    return n;
}

static int sign_add(struct keyring *r, const struct sign_key *k)
{
    int n = atomic_load(&r->nsign);

    for (int i = 0; i < n; i++)
        if (strcmp(r->sign[i].public_text, k->public_text) == 0)
            return i;
    if (n == KEYRING_SLOTS) {
        log_warnx("this process holds %d signing keys already; restart it", n);
        return -1;
    }
    r->sign[n] = *k;
    atomic_store(&r->nsign, n + 1);
    return n;
}

int keyring_load(struct keyring *r, const char *dir)
{
    const char *optional[] = {curve_secret.next, curve_secret.old};
    const char *optional_sign[] = {sign_secret.next, sign_secret.old};
    struct keys k;
    struct sign_key s;

    atomic_store(&r->ncurve, 0);
    atomic_store(&r->nsign, 0);
    if (keys_load(dir, &k) < 0)
        return -1;
    curve_add(r, &k);
    if (sign_key_load(dir, &s) < 0)
        goto fail;
    sign_add(r, &s);
    for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        int rc = keys_load_named(dir, optional[i], &k);
        if (rc < 0 || (rc == 1 && curve_add(r, &k) < 0))
            goto fail;
        rc = sign_key_load_named(dir, optional_sign[i], &s);
        if (rc < 0 || (rc == 1 && sign_add(r, &s) < 0))
            goto fail;
    }
    keys_wipe(&k);
    sign_key_wipe(&s);
    atomic_store(&r->curve_at, 0);
    atomic_store(&r->sign_at, 0);
    return 0;

fail:
    keys_wipe(&k);
    sign_key_wipe(&s);
    keyring_wipe(r);
    return -1;
}

const struct keys *keyring_curve(const struct keyring *r)
{
    return &r->curve[atomic_load(&r->curve_at)];
}

const struct keys *keyring_curve_held(const struct keyring *r, int i)
{
    return i >= 0 && i < atomic_load(&r->ncurve) ? &r->curve[i] : NULL;
}

const struct sign_key *keyring_sign(const struct keyring *r)
{
    return &r->sign[atomic_load(&r->sign_at)];
}

int keyring_stage(const char *dir, char curve[CURVE_KEY_Z85_LEN + 1],
                  char sign[SIGN_KEY_TEXT_LEN + 1])
{
    struct keys k;
    struct sign_key s;
    int made = keys_create_named(dir, curve_secret.next, curve_public.next);

    if (made < 0 || sign_key_create_named(dir, sign_secret.next) < 0 ||
        keys_load_named(dir, curve_secret.next, &k) != 1)
        return -1;
    snprintf(curve, CURVE_KEY_Z85_LEN + 1, "%s", k.public_z85);
    keys_wipe(&k);
    if (sign_key_load_named(dir, sign_secret.next, &s) != 1)
        return -1;
    snprintf(sign, SIGN_KEY_TEXT_LEN + 1, "%s", s.public_text);
    sign_key_wipe(&s);
    sync_dir(dir);
    return made;
}

int keyring_ready(const char *dir, struct keys *k)
{
    return keys_load_named(dir, curve_secret.next, k);
}

int keyring_switch(struct keyring *r, const char *dir)
{
    struct keys k;
    struct sign_key s;
    int has_curve = keys_load_named(dir, curve_secret.next, &k);
    int has_sign = has_curve < 0 ? -1 : sign_key_load_named(dir, sign_secret.next, &s);
    int rc = -1, curve_slot = -1, sign_slot = -1;

    if (has_curve < 0 || has_sign < 0)
        goto out;
    if (has_curve == 0 && has_sign == 0) {
        rc = 0;
        goto out;
    }
    /* Room in the ring first: then nothing can fail after the files moved. */
    if ((has_curve && (curve_slot = curve_add(r, &k)) < 0) ||
        (has_sign && (sign_slot = sign_add(r, &s)) < 0))
        goto out;
    /* Each key in use as soon as its file is: a failure after it must not
     * leave the file on the new key and the ring on the old one. */
    if (has_curve) {
        if (promote(dir, &curve_secret) < 0)
            goto out;
        atomic_store(&r->curve_at, curve_slot);
        if (promote(dir, &curve_public) < 0)
            goto out;
    }
    if (has_sign) {
        if (promote(dir, &sign_secret) < 0)
            goto out;
        atomic_store(&r->sign_at, sign_slot);
    }
    sync_dir(dir);
    log_info("switched to the new keys: curve key '%s'%s", keyring_curve(r)->fingerprint,
             has_sign ? " and a new signing key" : "");
    rc = 1;
out:
    if (has_curve == 1)
        keys_wipe(&k);
    if (has_sign == 1)
        sign_key_wipe(&s);
    return rc;
}

void keyring_wipe(struct keyring *r)
{
    for (int i = 0; i < KEYRING_SLOTS; i++) {
        keys_wipe(&r->curve[i]);
        sign_key_wipe(&r->sign[i]);
    }
}
