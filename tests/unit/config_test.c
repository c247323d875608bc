/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of config.c: the option table, its types, bounds and defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config.h"

#include <stdio.h>
#include <string.h>

#define KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

static const char city_base[] = "node_code = 440100\n"
                                "node_name = 广州\n"
                                "data_dir = /tmp\n"
                                "database = dbname=hotline\n"
                                "province_endpoint = tcp://province.example:7000\n"
                                "province_public_key = " KEY "\n";

static int parse_city(const char *extra, struct config *cfg, char *err)
{
    char text[2048];

    snprintf(text, sizeof(text), "%s%s", city_base, extra);
    return config_parse(cfg, NODE_CITY, "test.conf", text, err, 256);
}

static void defaults_apply(void **state)
{
    struct config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse_city("", &cfg, err), 0);
    assert_string_equal(cfg.node_code, "440100");
    assert_string_equal(cfg.node_name, "广州");
    assert_string_equal(cfg.http_address, "127.0.0.1");
    assert_int_equal(cfg.http_port, 8080);
    assert_int_equal(cfg.http_threads, 4);
    assert_int_equal(cfg.heartbeat_interval_ms, 5000);
    assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
    assert_string_equal(cfg.province_public_key, KEY);
    config_free(&cfg);
    config_free(&cfg);
}

static void comments_and_blanks(void **state)
{
    struct config cfg;
    char err[256];

    (void)state;
    assert_int_equal(
        parse_city("# a comment\n\n   \nhttp_port = 9000   # trailing comment\n", &cfg, err), 0);
    assert_int_equal(cfg.http_port, 9000);
    /* '#' inside a value is a character of it: Z85 keys contain it. */
    assert_non_null(strchr(KEY, '%'));
    config_free(&cfg);
}

static void bounds_are_checked(void **state)
{
    static const struct {
        const char *line;
        const char *needle;
    } cases[] = {
        {"http_port = 0\n", "http_port: '0' is out of range 1..65535"},
        {"http_port = 65536\n", "http_port: '65536' is out of range"},
        {"http_port = 80x\n", "http_port: '80x' is not an integer"},
        {"http_port = 99999999999999999999\n", "http_port"},
        {"http_threads = 65\n", "http_threads"},
        {"heartbeat_interval_ms = 99\n", "heartbeat_interval_ms"},
        {"log_level = loud\n", "log_level: 'loud' is not one of"},
        {"federation_bind = tcp://*:7000\n", "federation_bind: unknown option for this node kind"},
        {"colour = blue\n", "colour: unknown option"},
        {"http_port 80\n", "expected 'key = value'"},
        {"http_port = 80\nhttp_port = 81\n", "http_port: given twice"},
        {"http_address =\n", "http_address: must not be empty"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config cfg;
        char err[256] = "";
        assert_int_equal(parse_city(cases[i].line, &cfg, err), -1);
        if (strstr(err, cases[i].needle) == NULL)
            fail_msg("'%s' gave '%s', expected '%s'", cases[i].line, err, cases[i].needle);
        assert_non_null(strstr(err, "test.conf:"));
    }
}

static void required_options(void **state)
{
    struct config cfg;
    char err[256];

    (void)state;
    assert_int_equal(config_parse(&cfg, NODE_CITY, "x", "node_code = 440100\n", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "required option missing"));
}

static void codes_by_role(void **state)
{
    (void)state;
    assert_true(config_code_valid("440000", NODE_PROVINCE));
    assert_false(config_code_valid("440100", NODE_PROVINCE));
    assert_true(config_code_valid("440100", NODE_CITY));
    assert_true(config_code_valid("445300", NODE_CITY));
    assert_false(config_code_valid("440000", NODE_CITY));
    assert_false(config_code_valid("440101", NODE_CITY));
    assert_false(config_code_valid("44010", NODE_CITY));
    assert_false(config_code_valid("4401000", NODE_CITY));
    assert_false(config_code_valid("abc100", NODE_CITY));
    assert_false(config_code_valid("040100", NODE_CITY));
}

static void endpoints_and_keys(void **state)
{
    struct config cfg;
    char err[256];
    char text[1024];

    (void)state;
    snprintf(text, sizeof(text),
             "node_code = 440000\nnode_name = p\ndata_dir = /tmp\ndatabase = x\n"
             "federation_bind = %s\n",
             "tcp://0.0.0.0:7000");
    assert_int_equal(config_parse(&cfg, NODE_PROVINCE, "p", text, err, sizeof(err)), 0);
    config_free(&cfg);

    const char *bad[] = {"udp://x:1", "tcp://x", "tcp://:7000", "tcp://x:0", "tcp://x:70000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text),
                 "node_code = 440000\nnode_name = p\ndata_dir = /tmp\ndatabase = x\n"
                 "federation_bind = %s\n",
                 bad[i]);
        assert_int_equal(config_parse(&cfg, NODE_PROVINCE, "p", text, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "federation_bind"));
    }
    assert_int_equal(parse_city("", &cfg, err), 0);
    config_free(&cfg);
    snprintf(text, sizeof(text), "%s", city_base);
    char *key = strstr(text, KEY);
    key[3] = '~'; /* not in the Z85 alphabet */
    assert_int_equal(config_parse(&cfg, NODE_CITY, "c", text, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "province_public_key"));
}

