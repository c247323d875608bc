/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of open311.c: services, the form of a POST, the public fields
 * of a request, and the JSON and XML answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "open311.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int days[KIND_COUNT] = {2, 10, 15, 15, 10};

static void extensions_choose_the_format(void **state)
{
    char name[32];
    enum open311_format f;

    (void)state;
    assert_int_equal(open311_file_parse("services.json", name, sizeof(name), &f), 0);
    assert_string_equal(name, "services");
    assert_int_equal(f, OPEN311_JSON);
    assert_int_equal(open311_file_parse("440100-20241104-000001.xml", name, sizeof(name), &f), 0);
    assert_string_equal(name, "440100-20241104-000001");
    assert_int_equal(f, OPEN311_XML);
    assert_int_equal(open311_file_parse("services", name, sizeof(name), &f), -1);
    assert_int_equal(open311_file_parse("services.csv", name, sizeof(name), &f), -1);
    assert_int_equal(open311_file_parse(".json", name, sizeof(name), &f), -1);
    assert_int_equal(open311_file_parse("a-name-longer-than-the-room-given.json", name, 8, &f), -1);
    assert_string_equal(open311_content_type(OPEN311_XML), "text/xml");
    assert_string_equal(open311_content_type(OPEN311_JSON), "application/json");
}

static void every_kind_in_every_domain_is_a_service(void **state)
{
    json_t *list = open311_services(days), *s;
    size_t i;

    (void)state;
    assert_int_equal(json_array_size(list), KIND_COUNT * 5);
    json_array_foreach(list, i, s)
    {
        enum ticket_kind kind;
        const char *category;
        const char *code = json_string_value(json_object_get(s, "service_code"));
        assert_int_equal(open311_service_parse(code, &kind, &category), 0);
        assert_true(json_is_true(json_object_get(s, "metadata")));
        assert_string_equal(json_string_value(json_object_get(s, "type")), "realtime");
        assert_non_null(json_string_value(json_object_get(s, "group")));
        assert_non_null(json_string_value(json_object_get(s, "keywords")));
    }
    s = json_array_get(list, 2 * 5 + 4); /* complaint, ecological_environment */
    assert_string_equal(json_string_value(json_object_get(s, "service_code")),
                        "complaint.ecological_environment");
    assert_string_equal(json_string_value(json_object_get(s, "service_name")), "投诉·生态环境保护");
    assert_non_null(strstr(json_string_value(json_object_get(s, "description")), "15个工作日"));
    json_decref(list);
}

static void service_codes_parse_strictly(void **state)
{
    enum ticket_kind kind;
    const char *category;
    char code[OPEN311_CODE_MAX + 1];

    (void)state;
    assert_int_equal(open311_service_parse("report.market_supervision", &kind, &category), 0);
    assert_int_equal(kind, KIND_REPORT);
    assert_string_equal(category, "market_supervision");
    assert_int_equal(open311_service_parse("report", &kind, &category), -1);
    assert_int_equal(open311_service_parse("report.", &kind, &category), -1);
    assert_int_equal(open311_service_parse("gossip.market_supervision", &kind, &category), -1);
    assert_int_equal(open311_service_parse("report.market_supervision.x", &kind, &category), -1);
    assert_int_equal(open311_service_code(KIND_HELP, "public_service", code), 0);
    assert_string_equal(code, "help.public_service");
    assert_int_equal(open311_service_code(KIND_HELP, "weather", code), -1);
}

static void a_definition_lists_the_attributes_and_their_values(void **state)
{
    json_t *def = open311_service_definition("help.public_service");

    (void)state;
    assert_non_null(def);
    assert_string_equal(json_string_value(json_object_get(def, "service_code")),
                        "help.public_service");
    json_t *attrs = json_object_get(def, "attributes");
    assert_int_equal(json_array_size(attrs), 2);
    json_t *first = json_array_get(attrs, 0);
    assert_string_equal(json_string_value(json_object_get(first, "code")), "citizen_type");
    assert_string_equal(json_string_value(json_object_get(first, "datatype")), "singlevaluelist");
    assert_int_equal(json_integer_value(json_object_get(first, "order")), 1);
    assert_int_equal(json_array_size(json_object_get(first, "values")), 3);
    json_decref(def);
    assert_null(open311_service_definition("help.weather"));
}

