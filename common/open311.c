/* SPDX-License-Identifier: Apache-2.0 */
/*
 * open311.c - the tables and the rendering of the Open311 GeoReport v2
 * facade: services and their attributes, the form of a POST, the public
 * fields of a request, JSON and XML answers.  Pure; called from the HTTP
 * workers by open311_api.c.
 */
#include "open311.h"

#include "clock.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *open311_content_type(enum open311_format f)
{
    return f == OPEN311_JSON ? "application/json" : "text/xml";
}

int open311_file_parse(const char *file, char *name, size_t cap, enum open311_format *f)
{
    const char *dot = strrchr(file, '.');

    if (dot == NULL || dot == file || (size_t)(dot - file) >= cap)
        return -1;
    if (strcmp(dot, ".xml") == 0)
        *f = OPEN311_XML;
    else if (strcmp(dot, ".json") == 0)
        *f = OPEN311_JSON;
    else
        return -1;
    memcpy(name, file, (size_t)(dot - file));
    name[dot - file] = '\0';
    return 0;
}

/* --- services ----------------------------------------------------------- */

/* The five domains of Art 7, in the order of ticket_categories. */
static const struct {
    const char *name, *title, *keywords;
} domains[] = {
    {"economic_regulation", "经济调节", "价格,物价,收费,能源,统计"},
    {"market_supervision", "市场监管", "消费维权,食品安全,商品质量,商户,广告"},
    {"social_management", "社会管理", "治安,交通,住房,户籍,社区,劳动"},
    {"public_service", "公共服务", "供水,供电,燃气,教育,医疗,社保,公交"},
    {"ecological_environment", "生态环境保护", "噪声,污染,垃圾,扬尘,排水,绿化"},
};

static const char *const kind_titles[KIND_COUNT] = {
    [KIND_CONSULTATION] = "咨询", [KIND_HELP] = "求助",       [KIND_COMPLAINT] = "投诉",
    [KIND_REPORT] = "举报",       [KIND_SUGGESTION] = "建议",
};

static int domain_of(const char *category)
{
    for (size_t i = 0; i < COUNT(domains); i++)
        if (category != NULL && strcmp(domains[i].name, category) == 0)
            return (int)i;
    return -1;
}

int open311_service_code(enum ticket_kind kind, const char *category,
                         char out[OPEN311_CODE_MAX + 1])
{
    if ((unsigned)kind >= KIND_COUNT || domain_of(category) < 0)
        return -1;
    snprintf(out, OPEN311_CODE_MAX + 1, "%s.%s", ticket_kind_name(kind), category);
    return 0;
}

int open311_service_parse(const char *code, enum ticket_kind *kind, const char **category)
{
    const char *dot = strchr(code, '.');
    char name[OPEN311_CODE_MAX + 1];
    enum ticket_kind k;

    if (dot == NULL || (size_t)(dot - code) > OPEN311_CODE_MAX)
        return -1;
    memcpy(name, code, (size_t)(dot - code));
    name[dot - code] = '\0';
    int d = domain_of(dot + 1);
    if (d < 0 || ticket_kind_parse(name, &k) < 0)
        return -1;
    *kind = k;
    *category = domains[d].name;
    return 0;
}

int open311_service_name(enum ticket_kind kind, const char *category, char *out, size_t cap)
{
    int d = domain_of(category);

    if ((unsigned)kind >= KIND_COUNT || d < 0)
        return -1;
    snprintf(out, cap, "%s·%s", kind_titles[kind], domains[d].title);
    return 0;
}

json_t *open311_services(const int days[KIND_COUNT])
{
    json_t *list = json_array();

    for (int k = 0; list != NULL && k < KIND_COUNT; k++) {
        for (size_t d = 0; d < COUNT(domains); d++) {
            char code[OPEN311_CODE_MAX + 1], name[128], about[256];
            open311_service_code((enum ticket_kind)k, domains[d].name, code);
            open311_service_name((enum ticket_kind)k, domains[d].name, name, sizeof(name));
            snprintf(about, sizeof(about), "%s%s方面的诉求；承办单位收到后%d个工作日内办结。",
                     kind_titles[k], domains[d].title, days[k]);
            json_t *s =
                json_pack("{s:s,s:s,s:s,s:b,s:s,s:s,s:s}", "service_code", code, "service_name",
                          name, "description", about, "metadata", 1, "type", "realtime", "keywords",
                          domains[d].keywords, "group", domains[d].title);
            if (s == NULL || json_array_append_new(list, s) < 0) {
                json_decref(list);
                return NULL;
            }
        }
    }
    return list;
}

