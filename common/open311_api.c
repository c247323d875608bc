/* SPDX-License-Identifier: Apache-2.0 */
/*
 * open311_api.c - the Open311 GeoReport v2 routes, in HTTP workers.
 *
 * A facade over the hotline, not a second one: a POST is an intake through
 * workflow_intake() with the caller restrictions, the emergency list and
 * repeat detection of any other; a request is a ticket, read through the
 * same tables as the staff's API, and shown as the citizen's progress query
 * shows it: its public status, never personal data.  At the province, a
 * POST for a city's jurisdiction is registered there and transferred to the
 * city at once, and reads for another node, or for none, answer from the
 * master dataset (node_kind.open311), so one endpoint serves the province.
 *
 * Every error is the standard's list of {code, description}: 404 for what
 * does not exist, 403 for an api_key that is not a service's token, 400
 * for anything else, the database being down included.  Nothing a caller
 * sends is logged.
 */
#include "open311_api.h"

#include "clock.h"
#include "config.h"
#include "emergencydb.h"
#include "log.h"
#include "node.h"
#include "open311.h"
#include "open311db.h"
#include "restriction_api.h"
#include "transferdb.h"
#include "utf8.h"
#include "workflow.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPECIFICATION     "http://wiki.open311.org/GeoReport_v2"
#define MAX_IDS           100
#define MAX_PAGE_SIZE     1000
#define MAX_SPAN_US       (90LL * 86400 * 1000000)
#define MAX_NAME_PART     50
#define MAX_ADDRESS       500
#define MAX_DESCRIPTION   4000
#define MAX_CONTACT       200
#define MAX_CLIENT_ID     100
#define MAX_MEDIA_URL     2000
#define IDS_LITERAL_MAX   (MAX_IDS * (TICKET_ID_LEN + 1) + 3)
#define CODES_LITERAL_MAX (KIND_COUNT * 5 * (OPEN311_CODE_MAX + 1) + 3)

/* The date the service definitions last changed (Service Discovery). */
#define CHANGESET "2026-12-04T00:00:00+08:00"

static const enum open311_format as_xml = OPEN311_XML, as_json = OPEN311_JSON;

/* --- answers ------------------------------------------------------------ */