static void forms_decode_and_refuse_what_is_broken(void **state)
{
    struct open311_form form;
    char why[128];
    const char *ok = "service_code=help.public_service&description=%E8%B7%AF%E7%81%AF+%E4%B8%8D"
                     "%E4%BA%AE&&lat=23.1&empty=";

    (void)state;
    assert_int_equal(open311_form_parse(ok, strlen(ok), &form, why, sizeof(why)), 0);
    assert_int_equal(form.n, 4);
    assert_string_equal(open311_form_get(&form, "description"), "路灯 不亮");
    assert_string_equal(open311_form_get(&form, "lat"), "23.1");
    assert_null(open311_form_get(&form, "empty"));
    assert_null(open311_form_get(&form, "long"));
    open311_form_clear(&form);

    static const char *const bad[] = {
        "a=1&a=2", "a=%G1", "a=%2", "a=x%00y", "a=%FF", "=1", "a%01=1", "a=x%01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(open311_form_parse(bad[i], strlen(bad[i]), &form, why, sizeof(why)), -1);
        assert_true(why[0] != '\0');
        open311_form_clear(&form);
    }
    const char *lines = "description=%E4%B8%80%0A%E4%BA%8C%09";
    assert_int_equal(open311_form_parse(lines, strlen(lines), &form, why, sizeof(why)), 0);
    open311_form_clear(&form);

    char many[OPEN311_FORM_MAX * 8 + 16] = "";
    for (int i = 0; i <= OPEN311_FORM_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "k%d=v&", i);
    assert_int_equal(open311_form_parse(many, strlen(many), &form, why, sizeof(why)), -1);
    open311_form_clear(&form);
}

static void attributes_take_their_values_or_defaults(void **state)
{
    struct open311_form form;
    const char *type, *channel;
    char why[128];
    const char *text = "api_key=x&attribute%5Bchannel%5D=phone&first_name=%E5%B0%8F%E6%98%8E";

    (void)state;
    assert_int_equal(open311_form_parse(text, strlen(text), &form, why, sizeof(why)), 0);
    assert_int_equal(open311_form_check(&form, &type, &channel, why, sizeof(why)), 0);
    assert_string_equal(type, "person");
    assert_string_equal(channel, "phone");
    open311_form_clear(&form);

    static const char *const bad[] = {
        "nickname=x",    "attribute[colour]=red", "attribute[channel]=fax",
        "attribute[]=x", "attribute[channel=web",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(open311_form_parse(bad[i], strlen(bad[i]), &form, why, sizeof(why)), 0);
        assert_int_equal(open311_form_check(&form, &type, &channel, why, sizeof(why)), -1);
        open311_form_clear(&form);
    }
}

static void public_statuses_are_open_or_closed(void **state)
{
    static const char *const open[] = {"registered", "handling", "redo_requested"};
    static const char *const closed[] = {"answered", "rejected", "completed", "closed"};

    (void)state;
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(open311_status(open[i]), "open");
    for (size_t i = 0; i < 4; i++) {
        char word[32];
        snprintf(word, sizeof(word), "%s%s%s", i == 0 ? "{" : ",", closed[i], i == 3 ? "}" : ",");
        assert_string_equal(open311_status(closed[i]), "closed");
        assert_non_null(strstr(OPEN311_CLOSED_LITERAL, word));
    }
}

