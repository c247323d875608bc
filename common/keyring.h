/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyring.h - the CURVE key pair and the signing key a node uses, and those
 * it still holds while one is replaced (README "Key rotation").
 *
 * In the data folder: node.key/node.pub and sign.key are in use;
 * `rotate-key` makes node.next.key/node.next.pub and sign.next.key ready;
 * the switch (SIGHUP) keeps the pair in use as node.old.key/node.old.pub
 * and sign.old.key and puts the ready ones in their place.  Every pair held
 * opens personal data sealed in transit: what was sealed for the old key
 * before the switch, or for the new one before it, still opens.
 *
 * The main thread loads the ring before any other thread starts and is the
 * only one to change it: a switch fills a slot nobody reads yet, then
 * publishes it, so the other threads read the ring without a lock.  Slots
 * are never emptied while the process lives.
 */
#ifndef HOTLINE_KEYRING_H
#define HOTLINE_KEYRING_H

#include "keys.h"
#include "sign.h"

#include <stdatomic.h>

#define KEYRING_SLOTS 4

struct keyring {
    struct keys curve[KEYRING_SLOTS];
    struct sign_key sign[KEYRING_SLOTS];
    atomic_int ncurve, nsign;     /* slots filled, from 0 */
    atomic_int curve_at, sign_at; /* the slots in use */
};

/*
 * Loads into 'r' the keys of 'dir': those in use (required), and those made
 * ready or replaced, if any.  Returns 0, or -1 (logged).
 */
int keyring_load(struct keyring *r, const char *dir);

/* The CURVE pair in use. */
const struct keys *keyring_curve(const struct keyring *r);

/* The i-th CURVE pair held, from 0, to open what was sealed in transit;
 * NULL past the last. */
const struct keys *keyring_curve_held(const struct keyring *r, int i);

/* The signing key in use. */
const struct sign_key *keyring_sign(const struct keyring *r);

/*
 * Makes a new CURVE pair and signing key ready in 'dir' (the next files),
 * unless they are there already, and writes their public keys.  Returns 1
 * if it made them, 0 if they were ready already, -1 on error (logged).
 */
int keyring_stage(const char *dir, char curve[CURVE_KEY_Z85_LEN + 1],
                  char sign[SIGN_KEY_TEXT_LEN + 1]);

/*
 * Loads the CURVE pair made ready in 'dir' into 'k', if there is one: the
 * province may seal for it before the node switches.  Returns 1, 0 if none
 * is ready, -1 on error (logged).
 */
int keyring_ready(const char *dir, struct keys *k);

/*
 * Switches to the keys made ready in 'dir': each key's file first, as
 * described above, then the ring.  Returns 1 if it switched, 0 if nothing
 * was ready, -1 on error (logged): a key whose file was switched is in use,
 * the others stay as they were, so the ring always holds what the files
 * hold.
 */
int keyring_switch(struct keyring *r, const char *dir);

/* Overwrites every secret the ring holds. */
void keyring_wipe(struct keyring *r);

#endif
