/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of pii.c: sealing bound to a ticket, keyed phone hashes, masks,
 * the sealing key replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "log.h"
#include "pii.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct pii_keys keys;
static char dir[] = "/tmp/pii_test.XXXXXX";

static int setup(void **state)
{
    (void)state;
    log_init("pii_test", 1, LOG_LEVEL_ERROR);
    if (mkdtemp(dir) == NULL || pii_keys_create(dir) < 0 || pii_keys_create(dir) < 0)
        return -1;
    return pii_keys_load(dir, &keys);
}

static int teardown(void **state)
{
    char cmd[64];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void seal_and_open(void **state)
{
    const char *plain = "{\"name\":\"张三\",\"phone\":\"13800138000\"}";
    size_t len;

    (void)state;
    char key_id[PII_KEY_ID_LEN + 1];
    uint8_t *sealed = pii_seal(&keys, "440100-20241104-000001", plain, strlen(plain), &len, key_id);
    assert_string_equal(key_id, pii_seal_id(&keys));
    assert_non_null(sealed);
    assert_null(memmem(sealed, len, "13800138000", 11));
    char *back = pii_open(&keys, NULL, "440100-20241104-000001", sealed, len);
    assert_non_null(back);
    assert_string_equal(back, plain);
    free(back);

    /* Moved to another ticket, altered, or cut: refused. */
    assert_null(pii_open(&keys, NULL, "440100-20241104-000002", sealed, len));
    sealed[len / 2] ^= 1;
    assert_null(pii_open(&keys, NULL, "440100-20241104-000001", sealed, len));
    sealed[len / 2] ^= 1;
    assert_null(pii_open(&keys, NULL, "440100-20241104-000001", sealed, 20));

    /* Two seals of the same text differ (fresh nonces). */
    size_t len2;
    uint8_t *again = pii_seal(&keys, "440100-20241104-000001", plain, strlen(plain), &len2, key_id);
    assert_int_equal(len, len2);
    assert_memory_not_equal(sealed, again, len);
    free(again);
    free(sealed);
}

static void keys_are_secret_files(void **state)
{
    char path[64];
    struct pii_keys k;

    (void)state;
    assert_int_equal(strlen(pii_seal_id(&keys)), PII_KEY_ID_LEN);
    snprintf(path, sizeof(path), "%s/phone.key", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(pii_keys_load(dir, &k), -1);
    assert_int_equal(chmod(path, 0600), 0);
}

static void phone_hash_is_keyed_and_stable(void **state)
{
    char a[PII_HASH_LEN + 1], b[PII_HASH_LEN + 1], c[PII_HASH_LEN + 1];
    struct pii_keys other = keys;

    (void)state;
    pii_phone_hash(&keys, "13800138000", a);
    pii_phone_hash(&keys, "13800138000", b);
    pii_phone_hash(&keys, "13800138001", c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    other.phone[0] ^= 1;
    pii_phone_hash(&other, "13800138000", c);
    assert_string_not_equal(a, c);
}

static void masks(void **state)
{
    char out[64];

    (void)state;
    pii_mask_phone("13800138000", out, sizeof(out));
    assert_string_equal(out, "138****8000");
    pii_mask_phone("020-87654321", out, sizeof(out));
    assert_string_equal(out, "020****4321");
    pii_mask_phone("123", out, sizeof(out));
    assert_string_equal(out, "***");
    pii_mask_name("张三丰", out, sizeof(out));
    assert_string_equal(out, "张**");
    pii_mask_name("Li", out, sizeof(out));
    assert_string_equal(out, "L*");
    pii_mask_id("44010619900101123X", out, sizeof(out));
    assert_string_equal(out, "440*************3X");
    pii_mask_id("12345", out, sizeof(out));
    assert_string_equal(out, "***");
}

/* A new key seals new rows; the retired one, kept under its id, opens the
 * old ones, in this process and in the next. */
static void rotation_keeps_old_rows_open(void **state)
{
    const char *plain = "{\"name\":\"张三\"}", *aad = "440100-20241104-000009";
    char old_id[PII_KEY_ID_LEN + 1], new_id[PII_KEY_ID_LEN + 1], again[PII_KEY_ID_LEN + 1];
    char path[96];
    size_t len, len2;
    struct pii_keys next;

    (void)state;
    snprintf(old_id, sizeof(old_id), "%s", pii_seal_id(&keys));
    char sealed_with[PII_KEY_ID_LEN + 1];
    uint8_t *old = pii_seal(&keys, aad, plain, strlen(plain), &len, sealed_with);
    assert_string_equal(sealed_with, old_id);
    assert_int_equal(pii_keys_switch(&keys, dir), 0); /* nothing ready */
    assert_int_equal(pii_key_stage(dir, new_id), 1);
    assert_int_equal(pii_key_stage(dir, again), 0);
    assert_string_equal(new_id, again);
    assert_string_not_equal(new_id, old_id);
    assert_string_equal(pii_seal_id(&keys), old_id); /* not before the switch */

    assert_int_equal(pii_keys_switch(&keys, dir), 1);
    assert_string_equal(pii_seal_id(&keys), new_id);
    assert_true(pii_key_held(&keys, old_id));
    uint8_t *fresh = pii_seal(&keys, aad, plain, strlen(plain), &len2, sealed_with);
    assert_string_equal(sealed_with, new_id);
    char *a = pii_open(&keys, old_id, aad, old, len), *b = pii_open(&keys, NULL, aad, fresh, len2);
    assert_string_equal(a, plain);
    assert_string_equal(b, plain);
    assert_null(pii_open(&keys, new_id, aad, old, len));
    assert_null(pii_open(&keys, "0000000000000000", aad, old, len));
    free(a);
    free(b);

    assert_int_equal(pii_keys_load(dir, &next), 0);
    assert_string_equal(pii_seal_id(&next), new_id);
    a = pii_open(&next, old_id, aad, old, len);
    assert_string_equal(a, plain);
    free(a);

    /* A retired key others may read is refused like any secret file. */
    snprintf(path, sizeof(path), "%s/pii.%s.key", dir, old_id);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(pii_keys_load(dir, &next), -1);
    /* Deleted once every row is sealed again: the node loads without it. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(pii_keys_load(dir, &next), 0);
    assert_false(pii_key_held(&next, old_id));
    free(old);
    free(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seal_and_open),
        cmocka_unit_test(keys_are_secret_files),
        cmocka_unit_test(phone_hash_is_keyed_and_stable),
        cmocka_unit_test(masks),
        cmocka_unit_test(rotation_keeps_old_rows_open),
    };
    return cmocka_run_group_tests_name("pii", tests, setup, teardown);
}