static void answer(struct http_request *req, enum open311_format f, int status, json_t *doc,
                   const char *root, const char *item)
{
    size_t len = 0;
    char *text = doc != NULL ? open311_render(doc, f, root, item, &len) : NULL;

    json_decref(doc);
    if (text == NULL) {
        static const char xml[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors><error>"
                                  "<code>400</code><description>out of memory</description>"
                                  "</error></errors>\n";
        static const char json[] = "[{\"code\":400,\"description\":\"out of memory\"}]";
        if (f == OPEN311_JSON)
            http_reply_text(req, 400, open311_content_type(f), json, sizeof(json) - 1);
        else
            http_reply_text(req, 400, open311_content_type(f), xml, sizeof(xml) - 1);
        return;
    }
    http_reply_text(req, status, open311_content_type(f), text, len);
    free(text);
}

static void fail(struct http_request *req, enum open311_format f, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct http_request *req, enum open311_format f, int status, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    answer(req, f, status, open311_errors(status, text), "errors", "error");
}

static void fail_database(struct http_request *req, enum open311_format f)
{
    fail(req, f, 400, "the service cannot answer now: its database cannot be reached");
}

/* The format of a route whose path names it. */
static enum open311_format route_format(const struct http_request *req)
{
    const enum open311_format *f = http_route_arg(req);
    return f != NULL ? *f : OPEN311_XML;
}

/* The format and the name of a route ending in {file}: "440100-...-000001.json".
 * Returns 0, or -1 having answered 404. */
static int route_file(struct http_request *req, char *name, size_t cap, enum open311_format *f)
{
    if (open311_file_parse(http_path_param(req, "file"), name, cap, f) < 0) {
        *f = OPEN311_XML;
        fail(req, *f, 404, "no such resource: name it with .xml or .json");
        return -1;
    }
    return 0;
}

/* The node and this thread's connection, or NULL having answered. */
static struct db *database(struct http_request *req, enum open311_format f, struct node **node)
{
    *node = http_app(req);
    struct db *db = db_thread((*node)->cfg.database);

    if (db == NULL)
        fail_database(req, f);
    return db;
}

/* --- jurisdictions ------------------------------------------------------ */

/* Where the requests of a jurisdiction are read. */
struct source {
    int federated;    /* from the master dataset (the province only) */
    const char *node; /* of that node only, or NULL: every node */
};

/*
 * Resolves jurisdiction_id 'j' (NULL: none given): this node's own code or
 * none reads here; at the province, another registered node's code, or
 * none, reads the master dataset.  Only a node's code needs the database.
 * Returns 0, or -1 having answered.
 */
static int jurisdiction(struct http_request *req, enum open311_format f, struct node *node,
                        const char *j, struct source *out)
{
    const struct open311_federation *fed = node->kind->open311;
    struct db *db;

    *out = (struct source){0};
    if (j != NULL && strcmp(j, node->cfg.node_code) == 0)
        return 0;
    if (fed == NULL && j == NULL)
        return 0;
    if (fed != NULL && j == NULL) {
        out->federated = 1;
        return 0;
    }
    int known = 0;
    if (fed != NULL && config_code_valid(j, NODE_CITY)) {
        if ((db = database(req, f, &node)) == NULL)
            return -1;
        known = fed->knows(db, j);
    }
    if (known < 0) {
        fail_database(req, f);
        return -1;
    }
    if (known == 0) {
        fail(req, f, 404, "jurisdiction_id: no such jurisdiction here; this node serves %s",
             node->cfg.node_code);
        return -1;
    }
    out->federated = 1;
    out->node = j;
    return 0;
}

/* --- discovery and services --------------------------------------------- */

/* Is 'host' a plain host name or address with an optional port? */
static int host_plain(const char *host)
{
    size_t len = host != NULL ? strlen(host) : 0;

    return len > 0 && len <= 255 &&
           strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") ==
               len;
}

static void handle_discovery(struct http_request *req)
{
    enum open311_format f = route_format(req);
    struct node *node = http_app(req);
    const char *host = http_header(req, "Host");
    char url[512], contact[256];

    if (host_plain(host))
        snprintf(url, sizeof(url), "http://%s/open311/v2", host);
    else
        snprintf(url, sizeof(url), "http://%s:%d/open311/v2", node->cfg.http_address,
                 node->cfg.http_port);
    snprintf(contact, sizeof(contact), "%s 12345 政务服务便民热线 (%s)", node->cfg.node_name,
             node->cfg.node_code);
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:[s,s]}]}", "changeset", CHANGESET, "contact",
                  contact, "key_service",
                  "api_key: a token of a principal with the role 'service', issued by the node's"
                  " administrator (POST /api/v1/principals)",
                  "endpoints", "specification", SPECIFICATION, "url", url, "changeset", CHANGESET,
                  "type", "production", "formats", "text/xml", "application/json");
    answer(req, f, 200, doc, "discovery", NULL);
}

/* The services are the same everywhere: no database needed. */
static void handle_services(struct http_request *req)
{
    enum open311_format f = route_format(req);
    struct node *node = http_app(req);
    struct source src;

    if (jurisdiction(req, f, node, http_query_param(req, "jurisdiction_id"), &src) < 0)
        return;
    answer(req, f, 200, open311_services(node->hotline.periods.days), "services", "service");
}

static void handle_service(struct http_request *req)
{
    char code[OPEN311_CODE_MAX + 1];
    enum open311_format f;
    struct node *node = http_app(req);
    struct source src;

    if (route_file(req, code, sizeof(code), &f) < 0 ||
        jurisdiction(req, f, node, http_query_param(req, "jurisdiction_id"), &src) < 0)
        return;
    json_t *def = open311_service_definition(code);
    if (def == NULL) {
        fail(req, f, 404, "service_code: no such service");
        return;
    }
    answer(req, f, 200, def, "service_definition", NULL);
}

/* --- reading requests --------------------------------------------------- */

static PGresult *requests_read(struct db *db, const struct node *node, const struct source *src,
                               struct open311_query *q)
{
    if (!src->federated)
        return open311db_requests(db, q);
    q->node = src->node;
    return node->kind->open311->requests(db, q);
}

