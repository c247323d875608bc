/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of sign.c and transit.c: signatures that are evidence, and
 * personal data sealed between two nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "sign.h"
#include "transit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

static int make_dir(void **state)
{
    char *dir = strdup("/tmp/sign_test.XXXXXX");

    if (mkdtemp(dir) == NULL)
        return -1;
    *state = dir;
    return 0;
}

static int remove_dir(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
    free(*state);
    return system(cmd) == 0 ? 0 : -1;
}

static void new_key(const char *dir, struct sign_key *k)
{
    char sub[256];

    snprintf(sub, sizeof(sub), "%s/%d", dir, rand());
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(sign_key_create(sub), 0);
    assert_int_equal(sign_key_load(sub, k), 0);
}

static void signature_verifies_only_its_text_and_key(void **state)
{
    struct sign_key a, b;
    char sig[SIGN_SIG_TEXT_LEN + 1];
    const char *text = "{\"kind\":\"offer\",\"ticket\":\"440300-20241104-000001\"}";

    new_key(*state, &a);
    new_key(*state, &b);
    assert_string_not_equal(a.public_text, b.public_text);
    assert_int_equal(strlen(a.public_text), SIGN_KEY_TEXT_LEN);
    assert_int_equal(sign_text(&a, text, strlen(text), sig), 0);
    assert_int_equal(strlen(sig), SIGN_SIG_TEXT_LEN);

    assert_int_equal(sign_verify(a.public_text, text, strlen(text), sig), 1);
    assert_int_equal(sign_verify(b.public_text, text, strlen(text), sig), 0);
    assert_int_equal(sign_verify(a.public_text, text, strlen(text) - 1, sig), 0);
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    assert_int_equal(sign_verify(a.public_text, text, strlen(text), sig), 0);
}

static void malformed_keys_and_signatures_do_not_verify(void **state)
{
    struct sign_key a;
    char sig[SIGN_SIG_TEXT_LEN + 1];

    new_key(*state, &a);
    assert_int_equal(sign_text(&a, "x", 1, sig), 0);
    assert_int_equal(sign_verify(NULL, "x", 1, sig), 0);
    assert_int_equal(sign_verify(a.public_text, "x", 1, NULL), 0);
    assert_int_equal(sign_verify("not base64!", "x", 1, sig), 0);
    assert_int_equal(sign_verify(a.public_text, "x", 1, "QUJD"), 0);
    assert_int_equal(sign_verify("QUJD", "x", 1, sig), 0);
}

static void key_is_kept_and_loaded_again(void **state)
{
    struct sign_key a, again;

    assert_int_equal(sign_key_create(*state), 0);
    assert_int_equal(sign_key_load(*state, &a), 0);
    assert_int_equal(sign_key_create(*state), 0); /* exists: kept */
    assert_int_equal(sign_key_load(*state, &again), 0);
    assert_string_equal(a.public_text, again.public_text);
}

static void pair(struct keys *k)
{
    assert_int_equal(zmq_curve_keypair(k->public_z85, k->secret_z85), 0);
}

static void transit_opens_only_between_the_two_nodes_and_for_the_ticket(void **state)
{
    (void)state;
    struct keys a, b, c;
    uint8_t ab[CRYPTO_KEY_LEN], ba[CRYPTO_KEY_LEN], cb[CRYPTO_KEY_LEN];
    const char *plain = "{\"name\":\"张三\",\"phone\":\"13800138000\"}";

    pair(&a);
    pair(&b);
    pair(&c);
    assert_int_equal(transit_key(&a, b.public_z85, ab), 0);
    assert_int_equal(transit_key(&b, a.public_z85, ba), 0);
    assert_int_equal(transit_key(&c, b.public_z85, cb), 0);
    assert_memory_equal(ab, ba, sizeof(ab));
    assert_memory_not_equal(ab, cb, sizeof(ab));

    char *sealed = transit_seal(ab, "440300-20241104-000001", plain);
    assert_non_null(sealed);
    assert_null(strstr(sealed, "138"));
    char *opened = transit_open(ba, "440300-20241104-000001", sealed);
    assert_non_null(opened);
    assert_string_equal(opened, plain);
    free(opened);
    assert_null(transit_open(ba, "440300-20241104-000002", sealed));
    assert_null(transit_open(cb, "440300-20241104-000001", sealed));
    assert_null(transit_open(ba, "440300-20241104-000001", "garbage"));
    free(sealed);
    assert_int_equal(transit_key(&a, "not a key", ab), -1);
}

int main(void)
{
    log_init("sign_test", 1, LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(signature_verifies_only_its_text_and_key, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(malformed_keys_and_signatures_do_not_verify, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(key_is_kept_and_loaded_again, make_dir, remove_dir),
        cmocka_unit_test(transit_opens_only_between_the_two_nodes_and_for_the_ticket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
