/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of proxy.c: lists of trusted proxies (addresses and CIDR
 * blocks of both families), and the client read from X-Forwarded-For only
 * behind a trusted proxy, strictly, from the right. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy.h"

#include <stdio.h>
#include <string.h>

static struct proxy_list *parse(const char *text)
{
    char why[200] = "";
    struct proxy_list *list = proxy_list_parse(text, why, sizeof(why));

    if (list == NULL)
        fail_msg("'%s' refused: %s", text, why);
    return list;
}

static void lists_are_read_with_their_blanks_and_written_without(void **state)
{
    char text[PROXY_TEXT_MAX];

    (void)state;
    struct proxy_list *list = parse(" 10.1.2.3/8 ,192.0.2.1,\t2001:DB8::/32, ::1 ");
    assert_int_equal(proxy_list_count(list), 4);
    proxy_list_format(list, text);
    assert_string_equal(text, "10.0.0.0/8,192.0.2.1/32,2001:db8::/32,::1/128");
    proxy_list_free(list);

    list = parse("");
    assert_int_equal(proxy_list_count(list), 0);
    proxy_list_format(list, text);
    assert_string_equal(text, "");
    proxy_list_free(list);
    proxy_list_free(NULL);
}

static void what_is_not_a_list_of_addresses_is_refused(void **state)
{
    static const char *const bad[] = {
        "10.0.0.0/33", "::/129",       "300.1.2.3",          "proxy.example",
        "10.0.0.1,",   ",10.0.0.1",    "10.0.0.1,,10.0.0.2", "10.0.0.1/",
        "/8",          "10.0.0.1/8x",  "10.0.0.1/08",        "10.0.0.1 10.0.0.2",
        "[::1]",       "fe80::1%eth0", "10.0.0.1:80",        "010.0.0.1",
    };
    char why[200];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        struct proxy_list *list = proxy_list_parse(bad[i], why, sizeof(why));
        if (list != NULL)
            fail_msg("'%s' taken", bad[i]);
        assert_true(why[0] != '\0');
    }
    /* More entries than a list holds. */
    char many[PROXY_MAX * 12 + 16] = "";
    for (int i = 0; i <= PROXY_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s10.0.0.%d", i ? "," : "", i);
    assert_null(proxy_list_parse(many, why, sizeof(why)));
}

static void cidr_blocks_match_their_addresses_only(void **state)
{
    (void)state;
    struct proxy_list *list = parse("10.0.0.0/8, 192.0.2.128/25, 2001:db8:ab00::/40, 0.0.0.0/0");
    struct proxy_list *narrow = parse("10.0.0.0/8, 192.0.2.128/25, 2001:db8:ab00::/40");

    assert_true(proxy_trusted(narrow, "10.255.255.255"));
    assert_false(proxy_trusted(narrow, "11.0.0.0"));
    assert_true(proxy_trusted(narrow, "192.0.2.128"));
    assert_true(proxy_trusted(narrow, "192.0.2.255"));
    assert_false(proxy_trusted(narrow, "192.0.2.127"));
    assert_true(proxy_trusted(narrow, "2001:db8:abff::1"));
    assert_false(proxy_trusted(narrow, "2001:db8:ac00::1"));
    /* An IPv4 block says nothing of IPv6, whatever its bits. */
    assert_false(proxy_trusted(narrow, "::a00:1"));
    assert_true(proxy_trusted(narrow, "::ffff:10.0.0.1"));
    /* /0 of IPv4 is every IPv4 address, and no IPv6 one. */
    assert_true(proxy_trusted(list, "203.0.113.1"));
    assert_false(proxy_trusted(list, "2001:db8::1"));
    assert_false(proxy_trusted(narrow, "not an address"));
    assert_false(proxy_trusted(NULL, "10.0.0.1"));
    proxy_list_free(list);
    proxy_list_free(narrow);
}