static void a_request_shows_no_address_and_strings_for_ids(void **state)
{
    struct open311_request r = {
        .id = "440100-20241104-000001",
        .status = "handling",
        .kind = "complaint",
        .category = "ecological_environment",
        .description = "工地夜间施工噪声",
        .agency = "广州市水务局",
        .emergency_line = "110",
        .emergency_hours = 2,
        .requested = 1730685600000000LL, /* 2024-11-04T10:00:00+08:00 */
        .updated = 1730685600500000LL,
        .division = "440106",
    };

    (void)state;
    json_t *o = open311_request_json(&r);
    assert_int_equal(json_object_size(o), 17);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "open");
    assert_string_equal(json_string_value(json_object_get(o, "service_code")),
                        "complaint.ecological_environment");
    assert_string_equal(json_string_value(json_object_get(o, "requested_datetime")),
                        "2024-11-04T10:00:00+08:00");
    assert_string_equal(json_string_value(json_object_get(o, "updated_datetime")),
                        "2024-11-04T10:00:00+08:00");
    assert_true(json_is_null(json_object_get(o, "expected_datetime")));
    assert_true(json_is_null(json_object_get(o, "address")));
    assert_true(json_is_null(json_object_get(o, "lat")));
    assert_true(json_is_null(json_object_get(o, "media_url")));
    assert_string_equal(json_string_value(json_object_get(o, "address_id")), "440106");
    assert_non_null(strstr(json_string_value(json_object_get(o, "service_notice")), "110"));
    json_decref(o);
}

static void notices_name_the_line_or_the_period(void **state)
{
    char out[256];

    (void)state;
    open311_notice("120", 1, 10, out, sizeof(out));
    assert_non_null(strstr(out, "拨打120"));
    open311_notice("none", 4, 10, out, sizeof(out));
    assert_non_null(strstr(out, "4小时"));
    open311_notice(NULL, 0, 15, out, sizeof(out));
    assert_non_null(strstr(out, "15个工作日"));
    open311_notice(NULL, 0, 0, out, sizeof(out));
    assert_string_equal(out, "");
}

static void xml_names_items_and_escapes_text(void **state)
{
    json_t *doc = json_pack("[{s:s,s:n,s:b,s:i,s:[s,s]}]", "service_code", "a<b>&\"c'", "notes",
                            "metadata", 1, "order", 3, "formats", "text/xml", "x\x01y");
    size_t len;

    (void)state;
    char *xml = open311_render(doc, OPEN311_XML, "services", "service", &len);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                             "<services><service><service_code>a&lt;b&gt;&amp;&quot;c&apos;"
                             "</service_code><notes/><metadata>true</metadata><order>3</order>"
                             "<formats><format>text/xml</format><format>x\xef\xbf\xbdy</format>"
                             "</formats></service></services>\n");
    assert_int_equal(len, strlen(xml));
    free(xml);
    char *json = open311_render(doc, OPEN311_JSON, "services", "service", &len);
    assert_int_equal(json[0], '[');
    free(json);
    json_decref(doc);
}

static void errors_are_a_list_of_code_and_description(void **state)
{
    json_t *e = open311_errors(403, "api_key is not valid");
    size_t len;

    (void)state;
    char *xml = open311_render(e, OPEN311_XML, "errors", "error", &len);
    assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors><error>"
                             "<code>403</code><description>api_key is not valid</description>"
                             "</error></errors>\n");
    free(xml);
    char *json = open311_render(e, OPEN311_JSON, "errors", "error", &len);
    assert_string_equal(json, "[{\"code\":403,\"description\":\"api_key is not valid\"}]");
    free(json);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(extensions_choose_the_format),
        cmocka_unit_test(every_kind_in_every_domain_is_a_service),
        cmocka_unit_test(service_codes_parse_strictly),
        cmocka_unit_test(a_definition_lists_the_attributes_and_their_values),
        cmocka_unit_test(forms_decode_and_refuse_what_is_broken),
        cmocka_unit_test(attributes_take_their_values_or_defaults),
        cmocka_unit_test(public_statuses_are_open_or_closed),
        cmocka_unit_test(a_request_shows_no_address_and_strings_for_ids),
        cmocka_unit_test(notices_name_the_line_or_the_period),
        cmocka_unit_test(xml_names_items_and_escapes_text),
        cmocka_unit_test(errors_are_a_list_of_code_and_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
