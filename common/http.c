/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - the HTTP shell of a node: routing, authentication, bodies and
 * answers, over libmicrohttpd's thread pool.
 *
 * Every request runs in one worker thread from start to end.  The answer is
 * queued on a later callback than the first one of the request, so that
 * libmicrohttpd keeps the connection alive.  A handler never sees a request
 * whose caller lacks the route's role.
 *
 * What no route takes may be a static file of the web console, read from
 * its folder through openat(): each path segment is checked (letters,
 * digits, '.', '-', '_', never a leading '.'), so no path climbs out or
 * reaches a hidden file, and only regular files of a known type are served,
 * never a listing.  libmicrohttpd sends the file from its descriptor; its
 * size and modification time make the ETag.  A script or style the build
 * compressed beside it (NAME.gz) goes, as it is, to a client that takes
 * gzip.  The folder is opened anew for each request, so that a new build
 * that replaced it is served at once.
 */
#include "http.h"

#include "clock.h"

#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "ratelimit.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_PARAMS   8
#define MAX_SEGMENTS 16

struct http_server {
    struct MHD_Daemon *mhd;
    const struct http_route *routes;
    size_t nroutes;
    char **labels; /* metric label set of each route */
    http_auth_fn *auth;
    int (*database_lost)(void *app);
    int (*request_stale)(void *app);
    void *app;
    struct ratelimit *auth_failures; /* per client address */
    char *static_dir;                /* the static files' folder, or NULL */
    struct proxy_list *proxies;      /* trusted reverse proxies */
    atomic_llong malformed_logged;   /* when a malformed X-Forwarded-For was last logged */
};

/* An address whose tokens failed this often within the window waits for a
 * whole window from its last failure before any token of it is looked at.
 * Tokens cannot be guessed; this keeps those who try from trying fast, and
 * their noise out of the database. */
static const struct ratelimit_rules auth_rules = {
    .window_us = 5 * 60 * 1000000LL,
    .max_attempts = INT_MAX,
    .max_failures = 20,
};
#define AUTH_CLIENTS 4096

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    char *body;
    size_t body_len;
    int too_large;
    size_t route;
    char *path; /* copy of the URL path, split into segments */
    const char *param_names[MAX_PARAMS];
    size_t param_len[MAX_PARAMS];
    const char *param_values[MAX_PARAMS];
    size_t nparams;
    struct principal principal;
    int authenticated;
    json_t *json;
    struct MHD_Response *response;
    int status;
};

void *http_app(const struct http_request *req)
{
    return req->srv->app;
}

const struct http_server *http_server_of(const struct http_request *req)
{
    return req->srv;
}

const void *http_route_arg(const struct http_request *req)
{
    return req->route < req->srv->nroutes ? req->srv->routes[req->route].arg : NULL;
}

const struct principal *http_principal(const struct http_request *req)
{
    return req->authenticated ? &req->principal : NULL;
}

const char *http_path_param(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strlen(name) == req->param_len[i] &&
            strncmp(req->param_names[i], name, req->param_len[i]) == 0)
            return req->param_values[i];
    return NULL;
}