static enum proxy_source client(const struct proxy_list *list, const char *peer, const char *header,
                                const char *expected)
{
    char out[46];
    enum proxy_source source = proxy_client(list, peer, header, out, sizeof(out));

    assert_string_equal(out, expected);
    return source;
}

static void the_client_is_the_rightmost_address_not_a_trusted_proxy(void **state)
{
    (void)state;
    struct proxy_list *list = parse("127.0.0.1, 10.0.0.0/8");

    assert_int_equal(client(list, "127.0.0.1", "198.51.100.7", "198.51.100.7"), PROXY_FORWARDED);
    assert_int_equal(
        client(list, "127.0.0.1", "203.0.113.9, 198.51.100.7, 10.1.2.3", "198.51.100.7"),
        PROXY_FORWARDED);
    assert_int_equal(client(list, "127.0.0.1", "2001:DB8::7", "2001:db8::7"), PROXY_FORWARDED);
    /* Every hop a trusted proxy: the left-most is as far as one can see. */
    assert_int_equal(client(list, "127.0.0.1", "10.0.0.5,10.0.0.6", "10.0.0.5"), PROXY_FORWARDED);
    /* No header: the proxy's own request. */
    assert_int_equal(client(list, "127.0.0.1", NULL, "127.0.0.1"), PROXY_PEER);
    proxy_list_free(list);
}

static void the_header_of_anyone_else_is_ignored(void **state)
{
    (void)state;
    struct proxy_list *list = parse("10.0.0.0/8");
    struct proxy_list *none = parse("");

    assert_int_equal(client(list, "192.0.2.1", "198.51.100.7", "192.0.2.1"), PROXY_PEER);
    assert_int_equal(client(none, "10.0.0.1", "198.51.100.7", "10.0.0.1"), PROXY_PEER);
    assert_int_equal(client(NULL, "10.0.0.1", "198.51.100.7", "10.0.0.1"), PROXY_PEER);
    /* Even a malformed one: it is not read at all. */
    assert_int_equal(client(list, "192.0.2.1", "nonsense", "192.0.2.1"), PROXY_PEER);
    proxy_list_free(list);
    proxy_list_free(none);
}

static void a_malformed_header_counts_as_the_proxy(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "nonsense",
        "198.51.100.7:8080",
        "[2001:db8::1]",
        "1.2.3.4.5",
        "198.51.100.07",
        "198.51.100.7,",
        ",198.51.100.7",
        "a, 198.51.100.7",
        "198.51.100.7 198.51.100.8",
        "unknown",
        "fe80::1%eth0",
        "198.51.100.256",
    };
    char many[PROXY_MAX_HOPS * 16 + 16] = "", out[46];

    (void)state;
    struct proxy_list *list = parse("127.0.0.1");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (proxy_client(list, "127.0.0.1", bad[i], out, sizeof(out)) != PROXY_MALFORMED)
            fail_msg("'%s' taken as '%s'", bad[i], out);
        assert_string_equal(out, "127.0.0.1");
    }
    for (int i = 0; i <= PROXY_MAX_HOPS; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s192.0.2.%d", i ? "," : "", i);
    assert_int_equal(client(list, "127.0.0.1", many, "127.0.0.1"), PROXY_MALFORMED);
    /* As many hops as allowed are read. */
    *strrchr(many, ',') = '\0';
    assert_int_equal(client(list, "127.0.0.1", many, "192.0.2.15"), PROXY_FORWARDED);
    proxy_list_free(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lists_are_read_with_their_blanks_and_written_without),
        cmocka_unit_test(what_is_not_a_list_of_addresses_is_refused),
        cmocka_unit_test(cidr_blocks_match_their_addresses_only),
        cmocka_unit_test(the_client_is_the_rightmost_address_not_a_trusted_proxy),
        cmocka_unit_test(the_header_of_anyone_else_is_ignored),
        cmocka_unit_test(a_malformed_header_counts_as_the_proxy),
    };
    return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}
