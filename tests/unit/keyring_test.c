/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of keyring.c: keys made ready, the switch of files and slots,
 * and every pair held opening what was sealed in transit for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "keyring.h"
#include "log.h"
#include "transit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static char dir[] = "/tmp/keyring_test.XXXXXX";

static int setup(void **state)
{
    (void)state;
    log_init("keyring_test", 1, LOG_LEVEL_ERROR);
    if (mkdtemp(dir) == NULL || keys_create(dir) != 1 || sign_key_create(dir) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[64];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int mode_of(const char *name)
{
    char path[96];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void switch_keeps_the_old_pair_and_opens_for_both(void **state)
{
    static struct keyring ring, again;
    char curve[CURVE_KEY_Z85_LEN + 1], sign[SIGN_KEY_TEXT_LEN + 1];
    char curve2[CURVE_KEY_Z85_LEN + 1], sign2[SIGN_KEY_TEXT_LEN + 1], peer_public[41],
        peer_secret[41];
    uint8_t key[CRYPTO_KEY_LEN];
    struct keys peer;

    (void)state;
    assert_int_equal(keyring_load(&ring, dir), 0);
    assert_int_equal(keyring_switch(&ring, dir), 0); /* nothing ready */
    char old_curve[CURVE_KEY_Z85_LEN + 1], old_sign[SIGN_KEY_TEXT_LEN + 1];
    snprintf(old_curve, sizeof(old_curve), "%s", keyring_curve(&ring)->public_z85);
    snprintf(old_sign, sizeof(old_sign), "%s", keyring_sign(&ring)->public_text);

    /* A peer sealed for the old pair before the switch. */
    assert_int_equal(zmq_curve_keypair(peer_public, peer_secret), 0);
    snprintf(peer.public_z85, sizeof(peer.public_z85), "%s", peer_public);
    snprintf(peer.secret_z85, sizeof(peer.secret_z85), "%s", peer_secret);
    assert_int_equal(transit_key(&peer, old_curve, key), 0);
    char *sealed_old = transit_seal(key, "440100-20241104-000001", "{}");

    assert_int_equal(keyring_stage(dir, curve, sign), 1);
    assert_int_equal(keyring_stage(dir, curve2, sign2), 0);
    assert_string_equal(curve, curve2);
    assert_string_equal(sign, sign2);
    assert_int_equal(mode_of("node.next.key"), 0600);
    assert_int_equal(mode_of("sign.next.key"), 0600);
    assert_string_equal(keyring_curve(&ring)->public_z85, old_curve);

    assert_int_equal(keyring_switch(&ring, dir), 1);
    assert_string_equal(keyring_curve(&ring)->public_z85, curve);
    assert_string_equal(keyring_sign(&ring)->public_text, sign);
    assert_int_equal(mode_of("node.next.key"), -1);
    assert_int_equal(mode_of("node.old.key"), 0600);
    assert_int_equal(mode_of("sign.old.key"), 0600);

    /* Both pairs are held: what was sealed for the old one opens. */
    int opened = 0;
    const struct keys *k;
    for (int i = 0; (k = keyring_curve_held(&ring, i)) != NULL; i++) {
        uint8_t mine[CRYPTO_KEY_LEN];
        assert_int_equal(transit_key(k, peer_public, mine), 0);
        char *plain = transit_open(mine, "440100-20241104-000001", sealed_old);
        opened += plain != NULL;
        free(plain);
    }
    assert_int_equal(opened, 1);

    /* The next start loads the new pair in use and the old one held. */
    assert_int_equal(keyring_load(&again, dir), 0);
    assert_string_equal(keyring_curve(&again)->public_z85, curve);
    assert_string_equal(keyring_sign(&again)->public_text, sign);
    assert_non_null(keyring_curve_held(&again, 1));
    assert_string_equal(keyring_curve_held(&again, 1)->public_z85, old_curve);

    /* An old key others may read stops the node, like any secret file. */
    char path[96];
    snprintf(path, sizeof(path), "%s/node.old.key", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(keyring_load(&again, dir), -1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(keyring_load(&again, dir), 0);
    assert_null(keyring_curve_held(&again, 1));
    free(sealed_old);
    keyring_wipe(&ring);
    keyring_wipe(&again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(switch_keeps_the_old_pair_and_opens_for_both),
    };
    return cmocka_run_group_tests_name("keyring", tests, setup, teardown);
}
