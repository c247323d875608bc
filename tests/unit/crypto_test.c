/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of crypto.c and keys.c: tokens, digests, secret files, key pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "crypto.h"
#include "keys.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_dir(void **state)
{
    char *dir = strdup("/tmp/crypto_test.XXXXXX");

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

static void path(char *out, size_t cap, void **state, const char *name)
{
    snprintf(out, cap, "%s/%s", (char *)*state, name);
}

static void tokens_are_random_hex(void **state)
{
    char a[CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];

    (void)state;
    assert_int_equal(crypto_token_new(a), 0);
    assert_int_equal(crypto_token_new(b), 0);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    assert_string_not_equal(a, b);
}

static void sha256_known_answer(void **state)
{
    char out[CRYPTO_SHA256_HEX_LEN + 1];

    (void)state;
    crypto_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void equal_compares_all_bytes(void **state)
{
    (void)state;
    assert_true(crypto_equal("abcd", "abcd", 4));
    assert_false(crypto_equal("abcd", "abce", 4));
}

static void secret_file_round_trip(void **state)
{
    char p[256], buf[64];
    size_t len = 0;
    struct stat st;

    path(p, sizeof(p), state, "secret");
    assert_int_equal(crypto_secret_write(p, "s3cret\n", 7), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(crypto_secret_read(p, buf, sizeof(buf), &len), 0);
    assert_int_equal(len, 7);
    assert_string_equal(buf, "s3cret\n");
    /* Never overwritten. */
    assert_int_equal(crypto_secret_write(p, "other", 5), -1);
    assert_int_equal(errno, EEXIST);
    /* Too small a buffer is an error, not a truncation. */
    assert_int_equal(crypto_secret_read(p, buf, 7, &len), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(crypto_secret_read(p, buf, 8, &len), 0);
}

static void secret_file_permissions_enforced(void **state)
{
    static const mode_t loose[] = {0640, 0604, 0644, 0660, 0602};
    char p[256], buf[64];
    size_t len;

    path(p, sizeof(p), state, "loose");
    assert_int_equal(crypto_secret_write(p, "x", 1), 0);
    for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
        assert_int_equal(chmod(p, loose[i]), 0);
        assert_int_equal(crypto_secret_read(p, buf, sizeof(buf), &len), -1);
        assert_int_equal(errno, EPERM);
    }
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(crypto_secret_read(p, buf, sizeof(buf), &len), 0);
    /* A directory or a missing file is refused too. */
    assert_int_equal(crypto_secret_read((char *)*state, buf, sizeof(buf), &len), -1);
    path(p, sizeof(p), state, "missing");
    assert_int_equal(crypto_secret_read(p, buf, sizeof(buf), &len), -1);
    assert_int_equal(errno, ENOENT);
}

static void key_pair_created_once_and_loaded(void **state)
{
    struct keys a, b;
    char p[256];
    struct stat st;

    assert_int_equal(keys_create(*state), 1);
    assert_int_equal(keys_create(*state), 0);
    path(p, sizeof(p), state, "node.key");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(keys_load(*state, &a), 0);
    assert_int_equal(keys_load(*state, &b), 0);
    assert_string_equal(a.public_z85, b.public_z85);
    assert_true(keys_z85_valid(a.public_z85));
    assert_int_equal(strlen(a.fingerprint), CRYPTO_FINGERPRINT_LEN);

    /* node.pub holds the same public key. */
    char pub[64] = "";
    path(p, sizeof(p), state, "node.pub");
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(pub, sizeof(pub), f));
    fclose(f);
    pub[strcspn(pub, "\n")] = '\0';
    assert_string_equal(pub, a.public_z85);

    keys_wipe(&a);
    assert_int_equal(a.secret_z85[0], 0);
}

static void key_with_loose_mode_refused(void **state)
{
    struct keys k;
    char p[256];

    assert_int_equal(keys_create(*state), 1);
    path(p, sizeof(p), state, "node.key");
    assert_int_equal(chmod(p, 0644), 0);
    assert_int_equal(keys_load(*state, &k), -1);
}

static void garbage_key_refused(void **state)
{
    struct keys k;
    char p[256];

    path(p, sizeof(p), state, "node.key");
    assert_int_equal(crypto_secret_write(p, "not a key\n", 10), 0);
    assert_int_equal(keys_load(*state, &k), -1);
    assert_false(keys_z85_valid("short"));
    assert_false(keys_z85_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf~"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_are_random_hex),
        cmocka_unit_test(sha256_known_answer),
        cmocka_unit_test(equal_compares_all_bytes),
        cmocka_unit_test_setup_teardown(secret_file_round_trip, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(secret_file_permissions_enforced, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(key_pair_created_once_and_loaded, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(key_with_loose_mode_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(garbage_key_refused, make_dir, remove_dir),
    };
    log_init("crypto_test", 1, LOG_LEVEL_ERROR);
    return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