const char *http_query_param(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* The address of the TCP peer, as http_client_address() writes it. */
static int peer_address(const struct http_request *req, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = info != NULL ? info->client_addr : NULL;
    const void *addr = NULL;
    int family = AF_INET;

    if (len == 0)
        return -1;
    buf[0] = '\0';
    if (sa != NULL && sa->sa_family == AF_INET) {
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        family = IN6_IS_ADDR_V4MAPPED(a6) ? AF_INET : AF_INET6;
        addr = family == AF_INET ? (const void *)&a6->s6_addr[12] : (const void *)a6;
    }
    if (addr == NULL || len > INT32_MAX || inet_ntop(family, addr, buf, (socklen_t)len) == NULL) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

/* Every X-Forwarded-For of a request, joined by commas in their order. */
struct forwarded {
    char text[PROXY_HEADER_MAX + 2];
    size_t len;
    int headers, too_long;
};

static enum MHD_Result forwarded_add(void *arg, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct forwarded *f = arg;

    (void)kind;
    if (strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    size_t len = value != NULL ? strlen(value) : 0;
    if (f->len + len + 1 > PROXY_HEADER_MAX) {
        f->too_long = 1;
        return MHD_NO;
    }
    if (f->headers++ > 0)
        f->text[f->len++] = ',';
    if (len > 0)
        memcpy(f->text + f->len, value, len);
    f->len += len;
    f->text[f->len] = '\0';
    return MHD_YES;
}

/* Logs a malformed header of a trusted proxy, once a minute at most: the
 * proxy's address only, never the header, which names citizens. */
static void malformed_log(struct http_server *srv, const char *proxy)
{
    long long now = (long long)clock_mono_ms(), last = atomic_load(&srv->malformed_logged);

    if (last != 0 && now - last < 60000)
        return;
    if (atomic_compare_exchange_strong(&srv->malformed_logged, &last, now))
        log_warnx("http: a request through trusted proxy '%s' had a malformed X-Forwarded-For;"
                  " it counts as the proxy's",
                  proxy);
}

int http_client_address(const struct http_request *req, char *buf, size_t len)
{
    char peer[HTTP_ADDRESS_LEN];
    struct forwarded f = {.len = 0};

    if (len < HTTP_ADDRESS_LEN || peer_address(req, peer, sizeof(peer)) < 0) {
        if (len > 0)
            buf[0] = '\0';
        return -1;
    }
    /* Only a trusted proxy's headers are read at all. */
    if (proxy_trusted(req->srv->proxies, peer))
        MHD_get_connection_values(req->conn, MHD_HEADER_KIND, forwarded_add, &f);
    /* A header cut short is malformed: proxy_client() refuses what is too long. */
    const char *header = f.too_long ? "" : f.headers > 0 ? f.text : NULL;
    if (proxy_client(req->srv->proxies, peer, header, buf, len) == PROXY_MALFORMED)
        malformed_log(req->srv, peer);
    return 0;
}

static void reply(struct http_request *req, int status, const char *content_type, char *data,
                  size_t len)
{
    if (req->response != NULL) {
        log_warnx("http: a handler answered twice");
        free(data);
        return;
    }
    req->response = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (req->response == NULL) {
        free(data);
        return;
    }
    MHD_add_response_header(req->response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(req->response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(req->response, "X-Content-Type-Options", "nosniff");
    req->status = status;
}

void http_reply_json(struct http_request *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);

    json_decref(body);
    if (text == NULL) {
        http_reply_error(req, 500, "internal", "cannot encode the answer");
        return;
    }
    reply(req, status, "application/json", text, strlen(text));
}

void http_reply_error(struct http_request *req, int status, const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;

    /* A handler that failed because its database went away mid-request
     * answers what a request made while it is away gets: nothing was
     * changed (the transaction died with the session), try again; unless
     * it went away while committing, when nobody here can tell. */
    int lost = status == 500 && req->srv->database_lost != NULL
                   ? req->srv->database_lost(req->srv->app)
                   : 0;
    if (lost == 1) {
        http_reply_error(req, 503, "database_unavailable", "the database cannot be reached");
        return;
    }
    if (lost == 2) {
        http_reply_json(req, 500,
                        json_pack("{s:{s:s,s:s}}", "error", "code", "outcome_unknown", "message",
                                  "the database went away while the change was committed; read "
                                  "it again to see whether it was made"));
        return;
    }
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    http_reply_json(req, status,
                    json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}

void http_reply_invalid(struct http_request *req, const char *field, const char *fmt, ...)
{
    char message[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    http_reply_json(req, 400,
                    json_pack("{s:{s:s,s:s,s:s}}", "error", "code", "invalid_field", "field", field,
                              "message", message));
}

int http_reply_header(struct http_request *req, const char *name, const char *value)
{
    if (req->response == NULL || MHD_add_response_header(req->response, name, value) != MHD_YES)
        return -1;
    return 0;
}

void http_reply_text(struct http_request *req, int status, const char *content_type,
                     const char *text, size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);

    if (copy == NULL) {
        http_reply_error(req, 500, "internal", "out of memory");
        return;
    }
    memcpy(copy, text, len);
    reply(req, status, content_type, copy, len);
}

/* U+FFFD, the replacement character, in UTF-8. */
#define REPLACEMENT "\xef\xbf\xbd"

/* A copy of 'len' bytes of 'in' in which every byte that does not belong to
 * a valid character is replaced by U+FFFD; NULL if out of memory. */
static char *utf8_repair(const char *in, size_t len, size_t *outlen)
{
    char *out = malloc(3 * len + 1);
    size_t o = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0, n; i < len; i += n) {
        n = utf8_char(in + i, len - i);
        if (n == 0) {
            memcpy(out + o, REPLACEMENT, 3);
            o += 3;
            n = 1;
        } else {
            memcpy(out + o, in + i, n);
            o += n;
        }
    }
    *outlen = o;
    return out;
}

/* Writes into 'path' the dotted path of the first key or string of 'v' that
 * holds U+FFFD.  Returns 1 if there is one, else 0. */
static int repaired_path(json_t *v, char *path, size_t cap)
{
    size_t used = strlen(path), index;
    const char *key;
    json_t *item;

    if (json_is_string(v))
        return strstr(json_string_value(v), REPLACEMENT) != NULL;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            snprintf(path + used, cap - used, "%s%s", used > 0 ? "." : "", key);
            if (strstr(key, REPLACEMENT) != NULL || repaired_path(item, path, cap))
                return 1;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, index, item)
        {
            snprintf(path + used, cap - used, "[%zu]", index);
            if (repaired_path(item, path, cap))
                return 1;
        }
    }
    path[used] = '\0';
    return 0;
}

static void refuse(struct http_refusal *why, int status, const char *code, const char *field,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void refuse(struct http_refusal *why, int status, const char *code, const char *field,
                   const char *fmt, ...)
{
    va_list ap;

    why->status = status;
    why->code = code;
    snprintf(why->field, sizeof(why->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(why->message, sizeof(why->message), fmt, ap);
    va_end(ap);
}

/* The refusal of a body that is not UTF-8, naming the field where it is not. */
static void refuse_not_utf8(const char *body, size_t body_len, struct http_refusal *why)
{
    size_t len;
    char *text = utf8_repair(body, body_len, &len);
    json_t *repaired = text != NULL ? json_loadb(text, len, 0, NULL) : NULL;
    char path[128] = "";

    free(text);
    if (repaired != NULL && repaired_path(repaired, path, sizeof(path)))
        utf8_cut(path);
    if (path[0] != '\0')
        refuse(why, 400, "invalid_field", path, "'%s' is not valid UTF-8", path);
    else
        refuse(why, 400, "malformed_json", "", "the body is not valid UTF-8");
    json_decref(repaired);
}

int http_body_raw(const struct http_request *req, const char **body, size_t *len)
{
    if (req->too_large)
        return -1;
    *body = req->body;
    *len = req->body_len;
    return 0;
}

json_t *http_body_parse(const char *body, size_t len, struct http_refusal *why)
{
    json_error_t jerr;
    json_t *json;

    if (len == 0) {
        refuse(why, 400, "body_missing", "", "a JSON object is required");
        return NULL;
    }
    json = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL && json_error_code(&jerr) == json_error_invalid_utf8) {
        refuse_not_utf8(body, len, why);
        return NULL;
    }
    if (json == NULL) {
        /* jansson quotes the body near the error, which may end inside
         * a character: the escape of a backslash followed by one. */
        utf8_cut(jerr.text);
        refuse(why, 400, "malformed_json", "", "the body is not valid JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(json)) {
        refuse(why, 400, "malformed_json", "", "the body must be a JSON object");
        json_decref(json);
        return NULL;
    }
    return json;
}

void http_reply_refusal(struct http_request *req, const struct http_refusal *why)
{
    if (strcmp(why->code, "invalid_field") == 0)
        http_reply_invalid(req, why->field, "%s", why->message);
    else
        http_reply_error(req, why->status, why->code, "%s", why->message);
}

json_t *http_body_json(struct http_request *req)
{
    struct http_refusal why;

    if (req->json != NULL)
        return req->json;
    if (req->too_large) {
        http_reply_error(req, 413, "body_too_large", "the request body exceeds %d bytes",
                         HTTP_MAX_BODY);
        return NULL;
    }
    req->json = http_body_parse(req->body, req->body_len, &why);
    if (req->json == NULL)
        http_reply_refusal(req, &why);
    return req->json;
}

/* Splits 's' in place at '/' into at most 'max' segments.  Returns the count,
 * or -1 if there are more. */
static int split(char *s, char **seg, int max)
{
    char *save = NULL;
    int n = 0;

    for (char *p = strtok_r(s, "/", &save); p != NULL; p = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return -1;
        seg[n++] = p;
    }
    return n;
}

/* Matches the split URL against 'pattern', recording its parameters. */
static int route_match(struct http_request *req, const char *pattern, char **seg, int nseg)
{
    const char *p = pattern;

    req->nparams = 0;
    for (int i = 0; i < nseg; i++) {
        if (*p++ != '/')
            return 0;
        size_t len = strcspn(p, "/");
        if (p[0] == '{' && len > 2 && p[len - 1] == '}') {
            if (req->nparams == MAX_PARAMS)
                return 0;
            req->param_names[req->nparams] = p + 1;
            req->param_len[req->nparams] = len - 2;
            req->param_values[req->nparams++] = seg[i];
        } else if (strlen(seg[i]) != len || strncmp(p, seg[i], len) != 0) {
            return 0;
        }
        p += len;
    }
    return *p == '\0' || (nseg == 0 && strcmp(p, "/") == 0);
}

int http_has_token(const struct http_request *req)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION) !=
           NULL;
}

/* Finds the caller's principal.  Returns 1, or 0 having answered. */
int http_authorize(struct http_request *req, unsigned roles)
{
    const char *h =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

    char client[HTTP_ADDRESS_LEN], seconds[24];

    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
        http_reply_error(req, 401, "unauthorized", "a bearer token is required");
        return 0;
    }
    /* Clients whose address is unknown share one count: fail closed. */
    if (http_client_address(req, client, sizeof(client)) < 0)
        snprintf(client, sizeof(client), "unknown");
    int64_t wait = ratelimit_admit(req->srv->auth_failures, client, clock_now_us());
    if (wait > 0) {
        snprintf(seconds, sizeof(seconds), "%lld", (long long)wait);
        http_reply_error(req, 429, "too_many_attempts",
                         "too many invalid tokens from this address; try again in %s seconds",
                         seconds);
        http_reply_header(req, "Retry-After", seconds);
        return 0;
    }
    int found = req->srv->auth(req->srv->app, h + 7, &req->principal);
    if (found < 0) {
        http_reply_error(req, 503, "database_unavailable", "the database cannot be reached");
        return 0;
    }
    if (found == 0) {
        ratelimit_fail(req->srv->auth_failures, client, clock_now_us());
        http_reply_error(req, 401, "unauthorized", "the token is not valid");
        return 0;
    }
    req->authenticated = 1;
    if (!(req->principal.role & roles)) {
        http_reply_error(req, 403, "forbidden", "the role '%s' may not do this",
                         auth_role_name(req->principal.role));
        return 0;
    }
    return 1;
}

/* First segments that belong to the API: a path under them is never a file. */
static const char *const api_prefixes[] = {"api", "open311", "metrics", "healthz"};

/* The types of the static files served, by the name's ending, and how long
 * a browser may keep each before it asks again (with the ETag).  A page is
 * always asked for again, so that a new build is seen at once; the build
 * names its scripts and styles with a version in the query. */
static const struct {
    const char *suffix;
    const char *type;
    const char *cache;
    int gzip; /* a NAME.gz beside it is sent to a client that takes gzip */
} static_types[] = {
    {".html", "text/html; charset=utf-8", "no-cache", 0},
    {".js", "text/javascript; charset=utf-8", "public, max-age=86400", 1},
    {".css", "text/css; charset=utf-8", "public, max-age=86400", 1},
    {".svg", "image/svg+xml", "public, max-age=86400", 0},
    {".png", "image/png", "public, max-age=86400", 0},
    {".ico", "image/x-icon", "public, max-age=86400", 0},
    {".json", "application/json", "no-cache", 0},
    {".txt", "text/plain; charset=utf-8", "no-cache", 0},
};

#define STATIC_MAX_SEGMENTS 4
#define STATIC_MAX_NAME     128

/* Returns 1 if 'seg' may name a static file or folder: letters, digits,
 * '.', '-' and '_', not starting with '.', at most STATIC_MAX_NAME bytes. */
static int static_segment_valid(const char *seg)
{
    size_t len = strlen(seg);

    if (len == 0 || len > STATIC_MAX_NAME || seg[0] == '.')
        return 0;
    return strspn(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

/* Returns 1 if the Accept-Encoding header 'ae' takes gzip (not "gzip;q=0"). */
static int static_takes_gzip(const char *ae)
{
    const char *g = ae != NULL ? strstr(ae, "gzip") : NULL;

    if (g == NULL)
        return 0;
    g += 4;
    g += strspn(g, " ");
    return !(strncmp(g, ";q=0", 4) == 0 && strspn(g + 4, ".0") == strcspn(g + 4, ","));
}

/* Opens 'name' in the folder 'dir' if it is a regular file beneath it,
 * reached through no symbolic link, filling 'st'; never waits (a FIFO is
 * no file to serve).  Returns the descriptor, or -1. */
static int static_open(int dir, const char *name, struct stat *st)
{
    struct open_how how = {.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
    int fd = (int)syscall(SYS_openat2, dir, name, &how, sizeof(how));

    if (fd >= 0 && (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Answers 'seg' from the static files, or 404.  Returns nothing: it always
 * answers. */
static void static_serve(struct http_request *req, char **seg, int nseg)
{
    char rel[STATIC_MAX_SEGMENTS * (STATIC_MAX_NAME + 1) + 1] = "index.html";
    char gz[sizeof(rel) + 3], etag[64];
    size_t used = 0, type = 0, ntypes = sizeof(static_types) / sizeof(static_types[0]);
    struct stat st;
    int dir, fd = -1, gzip = 0;

    if (nseg > STATIC_MAX_SEGMENTS)
        goto fail;
    for (int i = 0; i < nseg; i++) {
        if (!static_segment_valid(seg[i]))
            goto fail;
        used += (size_t)snprintf(rel + used, sizeof(rel) - used, "%s%s", i > 0 ? "/" : "", seg[i]);
    }
    for (type = 0; type < ntypes; type++) {
        size_t n = strlen(rel), k = strlen(static_types[type].suffix);
        if (n > k && strcmp(rel + n - k, static_types[type].suffix) == 0)
            break;
    }
    if (type == ntypes)
        goto fail;
    dir = open(req->srv->static_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        goto fail;
    if (static_types[type].gzip &&
        static_takes_gzip(http_header(req, MHD_HTTP_HEADER_ACCEPT_ENCODING))) {
        snprintf(gz, sizeof(gz), "%s.gz", rel);
        fd = static_open(dir, gz, &st);
        gzip = fd >= 0;
    }
    /* The file itself, and the compressed copy only if no older than it. */
    struct stat plain = {0};
    int raw = static_open(dir, rel, &plain);
    if (gzip && (raw < 0 || st.st_mtim.tv_sec < plain.st_mtim.tv_sec ||
                 (st.st_mtim.tv_sec == plain.st_mtim.tv_sec &&
                  st.st_mtim.tv_nsec < plain.st_mtim.tv_nsec))) {
        close(fd);
        fd = -1;
        gzip = 0;
    }
    if (fd < 0) {
        fd = raw;
        st = plain;
    } else if (raw >= 0) {
        close(raw);
    }
    close(dir);
    if (fd < 0)
        goto fail;
    snprintf(etag, sizeof(etag), "\"%llx-%llx%s\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
                 (unsigned long long)st.st_mtim.tv_nsec,
             gzip ? "-gz" : "");
    const char *seen = http_header(req, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (seen != NULL && strstr(seen, etag) != NULL) {
        close(fd);
        req->response = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        req->status = MHD_HTTP_NOT_MODIFIED;
    } else {
        req->response = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
        req->status = MHD_HTTP_OK;
        if (req->response == NULL)
            close(fd);
    }
    if (req->response == NULL)
        return;
    MHD_add_response_header(req->response, MHD_HTTP_HEADER_CONTENT_TYPE, static_types[type].type);
    MHD_add_response_header(req->response, MHD_HTTP_HEADER_CACHE_CONTROL, static_types[type].cache);
    MHD_add_response_header(req->response, MHD_HTTP_HEADER_ETAG, etag);
    if (static_types[type].gzip)
        MHD_add_response_header(req->response, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (gzip)
        MHD_add_response_header(req->response, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    MHD_add_response_header(req->response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(req->response, "X-Frame-Options", "DENY");
    MHD_add_response_header(req->response, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(req->response, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; "
                            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    return;

fail:
    if (fd >= 0)
        close(fd);
    http_reply_error(req, 404, "not_found", "no such resource");
}

/* Returns 1 if the request may be a static file: a GET or HEAD outside the
 * API's prefixes, with a folder to serve. */
static int static_wanted(const struct http_request *req, char **seg, int nseg)
{
    if (req->srv->static_dir == NULL ||
        (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0))
        return 0;
    for (size_t i = 0; nseg > 0 && i < sizeof(api_prefixes) / sizeof(api_prefixes[0]); i++)
        if (strcmp(seg[0], api_prefixes[i]) == 0)
            return 0;
    return 1;
}

static void dispatch(struct http_request *req, const char *url)
{
    struct http_server *srv = req->srv;
    char *seg[MAX_SEGMENTS];
    char allow[128] = "";
    int nseg;

    req->route = METRICS_NO_ROUTE;
    req->path = strdup(url);
    if (req->path == NULL || (nseg = split(req->path, seg, MAX_SEGMENTS)) < 0) {
        http_reply_error(req, 404, "not_found", "no such resource");
        return;
    }
    /* The route table is matched first: the console never shadows a route. */
    for (size_t i = 0; i < srv->nroutes; i++) {
        const struct http_route *r = &srv->routes[i];
        if (!route_match(req, r->path, seg, nseg))
            continue;
        if (strcmp(r->method, req->method) != 0) {
            size_t used = strlen(allow);
            snprintf(allow + used, sizeof(allow) - used, "%s%s", used > 0 ? ", " : "", r->method);
            continue;
        }
        req->route = i;
        if (r->roles != 0 && !http_authorize(req, r->roles))
            return;
        r->handler(req);
        if (req->response == NULL)
            http_reply_error(req, 500, "internal", "no answer");
        return;
    }
    if (allow[0] != '\0') {
        http_reply_error(req, 405, "method_not_allowed", "use %s", allow);
        MHD_add_response_header(req->response, MHD_HTTP_HEADER_ALLOW, allow);
        return;
    }
    if (static_wanted(req, seg, nseg)) {
        static_serve(req, seg, nseg);
        return;
    }
    http_reply_error(req, 404, "not_found", "no such resource");
}

/* How many times a request is handled at most while the caller's lookup
 * was stale: each time, a change to what workers keep was committed in
 * the meantime. */
#define HTTP_RUNS 3

/* Forgets what handling the request made of it, to handle it again. */
static void request_reset(struct http_request *req)
{
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    req->response = NULL;
    req->status = 0;
    json_decref(req->json);
    req->json = NULL;
    free(req->path);
    req->path = NULL;
    req->nparams = 0;
    req->authenticated = 0;
    memset(&req->principal, 0, sizeof(req->principal));
}

/* Handles the request, again while the application finds it was handled
 * on stale assumptions. */
static void handle(struct http_request *req, const char *url)
{
    for (int run = 1;; run++) {
        dispatch(req, url);
        if (req->srv->request_stale == NULL || !req->srv->request_stale(req->srv->app))
            return;
        request_reset(req);
        if (run == HTTP_RUNS) {
            http_reply_error(req, 503, "busy", "the request met changes it depends on; try again");
            return;
        }
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
    struct http_request *req = *state;

    (void)version;
    if (req == NULL) {
        req = calloc(1, sizeof(*req));
        if (req == NULL)
            return MHD_NO;
        req->srv = cls;
        req->conn = conn;
        req->method = method;
        *state = req;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (req->too_large || req->body_len + n > HTTP_MAX_BODY) {
            req->too_large = 1;
            return MHD_YES;
        }
        char *grown = realloc(req->body, req->body_len + n);
        if (grown == NULL)
            return MHD_NO;
        memcpy(grown + req->body_len, upload_data, n);
        req->body = grown;
        req->body_len += n;
        return MHD_YES;
    }
    if (req->response == NULL)
        handle(req, url);
    if (req->response == NULL)
        return MHD_NO;
    if (req->status == 401)
        MHD_add_response_header(req->response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    metrics_http(req->route, req->status);
    return MHD_queue_response(conn, (unsigned)req->status, req->response);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_request *req = *state;

    (void)cls;
    (void)conn;
    (void)toe;
    if (req == NULL)
        return;
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    json_decref(req->json);
    free(req->body);
    free(req->path);
    free(req);
    *state = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[256];

    (void)cls;
    vsnprintf(text, sizeof(text), fmt, ap);
    text[strcspn(text, "\n")] = '\0';
    log_warnx("http: %s", text);
}

static void labels_free(char **labels, size_t n)
{
    if (labels == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

static char **labels_new(const struct http_route *routes, size_t n)
{
    char **labels = calloc(n, sizeof(*labels));

    for (size_t i = 0; labels != NULL && i < n; i++) {
        if (asprintf(&labels[i], "method=\"%s\",route=\"%s\"", routes[i].method, routes[i].path) <
            0) {
            labels[i] = NULL;
            labels_free(labels, n);
            return NULL;
        }
    }
    return labels;
}

struct http_server *http_server_new(const struct http_options *opt, const struct http_route *routes,
                                    size_t nroutes, http_auth_fn *auth, void *app)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)opt->port)};
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt->port)};
    const struct sockaddr *addr;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

    if (srv == NULL)
        goto fail;
    if (nroutes > METRICS_MAX_ROUTES) {
        log_warnx("http: %zu routes, more than the %d counted", nroutes, METRICS_MAX_ROUTES);
        goto fail;
    }
    if (inet_pton(AF_INET, opt->address, &a4.sin_addr) == 1) {
        addr = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, opt->address, &a6.sin6_addr) == 1) {
        addr = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        log_warnx("http: '%s' is not an IP address", opt->address);
        goto fail;
    }
    srv->routes = routes;
    srv->nroutes = nroutes;
    srv->auth = auth;
    srv->database_lost = opt->database_lost;
    srv->request_stale = opt->request_stale;
    srv->app = app;
    srv->labels = labels_new(routes, nroutes);
    srv->auth_failures = ratelimit_new(&auth_rules, AUTH_CLIENTS);
    if (srv->labels == NULL || srv->auth_failures == NULL)
        goto fail;
    if (opt->static_dir != NULL && (srv->static_dir = strdup(opt->static_dir)) == NULL)
        goto fail;
    char why[200];
    srv->proxies = proxy_list_parse(opt->trusted_proxies != NULL ? opt->trusted_proxies : "", why,
                                    sizeof(why));
    if (srv->proxies == NULL) {
        log_warnx("http: trusted_proxies: %s", why);
        goto fail;
    }
    if (proxy_list_count(srv->proxies) > 0)
        log_info("http: X-Forwarded-For read from the trusted proxies '%s'", opt->trusted_proxies);
    srv->mhd = MHD_start_daemon(flags, (uint16_t)opt->port, NULL, NULL, on_request, srv,
                                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                                addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)opt->threads,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opt->timeout_s,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (srv->mhd == NULL) {
        log_warnx("http: cannot listen on '%s' port %d", opt->address, opt->port);
        goto fail;
    }
    return srv;

fail:
    http_server_free(srv);
    return NULL;
}

void http_server_free(struct http_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->mhd != NULL)
        MHD_stop_daemon(srv->mhd);
    labels_free(srv->labels, srv->nroutes);
    ratelimit_free(srv->auth_failures);
    free(srv->static_dir);
    proxy_list_free(srv->proxies);
    free(srv);
}

void http_server_metrics(const struct http_server *srv, FILE *out)
{
    metrics_render(out, (const char *const *)srv->labels, srv->nroutes);
}