static void province_code_checked(void **state)
{
    struct config cfg;
    char err[256];

    (void)state;
    assert_int_equal(config_parse(&cfg, NODE_PROVINCE, "p",
                                  "node_code = 440100\nnode_name = p\ndata_dir = /tmp\n"
                                  "database = x\nfederation_bind = tcp://*:1\n",
                                  err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "node_code: '440100' is not a province division code"));
    assert_int_equal(config_parse(&cfg, NODE_PROVINCE, "p",
                                  "node_code = 440000\nnode_name = p\ndata_dir = /nonexistent\n"
                                  "database = x\nfederation_bind = tcp://*:1\n",
                                  err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "data_dir: '/nonexistent' is not an existing directory"));
}

static void statistics_options(void **state)
{
    struct config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse_city("", &cfg, err), 0);
    assert_string_equal(cfg.satisfaction_excluded_categories, "");
    assert_int_equal(cfg.assessment_weight_on_time, 40);
    assert_int_equal(cfg.assessment_weight_satisfaction, 40);
    assert_int_equal(cfg.assessment_weight_returns, 10);
    assert_int_equal(cfg.assessment_weight_redo, 10);
    assert_int_equal(cfg.assessment_penalty_supervised, 2);
    config_free(&cfg);
    assert_int_equal(parse_city("satisfaction_excluded_categories = mediation ,  law_2\n"
                                "assessment_weight_redo = 0\n",
                                &cfg, err),
                     0);
    assert_string_equal(cfg.satisfaction_excluded_categories, "mediation,law_2");
    assert_int_equal(cfg.assessment_weight_redo, 0);
    config_free(&cfg);
    assert_null(cfg.satisfaction_excluded_categories);

    static const char *const bad[] = {
        "satisfaction_excluded_categories = a,,b\n",
        "satisfaction_excluded_categories = a,\n",
        "satisfaction_excluded_categories = ,a\n",
        "satisfaction_excluded_categories = Mediation\n",
        "satisfaction_excluded_categories = a b\n",
        "assessment_weight_on_time = 101\n",
        "assessment_penalty_supervised = -1\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_city(bad[i], &cfg, err) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err, "test.conf:7:"));
    }
}

static void trusted_proxies(void **state)
{
    struct config cfg;
    char err[256];

    (void)state;
    assert_int_equal(parse_city("", &cfg, err), 0);
    assert_string_equal(cfg.trusted_proxies, "");
    config_free(&cfg);
    assert_int_equal(
        parse_city("trusted_proxies = 10.1.2.3/8 , 192.0.2.1, 2001:db8::/32\n", &cfg, err), 0);
    assert_string_equal(cfg.trusted_proxies, "10.0.0.0/8,192.0.2.1/32,2001:db8::/32");
    config_free(&cfg);
    assert_null(cfg.trusted_proxies);
    assert_int_equal(parse_city("trusted_proxies = 10.0.0.0/33\n", &cfg, err), -1);
    assert_non_null(strstr(err, "test.conf:7: trusted_proxies: prefix /33"));
    assert_int_equal(parse_city("trusted_proxies = proxy.example\n", &cfg, err), -1);
    assert_non_null(strstr(err, "'proxy.example' is not an IP address"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_apply),        cmocka_unit_test(comments_and_blanks),
        cmocka_unit_test(bounds_are_checked),    cmocka_unit_test(required_options),
        cmocka_unit_test(codes_by_role),         cmocka_unit_test(endpoints_and_keys),
        cmocka_unit_test(province_code_checked), cmocka_unit_test(statistics_options),
        cmocka_unit_test(trusted_proxies),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