/* The attributes every service takes: who the citizen is, and through
 * which channel the appeal came (a phone channel is subject to caller
 * restrictions, Art 9). */
struct attribute_value {
    const char *key, *name;
};

static const struct attribute_value citizen_types[] = {
    {"person", "个人"}, {"legal_person", "法人"}, {"organization", "其他组织"}, {NULL, NULL}};
static const struct attribute_value channels[] = {{"web", "网站"},
                                                  {"app", "移动应用"},
                                                  {"miniprogram", "小程序"},
                                                  {"phone", "电话"},
                                                  {NULL, NULL}};

static const struct attribute {
    const char *code, *description, *datatype_description;
    const struct attribute_value *values; /* the first is the default */
} attributes[] = {
    {"citizen_type", "诉求人类型（默认：个人）", "个人、法人或其他组织", citizen_types},
    {"channel", "诉求提交渠道（默认：网站）", "网站、移动应用、小程序或电话", channels},
};

json_t *open311_service_definition(const char *code)
{
    enum ticket_kind kind;
    const char *category;

    if (open311_service_parse(code, &kind, &category) < 0)
        return NULL;
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < COUNT(attributes); i++) {
        json_t *values = json_array();
        for (const struct attribute_value *v = attributes[i].values; v->key != NULL; v++)
            json_array_append_new(values, json_pack("{s:s,s:s}", "key", v->key, "name", v->name));
        json_array_append_new(
            list,
            json_pack("{s:b,s:s,s:s,s:b,s:s,s:i,s:s,s:o}", "variable", 1, "code",
                      attributes[i].code, "datatype", "singlevaluelist", "required", 0,
                      "datatype_description", attributes[i].datatype_description, "order",
                      (int)i + 1, "description", attributes[i].description, "values", values));
    }
    return json_pack("{s:s,s:o}", "service_code", code, "attributes", list);
}

/* --- the form of a POST ------------------------------------------------- */

const char *const open311_post_fields[] = {
    "api_key",    "jurisdiction_id", "service_code", "lat",        "long",       "address_string",
    "address_id", "email",           "device_id",    "account_id", "first_name", "last_name",
    "phone",      "description",     "media_url",    NULL,
};

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes 'len' bytes of a form key or value into a new string; NULL if an
 * escape is broken or out of memory. */
static char *form_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < len ? hex(s[i + 1]) : -1, lo = i + 2 < len ? hex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    /* A NUL decoded from %00 would cut the text short: refuse it. */
    if (strlen(out) != o) {
        free(out);
        return NULL;
    }
    return out;
}

/* Is 's' UTF-8 without control characters ('lines': but tabs and line breaks)? */
static int text_clean(const char *s, int lines)
{
    if (!utf8_valid(s, strlen(s)))
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if ((*p < 0x20 && !(lines && (*p == '\t' || *p == '\n' || *p == '\r'))) || *p == 0x7f)
            return 0;
    return 1;
}

int open311_form_parse(const char *text, size_t len, struct open311_form *form, char *why,
                       size_t cap)
{
    size_t at = 0;

    memset(form, 0, sizeof(*form));
    while (at < len) {
        const char *field = text + at;
        const char *amp = memchr(field, '&', len - at);
        size_t flen = amp != NULL ? (size_t)(amp - field) : len - at;
        at += flen + 1;
        if (flen == 0)
            continue;
        const char *eq = memchr(field, '=', flen);
        size_t klen = eq != NULL ? (size_t)(eq - field) : flen;
        if (form->n == OPEN311_FORM_MAX) {
            snprintf(why, cap, "more than %d fields", OPEN311_FORM_MAX);
            return -1;
        }
        char *key = form_decode(field, klen);
        char *value =
            form_decode(eq != NULL ? eq + 1 : field + flen, eq != NULL ? flen - klen - 1 : 0);
        if (key == NULL || value == NULL) {
            free(key);
            free(value);
            snprintf(why, cap, "the form is not well encoded");
            return -1;
        }
        form->keys[form->n] = key;
        form->values[form->n++] = value;
        if (key[0] == '\0' || !text_clean(key, 0)) {
            snprintf(why, cap, "a field name is empty or not UTF-8 text");
            return -1;
        }
        if (!text_clean(value, 1)) {
            snprintf(why, cap, "'%.64s' is not UTF-8 text", key);
            return -1;
        }
        for (size_t i = 0; i + 1 < form->n; i++) {
            if (strcmp(form->keys[i], key) == 0) {
                snprintf(why, cap, "'%.64s' is given twice", key);
                return -1;
            }
        }
    }
    return 0;
}