/* The rows of 'res' as the standard's requests; NULL if out of memory. */
static json_t *requests_json(PGresult *res)
{
    json_t *list = json_array();

    for (int i = 0; list != NULL && i < PQntuples(res); i++) {
        struct open311_request r;
        open311db_row(res, i, &r);
        if (json_array_append_new(list, open311_request_json(&r)) < 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

/*
 * Writes the comma list 'text' as an array literal into 'out' of 'cap'
 * bytes, each item checked by 'valid' (which may rewrite it into its
 * canonical form in place), at most 'max' of them.  Returns 0, or -1.
 */
static int list_literal(const char *text, int (*valid)(char *item), size_t max, char *out,
                        size_t cap)
{
    char *copy = strdup(text), *save = NULL;
    size_t n = 0, used = 1;
    int rc = -1;

    if (copy == NULL || cap < 3)
        goto out;
    out[0] = '{';
    /* Empty items (",,", a trailing comma) are refused, not skipped. */
    if (copy[0] == '\0' || copy[0] == ',' || copy[strlen(copy) - 1] == ',' ||
        strstr(copy, ",,") != NULL)
        goto out;
    for (char *item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        size_t len = strlen(item);
        if (++n > max || !valid(item) || used + len + 2 > cap)
            goto out;
        if (n > 1)
            out[used++] = ',';
        memcpy(out + used, item, len);
        used += len;
    }
    if (n == 0)
        goto out;
    out[used++] = '}';
    out[used] = '\0';
    rc = 0;
out:
    free(copy);
    return rc;
}

static int id_valid(char *item)
{
    return ticket_id_valid(item);
}

static int code_valid(char *item)
{
    enum ticket_kind kind;
    const char *category;

    return strlen(item) <= OPEN311_CODE_MAX && open311_service_parse(item, &kind, &category) == 0;
}

/* A query's date: RFC 3339 with an offset; a '+' that the query string
 * turned into a space is taken back.  Returns 0, or -1. */
static int date_parse(const char *text, int64_t *us)
{
    char copy[64];

    if (strlen(text) >= sizeof(copy))
        return -1;
    snprintf(copy, sizeof(copy), "%s", text);
    for (char *p = copy + 19; p < copy + strlen(copy); p++)
        if (*p == ' ')
            *p = '+';
    return clock_parse(copy, us);
}

static int positive(const char *text, long max, int *out)
{
    char *end;
    long v;

    if (text == NULL)
        return 0;
    v = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

/*
 * Reads the filters of GET /requests into 'q', its literals kept in 'ids'
 * and 'codes'.  service_request_id, when given, overrides every other.
 * Returns 0, or -1 having answered 400.
 */
static int query_read(struct http_request *req, enum open311_format f, struct open311_query *q,
                      char ids[IDS_LITERAL_MAX], char codes[CODES_LITERAL_MAX])
{
    const char *id_list = http_query_param(req, "service_request_id");
    const char *code_list = http_query_param(req, "service_code");
    const char *status = http_query_param(req, "status");
    const char *start = http_query_param(req, "start_date"),
               *end = http_query_param(req, "end_date");

    *q = (struct open311_query){.page = 1, .page_size = MAX_PAGE_SIZE};
    if (positive(http_query_param(req, "page"), 1000000, &q->page) < 0) {
        fail(req, f, 400, "page: a positive integer");
        return -1;
    }
    if (positive(http_query_param(req, "page_size"), MAX_PAGE_SIZE, &q->page_size) < 0) {
        fail(req, f, 400, "page_size: an integer from 1 to %d", MAX_PAGE_SIZE);
        return -1;
    }
    if (id_list != NULL) {
        if (list_literal(id_list, id_valid, MAX_IDS, ids, IDS_LITERAL_MAX) < 0) {
            fail(req, f, 400, "service_request_id: a comma list of at most %d request ids",
                 MAX_IDS);
            return -1;
        }
        q->ids = ids;
        return 0;
    }
    if (code_list != NULL) {
        if (list_literal(code_list, code_valid, KIND_COUNT * 5, codes, CODES_LITERAL_MAX) < 0) {
            fail(req, f, 400, "service_code: a comma list of the codes of GET services");
            return -1;
        }
        q->codes = codes;
    }
    if (status != NULL) {
        int open = 0, closed = 0;
        if (strcmp(status, "open") == 0)
            open = 1;
        else if (strcmp(status, "closed") == 0)
            closed = 1;
        else if (strcmp(status, "open,closed") == 0 || strcmp(status, "closed,open") == 0)
            open = closed = 1;
        if (!open && !closed) {
            fail(req, f, 400, "status: open, closed, or both, comma delimited");
            return -1;
        }
        q->status = open && closed ? NULL : open ? "open" : "closed";
    }
    int64_t from = 0, to = 0;
    if ((start != NULL && date_parse(start, &from) < 0) ||
        (end != NULL && date_parse(end, &to) < 0)) {
        fail(req, f, 400,
             "start_date and end_date: ISO 8601 date-times with an offset,"
             " e.g. 2024-11-04T10:00:00+08:00");
        return -1;
    }
    if (start == NULL && end == NULL) {
        to = clock_now_us();
        from = to - MAX_SPAN_US;
    } else if (end == NULL) {
        to = from + MAX_SPAN_US;
    } else if (start == NULL) {
        from = to - MAX_SPAN_US;
    }
    if (to < from || to - from > MAX_SPAN_US) {
        fail(req, f, 400, "end_date must follow start_date by at most 90 days");
        return -1;
    }
    q->from = from;
    q->to = to + 1; /* the end is inclusive */
    return 0;
}

static void handle_requests(struct http_request *req)
{
    enum open311_format f = route_format(req);
    char ids[IDS_LITERAL_MAX], codes[CODES_LITERAL_MAX];
    struct open311_query q;
    struct node *node;
    struct source src;
    struct db *db;

    if (query_read(req, f, &q, ids, codes) < 0 || (db = database(req, f, &node)) == NULL ||
        jurisdiction(req, f, node, http_query_param(req, "jurisdiction_id"), &src) < 0)
        return;
    PGresult *res = requests_read(db, node, &src, &q);
    if (res == NULL) {
        fail_database(req, f);
        return;
    }
    json_t *list = requests_json(res);
    PQclear(res);
    answer(req, f, 200, list, "service_requests", "request");
}

/*
 * Reads request 'id' where jurisdiction_id says.  Returns the result of
 * one row, or NULL having answered 404 (or 400).
 */
static PGresult *request_one(struct http_request *req, enum open311_format f, const char *id)
{
    char ids[TICKET_ID_LEN + 3];
    struct node *node;
    struct source src;
    struct db *db;

    if (!ticket_id_valid(id)) {
        fail(req, f, 404, "no such service request");
        return NULL;
    }
    if ((db = database(req, f, &node)) == NULL ||
        jurisdiction(req, f, node, http_query_param(req, "jurisdiction_id"), &src) < 0)
        return NULL;
    snprintf(ids, sizeof(ids), "{%s}", id);
    struct open311_query q = {.ids = ids, .page = 1, .page_size = 1};
    PGresult *res = requests_read(db, node, &src, &q);
    if (res == NULL) {
        fail_database(req, f);
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        fail(req, f, 404, "no such service request");
        return NULL;
    }
    return res;
}

static void handle_request(struct http_request *req)
{
    char id[TICKET_ID_LEN + 2];
    enum open311_format f;

    if (route_file(req, id, sizeof(id), &f) < 0)
        return;
    PGresult *res = request_one(req, f, id);
    if (res == NULL)
        return;
    json_t *list = requests_json(res);
    PQclear(res);
    answer(req, f, 200, list, "service_requests", "request");
}

/* Requests are made at once, so a token is only ever the request's id:
 * a client that asks anyway gets the same id back. */
static void handle_token(struct http_request *req)
{
    char token[TICKET_ID_LEN + 2];
    enum open311_format f;

    if (route_file(req, token, sizeof(token), &f) < 0)
        return;
    PGresult *res = request_one(req, f, token);
    if (res == NULL)
        return;
    PQclear(res);
    answer(req, f, 200, json_pack("[{s:s,s:s}]", "service_request_id", token, "token", token),
           "service_requests", "request");
}

static void handle_unknown(struct http_request *req)
{
    char name[64];
    enum open311_format f;

    if (route_file(req, name, sizeof(name), &f) == 0)
        fail(req, f, 404, "no such resource");
}

/* --- filing a request --------------------------------------------------- */

/* The number of characters of UTF-8 text 's'. */
static size_t chars(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* A coordinate: a decimal number within +-'limit'.  Returns 0, or -1. */
static int coordinate(const char *text, double limit, double *out)
{
    char *end;
    double v = strtod(text, &end);

    if (text[0] == '\0' || *end != '\0' || !isfinite(v) || v < -limit || v > limit ||
        strspn(text, "+-0123456789.") != strlen(text))
        return -1;
    *out = v;
    return 0;
}

/* What a POST asks, checked. */
struct filing {
    enum ticket_kind kind;
    const char *category, *citizen_type, *channel;
    const char *jurisdiction; /* the node whose appeal it is */
    const char *division;
    char address[MAX_ADDRESS * 4 + 1];
    char name[MAX_NAME_PART * 8 + 2];
    const char *phone, *email, *description, *media_url, *account_id;
    double lat, lon;
    int located; /* lat and long given */
};

/* Checks the fields of 'form' into 'out'.  Returns 0, or -1 with the
 * reason in 'why'. */
static int filing_read(const struct open311_form *form, struct filing *out, char *why, size_t cap)
{
    const char *code = open311_form_get(form, "service_code");
    const char *lat = open311_form_get(form, "lat"), *lon = open311_form_get(form, "long");
    const char *address = open311_form_get(form, "address_string");
    const char *address_id = open311_form_get(form, "address_id");
    const char *first = open311_form_get(form, "first_name");
    const char *last = open311_form_get(form, "last_name");
    const char *device = open311_form_get(form, "device_id");

    if (open311_form_check(form, &out->citizen_type, &out->channel, why, cap) < 0)
        return -1;
    if (code == NULL || open311_service_parse(code, &out->kind, &out->category) < 0) {
        snprintf(why, cap, "service_code: one of the codes of GET services is required");
        return -1;
    }
    if ((lat == NULL) != (lon == NULL) || (lat != NULL && (coordinate(lat, 90, &out->lat) < 0 ||
                                                           coordinate(lon, 180, &out->lon) < 0))) {
        snprintf(why, cap, "lat and long: WGS84 degrees, both or neither");
        return -1;
    }
    out->located = lat != NULL;
    if (address != NULL && chars(address) > MAX_ADDRESS) {
        snprintf(why, cap, "address_string: at most %d characters", MAX_ADDRESS);
        return -1;
    }
    if (address_id != NULL && (strlen(address_id) != 6 || strspn(address_id, "0123456789") != 6 ||
                               address_id[0] == '0')) {
        snprintf(why, cap, "address_id: the six-digit GB/T 2260 code of the county or district");
        return -1;
    }
    if (!out->located && address == NULL && address_id == NULL) {
        snprintf(why, cap, "a location is required: lat and long, address_string or address_id");
        return -1;
    }
    out->division = address_id;
    if (address != NULL)
        snprintf(out->address, sizeof(out->address), "%s", address);
    else if (out->located)
        snprintf(out->address, sizeof(out->address), "WGS84 %.6f, %.6f", out->lat, out->lon);
    else
        snprintf(out->address, sizeof(out->address), "行政区划 %s", address_id);

    out->description = open311_form_get(form, "description");
    if (out->description == NULL || chars(out->description) > MAX_DESCRIPTION) {
        snprintf(why, cap, "description: the appeal itself, 1 to %d characters, is required",
                 MAX_DESCRIPTION);
        return -1;
    }
    if ((first == NULL && last == NULL) || (first != NULL && chars(first) > MAX_NAME_PART) ||
        (last != NULL && chars(last) > MAX_NAME_PART)) {
        snprintf(why, cap, "first_name or last_name (at most %d characters each) is required",
                 MAX_NAME_PART);
        return -1;
    }
    /* 陈 + 小明 reads 陈小明; Jane + Doe reads Jane Doe. */
    if (first != NULL && last != NULL && ascii(first) && ascii(last))
        snprintf(out->name, sizeof(out->name), "%s %s", first, last);
    else
        snprintf(out->name, sizeof(out->name), "%s%s", last != NULL ? last : "",
                 first != NULL ? first : "");
    char number[RESTRICTION_PHONE_MAX + 1];
    out->phone = open311_form_get(form, "phone");
    if (out->phone == NULL || strlen(out->phone) > 16 ||
        restriction_phone_normalize(out->phone, number) < 0) {
        snprintf(why, cap,
                 "phone: a mobile or landline number is required, to follow the"
                 " appeal up");
        return -1;
    }
    out->email = open311_form_get(form, "email");
    if (out->email != NULL && (chars(out->email) > MAX_CONTACT || strchr(out->email, '@') == NULL ||
                               strpbrk(out->email, " \t\r\n") != NULL)) {
        snprintf(why, cap, "email: an address of at most %d characters", MAX_CONTACT);
        return -1;
    }
    out->account_id = open311_form_get(form, "account_id");
    if ((out->account_id != NULL && chars(out->account_id) > MAX_CLIENT_ID) ||
        (device != NULL && chars(device) > MAX_CLIENT_ID)) {
        snprintf(why, cap, "account_id and device_id: at most %d characters", MAX_CLIENT_ID);
        return -1;
    }
    out->media_url = open311_form_get(form, "media_url");
    if (out->media_url != NULL &&
        ((strncmp(out->media_url, "http://", 7) != 0 &&
          strncmp(out->media_url, "https://", 8) != 0) ||
         strlen(out->media_url) > MAX_MEDIA_URL || strlen(out->media_url) < 9 ||
         strpbrk(out->media_url, " \t\r\n") != NULL)) {
        snprintf(why, cap, "media_url: an http or https URL of at most %d bytes", MAX_MEDIA_URL);
        return -1;
    }
    return 0;
}

/* Checks the api_key of 'form'.  Returns 1 with the service in 'who', 0
 * having answered 403, -1 having answered 400. */
static int service_key(struct http_request *req, enum open311_format f, struct db *db,
                       const struct open311_form *form, struct principal *who)
{
    const char *key = open311_form_get(form, "api_key");
    int found = key != NULL ? auth_lookup(db, key, who) : 0;

    if (found < 0) {
        fail_database(req, f);
        return -1;
    }
    if (found == 0 || who->role != ROLE_SERVICE) {
        fail(req, f, 403, "api_key: the token of a service is required");
        return 0;
    }
    return 1;
}

/* Registers the appeal; writes its id and the notice for the caller.
 * Returns 0, or -1 having answered. */
static int file_appeal(struct http_request *req, enum open311_format f, struct db *db,
                       struct node *node, const struct principal *who, const struct filing *in,
                       char id[TICKET_ID_LEN + 1], char *notice, size_t cap)
{
    char restriction[RESTRICTION_ID_MAX + 1], until[CLOCK_RFC3339_LEN];
    int refused =
        restriction_check(db, &node->hotline, who, in->phone, in->channel, restriction, until);

    if (refused != 0) {
        if (refused < 0)
            fail_database(req, f);
        else
            fail(req, f, 400,
                 "this number may not use the phone hotline until %s (restriction %s, Art 9);"
                 " the appeal may be made on the website, the app or the mini-program",
                 until, restriction);
        return -1;
    }
    struct emergency_list emergencies;
    if (emergencydb_load(db, &emergencies) < 0) {
        fail_database(req, f);
        return -1;
    }
    struct intake intake = {
        .kind = in->kind,
        .channel = in->channel,
        .category = in->category,
        .content = in->description,
        .citizen_type = in->citizen_type,
        .name = in->name,
        .phone = in->phone,
        .contact = in->email,
        .division = in->division != NULL ? in->division : in->jurisdiction,
        .address = in->address,
        .lat = in->located ? &in->lat : NULL,
        .lon = in->located ? &in->lon : NULL,
        .source = "local",
        .media_url = in->media_url,
    };
    intake.emergency =
        emergency_match(emergencies.rules, emergencies.n, intake.category, intake.content);
    json_t *repeats = NULL;
    enum workflow_result done = workflow_intake(db, &node->hotline, who, &intake, id, &repeats);
    if (done == WORKFLOW_DONE)
        open311_notice(intake.emergency != NULL ? intake.emergency->line : NULL,
                       intake.emergency != NULL ? intake.emergency->period_hours : 0,
                       node->hotline.periods.days[in->kind], notice, cap);
    emergencydb_list_clear(&emergencies);
    json_decref(repeats);
    if (done != WORKFLOW_DONE) {
        fail(req, f, 400, "the appeal could not be registered; try again");
        return -1;
    }
    log_info("registered '%s' through open311", id);
    return 0;
}

/*
 * Art 3: the province registers an appeal for a city's jurisdiction and
 * transfers it there at once, as its operators would.  When the transfer
 * cannot be offered the appeal stays here, for the operators to triage.
 */
static void forward(struct db *db, struct node *node, const struct principal *who, const char *id,
                    const char *to, char *notice, size_t cap)
{
    char detail[32], reason[64];
    struct ticket_refusal why;

    snprintf(detail, sizeof(detail), "{\"to\":\"%s\"}", to);
    snprintf(reason, sizeof(reason), "Open311 请求的管辖地为 %s", to);
    struct action_request ar = {
        .action = ACTION_TRANSFER,
        .reason = reason,
        .detail = detail,
        .also = transferdb_offer,
        .also_arg = node,
    };
    if (workflow_act(db, &node->hotline, who, id, &ar, &why) != WORKFLOW_DONE) {
        log_warnx("could not transfer '%s' to '%s' at intake; it waits here for triage", id, to);
        return;
    }
    size_t used = strlen(notice);
    snprintf(notice + used, cap - used, "已转交管辖地 %s 办理。", to);
}

static void handle_post(struct http_request *req)
{
    enum open311_format f = route_format(req);
    char why[256], id[TICKET_ID_LEN + 1], notice[512] = "";
    struct open311_form form = {0};
    struct filing in = {0};
    struct principal who;
    struct node *node;
    struct source src;
    const char *body;
    size_t len;
    struct db *db;

    if ((db = database(req, f, &node)) == NULL)
        return;
    if (http_body_raw(req, &body, &len) < 0) {
        fail(req, f, 400, "the form exceeds %d bytes", HTTP_MAX_BODY);
        return;
    }
    if (open311_form_parse(body, len, &form, why, sizeof(why)) < 0) {
        fail(req, f, 400, "%s", why);
        goto out;
    }
    if (service_key(req, f, db, &form, &who) <= 0)
        goto out;
    if (filing_read(&form, &in, why, sizeof(why)) < 0) {
        fail(req, f, 400, "%s", why);
        goto out;
    }
    const char *j = open311_form_get(&form, "jurisdiction_id");
    if (jurisdiction(req, f, node, j, &src) < 0)
        goto out;
    in.jurisdiction = src.node != NULL ? src.node : node->cfg.node_code;
    if (file_appeal(req, f, db, node, &who, &in, id, notice, sizeof(notice)) < 0)
        goto out;
    if (src.node != NULL)
        forward(db, node, &who, id, src.node, notice, sizeof(notice));
    answer(req, f, 200,
           json_pack("[{s:s,s:s,s:s?}]", "service_request_id", id, "service_notice", notice,
                     "account_id", in.account_id),
           "service_requests", "request");
out:
    open311_form_clear(&form);
}

#define FORMATS(method, path, handler)                                                             \
    {method, "/open311/v2/" path ".xml", handler, 0, &as_xml},                                     \
    {                                                                                              \
        method, "/open311/v2/" path ".json", handler, 0, &as_json                                  \
    }

const struct http_route open311_routes[] = {
    FORMATS("GET", "discovery", handle_discovery),
    FORMATS("GET", "services", handle_services),
    {"GET", "/open311/v2/services/{file}", handle_service, 0, NULL},
    FORMATS("GET", "requests", handle_requests),
    FORMATS("POST", "requests", handle_post),
    {"GET", "/open311/v2/requests/{file}", handle_request, 0, NULL},
    {"GET", "/open311/v2/request/{file}", handle_request, 0, NULL},
    {"GET", "/open311/v2/tokens/{file}", handle_token, 0, NULL},
    /* Anything else under the base path is the standard's 404. */
    {"GET", "/open311/v2/{file}", handle_unknown, 0, NULL},
    {"POST", "/open311/v2/{file}", handle_unknown, 0, NULL},
    {"GET", "/open311/v2/{dir}/{file}", handle_unknown, 0, NULL},
};

const size_t open311_routes_len = sizeof(open311_routes) / sizeof(open311_routes[0]);