void open311_form_clear(struct open311_form *form)
{
    for (size_t i = 0; i < form->n; i++) {
        free(form->keys[i]);
        free(form->values[i]);
    }
    form->n = 0;
}

const char *open311_form_get(const struct open311_form *form, const char *key)
{
    for (size_t i = 0; i < form->n; i++)
        if (strcmp(form->keys[i], key) == 0)
            return form->values[i][0] != '\0' ? form->values[i] : NULL;
    return NULL;
}

static int post_field(const char *key)
{
    for (size_t i = 0; open311_post_fields[i] != NULL; i++)
        if (strcmp(open311_post_fields[i], key) == 0)
            return 1;
    return 0;
}

int open311_form_check(const struct open311_form *form, const char **citizen_type,
                       const char **channel, char *why, size_t cap)
{
    const char **out[COUNT(attributes)] = {citizen_type, channel};

    for (size_t i = 0; i < COUNT(attributes); i++)
        *out[i] = attributes[i].values[0].key;
    for (size_t i = 0; i < form->n; i++) {
        const char *key = form->keys[i], *value = form->values[i];
        size_t len = strlen(key);
        if (post_field(key))
            continue;
        if (strncmp(key, "attribute[", 10) != 0 || len < 12 || key[len - 1] != ']') {
            snprintf(why, cap, "'%.64s' is not a field of a service request", key);
            return -1;
        }
        size_t a = 0;
        while (a < COUNT(attributes) && (strlen(attributes[a].code) != len - 11 ||
                                         strncmp(attributes[a].code, key + 10, len - 11) != 0))
            a++;
        if (a == COUNT(attributes)) {
            snprintf(why, cap, "'%.64s' is not an attribute of this service", key);
            return -1;
        }
        const struct attribute_value *v = attributes[a].values;
        while (v->key != NULL && strcmp(v->key, value) != 0)
            v++;
        if (v->key == NULL) {
            snprintf(why, cap, "'%.64s' is not one of the values of attribute '%s'", value,
                     attributes[a].code);
            return -1;
        }
        *out[a] = v->key;
    }
    return 0;
}

/* --- requests ----------------------------------------------------------- */

const char *open311_status(const char *public_status)
{
    static const char *const closed[] = {"answered", "rejected", "completed", "closed"};

    for (size_t i = 0; i < COUNT(closed); i++)
        if (strcmp(closed[i], public_status) == 0)
            return "closed";
    return "open";
}

/* What each public status means, for status_notes. */
static const struct {
    const char *status, *note;
} notes[] = {
    {"registered", "已登记，等待派交承办单位"},
    {"handling", "承办单位办理中"},
    {"answered", "热线已直接答复"},
    {"rejected", "不予受理"},
    {"completed", "已办结，可进行满意度评价"},
    {"redo_requested", "诉求人申请重新办理，待审核"},
    {"closed", "已办结归档"},
};

static json_t *time_or_null(int64_t us)
{
    char text[CLOCK_RFC3339_LEN];

    if (us == 0)
        return json_null();
    clock_format_seconds(us, text);
    return json_string(text);
}

static json_t *text_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

void open311_notice(const char *emergency_line, int emergency_hours, int days, char *out,
                    size_t cap)
{
    if (emergency_hours > 0 && emergency_line != NULL && strcmp(emergency_line, "none") != 0)
        snprintf(out, cap, "紧急情况请立即拨打%s。本诉求已按紧急事项转办，%d小时内处置。",
                 emergency_line, emergency_hours);
    else if (emergency_hours > 0)
        snprintf(out, cap, "本诉求已按紧急事项办理，%d小时内处置。", emergency_hours);
    else if (days > 0)
        snprintf(out, cap, "已受理登记，承办单位收到后%d个工作日内办结。", days);
    else if (cap > 0)
        out[0] = '\0';
}

json_t *open311_request_json(const struct open311_request *r)
{
    char code[OPEN311_CODE_MAX + 1], name[128], notice[256];
    const char *note = NULL;
    enum ticket_kind kind;

    if (ticket_kind_parse(r->kind, &kind) < 0 ||
        open311_service_code(kind, r->category, code) < 0 ||
        open311_service_name(kind, r->category, name, sizeof(name)) < 0) {
        snprintf(code, sizeof(code), "%.*s", OPEN311_CODE_MAX, r->kind);
        snprintf(name, sizeof(name), "%s", r->kind);
    }
    for (size_t i = 0; i < COUNT(notes); i++)
        if (strcmp(notes[i].status, r->status) == 0)
            note = notes[i].note;
    open311_notice(r->emergency_line, r->emergency_hours, 0, notice, sizeof(notice));
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "service_request_id", json_string(r->id));
    json_object_set_new(o, "status", json_string(open311_status(r->status)));
    json_object_set_new(o, "status_notes", text_or_null(note));
    json_object_set_new(o, "service_name", json_string(name));
    json_object_set_new(o, "service_code", json_string(code));
    json_object_set_new(o, "description", text_or_null(r->description));
    json_object_set_new(o, "agency_responsible", text_or_null(r->agency));
    json_object_set_new(o, "service_notice", text_or_null(notice));
    json_object_set_new(o, "requested_datetime", time_or_null(r->requested));
    json_object_set_new(o, "updated_datetime", time_or_null(r->updated));
    json_object_set_new(o, "expected_datetime", time_or_null(r->expected));
    /* The address and the coordinates the citizen gave may be a home:
     * they stay with the node, as they stay out of the master dataset. */
    json_object_set_new(o, "address", json_null());
    json_object_set_new(o, "address_id", text_or_null(r->division));
    json_object_set_new(o, "zipcode", json_null());
    json_object_set_new(o, "lat", json_null());
    json_object_set_new(o, "long", json_null());
    json_object_set_new(o, "media_url", text_or_null(r->media_url));
    if (json_object_size(o) != 17) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* --- answers ------------------------------------------------------------ */

static const struct {
    const char *plural, *singular;
} children[] = {
    {"attributes", "attribute"},
    {"values", "value"},
    {"endpoints", "endpoint"},
    {"formats", "format"},
};

static const char *singular(const char *plural)
{
    for (size_t i = 0; i < COUNT(children); i++)
        if (strcmp(children[i].plural, plural) == 0)
            return children[i].singular;
    return "item";
}

#define REPLACEMENT "\xef\xbf\xbd"

/* Writes 's' as XML character data. */
static void xml_text(FILE *out, const char *s)
{
    size_t len = strlen(s);

    for (size_t i = 0, n; i < len; i += n) {
        unsigned char c = (unsigned char)s[i];
        n = utf8_char(s + i, len - i);
        if (n == 0) {
            fputs(REPLACEMENT, out);
            n = 1;
        } else if (c == '&') {
            fputs("&amp;", out);
        } else if (c == '<') {
            fputs("&lt;", out);
        } else if (c == '>') {
            fputs("&gt;", out);
        } else if (c == '"') {
            fputs("&quot;", out);
        } else if (c == '\'') {
            fputs("&apos;", out);
        } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
                   (n == 3 && memcmp(s + i, "\xef\xbf\xbe", 3) == 0) ||
                   (n == 3 && memcmp(s + i, "\xef\xbf\xbf", 3) == 0)) {
            fputs(REPLACEMENT, out);
        } else {
            fwrite(s + i, 1, n, out);
        }
    }
}

static void xml_value(FILE *out, const char *name, json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    if (json_is_null(v)) {
        fprintf(out, "<%s/>", name);
        return;
    }
    fprintf(out, "<%s>", name);
    if (json_is_array(v)) {
        json_array_foreach(v, i, item)
        {
            xml_value(out, singular(name), item);
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            xml_value(out, key, item);
        }
    } else if (json_is_string(v)) {
        xml_text(out, json_string_value(v));
    } else if (json_is_boolean(v)) {
        fputs(json_is_true(v) ? "true" : "false", out);
    } else {
        char *number = json_dumps(v, JSON_ENCODE_ANY);
        fputs(number != NULL ? number : "", out);
        free(number);
    }
    fprintf(out, "</%s>", name);
}

char *open311_render(json_t *doc, enum open311_format f, const char *root, const char *item,
                     size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    json_t *member;
    size_t i;

    if (f == OPEN311_JSON) {
        text = json_dumps(doc, JSON_COMPACT);
        if (text != NULL)
            *len = strlen(text);
        return text;
    }
    FILE *out = open_memstream(&text, &size);
    if (out == NULL)
        return NULL;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    if (json_is_array(doc)) {
        fprintf(out, "<%s>", root);
        json_array_foreach(doc, i, member)
        {
            xml_value(out, item, member);
        }
        fprintf(out, "</%s>", root);
    } else {
        xml_value(out, root, doc);
    }
    fputc('\n', out);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    *len = size;
    return text;
}

json_t *open311_errors(int status, const char *description)
{
    return json_pack("[{s:i,s:s}]", "code", status, "description", description);
}
